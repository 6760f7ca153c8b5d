//! Building tokens byte by byte with coset and ed25519-dalek (an encoder other than
//! medsec's), including signatures no honest signer makes.

use super::*;

/// Signs arbitrary payload bytes with an arbitrary protected header, using coset (an
/// independent COSE encoder) and ed25519-dalek directly.
pub(super) fn forge_sign1(
    protected: coset::Header,
    unprotected: coset::Header,
    payload: Vec<u8>,
) -> Vec<u8> {
    let sk = ed25519_dalek::SigningKey::from_bytes(&seed());
    CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected)
        .payload(payload)
        .create_signature(b"", |tbs| sk.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .unwrap()
}

pub(super) fn ed_header() -> coset::Header {
    HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(signing_key().kid().as_bytes().to_vec())
        .build()
}

/// The payload of a token, as a CBOR map we can edit.
pub(super) fn payload_map(token: &[u8]) -> Vec<(Cbor, Cbor)> {
    let s = CoseSign1::from_tagged_slice(token).unwrap();
    match Cbor::from_slice(&s.payload.unwrap()).unwrap() {
        Cbor::Map(m) => m,
        _ => panic!("payload is a map"),
    }
}

pub(super) fn encode_map(m: Vec<(Cbor, Cbor)>) -> Vec<u8> {
    Cbor::Map(m).to_vec().unwrap()
}

/// The protected header's bytes and the payload of a COSE_Sign1 token.
pub(super) fn sign1_parts(token: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let s = CoseSign1::from_tagged_slice(token).unwrap();
    (s.protected.original_data.unwrap(), s.payload.unwrap())
}

/// RFC 9052 §4.4 `Sig_structure` for a COSE_Sign1 with an empty external AAD.
pub(super) fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    Cbor::Array(vec![
        Cbor::Text("Signature1".into()),
        Cbor::Bytes(protected.to_vec()),
        Cbor::Bytes(vec![]),
        Cbor::Bytes(payload.to_vec()),
    ])
    .to_vec()
    .unwrap()
}

/// `18([protected, {}, payload, signature])` from raw parts (any protected bytes, any
/// signature bytes).
pub(super) fn raw_sign1(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    Cbor::Tag(
        18,
        Box::new(Cbor::Array(vec![
            Cbor::Bytes(protected.to_vec()),
            Cbor::Map(vec![]),
            Cbor::Bytes(payload.to_vec()),
            Cbor::Bytes(signature.to_vec()),
        ])),
    )
    .to_vec()
    .unwrap()
}

/// A 512-bit little-endian integer reduced mod L, with ed25519-dalek's own scalar type
/// (reached through the expanded key, so no scalar code is written here).
pub(super) fn scalar_from_wide<S>(_same_type_as: &S, wide: &[u8; 64]) -> S
where
    S: From<u64> + Copy + Add<Output = S> + Mul<Output = S>,
{
    let base = S::from(256);
    wide.iter()
        .rev()
        .fold(S::from(0), |acc, b| acc * base + S::from(u64::from(*b)))
}

/// A signature `(R, S = k·a mod L)` with a chosen `R`, where `k = SHA-512(R ‖ A ‖ M)`: it
/// satisfies the cofactorless equation `[S]B = R + [k]A` exactly when `R` is the identity,
/// since `[S]B − [k]A = [k·a − k·a]B`. No honest signer emits one.
pub(super) fn signature_with_r(r: [u8; 32], message: &[u8]) -> [u8; 64] {
    let esk = ed25519_dalek::hazmat::ExpandedSecretKey::from(&seed());
    let public = signing_key().verifying_key().to_bytes();
    let mut h = Sha512::new();
    h.update(r);
    h.update(public);
    h.update(message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    let k = scalar_from_wide(&esk.scalar, &wide);
    let s = k * esk.scalar;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(&s.to_bytes());
    sig
}

/// `a + b` for 256-bit little-endian integers (no carry out: used with S < L < 2^253).
pub(super) fn add_le(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let t = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = t as u8;
        carry = t >> 8;
    }
    assert_eq!(carry, 0);
    out
}
