//! The envelope header: parsing (borrowing, no allocation) and writing.
//!
//! Layout (all integers big-endian; `docs/envelope-format.md` is the normative text):
//!
//! ```text
//! 0   magic "MSEV"            4
//! 4   version = 1             1
//! 5   header_len              2   whole header, MAC included
//! 7   suite id                1   --- preamble starts here (bound into the body's AAD)
//! 8   chunk_size              4   0 = one-shot, else 4096..=65536
//! 12  salt                    32
//! 44  commitment              32
//! 76  stored context count    1   then entries: key_len u8, key, value_len u8, value
//!     recipient count         1   --- preamble ends before this byte
//!     slots: kind u8, key_id_len u8, key_id, body_len u16, body
//!     header MAC              32  HMAC-SHA-256 over every header byte before it
//! ```

use crate::context::{check_key, MAX_CONTEXT_ENTRIES};
use crate::derive::DIGEST_LEN;
use crate::error::{Error, Result};
use crate::keys::MAX_KEY_ID_LEN;
use crate::limits::{Limits, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE};
use crate::suite::Suite;

/// The four magic bytes that open every envelope.
pub const MAGIC: [u8; 4] = *b"MSEV";
/// The format version this crate writes and reads.
pub const VERSION: u8 = 1;

#[cfg(feature = "alloc")]
pub(crate) const HEADER_LEN_OFFSET: usize = 5;
pub(crate) const PREAMBLE_OFFSET: usize = 7;
/// Bytes before the stored context count.
const FIXED_LEN: usize = 76;
/// Smallest well-formed header: fixed part, two counts, one minimal slot, the MAC.
pub(crate) const MIN_HEADER_LEN: usize = FIXED_LEN + 1 + 1 + (1 + 1 + 1 + 2 + 1) + DIGEST_LEN;
/// Largest body of a recipient slot.
pub const MAX_WRAPPED_LEN: usize = 1024;
/// Body length of an HPKE recipient slot: `enc (32) || ciphertext (32) || tag (16)`.
pub const HPKE_WRAPPED_LEN: usize = 80;

/// What kind of key a recipient slot is wrapped under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotKind {
    /// A symmetric key-encryption key behind [`crate::KeyWrap`] (keyring, secure element, KMS).
    Kek,
    /// An X25519 public key through HPKE (RFC 9180).
    Hpke,
}

impl SlotKind {
    /// The kind's one-byte code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Kek => 0x01,
            Self::Hpke => 0x02,
        }
    }

    const fn from_code(code: u8) -> Result<Self> {
        match code {
            0x01 => Ok(Self::Kek),
            0x02 => Ok(Self::Hpke),
            _ => Err(Error::DidNotVerify),
        }
    }
}

/// One recipient slot of a parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientSlot<'a> {
    kind: SlotKind,
    key_id: &'a [u8],
    body: &'a [u8],
}

impl<'a> RecipientSlot<'a> {
    /// The slot's kind.
    pub fn kind(&self) -> SlotKind {
        self.kind
    }
    /// The key id the data key is wrapped under (public).
    pub fn key_id(&self) -> &'a [u8] {
        self.key_id
    }
    /// The wrapped data key.
    pub fn wrapped(&self) -> &'a [u8] {
        self.body
    }
}

/// A stored (clear) context entry of a parsed header. `Debug` shows the key and the value's
/// length only: stored values are in clear in the envelope, but logs should not copy them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StoredEntry<'a> {
    /// The entry's key.
    pub key: &'a str,
    /// The entry's value.
    pub value: &'a [u8],
}

/// A structurally valid header, borrowed from the envelope bytes. Nothing in it is
/// authenticated until a data key has been unwrapped and the header MAC checked. `Debug` shows
/// the sizes and the suite, not the bytes (stored context values may be sensitive).
#[derive(Clone, Copy)]
pub struct HeaderView<'a> {
    bytes: &'a [u8],
    suite: Suite,
    chunk_size: u32,
    stored_count: u8,
    stored: &'a [u8],
    preamble: &'a [u8],
    recipient_count: u8,
    recipients: &'a [u8],
}

