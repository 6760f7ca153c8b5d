//! The envelope format written a second time, straight from `docs/envelope-format.md`, with the
//! primitives alone (HKDF, HMAC, SHA-256, the suite AEADs, RFC 9180 HPKE) and none of the
//! crate's code. It builds envelopes the crate's sealer never writes — an unsorted stored
//! context, nine slots, a stray byte before the MAC, a suite id of 3 — with every other part
//! (commitment, wraps, header MAC, body) computed correctly from the data key, so that each
//! must-fail vector breaks exactly one rule. `builder_reproduces_the_sealer` checks that, given
//! a well-formed specification, it writes what the crate's sealer writes, byte for byte.

use aead::{inout::InOutBuf, AeadInOut};
use aes_gcm::Aes256Gcm;
use aes_gcm_siv::Aes256GcmSiv;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeS, Serializable};
use medsec_envelope::Suite;
use sha2::{Digest, Sha256};

use crate::ScriptedRng;

/// Which AEAD seals the body and the keyring wraps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Aead {
    GcmSiv,
    Gcm,
}

impl Aead {
    pub fn of(suite: Suite) -> Self {
        match suite {
            Suite::Aes256GcmSiv => Self::GcmSiv,
            _ => Self::Gcm,
        }
    }

    /// `AEAD-Seal(suite, K, N, A, P) -> C || T`.
    pub fn seal(self, key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
        let mut buf = pt.to_vec();
        let nonce = (*nonce).into();
        let tag: [u8; 16] = match self {
            Self::GcmSiv => <Aes256GcmSiv as aead::KeyInit>::new(&(*key).into())
                .encrypt_inout_detached(&nonce, aad, InOutBuf::from(&mut buf[..]))
                .unwrap()
                .into(),
            Self::Gcm => <Aes256Gcm as aead::KeyInit>::new(&(*key).into())
                .encrypt_inout_detached(&nonce, aad, InOutBuf::from(&mut buf[..]))
                .unwrap()
                .into(),
        };
        buf.extend_from_slice(&tag);
        buf
    }
}

/// `HKDF-Expand(HKDF-Extract(salt, ikm), label || u8(suite_id), 32)`.
pub fn hkdf_label(salt: &[u8], ikm: &[u8], label: &[u8], suite_id: u8) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut okm = [0u8; 32];
    hk.expand_multi_info(&[label, &[suite_id]], &mut okm)
        .unwrap();
    okm
}

/// Payload key, commitment and header MAC key (section 5).
pub struct MessageKeys {
    pub payload_key: [u8; 32],
    pub commitment: [u8; 32],
    pub header_mac_key: [u8; 32],
}

pub fn message_keys(data_key: &[u8; 32], salt: &[u8; 32], suite_id: u8) -> MessageKeys {
    MessageKeys {
        payload_key: hkdf_label(salt, data_key, b"medsec-envelope-v1/payload-key", suite_id),
        commitment: hkdf_label(salt, data_key, b"medsec-envelope-v1/commitment", suite_id),
        header_mac_key: hkdf_label(salt, data_key, b"medsec-envelope-v1/header-mac", suite_id),
    }
}

pub fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Section 4's digest. Entries are sorted here; the count is whatever the list holds (a
/// must-fail vector binds 17 entries).
pub fn context_digest(entries: &[(Vec<u8>, Vec<u8>)]) -> [u8; 32] {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    h.update(b"medsec-envelope-v1/context");
    h.update([sorted.len() as u8]);
    for (k, v) in &sorted {
        h.update([k.len() as u8]);
        h.update(k);
        h.update([v.len() as u8]);
        h.update(v);
    }
    h.finalize().into()
}

pub fn binding(preamble: &[u8], context_digest: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"medsec-envelope-v1/binding");
    h.update(preamble);
    h.update(context_digest);
    h.finalize().into()
}

pub fn nonce(i: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[7..11].copy_from_slice(&i.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// The X25519 public key of a secret key (RFC 9180 `SerializePublicKey`).
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    use hpke::Kem as _;
    let sk = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(secret).unwrap();
    let pk = X25519HkdfSha256::sk_to_pk(&sk);
    let mut out = [0u8; 32];
    pk.write_exact(&mut out);
    out
}

/// `enc || ct` of section 5.2, with `ikmE` as the sender's randomness.
pub fn hpke_wrap(public_key: &[u8; 32], ikm_e: &[u8; 32], aad: &[u8], data_key: &[u8]) -> Vec<u8> {
    let pk = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(public_key).unwrap();
    let mut rng = ScriptedRng {
        bytes: ikm_e.to_vec(),
        pos: 0,
    };
    let mut ct = data_key.to_vec();
    let (enc, tag) =
        hpke::single_shot_seal_inout_detached_with_rng::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
            &OpModeS::Base,
            &pk,
            b"medsec-envelope-v1/hpke",
            InOutBuf::from(&mut ct[..]),
            aad,
            &mut rng,
        )
        .unwrap();
    assert_eq!(rng.pos, 32, "HPKE draws exactly ikmE");
    let mut out = vec![0u8; 32];
    enc.write_exact(&mut out);
    out.extend_from_slice(&ct);
    let mut t = [0u8; 16];
    tag.write_exact(&mut t);
    out.extend_from_slice(&t);
    out
}

