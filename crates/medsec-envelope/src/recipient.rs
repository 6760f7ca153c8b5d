//! Public-key recipients through HPKE (RFC 9180).
//!
//! A device seals to the backend's X25519 public key and holds nothing that decrypts. The HPKE
//! suite is fixed: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode; the
//! envelope binding is the HPKE `aad`, so a slot cannot be moved to another envelope.

use core::fmt;

use hpke::aead::{AeadTag, AesGcm256};
use hpke::inout::InOutBuf;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::header::{RecipientSlot, SlotKind, HPKE_WRAPPED_LEN};
use crate::keys::{DataKey, KeyId, KEY_LEN};
use crate::provider::{HpkeEngine, TAG_LEN};
use crate::wrap::{Unwrap, UnwrapRequest};

type Kem = X25519HkdfSha256;
type PublicKey = <Kem as hpke::Kem>::PublicKey;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// HPKE `info` for envelope key wraps.
pub const HPKE_INFO: &[u8] = b"medsec-envelope-v1/hpke";
/// Length of an X25519 public or secret key.
pub const X25519_KEY_LEN: usize = 32;

/// A recipient's X25519 public key with its key id. Safe to ship in firmware.
#[derive(Clone)]
pub struct RecipientPublicKey {
    id: KeyId,
    key: PublicKey,
}

impl RecipientPublicKey {
    /// Parses a raw 32-byte X25519 public key.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when the bytes are not a usable public key:
    /// - a non-canonical encoding (bit 255 set, or a u-coordinate of at least 2^255 - 19).
    ///   X25519 itself would accept it, but HPKE binds the key's bytes into its key schedule
    ///   and the recipient binds its own canonical encoding, so an envelope sealed to such a
    ///   key could never be opened;
    /// - a point of small order, whose shared secret with any sender is zero (RFC 9180 section
    ///   7.1.4).
    ///
    /// Both are refused here rather than when sealing.
    pub fn from_bytes(id: KeyId, bytes: &[u8; X25519_KEY_LEN]) -> Result<Self> {
        if !is_canonical_u_coordinate(bytes) {
            return Err(Error::InvalidConfiguration(
                "non-canonical X25519 public key encoding",
            ));
        }
        let key = PublicKey::from_bytes(bytes)
            .map_err(|_| Error::InvalidConfiguration("not an X25519 public key"))?;
        // Every X25519 scalar is clamped to a multiple of the cofactor, so the shared secret
        // is zero for one sender exactly when it is zero for all: one trial encapsulation with
        // a fixed ephemeral key decides.
        Kem::encap_with_rng(&key, None, &mut FixedRng)
            .map_err(|_| Error::InvalidConfiguration("X25519 public key of small order"))?;
        Ok(Self { id, key })
    }

    /// The raw 32-byte public key.
    pub fn to_bytes(&self) -> [u8; X25519_KEY_LEN] {
        let mut out = [0u8; X25519_KEY_LEN];
        self.key.write_exact(&mut out);
        out
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Wraps `data_key` to this recipient: `enc || ciphertext || tag` into `out`.
    pub(crate) fn wrap<R: CryptoRng + ?Sized>(
        &self,
        data_key: &DataKey,
        aad: &[u8],
        rng: &mut R,
        out: &mut [u8],
    ) -> Result<()> {
        let out: &mut [u8; HPKE_WRAPPED_LEN] = out.try_into().map_err(|_| Error::BufferTooSmall)?;
        let (enc_out, rest) = out.split_at_mut(X25519_KEY_LEN);
        let (ct, tag_out) = rest.split_at_mut(KEY_LEN);
        ct.copy_from_slice(data_key.expose_secret());
        let mut rng = SizedRng(rng);
        let (enc, tag) =
            hpke::single_shot_seal_inout_detached_with_rng::<AesGcm256, HkdfSha256, Kem>(
                &OpModeS::Base,
                &self.key,
                HPKE_INFO,
                InOutBuf::from(ct),
                aad,
                &mut rng,
            )
            .map_err(|_| Error::InvalidConfiguration("HPKE encapsulation failed"))?;
        enc.write_exact(enc_out);
        tag.write_exact(tag_out);
        Ok(())
    }
}

/// Whether `bytes` is the canonical little-endian encoding of a u-coordinate: bit 255 clear
/// and the value below p = 2^255 - 19 (RFC 7748 section 5). Public data: no constant time.
fn is_canonical_u_coordinate(bytes: &[u8; X25519_KEY_LEN]) -> bool {
    // p in little-endian: 0xed, thirty 0xff, 0x7f.
    const P: [u8; X25519_KEY_LEN] = {
        let mut p = [0xff; X25519_KEY_LEN];
        p[0] = 0xed;
        p[X25519_KEY_LEN - 1] = 0x7f;
        p
    };
    // Compare as little-endian integers, most significant byte first.
    for (b, p) in bytes.iter().rev().zip(P.iter().rev()) {
        if b != p {
            return b < p;
        }
    }
    false
}

impl fmt::Debug for RecipientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientPublicKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A recipient's X25519 secret key with its key id (backend or break-glass custodian).
/// The inner key is zeroized on drop; `Debug` shows only the id.
pub struct RecipientSecretKey {
    id: KeyId,
    key: PrivateKey,
}

impl RecipientSecretKey {
    /// Generates a key pair (RFC 9180 `DeriveKeyPair` over 32 random bytes).
    pub fn generate<R: CryptoRng + ?Sized>(id: KeyId, rng: &mut R) -> Self {
        let mut rng = SizedRng(rng);
        let (key, _) = Kem::gen_keypair_with_rng(&mut rng);
        Self { id, key }
    }