impl<'a> HeaderView<'a> {
    /// Parses the header at the start of `envelope` (which may continue with the body).
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] for anything malformed or over `limits`.
    pub fn parse(envelope: &'a [u8], limits: &Limits) -> Result<Self> {
        let header_len = peek_header_len(envelope)?;
        if header_len < MIN_HEADER_LEN || header_len > limits.max_header_len() {
            return Err(Error::DidNotVerify);
        }
        let bytes = envelope.get(..header_len).ok_or(Error::DidNotVerify)?;
        let mut r = Reader::new(bytes);
        r.skip(PREAMBLE_OFFSET)?;
        let suite = Suite::from_id(r.u8()?)?;
        let chunk_size = r.u32()?;
        if chunk_size != 0 && !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(Error::DidNotVerify);
        }
        r.skip(2 * DIGEST_LEN)?;
        let stored_count = r.u8()?;
        if usize::from(stored_count) > MAX_CONTEXT_ENTRIES {
            return Err(Error::DidNotVerify);
        }
        let stored_start = r.pos;
        let mut previous: Option<&[u8]> = None;
        for _ in 0..stored_count {
            let key = r.take_u8_prefixed()?;
            check_key(key).map_err(|_| Error::DidNotVerify)?;
            // Strictly increasing keys: canonical, no duplicates.
            if previous.is_some_and(|p| p >= key) {
                return Err(Error::DidNotVerify);
            }
            previous = Some(key);
            r.take_u8_prefixed()?;
        }
        let stored = bytes.get(stored_start..r.pos).ok_or(Error::DidNotVerify)?;
        let preamble = bytes
            .get(PREAMBLE_OFFSET..r.pos)
            .ok_or(Error::DidNotVerify)?;
        let recipient_count = r.u8()?;
        if recipient_count == 0 || usize::from(recipient_count) > limits.max_recipients() {
            return Err(Error::DidNotVerify);
        }
        let recipients_start = r.pos;
        for _ in 0..recipient_count {
            parse_slot(&mut r)?;
        }
        let recipients = bytes
            .get(recipients_start..r.pos)
            .ok_or(Error::DidNotVerify)?;
        // Exactly the MAC must remain.
        if header_len.checked_sub(r.pos) != Some(DIGEST_LEN) {
            return Err(Error::DidNotVerify);
        }
        Ok(Self {
            bytes,
            suite,
            chunk_size,
            stored_count,
            stored,
            preamble,
            recipient_count,
            recipients,
        })
    }

    /// Total header length, MAC included; the body starts here.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a parsed header is never empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The suite named by the header (unauthenticated until opened).
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The streaming chunk size, or `None` for a one-shot envelope.
    pub fn chunk_size(&self) -> Option<u32> {
        (self.chunk_size != 0).then_some(self.chunk_size)
    }

    /// The context entries stored in clear (unauthenticated until opened).
    pub fn stored_context(&self) -> impl Iterator<Item = StoredEntry<'a>> + 'a {
        let mut r = Reader::new(self.stored);
        (0..self.stored_count).map_while(move |_| {
            let key = core::str::from_utf8(r.take_u8_prefixed().ok()?).ok()?;
            let value = r.take_u8_prefixed().ok()?;
            Some(StoredEntry { key, value })
        })
    }

    /// Number of stored (clear) context entries.
    pub(crate) fn stored_count(&self) -> usize {
        usize::from(self.stored_count)
    }

    /// The recipient slots, in header order.
    pub fn recipients(&self) -> impl Iterator<Item = RecipientSlot<'a>> + 'a {
        let mut r = Reader::new(self.recipients);
        (0..self.recipient_count).map_while(move |_| parse_slot(&mut r).ok())
    }

    /// Number of recipient slots.
    pub fn recipient_count(&self) -> usize {
        usize::from(self.recipient_count)
    }

    pub(crate) fn salt(&self) -> Result<&'a [u8; DIGEST_LEN]> {
        array_at(self.bytes, 12)
    }

    pub(crate) fn commitment(&self) -> Result<&'a [u8; DIGEST_LEN]> {
        array_at(self.bytes, 44)
    }

    /// The bytes bound into the body's authenticated data (suite through stored context).
    pub(crate) fn preamble(&self) -> &'a [u8] {
        self.preamble
    }

    /// Header bytes before the MAC, and the MAC.
    pub(crate) fn mac_split(&self) -> Result<(&'a [u8], &'a [u8; DIGEST_LEN])> {
        let at = self
            .bytes
            .len()
            .checked_sub(DIGEST_LEN)
            .ok_or(Error::DidNotVerify)?;
        let (covered, mac) = self.bytes.split_at(at);
        Ok((covered, mac.try_into().map_err(|_| Error::DidNotVerify)?))
    }

    /// Header bytes from the start up to (not including) the recipient count.
    #[cfg(feature = "alloc")]
    pub(crate) fn through_preamble(&self) -> &'a [u8] {
        let end = PREAMBLE_OFFSET.saturating_add(self.preamble.len());
        self.bytes.get(..end).unwrap_or(&[])
    }
}

