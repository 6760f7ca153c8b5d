//! Sealing: one-shot (in place or into a `Vec`) and the start of a stream.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::context::Context;
use crate::derive::{self, MessageKeys, DIGEST_LEN};
use crate::error::{Error, Result};
use crate::header::{self, SlotKind, Writer, HPKE_WRAPPED_LEN, MAGIC, VERSION};
use crate::keys::DataKey;
use crate::limits::{self, Limits, MAX_RECIPIENTS};
use crate::provider::{AeadKey, AeadProvider, DefaultProvider, TAG_LEN};
use crate::recipient::RecipientPublicKey;
use crate::stream::{chunk_nonce, StreamSealer};
use crate::suite::Suite;
use crate::wrap::{KeyWrap, WrapAad, WrapRequest};

#[derive(Clone, Copy)]
enum Recipient<'a> {
    Wrap(&'a dyn KeyWrap),
    Public(&'a RecipientPublicKey),
}

/// Seals plaintext into envelopes for a fixed set of recipients and a context.
///
/// Each seal draws a fresh data key and salt, so one `Sealer` can seal many messages. Building
/// it allocates nothing; [`Sealer::seal_in_place`] allocates nothing either.
#[derive(Clone, Copy)]
pub struct Sealer<'a, P: AeadProvider = DefaultProvider> {
    provider: P,
    suite: Suite,
    context: Context<'a>,
    recipients: [Option<Recipient<'a>>; MAX_RECIPIENTS],
    recipient_count: usize,
    limits: Limits,
}

impl Default for Sealer<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Sealer<'a> {
    /// A sealer with the default provider and suite, an empty context and no recipients.
    pub fn new() -> Self {
        Self::with_provider(DefaultProvider::default())
    }
}

impl<'a, P: AeadProvider> Sealer<'a, P> {
    /// A sealer using `provider` for the body's AEAD.
    pub fn with_provider(provider: P) -> Self {
        Self {
            provider,
            suite: Suite::DEFAULT,
            context: Context::new(),
            recipients: [None; MAX_RECIPIENTS],
            recipient_count: 0,
            limits: Limits::DEFAULT,
        }
    }

    /// Chooses the suite.
    #[must_use]
    pub fn suite(mut self, suite: Suite) -> Self {
        self.suite = suite;
        self
    }

    /// Sets the context bound into the envelope.
    #[must_use]
    pub fn context(mut self, context: Context<'a>) -> Self {
        self.context = context;
        self
    }

    /// Sets the limits (header size, message size).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Adds a key-encryption-key recipient (a keyring's primary, a single KEK, an HSM).
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when the recipient cap is reached.
    pub fn key_wrap(self, wrap: &'a dyn KeyWrap) -> Result<Self> {
        self.push(Recipient::Wrap(wrap))
    }

    /// Adds a public-key recipient (HPKE).
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when the recipient cap is reached.
    pub fn recipient(self, key: &'a RecipientPublicKey) -> Result<Self> {
        self.push(Recipient::Public(key))
    }

    fn push(mut self, r: Recipient<'a>) -> Result<Self> {
        let slot = self
            .recipients
            .get_mut(self.recipient_count)
            .filter(|_| self.recipient_count < self.limits.max_recipients())
            .ok_or(Error::InvalidConfiguration("too many recipients"))?;
        *slot = Some(r);
        self.recipient_count = self.recipient_count.saturating_add(1);
        Ok(self)
    }

    fn recipients(&self) -> impl Iterator<Item = Recipient<'a>> + '_ {
        self.recipients
            .iter()
            .take(self.recipient_count)
            .flatten()
            .copied()
    }

