//! Limits checked before any work is done on untrusted input.

use crate::context::{MAX_CONTEXT_ENTRIES, MAX_CONTEXT_KEY_LEN, MAX_CONTEXT_VALUE_LEN};
use crate::derive::DIGEST_LEN;
use crate::error::{Error, Result};
use crate::header::MAX_WRAPPED_LEN;
use crate::keys::MAX_KEY_ID_LEN;

/// Hard cap on recipient slots per envelope; [`Limits::max_recipients`] may only lower it.
pub const MAX_RECIPIENTS: usize = 8;
/// Smallest streaming chunk size (4 KiB).
pub const MIN_CHUNK_SIZE: u32 = 4 * 1024;
/// Largest streaming chunk size (64 KiB).
pub const MAX_CHUNK_SIZE: u32 = 64 * 1024;
/// Largest value the header's 16-bit length field can express.
pub const MAX_HEADER_LEN: usize = u16::MAX as usize;
/// Largest header that can be valid: magic, version and length (7 bytes), the fixed preamble
/// (70), [`MAX_CONTEXT_ENTRIES`] stored entries of the largest size, the recipient count,
/// [`MAX_RECIPIENTS`] slots with the longest key id and body, and the MAC. Format section 6.1:
/// 13,214 bytes. Every header a conforming writer can produce fits.
pub const MAX_VALID_HEADER_LEN: usize = crate::header::PREAMBLE_OFFSET
    + 70
    + MAX_CONTEXT_ENTRIES * (1 + MAX_CONTEXT_KEY_LEN + 1 + MAX_CONTEXT_VALUE_LEN)
    + 1
    + MAX_RECIPIENTS * (1 + 1 + MAX_KEY_ID_LEN + 2 + MAX_WRAPPED_LEN)
    + DIGEST_LEN;
/// Largest one-shot plaintext the format allows (AES-GCM's per-invocation bound is far above).
pub const MAX_ONE_SHOT_LEN: u64 = 1 << 32;
/// Most chunks in a stream (the chunk counter is 32 bits).
pub const MAX_STREAM_CHUNKS: u64 = 1 << 32;

/// Limits applied when opening (and sealing) envelopes.
///
/// The defaults suit servers and apps; firmware may lower them. Every limit is checked before
/// the work it bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_header_len: usize,
    max_recipients: usize,
    max_one_shot_len: u64,
    max_stream_len: u64,
}

impl Limits {
    /// Default largest header (bytes): [`MAX_VALID_HEADER_LEN`], so that every header a
    /// conforming writer can produce is accepted. Firmware may lower it to bound its buffer;
    /// it then refuses envelopes with many or large stored entries or key-wrap slots.
    pub const DEFAULT_MAX_HEADER_LEN: usize = MAX_VALID_HEADER_LEN;
    /// Default largest one-shot plaintext: 256 MiB (larger data should stream).
    pub const DEFAULT_MAX_ONE_SHOT_LEN: u64 = 256 * 1024 * 1024;
    /// Default largest streamed plaintext: 64 GiB.
    pub const DEFAULT_MAX_STREAM_LEN: u64 = 64 * 1024 * 1024 * 1024;

    /// The default limits.
    pub const DEFAULT: Self = Self {
        max_header_len: Self::DEFAULT_MAX_HEADER_LEN,
        max_recipients: MAX_RECIPIENTS,
        max_one_shot_len: Self::DEFAULT_MAX_ONE_SHOT_LEN,
        max_stream_len: Self::DEFAULT_MAX_STREAM_LEN,
    };

    /// Sets the largest accepted header, at most [`MAX_HEADER_LEN`].
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when above the format maximum or too small for any header.
    pub const fn with_max_header_len(mut self, len: usize) -> Result<Self> {
        if len > MAX_HEADER_LEN || len < crate::header::MIN_HEADER_LEN {
            return Err(Error::InvalidConfiguration(
                "max header length out of range",
            ));
        }
        self.max_header_len = len;
        Ok(self)
    }

    /// Sets the most recipient slots accepted, 1 to [`MAX_RECIPIENTS`].
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when out of range.
    pub const fn with_max_recipients(mut self, n: usize) -> Result<Self> {
        if n == 0 || n > MAX_RECIPIENTS {
            return Err(Error::InvalidConfiguration("max recipients out of range"));
        }
        self.max_recipients = n;
        Ok(self)
    }

    /// Sets the largest one-shot plaintext, at most [`MAX_ONE_SHOT_LEN`].
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when above the format maximum.
    pub const fn with_max_one_shot_len(mut self, len: u64) -> Result<Self> {
        if len > MAX_ONE_SHOT_LEN {
            return Err(Error::InvalidConfiguration(
                "max one-shot length out of range",
            ));
        }
        self.max_one_shot_len = len;
        Ok(self)
    }

    /// Sets the largest streamed plaintext.
    pub const fn with_max_stream_len(mut self, len: u64) -> Self {
        self.max_stream_len = len;
        self
    }

    /// Largest accepted header.
    pub const fn max_header_len(&self) -> usize {
        self.max_header_len
    }
    /// Most recipient slots accepted.
    pub const fn max_recipients(&self) -> usize {
        self.max_recipients
    }
    /// Largest one-shot plaintext.
    pub const fn max_one_shot_len(&self) -> u64 {
        self.max_one_shot_len
    }
    /// Largest streamed plaintext.
    pub const fn max_stream_len(&self) -> u64 {
        self.max_stream_len
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Checks a streaming chunk size against the format's range.
pub(crate) const fn check_chunk_size(size: u32) -> Result<u32> {
    if size < MIN_CHUNK_SIZE || size > MAX_CHUNK_SIZE {
        return Err(Error::InvalidConfiguration(
            "chunk size must be 4 KiB to 64 KiB",
        ));
    }
    Ok(size)
}
