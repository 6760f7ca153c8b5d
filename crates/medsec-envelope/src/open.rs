//! Opening: one-shot (in place or into a `Vec`) and the start of a stream.

use core::fmt;

use subtle::ConstantTimeEq;

use crate::context::Context;
use crate::derive::{self, MessageKeys, DIGEST_LEN};
use crate::error::{Error, Result};
use crate::header::HeaderView;
use crate::keys::DataKey;
use crate::limits::Limits;
use crate::provider::{AeadKey, AeadProvider, DefaultProvider, TAG_LEN};
use crate::stream::{chunk_nonce, StreamOpener};
use crate::suite::SuitePolicy;
use crate::wrap::{Unwrap, UnwrapRequest, WrapAad};

/// Opens envelopes with a set of keys, an expected context and a suite policy.
///
/// ```
/// use medsec_envelope::{Context, ContextField, Kek, Opener, Sealer};
/// let mut rng = medsec_envelope::OsRng::default();
/// let kek = Kek::generate(&mut rng);
/// let ctx = Context::new().with(ContextField::Patient, b"p-7f3a9c")?;
/// let sealed = Sealer::new().context(ctx).key_wrap(&kek)?.seal(b"glucose 5.4", &mut rng)?;
/// let opened = Opener::new(&kek).context(ctx).open(&sealed)?;
/// assert_eq!(&opened[..], b"glucose 5.4");
/// // The wrong context does not open.
/// let other = Context::new().with(ContextField::Patient, b"p-000000")?;
/// assert!(Opener::new(&kek).context(other).open(&sealed).is_err());
/// # Ok::<(), medsec_envelope::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Opener<'a, P: AeadProvider = DefaultProvider> {
    provider: P,
    keys: &'a dyn Unwrap,
    context: Context<'a>,
    policy: SuitePolicy,
    limits: Limits,
}

impl<'a> Opener<'a> {
    /// An opener with the default provider, an empty expected context, every suite allowed and
    /// the default limits.
    pub fn new(keys: &'a dyn Unwrap) -> Self {
        Self::with_provider(DefaultProvider::default(), keys)
    }
}

impl<'a, P: AeadProvider> Opener<'a, P> {
    /// An opener using `provider` for the body's AEAD.
    pub fn with_provider(provider: P, keys: &'a dyn Unwrap) -> Self {
        Self {
            provider,
            keys,
            context: Context::new(),
            policy: SuitePolicy::default(),
            limits: Limits::DEFAULT,
        }
    }

    /// Sets the expected context; it must equal the sealed context exactly (every entry, bound
    /// only or stored, with the same value; the disclosure given here plays no part). An
    /// envelope whose header stores an entry that this context lacks, or holds with another
    /// value, does not verify.
    #[must_use]
    pub fn context(mut self, context: Context<'a>) -> Self {
        self.context = context;
        self
    }

