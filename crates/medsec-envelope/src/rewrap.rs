//! Re-wrapping: moving an envelope's data key under the keyring's current primary, or from a
//! retired public-key recipient to its successor, without touching the body.

use alloc::vec::Vec;

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::derive::DIGEST_LEN;
use crate::error::{Error, Result};
use crate::header::{HeaderView, SlotKind, HEADER_LEN_OFFSET, HPKE_WRAPPED_LEN};
use crate::keyring::Keyring;
use crate::keys::{DataKey, KeyId};
use crate::open::{Opener, VerifiedHeader};
use crate::provider::AeadProvider;
use crate::recipient::RecipientPublicKey;
use crate::suite::Suite;
use crate::wrap::{KeyWrap, WrapAad, WrapRequest};

impl Keyring {
    /// Re-wraps `envelope` (one-shot or streamed) under this keyring's primary.
    ///
    /// The data key is unwrapped with `opener`'s keys, expected context and policy, and the
    /// header (commitment and MAC) is verified. Every key-encryption-key slot whose key id
    /// belongs to this keyring (in any state) is replaced by one slot under the primary, at the
    /// position of the first; other slots (HPKE recipients, other keyrings) are kept as they
    /// are. The header MAC is recomputed. The body is copied byte for byte and not decrypted,
    /// so a tampered body is still detected when the result is opened.
    ///
    /// The data key stays the same, so re-wrapping is no remedy for a leaked key: whoever
    /// unwrapped the data key from any copy of the envelope (with a stolen KEK, say) still
    /// reads the result. After a suspected compromise, open and re-seal instead.
    ///
    /// # Errors
    /// As [`Opener::open_in_place`] for the old header; [`Error::InvalidConfiguration`] when
    /// this keyring has no primary; [`Error::MessageTooLarge`] when the new header is too big;
    /// [`Error::NoMatchingKey`] when no slot belongs to this keyring.
    pub fn rewrap<P: AeadProvider, R: CryptoRng + ?Sized>(
        &self,
        opener: &Opener<'_, P>,
        envelope: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        rewrite_slots(
            opener,
            envelope,
            Placement::Replacing(&|kind, key_id| kind == SlotKind::Kek && self.contains(key_id)),
            |_, _| false,
            |suite, binding, data_key, out| {
                // Asked only once the header verified, as before the shared core existed.
                let primary = self.wrapping_key_id()?;
                let aad = WrapAad::new(binding, SlotKind::Kek, primary.as_bytes())?;
                let mut randomness = [0u8; 32];
                rng.fill_bytes(&mut randomness);
                let body_len = self.wrapped_len();
                let start = push_slot_head(out, SlotKind::Kek, primary.as_bytes(), body_len)?;
                let request = WrapRequest::new(suite, aad.as_bytes(), &randomness);
                self.wrap(
                    &request,
                    data_key,
                    out.get_mut(start..).ok_or(Error::BufferTooSmall)?,
                )
            },
        )
    }
}

impl RecipientPublicKey {
    /// Re-addresses `envelope` (one-shot or streamed) from the public-key recipient `retired`
    /// to this key, for rotating a backend's or custodian's HPKE key pair without re-sealing.
    ///
    /// The data key is unwrapped with `opener`'s keys (the retired secret key, or any other
    /// recipient's key), expected context and policy, and the header is verified. Every HPKE
    /// slot whose key id is `retired` is replaced by one fresh HPKE wrap to this key, at the
    /// position of the first; other slots are kept as they are. The header MAC is recomputed
    /// and the body is copied byte for byte, not decrypted. The wrap is computed by `opener`'s
    /// provider, as [`crate::Sealer`] would.
    ///
    /// The data key stays the same, so rotation is no remedy for a leaked secret key: whoever
    /// unwrapped the data key from any copy of the envelope with the retired key still reads
    /// the result. After a suspected compromise, open and re-seal instead.
    ///
    /// # Errors
    /// As [`Opener::open_in_place`] for the old header; then [`Error::NoMatchingKey`] when no
    /// HPKE slot names `retired`; [`Error::InvalidConfiguration`] when this key already has
    /// another HPKE slot in the envelope (the new one would duplicate it);
    /// [`Error::MessageTooLarge`] when the new header is too big.
    pub fn rewrap<P: AeadProvider, R: CryptoRng + ?Sized>(
        &self,
        opener: &Opener<'_, P>,
        envelope: &[u8],
        retired: &KeyId,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let selects_retired =
            |kind, key_id: &[u8]| kind == SlotKind::Hpke && key_id == retired.as_bytes();
        self.write_slot(
            opener,
            envelope,
            Placement::Replacing(&selects_retired),
            rng,
        )
    }

    /// Adds this key as a recipient of `envelope` (one-shot or streamed), for example a new
    /// break-glass custodian for records sealed before it existed.
    ///
    /// The data key is unwrapped with `opener`'s keys, expected context and policy, and the
    /// header is verified; a fresh HPKE wrap to this key is appended after the existing slots,
    /// which are kept as they are. The header MAC is recomputed and the body is copied byte for
    /// byte, not decrypted.
    ///
    /// # Errors
    /// As [`Opener::open_in_place`] for the old header; then [`Error::InvalidConfiguration`]
    /// when this key already has an HPKE slot or the envelope already has the most recipients
    /// the opener's limits allow; [`Error::MessageTooLarge`] when the new header is too big.
    pub fn add_to<P: AeadProvider, R: CryptoRng + ?Sized>(
        &self,
        opener: &Opener<'_, P>,
        envelope: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        self.write_slot(opener, envelope, Placement::End, rng)
    }