/// `wrap_salt || AEAD-Seal(suite, wrap_key, 0^12, wrap_aad, DK)` (section 5.1).
pub fn kek_wrap(
    aead: Aead,
    suite_id: u8,
    kek: &[u8; 32],
    wrap_salt: &[u8; 32],
    aad: &[u8],
    data_key: &[u8],
) -> Vec<u8> {
    let wrap_key = hkdf_label(wrap_salt, kek, b"medsec-envelope-v1/wrap-key", suite_id);
    let mut out = wrap_salt.to_vec();
    out.extend(aead.seal(&wrap_key, &[0; 12], aad, data_key));
    out
}

pub fn wrap_aad(binding: &[u8; 32], kind: u8, key_id: &[u8]) -> Vec<u8> {
    let mut aad = binding.to_vec();
    aad.push(kind);
    aad.push(key_id.len() as u8);
    aad.extend_from_slice(key_id);
    aad
}

/// How a slot's body is made.
#[derive(Clone)]
pub enum Body {
    /// A keyring wrap of the data key under this KEK with this `wrap_salt`.
    Kek { key: [u8; 32], wrap_salt: [u8; 32] },
    /// An HPKE wrap of the data key to this public key with this `ikmE`.
    Hpke {
        public_key: [u8; 32],
        ikm_e: [u8; 32],
    },
    /// These bytes as they are.
    Raw(Vec<u8>),
}

#[derive(Clone)]
pub struct Slot {
    pub kind: u8,
    pub id: Vec<u8>,
    pub body: Body,
    /// Applied to the finished body (flip a tag bit, say) before the header MAC.
    pub tamper: Option<fn(&mut Vec<u8>)>,
}

impl Slot {
    pub fn kek(id: &[u8], key: [u8; 32], wrap_salt: [u8; 32]) -> Self {
        Self {
            kind: 1,
            id: id.to_vec(),
            body: Body::Kek { key, wrap_salt },
            tamper: None,
        }
    }

    pub fn hpke(id: &[u8], public_key: [u8; 32], ikm_e: [u8; 32]) -> Self {
        Self {
            kind: 2,
            id: id.to_vec(),
            body: Body::Hpke { public_key, ikm_e },
            tamper: None,
        }
    }

    pub fn raw(kind: u8, id: &[u8], body: Vec<u8>) -> Self {
        Self {
            kind,
            id: id.to_vec(),
            body: Body::Raw(body),
            tamper: None,
        }
    }
}

/// Everything that goes into one envelope; each field can be set to something the format
/// forbids. The defaults (`Spec::new`) give a well-formed envelope.
#[derive(Clone)]
pub struct Spec {
    pub magic: [u8; 4],
    pub version: u8,
    /// Written at offset 7 and used in every derivation.
    pub suite_id: u8,
    /// The AEAD for the body and keyring wraps (the suite's, or a stand-in for an unknown id).
    pub aead: Aead,
    pub chunk_size: u32,
    pub data_key: [u8; 32],
    pub salt: [u8; 32],
    /// Replaces the derived commitment when set.
    pub commitment: Option<[u8; 32]>,
    /// Stored entries as written, in this order.
    pub stored: Vec<(Vec<u8>, Vec<u8>)>,
    /// Replaces `stored.len()` as `stored_count` when set.
    pub stored_count: Option<u8>,
    /// The whole context the binding is computed over (bound-only and stored entries).
    pub context: Vec<(Vec<u8>, Vec<u8>)>,
    pub slots: Vec<Slot>,
    /// Replaces `slots.len()` as `recipient_count` when set.
    pub recipient_count: Option<u8>,
    /// Bytes between the last slot and the MAC, counted in `header_len` and covered by the MAC.
    pub stray: Vec<u8>,
    /// Added to the true `header_len` in the written field (the MAC still covers the true
    /// header bytes before it, with this field as written).
    pub header_len_delta: i32,
    /// Flip the MAC's lowest bit.
    pub flip_mac: bool,
    pub plaintext: Vec<u8>,
}

