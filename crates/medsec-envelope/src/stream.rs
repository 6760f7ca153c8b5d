//! Streaming envelopes: a STREAM-style chunked body (Hoang, Reyhanitabar, Rogaway, Vizár 2015).
//!
//! The body is a sequence of chunks, each `ciphertext || tag`. Every chunk but the last holds
//! exactly `chunk_size` plaintext bytes; the last holds fewer (possibly zero). Chunk `i` uses
//! the nonce `0^7 || i (u32, big-endian) || f`, where `f` is 1 for the last chunk and 0 for the
//! others, so dropping, reordering, duplicating or splicing chunks, or cutting the stream at a
//! chunk boundary, all fail: a stream is complete only when a chunk marked last verifies.
//!
//! The chunk APIs here work in place and never allocate; [`crate::SealingWriter`] and
//! [`crate::OpeningReader`] (feature `std`) wrap them around `Write` and `Read`.

use core::fmt;

use zeroize::Zeroize;

use crate::derive::DIGEST_LEN;
use crate::error::{Error, Result};
use crate::provider::{AeadKey, NONCE_LEN, TAG_LEN};

/// The nonce of chunk `index`.
pub(crate) fn chunk_nonce(index: u32, last: bool) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    let (_, tail) = nonce.split_at_mut(7);
    let (counter, flag) = tail.split_at_mut(4);
    counter.copy_from_slice(&index.to_be_bytes());
    if let Some(f) = flag.first_mut() {
        *f = u8::from(last);
    }
    nonce
}

struct ChunkState<K> {
    key: K,
    binding: [u8; DIGEST_LEN],
    chunk_size: u32,
    next_index: u32,
    processed: u64,
    max_len: u64,
    /// Set when a chunk failed to open: nothing after it may verify, so a caller that ignores
    /// the error can neither read on nor obtain a completion proof.
    failed: bool,
}

impl<K> ChunkState<K> {
    fn new(key: K, binding: [u8; DIGEST_LEN], chunk_size: u32, max_len: u64) -> Self {
        Self {
            key,
            binding,
            chunk_size,
            next_index: 0,
            processed: 0,
            max_len,
            failed: false,
        }
    }

    /// Advances the counter for a chunk of `len` plaintext bytes, enforcing the chunk-count
    /// and total-length limits, and returns the chunk's index.
    fn advance(&mut self, len: usize, last: bool) -> Result<u32> {
        let index = self.next_index;
        // Index u32::MAX is reserved for a last chunk, so a stream always can end; a last
        // chunk ends the stream (its caller consumes the state), so nothing follows it.
        let next = match index.checked_add(1) {
            Some(next) => next,
            None if last => index,
            None => return Err(Error::MessageTooLarge),
        };
        let len = u64::try_from(len).map_err(|_| Error::MessageTooLarge)?;
        let processed = self
            .processed
            .checked_add(len)
            .filter(|&n| n <= self.max_len)
            .ok_or(Error::MessageTooLarge)?;
        self.next_index = next;
        self.processed = processed;
        Ok(index)
    }

    /// Opens one chunk at the next index; on any failure the state is poisoned.
    fn open(&mut self, chunk_and_tag: &mut [u8], last: bool) -> Result<usize>
    where
        K: AeadKey,
    {
        let result = if self.failed {
            Err(Error::DidNotVerify)
        } else {
            let len = chunk_and_tag.len().saturating_sub(TAG_LEN);
            self.advance(len, last)
                .map_err(|_| Error::DidNotVerify)
                .and_then(|index| {
                    self.key
                        .open_in_place(&chunk_nonce(index, last), &self.binding, chunk_and_tag)
                })
        };
        if result.is_err() {
            self.failed = true;
            // Never hand back the bytes of a chunk that did not verify.
            chunk_and_tag.zeroize();
        }
        result
    }

    fn chunk_len(&self) -> usize {
        usize::try_from(self.chunk_size).unwrap_or(usize::MAX)
    }
}

/// Seals the chunks of a streamed envelope, in order.
pub struct StreamSealer<K: AeadKey> {
    state: ChunkState<K>,
}

impl<K: AeadKey> StreamSealer<K> {
    pub(crate) fn new(key: K, binding: [u8; DIGEST_LEN], chunk_size: u32, max_len: u64) -> Self {
        Self {
            state: ChunkState::new(key, binding, chunk_size, max_len),
        }
    }

    /// Plaintext bytes in every chunk but the last.
    pub fn chunk_size(&self) -> usize {
        self.state.chunk_len()
    }

    /// Encrypts one full chunk (exactly [`StreamSealer::chunk_size`] bytes) in place and
    /// returns its tag; write `chunk || tag` to the output.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] for a chunk of the wrong size; [`Error::MessageTooLarge`]
    /// past the stream limits.
    pub fn seal_chunk(&mut self, chunk: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        if chunk.len() != self.state.chunk_len() {
            return Err(Error::InvalidConfiguration(
                "a middle chunk must be exactly chunk_size",
            ));
        }
        if self.state.next_index == u32::MAX {
            return Err(Error::MessageTooLarge);
        }
        let index = self.state.advance(chunk.len(), false)?;
        self.state
            .key
            .seal_in_place(&chunk_nonce(index, false), &self.state.binding, chunk)
    }

    /// Encrypts the last chunk (fewer than [`StreamSealer::chunk_size`] bytes, possibly none)
    /// in place and returns its tag; the stream is then finished.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] for a chunk that is not shorter than `chunk_size`;
    /// [`Error::MessageTooLarge`] past the stream limits.
    pub fn seal_last(mut self, chunk: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        if chunk.len() >= self.state.chunk_len() {
            return Err(Error::InvalidConfiguration(
                "the last chunk must be shorter than chunk_size",
            ));
        }
        let index = self.state.advance(chunk.len(), true)?;
        self.state
            .key
            .seal_in_place(&chunk_nonce(index, true), &self.state.binding, chunk)
    }
}