    /// Parses a raw 32-byte X25519 secret key.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when the bytes are not a usable secret key.
    pub fn from_bytes(id: KeyId, bytes: &[u8; X25519_KEY_LEN]) -> Result<Self> {
        let key = PrivateKey::from_bytes(bytes)
            .map_err(|_| Error::InvalidConfiguration("not an X25519 secret key"))?;
        Ok(Self { id, key })
    }

    /// The raw secret key, for storage in a protected place.
    pub fn to_bytes(&self) -> Zeroizing<[u8; X25519_KEY_LEN]> {
        let mut out = Zeroizing::new([0u8; X25519_KEY_LEN]);
        self.key.write_exact(&mut out[..]);
        out
    }

    /// The matching public key.
    pub fn public_key(&self) -> RecipientPublicKey {
        RecipientPublicKey {
            id: self.id,
            key: Kem::sk_to_pk(&self.key),
        }
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }
}

impl fmt::Debug for RecipientSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientSecretKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Unwrap for RecipientSecretKey {
    fn unwrap_slot(
        &self,
        slot: &RecipientSlot<'_>,
        request: &UnwrapRequest<'_>,
    ) -> Result<Option<DataKey>> {
        if slot.kind() != SlotKind::Hpke || self.id != *slot.key_id() {
            return Ok(None);
        }
        let body: &[u8; HPKE_WRAPPED_LEN] =
            slot.wrapped().try_into().map_err(|_| Error::DidNotVerify)?;
        match request.hpke_engine() {
            HpkeEngine::Hpke => {}
            #[cfg(feature = "aws-lc")]
            HpkeEngine::AwsLc => {
                let secret = self.to_bytes();
                return crate::provider::aws_lc_hpke_unwrap(&secret, body, request.aad()).map(Some);
            }
        }
        let (enc, rest) = body.split_at(X25519_KEY_LEN);
        let (ct, tag) = rest.split_at(KEY_LEN);
        let enc = EncappedKey::from_bytes(enc).map_err(|_| Error::DidNotVerify)?;
        let tag = AeadTag::<AesGcm256>::from_bytes(tag).map_err(|_| Error::DidNotVerify)?;
        let mut buf = [0u8; KEY_LEN];
        buf.copy_from_slice(ct);
        let opened = hpke::single_shot_open_inout_detached::<AesGcm256, HkdfSha256, Kem>(
            &OpModeR::Base,
            &self.key,
            &enc,
            HPKE_INFO,
            InOutBuf::from(&mut buf[..]),
            request.aad(),
            &tag,
        );
        let result = match opened {
            Ok(()) => Ok(Some(DataKey::from_bytes(buf))),
            Err(_) => Err(Error::DidNotVerify),
        };
        buf.zeroize();
        result
    }
}

const _: () = assert!(HPKE_WRAPPED_LEN == X25519_KEY_LEN + KEY_LEN + TAG_LEN);

/// Constant "randomness" for the public-key check in [`RecipientPublicKey::from_bytes`] (its
/// output is discarded; never used to seal).
struct FixedRng;

impl rand_core::TryRng for FixedRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        Ok(0x5a5a_5a5a)
    }
    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        Ok(0x5a5a_5a5a_5a5a_5a5a)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        dst.fill(0x5a);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for FixedRng {}

/// Adapts `&mut R` (possibly unsized) to the `Sized` RNG the hpke crate asks for.
struct SizedRng<'a, R: ?Sized>(&'a mut R);

impl<R: CryptoRng + ?Sized> rand_core::TryRng for SizedRng<'_, R> {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: CryptoRng + ?Sized> rand_core::TryCryptoRng for SizedRng<'_, R> {}
