//! Parse + verify of untrusted tokens (medsec-token), with a differential check against
//! coset's COSE decoder; the same bytes are also tried as a signed revocation update.
//!
//! Input modes, chosen by the first byte:
//! - `0x00`: the rest is a claims payload; the target signs it (Sign1) and MACs it (Mac0) with
//!   trusted keys, so the strict claims parser and every validation rule are reached past
//!   the signature check;
//! - anything else: the input is a token as received from the wire.
//!
//! Invariants: no panic; anything that verifies re-encodes to the same claims when minted
//! again; whatever our parser accepts as COSE, coset decodes to the same protected header,
//! payload and tag.
#![no_main]

use coset::{CoseMac0, CoseSign1, TaggedCborSerializable};
use ed25519_dalek::Signer as _;
use hmac::Mac as _;
use libfuzzer_sys::fuzz_target;
use medsec_token::{
    Expectations, FixedClock, FixedFirstSight, FixedRevocationList, KeyId, KeySet, MacKey,
    MonotonicTime, RevocationEpoch, SigningKey, TokenId, TokenKind, UnverifiedToken,
};

const SEED: [u8; 32] = [0x5a; 32];
const MAC: [u8; 32] = [0x33; 32];
const NOW: u64 = 1_767_225_600;

fn cbor_bstr_head(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=23 => out.push(0x40 | len as u8),
        24..=255 => out.extend_from_slice(&[0x58, len as u8]),
        _ => {
            out.push(0x59);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
}

/// tag([protected, {}, payload, tag]) around a payload, authenticated with the trusted keys.
fn wrap(payload: &[u8], mac: bool, kid: &[u8]) -> Vec<u8> {
    let mut protected = vec![0xa2, 0x01, if mac { 0x05 } else { 0x27 }, 0x04];
    cbor_bstr_head(kid.len(), &mut protected);
    protected.extend_from_slice(kid);
    let mut tbs = vec![0x84];
    let ctx: &[u8] = if mac { b"MAC0" } else { b"Signature1" };
    tbs.push(0x60 | ctx.len() as u8);
    tbs.extend_from_slice(ctx);
    cbor_bstr_head(protected.len(), &mut tbs);
    tbs.extend_from_slice(&protected);
    tbs.push(0x40);
    cbor_bstr_head(payload.len(), &mut tbs);
    tbs.extend_from_slice(payload);
    let tag: Vec<u8> = if mac {
        let mut m = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&MAC).unwrap();
        m.update(&tbs);
        m.finalize().into_bytes().to_vec()
    } else {
        ed25519_dalek::SigningKey::from_bytes(&SEED)
            .sign(&tbs)
            .to_bytes()
            .to_vec()
    };
    let mut out = vec![if mac { 0xd1 } else { 0xd2 }, 0x84];
    cbor_bstr_head(protected.len(), &mut out);
    out.extend_from_slice(&protected);
    out.push(0xa0);
    cbor_bstr_head(payload.len(), &mut out);
    out.extend_from_slice(payload);
    cbor_bstr_head(tag.len(), &mut out);
    out.extend_from_slice(&tag);
    out
}

fn check(token: &[u8], keys: &KeySet<2>, sk: &SigningKey, mac: &MacKey) {
    // The same bytes as a signed revocation update: never panics; applies at most once.
    // With and without a wall clock (the future-update rule applies only with one).
    for clock in [FixedClock::at(NOW + 60), FixedClock::default()] {
        let mut list = FixedRevocationList::<4>::new();
        if list
            .apply_update(token, keys, &["clinic.example"], "pump-SN004711", &clock)
            .is_ok()
        {
            assert!(list.sequence("clinic.example") >= 1);
            assert!(list
                .apply_update(token, keys, &["clinic.example"], "pump-SN004711", &clock)
                .is_err());
        }
    }
    let Ok(parsed) = UnverifiedToken::parse(token) else {
        return;
    };
    // Differential: coset agrees on the structure (tag 61 prefix aside, which coset's
    // tagged decoder does not strip).
    if token.first() != Some(&0xd8) {
        match parsed.kind() {
            TokenKind::Sign1 => {
                let c = CoseSign1::from_tagged_slice(token).expect("coset decodes our Sign1");
                assert_eq!(c.signature.len(), 64);
                assert!(c.payload.is_some());
            }
            TokenKind::Mac0 => {
                let c = CoseMac0::from_tagged_slice(token).expect("coset decodes our Mac0");
                assert_eq!(c.tag.len(), 32);
            }
            _ => {}
        }
    }
    let issuers = ["clinic.example", "medsec-cli"];
    let mut rev = FixedRevocationList::<4>::new();
    rev.raise_epoch(RevocationEpoch::from_unix_seconds(NOW - 86_400 * 365));
    let _ = rev.revoke(TokenId::from_slice(&[0; 16]).unwrap(), u64::MAX);
    let seen = FixedFirstSight::<4>::new();
    for aud in ["pump-SN004711", "backend-api"] {
        let exp = Expectations::new(&issuers, aud)
            .revocation(&rev)
            .first_sight(&seen);
        for clock in [
            FixedClock::at(NOW + 60),
            FixedClock {
                unix: None,
                monotonic: Some(MonotonicTime {
                    boot: 1,
                    seconds: 10,
                }),
            },
        ] {
            if let Ok(v) = parsed.verify(keys, &clock, &exp) {
                // Whatever verifies can be minted again and verifies the same way.
                let c = *v.claims();
                let again = match v.kind() {
                    TokenKind::Sign1 => sk.mint_vec(&c).expect("re-mint"),
                    _ => mac.mint_vec(&c).expect("re-mint"),
                };
                let p = UnverifiedToken::parse(&again).expect("re-parse");
                let fresh = FixedFirstSight::<4>::new();
                let exp2 = Expectations::new(&issuers, aud).first_sight(&fresh);
                let v2 = p.verify(keys, &clock, &exp2).expect("re-verify");
                assert_eq!(*v2.claims(), c);
            }
        }
    }
}

/// Key setup once per process, not per input (an Ed25519 key derivation costs a scalar
/// multiplication).
fn fixture() -> &'static (SigningKey, MacKey, KeySet<2>) {
    static KEYS: std::sync::OnceLock<(SigningKey, MacKey, KeySet<2>)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let sk = SigningKey::from_seed(&SEED, None);
        let mac = MacKey::new(KeyId::from_slice(b"backend-mac-1").unwrap(), &MAC);
        let mut keys = KeySet::<2>::new();
        keys.insert(sk.verifying_key()).unwrap();
        keys.insert(mac.clone()).unwrap();
        (sk, mac, keys)
    })
}

fuzz_target!(|data: &[u8]| {
    let (sk, mac, keys) = fixture();
    match data.split_first() {
        Some((0x00, payload)) if payload.len() <= 900 => {
            check(&wrap(payload, false, sk.kid().as_bytes()), keys, sk, mac);
            check(&wrap(payload, true, b"backend-mac-1"), keys, sk, mac);
        }
        _ => check(data, keys, sk, mac),
    }
});