impl<K: AeadKey> fmt::Debug for StreamSealer<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSealer")
            .field("chunk_size", &self.state.chunk_size)
            .field("next_index", &self.state.next_index)
            .finish_non_exhaustive()
    }
}

/// Proof that every chunk of a stream verified, the last one included: only
/// [`StreamOpener::open_last`] makes one (the field is private, so callers cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamComplete {
    total_len: u64,
}

impl StreamComplete {
    /// Total plaintext bytes in the stream.
    pub fn total_len(&self) -> u64 {
        self.total_len
    }
}

/// Opens the chunks of a streamed envelope, in order. Each chunk's plaintext is released only
/// after that chunk verified; the stream is complete only when [`StreamOpener::open_last`]
/// succeeds.
pub struct StreamOpener<K: AeadKey> {
    state: ChunkState<K>,
}

impl<K: AeadKey> StreamOpener<K> {
    pub(crate) fn new(key: K, binding: [u8; DIGEST_LEN], chunk_size: u32, max_len: u64) -> Self {
        Self {
            state: ChunkState::new(key, binding, chunk_size, max_len),
        }
    }

    /// Plaintext bytes in every chunk but the last.
    pub fn chunk_size(&self) -> usize {
        self.state.chunk_len()
    }

    /// Bytes of a full encrypted chunk (`chunk_size + 16`).
    pub fn sealed_chunk_len(&self) -> usize {
        self.state.chunk_len().saturating_add(TAG_LEN)
    }

    /// Decrypts a full middle chunk (`chunk || tag`, exactly
    /// [`StreamOpener::sealed_chunk_len`] bytes) in place; returns the plaintext length.
    /// On failure the buffer is wiped and the opener is spent: every later chunk, and
    /// [`StreamOpener::open_last`], fails too.
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] when the chunk does not verify or has the wrong size, or an
    /// earlier chunk did not verify.
    pub fn open_chunk(&mut self, chunk_and_tag: &mut [u8]) -> Result<usize> {
        if chunk_and_tag.len() != self.sealed_chunk_len() || self.state.next_index == u32::MAX {
            self.state.failed = true;
            chunk_and_tag.zeroize();
            return Err(Error::DidNotVerify);
        }
        self.state.open(chunk_and_tag, false)
    }

    /// Decrypts the last chunk (16 bytes up to, not including, a full sealed chunk) in place
    /// and returns its plaintext length with the proof that the stream is complete. On failure
    /// the buffer is wiped.
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] when the chunk does not verify or has the wrong size, or an
    /// earlier chunk did not verify.
    pub fn open_last(mut self, chunk_and_tag: &mut [u8]) -> Result<(usize, StreamComplete)> {
        if chunk_and_tag.len() < TAG_LEN || chunk_and_tag.len() >= self.sealed_chunk_len() {
            chunk_and_tag.zeroize();
            return Err(Error::DidNotVerify);
        }
        let len = self.state.open(chunk_and_tag, true)?;
        Ok((
            len,
            StreamComplete {
                total_len: self.state.processed,
            },
        ))
    }
}

impl<K: AeadKey> fmt::Debug for StreamOpener<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamOpener")
            .field("chunk_size", &self.state.chunk_size)
            .field("next_index", &self.state.next_index)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{AeadProvider, RustCrypto};
    use crate::suite::Suite;

    fn key() -> <RustCrypto as AeadProvider>::Key {
        RustCrypto.key(Suite::Aes256Gcm, &[0x24; 32])
    }

    /// The format allows 2^32 chunks: indexes 0 ..= u32::MAX, the last one at u32::MAX.
    #[test]
    fn last_chunk_may_use_the_final_index() {
        let mut sealer = StreamSealer::new(key(), [1; 32], 4096, u64::MAX);
        sealer.state.next_index = u32::MAX - 1;
        let mut middle = [7u8; 4096];
        let middle_tag = sealer.seal_chunk(&mut middle).unwrap();
        // A middle chunk may not take the final index (the stream could then never end).
        assert_eq!(
            sealer.seal_chunk(&mut [0u8; 4096]),
            Err(Error::MessageTooLarge)
        );
        let mut last = [9u8; 10];
        let last_tag = sealer.seal_last(&mut last).unwrap();

        let mut opener = StreamOpener::new(key(), [1; 32], 4096, u64::MAX);
        opener.state.next_index = u32::MAX - 1;
        let mut sealed_middle = [0u8; 4096 + TAG_LEN];
        sealed_middle[..4096].copy_from_slice(&middle);
        sealed_middle[4096..].copy_from_slice(&middle_tag);
        assert_eq!(opener.open_chunk(&mut sealed_middle), Ok(4096));
        assert!(sealed_middle[..4096].iter().all(|&b| b == 7));
        let mut sealed_last = [0u8; 10 + TAG_LEN];
        sealed_last[..10].copy_from_slice(&last);
        sealed_last[10..].copy_from_slice(&last_tag);
        let (n, done) = opener.open_last(&mut sealed_last).unwrap();
        assert_eq!(n, 10);
        assert_eq!(done.total_len(), 4096 + 10);
        assert!(sealed_last[..10].iter().all(|&b| b == 9));
    }

    #[test]
    fn nonce_layout() {
        assert_eq!(chunk_nonce(0, true), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            chunk_nonce(0x0102_0304, false),
            [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0]
        );
    }
}