impl core::fmt::Debug for StoredEntry<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredEntry")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .finish()
    }
}

impl core::fmt::Debug for HeaderView<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeaderView")
            .field("len", &self.bytes.len())
            .field("suite", &self.suite)
            .field("chunk_size", &self.chunk_size)
            .field("stored_entries", &self.stored_count)
            .field("recipients", &self.recipient_count)
            .finish_non_exhaustive()
    }
}

/// Reads `header_len` from the first bytes of an envelope after checking magic and version.
///
/// # Errors
/// [`Error::DidNotVerify`] for a short input, wrong magic or unknown version.
pub fn peek_header_len(envelope: &[u8]) -> Result<usize> {
    let mut r = Reader::new(envelope);
    if r.take(4)? != MAGIC || r.u8()? != VERSION {
        return Err(Error::DidNotVerify);
    }
    Ok(usize::from(r.u16()?))
}

fn parse_slot<'a>(r: &mut Reader<'a>) -> Result<RecipientSlot<'a>> {
    let kind = SlotKind::from_code(r.u8()?)?;
    let key_id = r.take_u8_prefixed()?;
    if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN {
        return Err(Error::DidNotVerify);
    }
    let body_len = usize::from(r.u16()?);
    let ok_len = match kind {
        SlotKind::Kek => (1..=MAX_WRAPPED_LEN).contains(&body_len),
        SlotKind::Hpke => body_len == HPKE_WRAPPED_LEN,
    };
    if !ok_len {
        return Err(Error::DidNotVerify);
    }
    let body = r.take(body_len)?;
    Ok(RecipientSlot { kind, key_id, body })
}

fn array_at<const N: usize>(bytes: &[u8], at: usize) -> Result<&[u8; N]> {
    bytes
        .get(at..at.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::DidNotVerify)
}

/// Encoded length of one slot.
pub(crate) fn slot_len(key_id_len: usize, body_len: usize) -> Option<usize> {
    4usize.checked_add(key_id_len)?.checked_add(body_len)
}

/// Cursor over untrusted bytes; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::DidNotVerify)?;
        let s = self.buf.get(self.pos..end).ok_or(Error::DidNotVerify)?;
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        self.take(1)?.first().copied().ok_or(Error::DidNotVerify)
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b: [u8; 2] = self.take(2)?.try_into().map_err(|_| Error::DidNotVerify)?;
        Ok(u16::from_be_bytes(b))
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| Error::DidNotVerify)?;
        Ok(u32::from_be_bytes(b))
    }
    pub(crate) fn take_u8_prefixed(&mut self) -> Result<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    #[cfg(feature = "alloc")]
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
}

/// Cursor for writing into a caller's buffer.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    /// Reserves `n` bytes and returns them for the caller to fill.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<&mut [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::BufferTooSmall)?;
        let s = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall)?;
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.reserve(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }
    pub(crate) fn put_u8(&mut self, v: u8) -> Result<()> {
        self.put(&[v])
    }
    pub(crate) fn put_u16(&mut self, v: u16) -> Result<()> {
        self.put(&v.to_be_bytes())
    }
    pub(crate) fn put_u32(&mut self, v: u32) -> Result<()> {
        self.put(&v.to_be_bytes())
    }
    pub(crate) fn put_u8_prefixed(&mut self, bytes: &[u8]) -> Result<()> {
        let n =
            u8::try_from(bytes.len()).map_err(|_| Error::InvalidConfiguration("field too long"))?;
        self.put_u8(n)?;
        self.put(bytes)
    }
    /// The bytes written so far.
    pub(crate) fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }
}