    /// Sets which suites are accepted.
    #[must_use]
    pub fn policy(mut self, policy: SuitePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn configured_limits(&self) -> &Limits {
        &self.limits
    }
    #[cfg(feature = "alloc")]
    pub(crate) fn configured_provider(&self) -> P {
        self.provider
    }

    /// Opens a one-shot envelope in place, without allocating, and returns the plaintext as a
    /// sub-slice of `envelope`. If the body fails to decrypt its bytes are wiped, so nothing
    /// unverified is left in `envelope` (a header that does not verify leaves the body, still
    /// ciphertext, as it was).
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] for anything that does not verify; [`Error::NoMatchingKey`] when
    /// no slot names one of the keys; [`Error::KeyWrapBackend`] when a key-wrapping backend
    /// could not answer and no key opened or refused a slot (retry later; nothing was decided).
    pub fn open_in_place<'b>(&self, envelope: &'b mut [u8]) -> Result<&'b mut [u8]> {
        let header_len = crate::header::peek_header_len(envelope)?;
        if header_len > envelope.len() {
            return Err(Error::DidNotVerify);
        }
        let (header, body) = envelope.split_at_mut(header_len);
        let view = HeaderView::parse(header, &self.limits)?;
        let len = self.open_body(&view, body)?;
        body.get_mut(..len).ok_or(Error::DidNotVerify)
    }

    /// Opens a one-shot envelope into a new buffer that is zeroized when dropped.
    ///
    /// # Errors
    /// As [`Opener::open_in_place`].
    #[cfg(feature = "alloc")]
    pub fn open(&self, envelope: &[u8]) -> Result<crate::Plaintext> {
        let view = HeaderView::parse(envelope, &self.limits)?;
        let body = envelope.get(view.len()..).ok_or(Error::DidNotVerify)?;
        self.check_body_len(&view, body.len())?;
        // Wrapped at once so that every exit path wipes the buffer.
        let mut buf = crate::Plaintext::new(body.to_vec());
        let len = self.open_body(&view, buf.as_mut_slice())?;
        buf.truncate(len);
        Ok(buf)
    }

    fn check_body_len(&self, view: &HeaderView<'_>, body_len: usize) -> Result<()> {
        let body_len = u64::try_from(body_len).map_err(|_| Error::DidNotVerify)?;
        let too_short = body_len < TAG_LEN as u64;
        let too_long = body_len.saturating_sub(TAG_LEN as u64) > self.limits.max_one_shot_len();
        if view.chunk_size().is_some() || too_short || too_long {
            return Err(Error::DidNotVerify);
        }
        Ok(())
    }

    /// Verifies the header and decrypts `ciphertext || tag` in place; returns the plaintext
    /// length.
    fn open_body(&self, view: &HeaderView<'_>, body: &mut [u8]) -> Result<usize> {
        self.check_body_len(view, body.len())?;
        let (keys, binding) = self.verify_header(view)?;
        self.provider
            .key(view.suite(), &keys.payload_key)
            .open_in_place(&chunk_nonce(0, true), &binding, body)
    }

    /// Starts opening a streamed envelope: parses and verifies the header at the start of
    /// `header` (which may continue with body bytes) and returns the header length and the
    /// chunk opener.
    ///
    /// # Errors
    /// As [`Opener::open_in_place`]; a one-shot envelope is [`Error::DidNotVerify`] here.
    pub fn begin_stream(&self, header: &[u8]) -> Result<(usize, StreamOpener<P::Key>)> {
        let view = HeaderView::parse(header, &self.limits)?;
        let chunk_size = view.chunk_size().ok_or(Error::DidNotVerify)?;
        let (keys, binding) = self.verify_header(&view)?;
        let opener = StreamOpener::new(
            self.provider.key(view.suite(), &keys.payload_key),
            binding,
            chunk_size,
            self.limits.max_stream_len(),
        );
        Ok((view.len(), opener))
    }

    /// Opening steps 1 to 5 on a parsed header (see [`Opener::verify`]); returns the message
    /// keys and the binding.
    fn verify_header(&self, view: &HeaderView<'_>) -> Result<(MessageKeys, [u8; DIGEST_LEN])> {
        let verified = self.verify(view)?;
        Ok((verified.keys, verified.binding))
    }

    /// Checks the suite policy, unwraps the data key, verifies commitment and header MAC, and
    /// then checks that every entry stored in the header is in the expected context with the
    /// same value. Every path that reads an envelope (one-shot, in place, streamed, re-wrap,
    /// rotation, addition) goes through here.
    pub(crate) fn verify(&self, view: &HeaderView<'_>) -> Result<VerifiedHeader> {
        if !self.policy.allows(view.suite()) {
            return Err(Error::DidNotVerify);
        }
        let binding = derive::binding(view.preamble(), &self.context.digest());
        let data_key = unwrap_data_key(self.keys, view, &binding, self.provider.hpke_engine())?;
        let keys = MessageKeys::derive(&data_key, view.suite(), view.salt()?);
        let (covered, mac) = view.mac_split()?;
        if !keys.verify_header(view.commitment()?, covered, mac) {
            return Err(Error::DidNotVerify);
        }
        // Only now, with the header authenticated: the unwrap under this binding has already
        // shown that the sender knew the expected context, so the outcome of this check tells
        // a sender nothing new. Made before the unwrap, it would let anyone who can write a
        // header test guesses of the expected values (a wrong stored guess failing early).
        stored_entries_are_expected(view, &self.context)?;
        Ok(VerifiedHeader {
            data_key,
            keys,
            binding,
        })
    }
}

