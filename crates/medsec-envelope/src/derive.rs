//! Key derivations (HKDF-SHA-256, RFC 5869) and the header binding digest.
//!
//! Every label below is part of the format; `docs/envelope-format.md` lists them.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::keys::{DataKey, KEY_LEN};
use crate::suite::Suite;

pub(crate) const PAYLOAD_KEY_LABEL: &[u8] = b"medsec-envelope-v1/payload-key";
pub(crate) const COMMITMENT_LABEL: &[u8] = b"medsec-envelope-v1/commitment";
pub(crate) const HEADER_MAC_LABEL: &[u8] = b"medsec-envelope-v1/header-mac";
pub(crate) const WRAP_KEY_LABEL: &[u8] = b"medsec-envelope-v1/wrap-key";
pub(crate) const BINDING_LABEL: &[u8] = b"medsec-envelope-v1/binding";

/// Length of the commitment, salts, binding digest and header MAC.
pub(crate) const DIGEST_LEN: usize = 32;

/// The keys one data key yields for one message.
pub(crate) struct MessageKeys {
    pub(crate) payload_key: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) commitment: [u8; DIGEST_LEN],
    header_mac_key: Zeroizing<[u8; KEY_LEN]>,
}

impl MessageKeys {
    /// `PRK = HKDF-Extract(salt, DK)`; each output is `HKDF-Expand(PRK, label || suite_id, 32)`.
    pub(crate) fn derive(data_key: &DataKey, suite: Suite, salt: &[u8; DIGEST_LEN]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(salt), data_key.expose_secret());
        let mut payload_key = Zeroizing::new([0u8; KEY_LEN]);
        let mut commitment = [0u8; DIGEST_LEN];
        let mut header_mac_key = Zeroizing::new([0u8; KEY_LEN]);
        let suite_id = [suite.id()];
        // 32 bytes is far below HKDF's 255 * 32 limit, so expansion cannot fail.
        let _ = hk.expand_multi_info(&[PAYLOAD_KEY_LABEL, &suite_id], &mut payload_key[..]);
        let _ = hk.expand_multi_info(&[COMMITMENT_LABEL, &suite_id], &mut commitment);
        let _ = hk.expand_multi_info(&[HEADER_MAC_LABEL, &suite_id], &mut header_mac_key[..]);
        Self {
            payload_key,
            commitment,
            header_mac_key,
        }
    }

    /// HMAC-SHA-256 over the header bytes that precede the MAC.
    pub(crate) fn header_mac(&self, header_without_mac: &[u8]) -> [u8; DIGEST_LEN] {
        header_mac(&self.header_mac_key, header_without_mac)
    }

    /// Constant-time check of both the commitment and the header MAC, evaluated together so
    /// that which one failed is not observable.
    pub(crate) fn verify_header(
        &self,
        commitment: &[u8; DIGEST_LEN],
        header_without_mac: &[u8],
        mac: &[u8; DIGEST_LEN],
    ) -> bool {
        let expected_mac = self.header_mac(header_without_mac);
        let ok: Choice = self.commitment.ct_eq(commitment) & expected_mac.ct_eq(mac);
        ok.into()
    }
}

fn header_mac(key: &[u8; KEY_LEN], data: &[u8]) -> [u8; DIGEST_LEN] {
    // RFC 2104 pads keys shorter than the 64-byte block with zeros; doing it here makes the
    // construction infallible.
    let mut block = Zeroizing::new([0u8; 64]);
    if let Some(head) = block.get_mut(..KEY_LEN) {
        head.copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The keyring wrap key: `HKDF(salt = wrap_salt, IKM = KEK, info = label || suite_id)`.
pub(crate) fn wrap_key(
    kek: &[u8; KEY_LEN],
    suite: Suite,
    wrap_salt: &[u8; DIGEST_LEN],
) -> Zeroizing<[u8; KEY_LEN]> {
    let hk = Hkdf::<Sha256>::new(Some(wrap_salt), kek);
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    let _ = hk.expand_multi_info(&[WRAP_KEY_LABEL, &[suite.id()]], &mut okm[..]);
    okm
}

/// `SHA-256(label || preamble || context_digest)`: the authenticated data of the body, and
/// the first 32 bytes of every wrap's authenticated data.
pub(crate) fn binding(preamble: &[u8], context_digest: &[u8; DIGEST_LEN]) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    h.update(BINDING_LABEL);
    h.update(preamble);
    h.update(context_digest);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    /// The HMAC and SHA-256 states that hold data-key, PRK and KEK material are wiped when
    /// dropped (the `zeroize` features of `hmac` and `sha2`); HKDF keeps its PRK in an HMAC.
    #[test]
    fn keyed_hash_states_zeroize_on_drop() {
        fn wiped<T: zeroize::ZeroizeOnDrop>() {}
        // HMAC's inner and outer states (keyed with the PRK, the header MAC key, a salt over
        // a KEK) are two of these cores.
        wiped::<<sha2::Sha256 as hmac::EagerHash>::Core>();
        wiped::<sha2::Sha256>();
    }
}
