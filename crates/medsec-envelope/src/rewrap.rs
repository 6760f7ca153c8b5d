//! Re-wrapping: moving an envelope's data key under the keyring's current primary without
//! touching the body.

use alloc::vec::Vec;

use rand_core::CryptoRng;

use crate::derive::{self, MessageKeys, DIGEST_LEN};
use crate::error::{Error, Result};
use crate::header::{HeaderView, SlotKind, HEADER_LEN_OFFSET};
use crate::keyring::Keyring;
use crate::open::{unwrap_data_key, Opener};
use crate::provider::AeadProvider;
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
    /// # Errors
    /// As [`Opener::open_in_place`] for the old header; [`Error::InvalidConfiguration`] when
    /// this keyring has no primary; [`Error::MessageTooLarge`] when the new header is too big.
    pub fn rewrap<P: AeadProvider, R: CryptoRng + ?Sized>(
        &self,
        opener: &Opener<'_, P>,
        envelope: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let view = HeaderView::parse(envelope, opener.configured_limits())?;
        if !opener.configured_policy().allows(view.suite()) {
            return Err(Error::DidNotVerify);
        }
        let binding = derive::binding(view.preamble(), &opener.configured_context().digest());
        let data_key = unwrap_data_key(opener.keys(), &view, &binding)?;
        let keys = MessageKeys::derive(&data_key, view.suite(), view.salt()?);
        let (covered, mac) = view.mac_split()?;
        if !keys.verify_header(view.commitment()?, covered, mac) {
            return Err(Error::DidNotVerify);
        }
        let primary = self.wrapping_key_id()?;

        let mut out = Vec::with_capacity(envelope.len().saturating_add(128));
        out.extend_from_slice(view.through_preamble());
        let count_at = out.len();
        out.push(0);
        let mut count: u8 = 0;
        let mut replaced = false;
        for slot in view.recipients() {
            let ours = slot.kind() == SlotKind::Kek && self.contains(slot.key_id());
            if ours && replaced {
                continue;
            }
            if ours {
                replaced = true;
                let aad = WrapAad::new(&binding, SlotKind::Kek, primary.as_bytes())?;
                let mut randomness = [0u8; 32];
                rng.fill_bytes(&mut randomness);
                out.push(SlotKind::Kek.code());
                push_u8_prefixed(&mut out, primary.as_bytes())?;
                let body_len = self.wrapped_len();
                out.extend_from_slice(
                    &u16::try_from(body_len)
                        .map_err(|_| Error::MessageTooLarge)?
                        .to_be_bytes(),
                );
                let start = out.len();
                out.resize(start.saturating_add(body_len), 0);
                let request = WrapRequest::new(view.suite(), aad.as_bytes(), &randomness);
                self.wrap(
                    &request,
                    &data_key,
                    out.get_mut(start..).ok_or(Error::BufferTooSmall)?,
                )?;
            } else {
                out.push(slot.kind().code());
                push_u8_prefixed(&mut out, slot.key_id())?;
                let body = slot.wrapped();
                out.extend_from_slice(
                    &u16::try_from(body.len())
                        .map_err(|_| Error::MessageTooLarge)?
                        .to_be_bytes(),
                );
                out.extend_from_slice(body);
            }
            count = count.saturating_add(1);
        }
        if !replaced {
            return Err(Error::NoMatchingKey);
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
}

fn push_u8_prefixed(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    out.push(u8::try_from(bytes.len()).map_err(|_| Error::MessageTooLarge)?);
    out.extend_from_slice(bytes);
    Ok(())
}