    /// The header length every envelope from this sealer has; the body (plaintext for
    /// [`Sealer::seal_in_place`]) starts at this offset.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] without recipients, or when a recipient has no key;
    /// [`Error::MessageTooLarge`] when the header would exceed the limits.
    pub fn header_len(&self) -> Result<usize> {
        if self.recipient_count == 0 {
            return Err(Error::InvalidConfiguration("no recipients"));
        }
        let mut len: usize = 76 + 1 + 1 + DIGEST_LEN;
        for e in self.context.stored() {
            len = len
                .checked_add(2)
                .and_then(|n| n.checked_add(e.key().len()))
                .and_then(|n| n.checked_add(e.value().len()))
                .ok_or(Error::MessageTooLarge)?;
        }
        for r in self.recipients() {
            let (id_len, body_len) = match r {
                Recipient::Wrap(w) => {
                    let body = w.wrapped_len();
                    if body == 0 || body > header::MAX_WRAPPED_LEN {
                        return Err(Error::InvalidConfiguration(
                            "wrapped key length out of range",
                        ));
                    }
                    (w.wrapping_key_id()?.as_bytes().len(), body)
                }
                Recipient::Public(pk) => (pk.id().as_bytes().len(), HPKE_WRAPPED_LEN),
            };
            len = header::slot_len(id_len, body_len)
                .and_then(|s| len.checked_add(s))
                .ok_or(Error::MessageTooLarge)?;
        }
        if len > self.limits.max_header_len() {
            return Err(Error::MessageTooLarge);
        }
        Ok(len)
    }

    /// Total envelope length for a one-shot plaintext of `plaintext_len` bytes.
    ///
    /// # Errors
    /// As [`Sealer::header_len`]; [`Error::MessageTooLarge`] over the one-shot limit.
    pub fn sealed_len(&self, plaintext_len: usize) -> Result<usize> {
        let pt = u64::try_from(plaintext_len).map_err(|_| Error::MessageTooLarge)?;
        if pt > self.limits.max_one_shot_len() {
            return Err(Error::MessageTooLarge);
        }
        self.header_len()?
            .checked_add(plaintext_len)
            .and_then(|n| n.checked_add(TAG_LEN))
            .ok_or(Error::MessageTooLarge)
    }

    /// Seals in place without allocating. On entry the plaintext is at
    /// `buf[header_len .. header_len + plaintext_len]`; on success the envelope is
    /// `buf[.. sealed_len(plaintext_len)]` and its length is returned.
    ///
    /// # Errors
    /// As [`Sealer::sealed_len`]; [`Error::BufferTooSmall`] when `buf` is shorter than the
    /// envelope.
    pub fn seal_in_place<R: CryptoRng + ?Sized>(
        &self,
        buf: &mut [u8],
        plaintext_len: usize,
        rng: &mut R,
    ) -> Result<usize> {
        let total = self.sealed_len(plaintext_len)?;
        let buf = buf.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        let (header, body) = buf.split_at_mut(self.header_len()?);
        let (keys, binding) = self.write_header(header, 0, rng)?;
        let (plaintext, tag_out) = body.split_at_mut(plaintext_len);
        let tag = self
            .provider
            .key(self.suite, &keys.payload_key)
            .seal_in_place(&chunk_nonce(0, true), &binding, plaintext)?;
        tag_out.copy_from_slice(&tag);
        Ok(total)
    }

    /// Seals `plaintext` into a new `Vec`.
    ///
    /// # Errors
    /// As [`Sealer::seal_in_place`].
    #[cfg(feature = "alloc")]
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<alloc::vec::Vec<u8>> {
        let total = self.sealed_len(plaintext.len())?;
        let header_len = self.header_len()?;
        let mut out = alloc::vec::Vec::with_capacity(total);
        out.resize(header_len, 0);
        out.extend_from_slice(plaintext);
        out.resize(total, 0);
        if let Err(e) = self.seal_in_place(&mut out, plaintext.len(), rng) {
            // The buffer still holds the plaintext: wipe it before it is freed.
            out.zeroize();
            return Err(e);
        }
        Ok(out)
    }

    /// Starts a streamed envelope: writes the header into `header_out` (exactly
    /// [`Sealer::header_len`] bytes) and returns the chunk sealer.
    ///
    /// # Errors
    /// As [`Sealer::header_len`]; [`Error::InvalidConfiguration`] for a chunk size outside
    /// 4 KiB to 64 KiB; [`Error::BufferTooSmall`] for a short `header_out`.
    pub fn begin_stream<R: CryptoRng + ?Sized>(
        &self,
        chunk_size: u32,
        header_out: &mut [u8],
        rng: &mut R,
    ) -> Result<StreamSealer<P::Key>> {
        let chunk_size = limits::check_chunk_size(chunk_size)?;
        let header_len = self.header_len()?;
        let header_out = header_out
            .get_mut(..header_len)
            .ok_or(Error::BufferTooSmall)?;
        let (keys, binding) = self.write_header(header_out, chunk_size, rng)?;
        Ok(StreamSealer::new(
            self.provider.key(self.suite, &keys.payload_key),
            binding,
            chunk_size,
            self.limits.max_stream_len(),
        ))
    }