    fn write_slot<P: AeadProvider, R: CryptoRng + ?Sized>(
        &self,
        opener: &Opener<'_, P>,
        envelope: &[u8],
        placement: Placement<'_>,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let id = self.id();
        rewrite_slots(
            opener,
            envelope,
            placement,
            |kind, key_id| kind == SlotKind::Hpke && key_id == id.as_bytes(),
            |_suite, binding, data_key, out| {
                let aad = WrapAad::new(binding, SlotKind::Hpke, id.as_bytes())?;
                let start = push_slot_head(out, SlotKind::Hpke, id.as_bytes(), HPKE_WRAPPED_LEN)?;
                let provider = opener.configured_provider();
                provider.hpke_wrap(
                    self,
                    data_key,
                    aad.as_bytes(),
                    rng,
                    out.get_mut(start..).ok_or(Error::BufferTooSmall)?,
                )
            },
        )
    }
}

/// Where [`rewrite_slots`] puts the new slot.
#[derive(Clone, Copy)]
enum Placement<'a> {
    /// In place of the slots the predicate selects (collapsed into one, at the first one's
    /// position); no selected slot is [`Error::NoMatchingKey`].
    Replacing(&'a dyn Fn(SlotKind, &[u8]) -> bool),
    /// After all existing slots, which are kept.
    End,
}

/// The re-wrapping core shared by keyrings and public-key recipients: verifies the envelope's
/// header with `opener`, then writes the header again with one new slot written by `new_slot`
/// where `placement` says, a new header MAC, and the body copied through. After verification:
/// no slot to replace is no matching key; a kept slot that `conflicts` selects means the new
/// slot would duplicate it; more slots than the limits allow is refused.
fn rewrite_slots<P: AeadProvider>(
    opener: &Opener<'_, P>,
    envelope: &[u8],
    placement: Placement<'_>,
    conflicts: impl Fn(SlotKind, &[u8]) -> bool,
    new_slot: impl FnOnce(Suite, &[u8; DIGEST_LEN], &DataKey, &mut Vec<u8>) -> Result<()>,
) -> Result<Vec<u8>> {
    let view = HeaderView::parse(envelope, opener.configured_limits())?;
    // Opening steps 1 to 5, exactly as when opening (stored entries checked included).
    let VerifiedHeader {
        data_key,
        keys,
        binding,
    } = opener.verify(&view)?;
    let selected = |s: &crate::header::RecipientSlot<'_>| match placement {
        Placement::Replacing(replaced) => replaced(s.kind(), s.key_id()),
        Placement::End => false,
    };
    let kept = view.recipients().filter(|s| !selected(s)).count();
    if matches!(placement, Placement::Replacing(_)) && kept == view.recipients().count() {
        return Err(Error::NoMatchingKey);
    }
    if view
        .recipients()
        .any(|s| !selected(&s) && conflicts(s.kind(), s.key_id()))
    {
        return Err(Error::InvalidConfiguration(
            "the envelope already has a slot for this recipient",
        ));
    }
    if kept >= opener.configured_limits().max_recipients() {
        return Err(Error::InvalidConfiguration("too many recipients"));
    }

    let mut out = Vec::with_capacity(envelope.len().saturating_add(128));
    out.extend_from_slice(view.through_preamble());
    let count_at = out.len();
    out.push(0);
    let mut count: u8 = 0;
    let mut new_slot = Some(new_slot);
    let mut write_new_slot = |out: &mut Vec<u8>| -> Result<()> {
        let write = new_slot
            .take()
            .ok_or(Error::InvalidConfiguration("one new slot per re-wrap"))?;
        write(view.suite(), &binding, &data_key, out).inspect_err(|_| {
            // A wrapper may have copied the data key into its slot before failing.
            out.zeroize();
        })
    };
    let mut placed = false;
    for slot in view.recipients() {
        if selected(&slot) {
            if placed {
                continue;
            }
            write_new_slot(&mut out)?;
            placed = true;
        } else {
            let start = push_slot_head(&mut out, slot.kind(), slot.key_id(), slot.wrapped().len())?;
            out.get_mut(start..)
                .ok_or(Error::BufferTooSmall)?
                .copy_from_slice(slot.wrapped());
        }
        count = count.saturating_add(1);
    }
    if !placed {
        write_new_slot(&mut out)?;
        count = count.saturating_add(1);
    }
    if let Some(c) = out.get_mut(count_at) {
        *c = count;
    }
    let header_len = out.len().saturating_add(DIGEST_LEN);
    if header_len > opener.configured_limits().max_header_len() {
        return Err(Error::MessageTooLarge);
    }
    let len_bytes = u16::try_from(header_len)
        .map_err(|_| Error::MessageTooLarge)?
        .to_be_bytes();
    out.get_mut(HEADER_LEN_OFFSET..HEADER_LEN_OFFSET.saturating_add(2))
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(&len_bytes);
    let new_mac = keys.header_mac(&out);
    out.extend_from_slice(&new_mac);
    out.extend_from_slice(envelope.get(view.len()..).unwrap_or(&[]));
    Ok(out)
}

/// Appends `kind || u8(len(key_id)) || key_id || u16(body_len)` and `body_len` zero bytes for
/// the body; returns where the body starts.
fn push_slot_head(
    out: &mut Vec<u8>,
    kind: SlotKind,
    key_id: &[u8],
    body_len: usize,
) -> Result<usize> {
    out.push(kind.code());
    out.push(u8::try_from(key_id.len()).map_err(|_| Error::MessageTooLarge)?);
    out.extend_from_slice(key_id);
    out.extend_from_slice(
        &u16::try_from(body_len)
            .map_err(|_| Error::MessageTooLarge)?
            .to_be_bytes(),
    );
    let start = out.len();
    out.resize(start.saturating_add(body_len), 0);
    Ok(start)
}