/// What opening steps 1 to 5 establish about a header.
pub(crate) struct VerifiedHeader {
    /// The unwrapped data key (wiped on drop); re-wrapping wraps it anew.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) data_key: DataKey,
    /// The keys it yields for this envelope.
    pub(crate) keys: MessageKeys,
    /// The binding: the body's associated data and the start of every wrap's.
    pub(crate) binding: [u8; DIGEST_LEN],
}

/// Format section 8 step 5: every entry stored in the clear header must appear in the expected
/// context with a byte-equal value, so that the clear metadata a system may route or authorise
/// on cannot contradict what the envelope is bound to. Expected entries that the header does
/// not store are bound only, as intended. The disclosure the caller gave an expected entry
/// plays no part.
fn stored_entries_are_expected(view: &HeaderView<'_>, context: &Context<'_>) -> Result<()> {
    let mut checked = 0usize;
    for stored in view.stored_context() {
        let expected = context.value_of(stored.key).ok_or(Error::DidNotVerify)?;
        if !bool::from(expected.ct_eq(stored.value)) {
            return Err(Error::DidNotVerify);
        }
        checked = checked.saturating_add(1);
    }
    // A parsed header's entries always iterate in full; refuse rather than assume it.
    if checked != view.stored_count() {
        return Err(Error::DidNotVerify);
    }
    Ok(())
}

/// Tries every slot the keys can address, in header order.
pub(crate) fn unwrap_data_key(
    keys: &dyn Unwrap,
    view: &HeaderView<'_>,
    binding: &[u8; DIGEST_LEN],
    hpke: crate::provider::HpkeEngine,
) -> Result<DataKey> {
    let mut failures = UnwrapFailures::default();
    for slot in view.recipients() {
        let aad = WrapAad::new(binding, slot.kind(), slot.key_id())?;
        let request = UnwrapRequest::new(view.suite(), aad.as_bytes(), hpke);
        match keys.unwrap_slot(&slot, &request) {
            Ok(Some(data_key)) => return Ok(data_key),
            Ok(None) => {}
            Err(e) => failures.record(e),
        }
    }
    Err(failures.into_error())
}

/// What went wrong across the slots tried, when none yielded the data key.
///
/// A refusal outranks an outage. Were it the other way round, then with one backend down an
/// attacker who tampers with an envelope addressed to a local key and to that backend would get
/// `KeyWrapBackend` where the local unwrap failed but `DidNotVerify` where it succeeded and a
/// later check (commitment, header MAC) failed: which check failed, and whether the caller's
/// context matched the wrap, which the one opaque error exists to hide. So `KeyWrapBackend`
/// means that no key decided anything, an outcome fixed by the clear header's key ids and the
/// backends' state alone.
#[derive(Default)]
pub(crate) struct UnwrapFailures {
    refused: bool,
    backend_down: bool,
}

impl UnwrapFailures {
    pub(crate) fn record(&mut self, error: Error) {
        if error == Error::KeyWrapBackend {
            self.backend_down = true;
        } else {
            self.refused = true;
        }
    }

    /// [`Error::DidNotVerify`] if a key that a slot addresses refused it, else
    /// [`Error::KeyWrapBackend`] if a backend could not answer (worth retrying: nothing was
    /// decided), else [`Error::NoMatchingKey`].
    pub(crate) fn into_error(self) -> Error {
        if self.refused {
            Error::DidNotVerify
        } else if self.backend_down {
            Error::KeyWrapBackend
        } else {
            Error::NoMatchingKey
        }
    }
}

impl<P: AeadProvider> fmt::Debug for Opener<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opener")
            .field("provider", &self.provider)
            .field("context", &self.context)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