    /// Draws the data key and salt, writes the whole header into `out` (exactly
    /// `header_len` bytes) and returns the message keys and the binding. On failure `out` is
    /// wiped: a key wrapper may have failed after copying the data key into its slot.
    fn write_header<R: CryptoRng + ?Sized>(
        &self,
        out: &mut [u8],
        chunk_size: u32,
        rng: &mut R,
    ) -> Result<(MessageKeys, [u8; DIGEST_LEN])> {
        let result = self.try_write_header(out, chunk_size, rng);
        if result.is_err() {
            out.zeroize();
        }
        result
    }

    fn try_write_header<R: CryptoRng + ?Sized>(
        &self,
        out: &mut [u8],
        chunk_size: u32,
        rng: &mut R,
    ) -> Result<(MessageKeys, [u8; DIGEST_LEN])> {
        let header_len = out.len();
        let data_key = DataKey::generate(rng);
        let mut salt = [0u8; DIGEST_LEN];
        rng.fill_bytes(&mut salt);
        let keys = MessageKeys::derive(&data_key, self.suite, &salt);

        let mut w = Writer::new(out);
        w.put(&MAGIC)?;
        w.put_u8(VERSION)?;
        w.put_u16(u16::try_from(header_len).map_err(|_| Error::MessageTooLarge)?)?;
        let preamble_start = w.pos();
        w.put_u8(self.suite.id())?;
        w.put_u32(chunk_size)?;
        w.put(&salt)?;
        w.put(&keys.commitment)?;
        let stored_count = self.context.stored().count();
        w.put_u8(u8::try_from(stored_count).map_err(|_| Error::MessageTooLarge)?)?;
        for e in self.context.stored() {
            w.put_u8_prefixed(e.key().as_bytes())?;
            w.put_u8_prefixed(e.value())?;
        }
        let preamble = w
            .written()
            .get(preamble_start..)
            .ok_or(Error::BufferTooSmall)?;
        let binding = derive::binding(preamble, &self.context.digest());

        w.put_u8(u8::try_from(self.recipient_count).map_err(|_| Error::MessageTooLarge)?)?;
        for r in self.recipients() {
            match r {
                Recipient::Wrap(wrap) => {
                    let id = wrap.wrapping_key_id()?;
                    let aad = WrapAad::new(&binding, SlotKind::Kek, id.as_bytes())?;
                    let mut randomness = [0u8; 32];
                    rng.fill_bytes(&mut randomness);
                    let body_len = wrap.wrapped_len();
                    w.put_u8(SlotKind::Kek.code())?;
                    w.put_u8_prefixed(id.as_bytes())?;
                    w.put_u16(u16::try_from(body_len).map_err(|_| Error::MessageTooLarge)?)?;
                    let request = WrapRequest::new(self.suite, aad.as_bytes(), &randomness);
                    wrap.wrap(&request, &data_key, w.reserve(body_len)?)?;
                }
                Recipient::Public(pk) => {
                    let id = pk.id();
                    let aad = WrapAad::new(&binding, SlotKind::Hpke, id.as_bytes())?;
                    w.put_u8(SlotKind::Hpke.code())?;
                    w.put_u8_prefixed(id.as_bytes())?;
                    w.put_u16(
                        u16::try_from(HPKE_WRAPPED_LEN).map_err(|_| Error::MessageTooLarge)?,
                    )?;
                    self.provider.hpke_wrap(
                        pk,
                        &data_key,
                        aad.as_bytes(),
                        rng,
                        w.reserve(HPKE_WRAPPED_LEN)?,
                    )?;
                }
            }
        }
        let mac = keys.header_mac(w.written());
        w.put(&mac)?;
        if w.pos() != header_len {
            return Err(Error::InvalidConfiguration(
                "a key wrapper wrote an unexpected length",
            ));
        }
        Ok((keys, binding))
    }
}

impl<P: AeadProvider> fmt::Debug for Sealer<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("provider", &self.provider)
            .field("suite", &self.suite)
            .field("context", &self.context)
            .field("recipients", &self.recipient_count)
            .finish_non_exhaustive()
    }
}