impl Spec {
    pub fn new(suite: Suite, chunk_size: u32, data_key: [u8; 32], salt: [u8; 32]) -> Self {
        Self {
            magic: *b"MSEV",
            version: 1,
            suite_id: suite.id(),
            aead: Aead::of(suite),
            chunk_size,
            data_key,
            salt,
            commitment: None,
            stored: vec![],
            stored_count: None,
            context: vec![],
            slots: vec![],
            recipient_count: None,
            stray: vec![],
            header_len_delta: 0,
            flip_mac: false,
            plaintext: vec![],
        }
    }

    pub fn keys(&self) -> MessageKeys {
        message_keys(&self.data_key, &self.salt, self.suite_id)
    }

    pub fn preamble(&self) -> Vec<u8> {
        let mut p = vec![self.suite_id];
        p.extend_from_slice(&self.chunk_size.to_be_bytes());
        p.extend_from_slice(&self.salt);
        p.extend_from_slice(&self.commitment.unwrap_or(self.keys().commitment));
        p.push(self.stored_count.unwrap_or(self.stored.len() as u8));
        for (k, v) in &self.stored {
            p.push(k.len() as u8);
            p.extend_from_slice(k);
            p.push(v.len() as u8);
            p.extend_from_slice(v);
        }
        p
    }

    pub fn binding(&self) -> [u8; 32] {
        binding(&self.preamble(), &context_digest(&self.context))
    }

    /// The header (MAC included) and the body.
    pub fn build(&self) -> (Vec<u8>, Vec<u8>) {
        let keys = self.keys();
        let preamble = self.preamble();
        let bind = self.binding();
        let mut slots = vec![self.recipient_count.unwrap_or(self.slots.len() as u8)];
        for s in &self.slots {
            let aad = wrap_aad(&bind, s.kind, &s.id);
            let mut body = match &s.body {
                Body::Kek { key, wrap_salt } => kek_wrap(
                    self.aead,
                    self.suite_id,
                    key,
                    wrap_salt,
                    &aad,
                    &self.data_key,
                ),
                Body::Hpke { public_key, ikm_e } => {
                    hpke_wrap(public_key, ikm_e, &aad, &self.data_key)
                }
                Body::Raw(b) => b.clone(),
            };
            if let Some(t) = s.tamper {
                t(&mut body);
            }
            slots.push(s.kind);
            slots.push(s.id.len() as u8);
            slots.extend_from_slice(&s.id);
            slots.extend_from_slice(&(body.len() as u16).to_be_bytes());
            slots.extend(body);
        }
        let true_len = 7 + preamble.len() + slots.len() + self.stray.len() + 32;
        let written_len = (true_len as i64 + i64::from(self.header_len_delta)) as u16;
        let mut header = self.magic.to_vec();
        header.push(self.version);
        header.extend_from_slice(&written_len.to_be_bytes());
        header.extend(preamble);
        header.extend(slots);
        header.extend_from_slice(&self.stray);
        let mut mac = hmac(&keys.header_mac_key, &header);
        if self.flip_mac {
            mac[31] ^= 1;
        }
        header.extend_from_slice(&mac);
        (header, self.body(&keys.payload_key, &bind))
    }

    pub fn envelope(&self) -> Vec<u8> {
        let (mut h, b) = self.build();
        h.extend(b);
        h
    }

    /// The sealed chunks of the body (one element for a one-shot body).
    pub fn chunks(&self) -> Vec<Vec<u8>> {
        let keys = self.keys();
        self.sealed_chunks(&keys.payload_key, &self.binding())
    }

    fn body(&self, payload_key: &[u8; 32], bind: &[u8; 32]) -> Vec<u8> {
        self.sealed_chunks(payload_key, bind).concat()
    }

    fn sealed_chunks(&self, payload_key: &[u8; 32], bind: &[u8; 32]) -> Vec<Vec<u8>> {
        if self.chunk_size == 0 {
            return vec![self
                .aead
                .seal(payload_key, &nonce(0, true), bind, &self.plaintext)];
        }
        let s = self.chunk_size as usize;
        let full = self.plaintext.len() / s;
        let mut out: Vec<Vec<u8>> = (0..full)
            .map(|i| {
                self.aead.seal(
                    payload_key,
                    &nonce(i as u32, false),
                    bind,
                    &self.plaintext[i * s..(i + 1) * s],
                )
            })
            .collect();
        out.push(self.aead.seal(
            payload_key,
            &nonce(full as u32, true),
            bind,
            &self.plaintext[full * s..],
        ));
        out
    }
}
