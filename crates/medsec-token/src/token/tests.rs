//! Unit tests of the verifier that check *why* a token was rejected (the public API only
//! ever says "rejected"). Integration tests in `tests/` exercise the public surface.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::type_complexity,
    reason = "tests"
)]

use super::*;
use crate::clock::{FixedClock, FixedFirstSight, MonotonicTime, RollbackGuard};
use crate::keys::{KeyId, KeySet, MacKey, SigningKey};
use crate::revocation::{FixedRevocationList, RevocationEpoch};
use crate::scope::{Actions, PolicyTable, Scope};
use crate::{ClaimsBuilder, Role};
use rand_chacha::rand_core::SeedableRng;
use std::vec;
use std::vec::Vec;

const ISS: &str = "clinic.example";
const AUD: &str = "pump-SN004711";
const NOW: u64 = 1_750_000_000;

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

/// For narrowed children: `rng()` is reseeded per call, so a child drawn with it would get
/// its parent's `cti`, which narrowing refuses (profile §7).
fn child_rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(43)
}

fn signing_key() -> SigningKey {
    SigningKey::from_seed(&[7u8; 32], None)
}

fn mac_key() -> MacKey {
    MacKey::new(KeyId::from_slice(b"mac-1").unwrap(), &[9u8; 32])
}

/// Claims of `role` for subject `patient-8f3a2c`; a caregiver token (which needs a patient)
/// is bound to that patient.
fn claims(role: Role) -> Claims<'static> {
    let b = ClaimsBuilder::new(ISS, role)
        .subject("patient-8f3a2c")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600);
    let b = if role == Role::Caregiver {
        b.patient("patient-8f3a2c")
    } else {
        b
    };
    b.build(&mut rng()).unwrap()
}

fn sign1(c: &Claims<'_>) -> Vec<u8> {
    signing_key().mint_vec(c).unwrap()
}

fn keys() -> KeySet<2> {
    let mut set = KeySet::new();
    set.insert(signing_key().verifying_key()).unwrap();
    set.insert(mac_key()).unwrap();
    set
}

const ISSUERS: &[&str] = &[ISS];

fn expect() -> Expectations<'static> {
    Expectations::new(ISSUERS, AUD)
}

fn check(
    token: &[u8],
    clock: &FixedClock,
    exp: &Expectations<'_>,
) -> core::result::Result<(), Reject> {
    let t = UnverifiedToken::parse_inner(token)?;
    t.verify_inner(&keys(), clock, exp).map(|_| ())
}

/// Signs arbitrary protected-header and payload bytes as a Sign1 token (for malformed
/// claims that the builder would refuse to produce).
fn forge_sign1(protected: &[u8], payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut buf = [0u8; MAX_TBS_LEN];
    let n = to_be_signed(b"Signature1", protected, payload, &mut buf).unwrap();
    let sig = key.sign(&buf[..n]);
    let mut out = [0u8; 2048];
    let mut w = Writer::new(&mut out);
    w.tag(TAG_COSE_SIGN1).unwrap();
    w.array(4).unwrap();
    w.bstr(protected).unwrap();
    w.map(0).unwrap();
    w.bstr(payload).unwrap();
    w.bstr(&sig).unwrap();
    let n = w.position();
    out[..n].to_vec()
}

fn protected_for(key: &SigningKey) -> Vec<u8> {
    let mut p = [0u8; 32];
    let n = write_protected(ALG_EDDSA, key.kid().as_bytes(), &mut p).unwrap();
    p[..n].to_vec()
}

fn payload(c: &Claims<'_>) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    let n = c.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn round_trip_every_role_both_kinds() {
    for role in Role::ALL {
        let c = claims(role);
        for token in [sign1(&c), mac_key().mint_vec(&c).unwrap()] {
            let t = UnverifiedToken::parse(&token).unwrap();
            let v = t.verify(&keys(), &FixedClock::at(NOW), &expect()).unwrap();
            assert_eq!(v.role(), role);
            assert_eq!(*v.claims(), c);
            let table = PolicyTable::DEFAULT.scope_set(role).unwrap();
            for s in table.iter() {
                for a in Action::ALL {
                    assert_eq!(v.allows(&s.resource, a), s.actions.contains(a));
                }
            }
        }
    }
}

#[test]
fn every_bit_flip_and_truncation_is_rejected() {
    let c = claims(Role::Clinician);
    for token in [sign1(&c), mac_key().mint_vec(&c).unwrap()] {
        let clock = FixedClock::at(NOW);
        assert_eq!(check(&token, &clock, &expect()), Ok(()));
        for i in 0..token.len() {
            for bit in 0..8 {
                let mut t = token.clone();
                t[i] ^= 1 << bit;
                assert!(check(&t, &clock, &expect()).is_err(), "byte {i} bit {bit}");
            }
        }
        for len in 0..token.len() {
            assert_eq!(
                check(&token[..len], &clock, &expect()),
                Err(Reject::Malformed),
                "len {len}"
            );
        }
        let mut longer = token.clone();
        longer.push(0);
        assert_eq!(check(&longer, &clock, &expect()), Err(Reject::Malformed));
    }
}

#[test]
fn algorithm_substitution_fails() {
    let c = claims(Role::Patient);
    let clock = FixedClock::at(NOW);
    // A Sign1 token whose kid names the HMAC key, and a Mac0 token whose kid names the
    // Ed25519 key: the key decides, so both fail.
    let sk = signing_key();
    let mac_as_sign = SigningKey::from_seed(&[7u8; 32], Some(mac_key().kid()));
    let t = mac_as_sign.mint_vec(&c).unwrap();
    assert_eq!(check(&t, &clock, &expect()), Err(Reject::AlgorithmMismatch));
    let sign_as_mac = MacKey::new(sk.kid(), &[9u8; 32]);
    let t = sign_as_mac.mint_vec(&c).unwrap();
    assert_eq!(check(&t, &clock, &expect()), Err(Reject::AlgorithmMismatch));
    // Classic key confusion: MAC with the *public* key as the HMAC secret.
    let public = sk.verifying_key().to_bytes();
    let t = MacKey::new(sk.kid(), &public).mint_vec(&c).unwrap();
    assert_eq!(check(&t, &clock, &expect()), Err(Reject::AlgorithmMismatch));
    // Right structure, wrong or absent algorithm labels ("none" has no COSE id; 0 is
    // reserved, -7 is ES256, 6 is HMAC 256/64).
    for alg in [0i64, -7, 6, ALG_HMAC_256_256, -19] {
        let mut p = [0u8; 32];
        let n = write_protected(alg, sk.kid().as_bytes(), &mut p).unwrap();
        let t = forge_sign1(&p[..n], &payload(&c), &sk);
        assert_eq!(
            check(&t, &clock, &expect()),
            Err(Reject::AlgorithmMismatch),
            "alg {alg}"
        );
    }
    // A Sign1 body under the Mac0 tag, and other COSE tags, and no tag at all.
    let good = sign1(&c);
    for (prefix, want) in [
        (&[0xd1u8][..], Reject::Malformed), // tag 17 but a 64-byte "tag"
        (&[0xd0][..], Reject::Malformed),   // COSE_Encrypt0
        (&[0xd8, 0x62][..], Reject::Malformed), // COSE_Sign (98)
        (&[][..], Reject::Malformed),       // untagged
    ] {
        let mut t = prefix.to_vec();
        t.extend_from_slice(&good[1..]);
        assert_eq!(check(&t, &clock, &expect()), Err(want));
    }
    // The CWT tag in front is accepted.
    let mut t = vec![0xd8, 0x3d];
    t.extend_from_slice(&good);
    assert_eq!(check(&t, &clock, &expect()), Ok(()));
}

#[test]
fn headers_are_strict() {
    let c = claims(Role::Patient);
    let sk = signing_key();
    let clock = FixedClock::at(NOW);
    let body = payload(&c);
    let kid = sk.kid();
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // kid missing; extra label (crit = 2); alg twice; kid empty.
    cases.push(vec![0xa1, 0x01, 0x27]);
    let mut p = vec![0xa3, 0x01, 0x27, 0x02, 0x80, 0x04, 0x48];
    p.extend_from_slice(kid.as_bytes());
    cases.push(p);
    let mut p = vec![0xa2, 0x01, 0x27, 0x01, 0x27];
    p.extend_from_slice(kid.as_bytes());
    cases.push(p);
    cases.push(vec![0xa2, 0x01, 0x27, 0x04, 0x40]);
    for p in cases {
        let t = forge_sign1(&p, &body, &sk);
        assert_eq!(
            check(&t, &clock, &expect()),
            Err(Reject::Malformed),
            "{p:02x?}"
        );
    }
    // Non-empty unprotected bucket.
    let good = sign1(&c);
    let plen = 1 + protected_for(&sk).len();
    let at = 2 + plen; // tag, array head, protected bstr
    assert_eq!(good[at], 0xa0);
    let mut t = good[..at].to_vec();
    t.extend_from_slice(&[0xa1, 0x04, 0x41, 0x00]);
    t.extend_from_slice(&good[at + 1..]);
    assert_eq!(check(&t, &clock, &expect()), Err(Reject::Malformed));
}

#[test]
fn time_checks_with_leeway() {
    let c = claims(Role::Patient); // iat NOW, exp NOW + 3600
    let t = sign1(&c);
    let e = expect();
    let at = |now| check(&t, &FixedClock::at(now), &e);
    assert_eq!(at(NOW + 3600 + 59), Ok(()));
    assert_eq!(at(NOW + 3600 + 60), Err(Reject::Expired));
    assert_eq!(at(NOW - 60), Ok(()));
    assert_eq!(at(NOW - 61), Err(Reject::IssuedInFuture));
    let strict = expect().leeway(0).unwrap();
    assert_eq!(
        check(&t, &FixedClock::at(NOW + 3600), &strict),
        Err(Reject::Expired)
    );
    assert_eq!(check(&t, &FixedClock::at(NOW + 3599), &strict), Ok(()));
    // nbf in the future.
    let c = ClaimsBuilder::new(ISS, Role::Patient)
        .subject("p")
        .audience(AUD)
        .issued_at(NOW)
        .not_before(NOW + 600)
        .ttl(3600)
        .build(&mut rng())
        .unwrap();
    let t = sign1(&c);
    assert_eq!(
        check(&t, &FixedClock::at(NOW + 100), &e),
        Err(Reject::NotYetValid)
    );
    assert_eq!(check(&t, &FixedClock::at(NOW + 540), &e), Ok(()));
    // Lifetime cap.
    let t = sign1(&claims(Role::Patient));
    assert_eq!(
        check(&t, &FixedClock::at(NOW), &expect().max_lifetime(3599)),
        Err(Reject::Lifetime)
    );
    assert_eq!(
        check(&t, &FixedClock::at(NOW), &expect().max_lifetime(3600)),
        Ok(())
    );
}

#[test]
fn clock_rollback_never_extends_validity() {
    struct Settable(core::cell::Cell<u64>);
    impl Clock for Settable {
        fn unix_time(&self) -> Option<u64> {
            Some(self.0.get())
        }
    }
    let t = sign1(&claims(Role::Patient));
    let clock = RollbackGuard::new(Settable(core::cell::Cell::new(NOW + 10)));
    let parsed = UnverifiedToken::parse_inner(&t).unwrap();
    let e = expect();
    assert!(parsed.verify_inner(&keys(), &clock, &e).is_ok());
    clock.inner().0.set(NOW + 7200);
    assert_eq!(
        parsed.verify_inner(&keys(), &clock, &e).err(),
        Some(Reject::Expired)
    );
    // Someone sets the clock back: still expired.
    clock.inner().0.set(NOW + 10);
    assert_eq!(
        parsed.verify_inner(&keys(), &clock, &e).err(),
        Some(Reject::Expired)
    );
}

#[test]
fn first_sight_validity_without_wall_clock() {
    let c = ClaimsBuilder::new(ISS, Role::Technician)
        .subject("tech-1")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(86_400)
        .exi(600)
        .build(&mut rng())
        .unwrap();
    let t = sign1(&c);
    let store = FixedFirstSight::<4>::new();
    let e = expect().first_sight(&store);
    let mono = |boot, s| FixedClock::monotonic_only(boot, s);
    // No store: cannot bound validity.
    assert_eq!(
        check(&t, &mono(1, 100), &expect()),
        Err(Reject::NoTimeSource)
    );
    assert_eq!(check(&t, &mono(1, 100), &e), Ok(()));
    assert_eq!(check(&t, &mono(1, 699), &e), Ok(()));
    assert_eq!(check(&t, &mono(1, 700), &e), Err(Reject::Expired));
    // Counter went backwards: never extends validity.
    assert_eq!(check(&t, &mono(1, 50), &e), Err(Reject::Expired));
    // Another boot with the record still present: elapsed time unknown.
    assert_eq!(check(&t, &mono(2, 5), &e), Err(Reject::Expired));
    // A token without exi on a device with no wall clock.
    let t2 = sign1(&claims(Role::Patient));
    assert_eq!(check(&t2, &mono(1, 100), &e), Err(Reject::NoTimeSource));
    // A full store refuses instead of accepting unrecorded.
    let tiny = FixedFirstSight::<1>::new();
    let e1 = expect().first_sight(&tiny);
    assert_eq!(check(&t, &mono(1, 10), &e1), Ok(()));
    let other = ClaimsBuilder::new(ISS, Role::Technician)
        .subject("tech-2")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(86_400)
        .exi(600)
        .token_id(TokenId::from_slice(&[5; 16]).unwrap())
        .build(&mut rng())
        .unwrap();
    assert_eq!(
        check(&sign1(&other), &mono(1, 20), &e1),
        Err(Reject::FirstSight)
    );
    // With a wall clock as well, both windows apply.
    let both = FixedClock {
        unix: Some(NOW + 86_400 + 60),
        monotonic: Some(MonotonicTime {
            boot: 1,
            seconds: 20,
        }),
    };
    assert_eq!(check(&t, &both, &e), Err(Reject::Expired));
}

#[test]
fn audience_issuer_kid_and_revocation() {
    let c = claims(Role::Clinician);
    let t = sign1(&c);
    let clock = FixedClock::at(NOW);
    let other_aud = Expectations::new(ISSUERS, "pump-SN000001");
    assert_eq!(check(&t, &clock, &other_aud), Err(Reject::Audience));
    let other_iss = Expectations::new(&["evil.example"], AUD);
    assert_eq!(check(&t, &clock, &other_iss), Err(Reject::Issuer));
    let unknown = SigningKey::from_seed(&[1u8; 32], None)
        .mint_vec(&c)
        .unwrap();
    assert_eq!(check(&unknown, &clock, &expect()), Err(Reject::UnknownKey));
    // Same kid, different key: the signature fails.
    let impostor = SigningKey::from_seed(&[1u8; 32], Some(signing_key().kid()))
        .mint_vec(&c)
        .unwrap();
    assert_eq!(
        check(&impostor, &clock, &expect()),
        Err(Reject::BadSignature)
    );

    let mut rev = FixedRevocationList::<4>::new();
    rev.revoke(c.token_id(), c.expires_at()).unwrap();
    assert_eq!(
        check(&t, &clock, &expect().revocation(&rev)),
        Err(Reject::Revoked)
    );
    let mut rev = FixedRevocationList::<4>::new();
    rev.raise_epoch(RevocationEpoch::from_unix_seconds(NOW + 1));
    assert_eq!(
        check(&t, &clock, &expect().revocation(&rev)),
        Err(Reject::Revoked)
    );
    rev.raise_epoch(RevocationEpoch::from_unix_seconds(NOW));
    let mut rev2 = FixedRevocationList::<4>::new();
    rev2.raise_epoch(RevocationEpoch::from_unix_seconds(NOW));
    assert_eq!(check(&t, &clock, &expect().revocation(&rev2)), Ok(()));
    let mut subj = crate::RevocationList::new();
    subj.raise_subject_epoch(
        "patient-8f3a2c",
        RevocationEpoch::from_unix_seconds(NOW + 1),
    );
    assert_eq!(
        check(&t, &clock, &expect().revocation(&subj)),
        Err(Reject::Revoked)
    );
    // A subject epoch is keyed by `sub` alone (profile §6): it reaches the same `sub` from
    // another trusted issuer too, and no other subject.
    let lab = ClaimsBuilder::new("lab.example", Role::Patient)
        .subject("patient-8f3a2c")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .build(&mut rng())
        .unwrap();
    let both = Expectations::new(&[ISS, "lab.example"], AUD);
    let lab_token = sign1(&lab);
    assert_eq!(check(&lab_token, &clock, &both), Ok(()));
    assert_eq!(
        check(&lab_token, &clock, &both.revocation(&subj)),
        Err(Reject::Revoked)
    );
    let mut other = crate::RevocationList::new();
    other.raise_subject_epoch(
        "patient-000000",
        RevocationEpoch::from_unix_seconds(NOW + 1),
    );
    assert_eq!(check(&lab_token, &clock, &both.revocation(&other)), Ok(()));
}

#[test]
fn oversize_is_refused_before_work() {
    let mut t = vec![0u8; MAX_TOKEN_LEN + 1];
    t[0] = 0xd2;
    assert_eq!(
        check(&t, &FixedClock::at(NOW), &expect()),
        Err(Reject::Oversize)
    );
}

/// Re-encodes a claims map with one entry replaced by raw bytes (or dropped, or added).
fn claims_with(c: &Claims<'_>, key_bytes: &[u8], value: Option<&[u8]>) -> Vec<u8> {
    let full = payload(c);
    // Walk the map, copy entries, replace the one whose encoded key matches.
    let mut r = Reader::new(&full);
    let n = r.map().unwrap();
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut rest = &full[full.len() - r.rest_len()..];
    for _ in 0..n {
        let k_len = item_len(rest);
        let (k, tail) = rest.split_at(k_len);
        let v_len = item_len(tail);
        let (v, tail2) = tail.split_at(v_len);
        entries.push((k.to_vec(), v.to_vec()));
        rest = tail2;
    }
    let mut found = false;
    let mut out_entries = Vec::new();
    for (k, v) in entries {
        if k == key_bytes {
            found = true;
            if let Some(nv) = value {
                out_entries.push((k, nv.to_vec()));
            }
        } else {
            out_entries.push((k, v));
        }
    }
    if !found {
        if let Some(nv) = value {
            out_entries.push((key_bytes.to_vec(), nv.to_vec()));
        }
    }
    let mut out = Vec::new();
    let mut head = [0u8; 9];
    let mut w = Writer::new(&mut head);
    w.map(out_entries.len()).unwrap();
    let hl = w.position();
    out.extend_from_slice(&head[..hl]);
    for (k, v) in out_entries {
        out.extend_from_slice(&k);
        out.extend_from_slice(&v);
    }
    out
}

/// Length of the CBOR item at the front of `b` (test helper, trusted input).
fn item_len(b: &[u8]) -> usize {
    let mut r = Reader::new(b);
    let before = b.len();
    skip(&mut r);
    before - r.rest_len()
}

fn skip(r: &mut Reader<'_>) {
    let mut probe = r.clone();
    let (major, v) = probe.head().unwrap();
    match major {
        cbor::MAJOR_UINT | cbor::MAJOR_NINT => {
            r.head().unwrap();
        }
        cbor::MAJOR_BSTR => {
            r.bstr().unwrap();
        }
        cbor::MAJOR_TSTR => {
            r.tstr().unwrap();
        }
        cbor::MAJOR_ARRAY => {
            r.head().unwrap();
            for _ in 0..v {
                skip(r);
            }
        }
        cbor::MAJOR_MAP => {
            r.head().unwrap();
            for _ in 0..2 * v {
                skip(r);
            }
        }
        _ => {
            r.head().unwrap();
            skip(r);
        }
    }
}

#[test]
fn wrongly_typed_duplicate_and_unknown_claims_are_rejected() {
    let c = ClaimsBuilder::new(ISS, Role::Patient)
        .subject("patient-1")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .patient("patient-1")
        .build(&mut rng())
        .unwrap();
    let sk = signing_key();
    let p = protected_for(&sk);
    let clock = FixedClock::at(NOW);
    let verify = |payload: &[u8]| check(&forge_sign1(&p, payload, &sk), &clock, &expect());
    assert_eq!(verify(&payload(&c)), Ok(()));
    let neg = |k: u32| {
        let mut v = vec![0x3a];
        v.extend_from_slice(&(k - 1).to_be_bytes());
        v
    };
    let text = [0x61u8, b'x'];
    let uint = [0x1au8, 0x68, 0x00, 0x00, 0x00];
    let float = [0xfbu8, 0x41, 0xda, 0x13, 0x7f, 0x80, 0, 0, 0];
    let negint = [0x20u8];
    let bstr16 = {
        let mut b = vec![0x50u8];
        b.extend_from_slice(&[1; 16]);
        b
    };
    let cases: Vec<(Vec<u8>, Option<Vec<u8>>, &str)> = vec![
        (vec![0x01], Some(uint.to_vec()), "iss as uint"),
        (vec![0x01], Some(vec![0x60]), "iss empty"),
        (vec![0x01], None, "iss missing"),
        (vec![0x02], Some(bstr16.clone()), "sub as bstr"),
        (vec![0x03], Some(vec![0x81, 0x61, b'x']), "aud as array"),
        (vec![0x04], Some(text.to_vec()), "exp as text"),
        (vec![0x04], Some(float.to_vec()), "exp as float"),
        (vec![0x04], Some(negint.to_vec()), "exp negative"),
        (vec![0x04], None, "exp missing"),
        (vec![0x05], Some(text.to_vec()), "nbf as text"),
        (vec![0x06], Some(float.to_vec()), "iat as float"),
        (vec![0x06], None, "iat missing"),
        (vec![0x07], Some(text.to_vec()), "cti as text"),
        (vec![0x07], Some(vec![0x40]), "cti empty"),
        (vec![0x07], None, "cti missing"),
        (vec![0x08], Some(vec![0xa0]), "cnf empty"),
        (vec![0x18, 0x28], Some(vec![0x00]), "exi zero"),
        (vec![0x18, 0x28], Some(text.to_vec()), "exi as text"),
        (neg(65537), Some(vec![0xa0]), "scope empty"),
        (neg(65537), Some(vec![0x81, 0x01]), "scope as array"),
        (neg(65537), Some(vec![0xa1, 0x01, 0x00]), "scope no actions"),
        (
            neg(65537),
            Some(vec![0xa1, 0x01, 0x08]),
            "scope unknown action bit",
        ),
        (
            neg(65537),
            Some(vec![0xa1, 0x0d, 0x01]),
            "scope unknown resource code",
        ),
        (
            neg(65537),
            Some(vec![0xa1, 0x66, b'a', b'l', b'a', b'r', b'm', b's', 0x01]),
            "known resource spelled as text",
        ),
        (
            neg(65537),
            Some(vec![0xa2, 0x01, 0x01, 0x01, 0x01]),
            "scope duplicate resource",
        ),
        (neg(65537), None, "scope missing"),
        (neg(65538), Some(vec![0x06]), "role unknown"),
        (neg(65538), Some(text.to_vec()), "role as text"),
        (neg(65538), None, "role missing"),
        (neg(65539), Some(uint.to_vec()), "patient as uint"),
        (neg(65540), Some(text.to_vec()), "parent as text"),
        (vec![0x09], Some(text.to_vec()), "unknown registered claim"),
        (neg(65541), Some(text.to_vec()), "unknown private claim"),
    ];
    for (k, v, what) in cases {
        let forged = claims_with(&c, &k, v.as_deref());
        assert_eq!(verify(&forged), Err(Reject::Malformed), "{what}");
    }
    // Duplicate key: append a second `iss`.
    let mut dup = payload(&c);
    dup[0] += 1;
    dup.extend_from_slice(&[0x01, 0x61, b'x']);
    assert_eq!(verify(&dup), Err(Reject::Malformed));
    // Non-shortest integer for exp.
    let long_exp = claims_with(&c, &[0x04], Some(&[0x1b, 0, 0, 0, 0, 0x68, 0, 0, 0]));
    assert_eq!(verify(&long_exp), Err(Reject::Malformed));
    // Indefinite-length map.
    let mut indef = payload(&c);
    indef[0] = 0xbf;
    indef.push(0xff);
    assert_eq!(verify(&indef), Err(Reject::Malformed));
    // exp not after iat.
    let bad = claims_with(&c, &[0x04], Some(&[0x1a, 0x68, 0x4e, 0xe1, 0x80]));
    assert!(verify(&bad).is_err());
}

#[test]
fn narrowing_subsets_only() {
    // Bound to the patient: only a parent that reaches a patient yields a caregiver child.
    let parent = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-who")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(8 * 3600)
        .patient("patient-8f3a2c")
        .build(&mut rng())
        .unwrap();
    let t = sign1(&parent);
    let clock = FixedClock::at(NOW + 60);
    let v = UnverifiedToken::parse(&t)
        .unwrap()
        .verify(&keys(), &clock, &expect())
        .unwrap();
    let read_only =
        ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ)]).unwrap();
    let child = v
        .narrow()
        .subject("caregiver-7")
        .role(Role::Caregiver)
        .scopes(read_only)
        .patient("patient-8f3a2c")
        .ttl(3600)
        .issued_at(NOW + 60)
        .token_id(TokenId::from_slice(&[0xc1; 16]).unwrap())
        .build(&mut rng())
        .unwrap();
    // `rng()` is reseeded per call, so without a fixed id the child would share the
    // parent's id and "revoking the parent kills the child" would prove nothing.
    assert_ne!(child.token_id(), parent.token_id());
    assert_eq!(child.expires_at(), NOW + 60 + 3600);
    assert_eq!(child.parent(), Some(parent.token_id()));
    let ct = sign1(&child);
    let cv = UnverifiedToken::parse(&ct)
        .unwrap()
        .verify(&keys(), &clock, &expect())
        .unwrap();
    assert!(cv.allows_for_patient(&Resource::ReadingsRaw, Action::Read, "patient-8f3a2c"));
    assert!(!cv.allows_for_patient(&Resource::ReadingsRaw, Action::Read, "patient-other"));
    assert!(!cv.allows(&Resource::ReadingsRaw, Action::Export));
    // Revoking the parent kills the child.
    let mut rev = FixedRevocationList::<2>::new();
    rev.revoke(parent.token_id(), parent.expires_at()).unwrap();
    assert_eq!(
        check(&ct, &clock, &expect().revocation(&rev)),
        Err(Reject::Revoked)
    );
    // Widening is refused; lifetime is clamped to the parent's.
    let wider =
        ScopeSet::from_scopes(&[Scope::new(Resource::FirmwareUpdate, Actions::WRITE)]).unwrap();
    assert_eq!(
        v.narrow()
            .scopes(wider)
            .issued_at(NOW + 60)
            .build(&mut rng())
            .err(),
        Some(Error::InvalidInput)
    );
    let more =
        ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ_WRITE)]).unwrap();
    assert!(v
        .narrow()
        .scopes(more)
        .issued_at(NOW + 60)
        .build(&mut rng())
        .is_err());
    let long = v
        .narrow()
        .ttl(10 * 86_400)
        .issued_at(NOW + 60)
        .build(&mut child_rng())
        .unwrap();
    assert_eq!(long.expires_at(), parent.expires_at());
    // A bound child cannot be re-bound to another patient.
    let cv2 = cv
        .narrow()
        .patient("patient-other")
        .issued_at(NOW + 61)
        .build(&mut rng());
    assert!(cv2.is_err());
    // Not before the parent was issued, not after it expired.
    assert!(v.narrow().issued_at(NOW - 1).build(&mut rng()).is_err());
    assert!(v
        .narrow()
        .issued_at(NOW + 8 * 3600)
        .build(&mut rng())
        .is_err());
}

#[test]
fn builder_enforces_policy_table() {
    let over = ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ)]).unwrap();
    let r = ClaimsBuilder::new(ISS, Role::Patient)
        .subject("p")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(60)
        .scopes(over)
        .build(&mut rng());
    assert_eq!(r.err(), Some(Error::InvalidInput));
    // A caller-supplied table.
    const MINE: &[(Role, &[Scope<'static>])] = &[(
        Role::Technician,
        &[Scope::new(
            Resource::Custom("pump/calibration"),
            Actions::READ_WRITE,
        )],
    )];
    let c = ClaimsBuilder::new(ISS, Role::Technician)
        .policy(PolicyTable::new(MINE))
        .subject("t")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(60)
        .build(&mut rng())
        .unwrap();
    let t = sign1(&c);
    let v = UnverifiedToken::parse(&t)
        .unwrap()
        .verify(&keys(), &FixedClock::at(NOW), &expect())
        .unwrap();
    assert!(v.allows(&Resource::Custom("pump/calibration"), Action::Write));
    assert!(!v.allows(&Resource::DeviceLogs, Action::Read));
    // A role missing from the table cannot be minted; missing fields are refused.
    assert!(ClaimsBuilder::new(ISS, Role::Admin)
        .policy(PolicyTable::new(MINE))
        .subject("a")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(60)
        .build(&mut rng())
        .is_err());
    assert!(ClaimsBuilder::new(ISS, Role::Admin)
        .subject("a")
        .ttl(60)
        .build(&mut rng())
        .is_err());
    assert!(ClaimsBuilder::new("", Role::Admin)
        .subject("a")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(60)
        .build(&mut rng())
        .is_err());
}

#[test]
fn patient_binding_rules() {
    let own = sign1(&claims(Role::Patient));
    let v = UnverifiedToken::parse(&own)
        .unwrap()
        .verify(&keys(), &FixedClock::at(NOW), &expect())
        .unwrap();
    assert!(v.allows_for_patient(&Resource::DeviceBattery, Action::Read, "patient-8f3a2c"));
    assert!(!v.allows_for_patient(&Resource::DeviceBattery, Action::Read, "patient-x"));
    let clin = sign1(&claims(Role::Clinician));
    let v = UnverifiedToken::parse(&clin)
        .unwrap()
        .verify(&keys(), &FixedClock::at(NOW), &expect())
        .unwrap();
    // An unbound clinician token reaches no patient's data, and no token narrowed from it does.
    assert!(!v.allows_for_patient(&Resource::ReadingsRaw, Action::Read, "patient-8f3a2c"));
}

#[test]
fn rejection_is_opaque() {
    let t = sign1(&claims(Role::Patient));
    let p = UnverifiedToken::parse(&t).unwrap();
    let e1 = p
        .verify(&keys(), &FixedClock::at(NOW + 99_999), &expect())
        .unwrap_err();
    let e2 = p
        .verify(
            &keys(),
            &FixedClock::at(NOW),
            &Expectations::new(&["x"], AUD),
        )
        .unwrap_err();
    let e3 = UnverifiedToken::parse(&t[..10]).unwrap_err();
    assert_eq!(e1, Error::Rejected);
    assert_eq!(e1, e2);
    assert_eq!(e2, e3);
    assert_eq!(std::format!("{e1}"), "the token did not verify");
}

// ---------------------------------------------------------------------------------------
// Security review (issue 4): each test below failed before its fix.
// ---------------------------------------------------------------------------------------

fn verified(token: &[u8], now: u64) -> VerifiedToken<'_> {
    UnverifiedToken::parse(token)
        .unwrap()
        .verify(&keys(), &FixedClock::at(now), &expect())
        .unwrap()
}

#[test]
fn narrowing_a_patients_own_token_cannot_bind_another_patient() {
    // The patient's own unbound token speaks for that patient only (§3.4).
    let own = sign1(&claims(Role::Patient)); // sub patient-8f3a2c, no binding
    let v = verified(&own, NOW);
    assert!(!v.allows_for_patient(&Resource::Summaries, Action::Read, "patient-other"));
    let child = v
        .narrow()
        .subject("caregiver-1")
        .role(Role::Caregiver)
        .patient("patient-other")
        .issued_at(NOW)
        .build(&mut rng());
    assert_eq!(
        child.err(),
        Some(Error::InvalidInput),
        "a patient's token must not be narrowed onto another patient's data"
    );
    // Naming the same patient explicitly is fine.
    let same = v
        .narrow()
        .patient("patient-8f3a2c")
        .issued_at(NOW)
        .build(&mut child_rng())
        .unwrap();
    assert_eq!(same.patient(), Some("patient-8f3a2c"));
    // A root bound to one patient is not re-bound either (the child of a narrowed token is
    // refused for another reason, so test it on a root).
    let bound = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-who")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .patient("patient-1")
        .build(&mut rng())
        .unwrap();
    let bt = sign1(&bound);
    let bv = verified(&bt, NOW);
    let rebound = bv
        .narrow()
        .patient("patient-2")
        .issued_at(NOW)
        .build(&mut rng());
    assert_eq!(rebound.err(), Some(Error::InvalidInput));
    let kept = bv.narrow().issued_at(NOW).build(&mut child_rng()).unwrap();
    assert_eq!(kept.patient(), Some("patient-1"));
}

#[test]
fn narrowing_never_starts_before_the_parents_not_before() {
    let parent = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-who")
        .audience(AUD)
        .issued_at(NOW)
        .not_before(NOW + 3600)
        .ttl(8 * 3600)
        .build(&mut rng())
        .unwrap();
    let t = sign1(&parent);
    // Verified within leeway of nbf... or on a device that ignores it: the issuer narrows
    // at NOW + 10, long before the parent becomes valid.
    let v = UnverifiedToken::parse(&t)
        .unwrap()
        .verify(&keys(), &FixedClock::at(NOW + 3600), &expect())
        .unwrap();
    let child = v.narrow().issued_at(NOW + 10).ttl(7200).build(&mut rng());
    if let Ok(child) = child {
        let ct = sign1(&child);
        assert_eq!(
            check(&ct, &FixedClock::at(NOW + 100), &expect()),
            Err(Reject::NotYetValid),
            "the child must not be valid before its parent"
        );
    }
}

#[test]
fn revoking_the_root_kills_every_descendant() {
    // Bound to the patient: only a parent that reaches a patient yields a caregiver child.
    let root = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-who")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .patient("patient-8f3a2c")
        .build(&mut rng())
        .unwrap();
    let rt = sign1(&root);
    let v = verified(&rt, NOW);
    let child = v
        .narrow()
        .subject("caregiver-1")
        .role(Role::Caregiver)
        // Caregivers are read-only.
        .scopes(ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ)]).unwrap())
        .patient("patient-8f3a2c")
        .issued_at(NOW)
        .token_id(TokenId::from_slice(&[0xc1; 16]).unwrap())
        .build(&mut rng())
        .unwrap();
    // (`rng()` is reseeded per call: fixed ids keep root, child and grandchild distinct.)
    assert_ne!(child.token_id(), root.token_id());
    let ct = sign1(&child);
    let cv = verified(&ct, NOW);
    let grandchild = cv
        .narrow()
        .subject("neighbour-2")
        .issued_at(NOW)
        .token_id(TokenId::from_slice(&[0xc2; 16]).unwrap())
        .build(&mut rng());
    let mut rev = FixedRevocationList::<2>::new();
    rev.revoke(root.token_id(), root.expires_at()).unwrap();
    assert_eq!(
        check(&ct, &FixedClock::at(NOW), &expect().revocation(&rev)),
        Err(Reject::Revoked)
    );
    if let Ok(gc) = grandchild {
        let gt = sign1(&gc);
        assert_eq!(
            check(&gt, &FixedClock::at(NOW), &expect().revocation(&rev)),
            Err(Reject::Revoked),
            "a token narrowed from a narrowed token outlives the revocation of its root"
        );
    }
}

/// A real Ed25519 public key (narrowing refuses one a key set would not load).
fn holder_key(seed: u8) -> [u8; 32] {
    SigningKey::from_seed(&[seed; 32], None)
        .verifying_key()
        .to_bytes()
}

#[test]
fn narrowing_keeps_proof_of_possession() {
    let parent = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-who")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .proof_key(ProofKey::Ed25519(holder_key(4)))
        .build(&mut rng())
        .unwrap();
    let t = sign1(&parent);
    let v = verified(&t, NOW);
    let child = v
        .narrow()
        .scopes(ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ)]).unwrap())
        .issued_at(NOW)
        .build(&mut child_rng())
        .unwrap();
    assert_eq!(
        child.proof_key(),
        Some(ProofKey::Ed25519(holder_key(4))),
        "a proof-of-possession token must not narrow into a bearer token"
    );
    // A new holder can be named with their own key, never with none.
    let handed = v
        .narrow()
        .subject("caregiver-1")
        .proof_key(ProofKey::Ed25519(holder_key(5)))
        .issued_at(NOW)
        .build(&mut child_rng())
        .unwrap();
    assert_eq!(handed.proof_key(), Some(ProofKey::Ed25519(holder_key(5))));
}

#[test]
fn an_expired_exi_token_never_looks_new_again() {
    let exi_token = |id: u8, iat: u64| {
        sign1(
            &ClaimsBuilder::new(ISS, Role::Technician)
                .subject("tech-1")
                .audience(AUD)
                .issued_at(iat)
                .ttl(86_400)
                .exi(100)
                .token_id(TokenId::from_slice(&[id; 16]).unwrap())
                .build(&mut rng())
                .unwrap(),
        )
    };
    let stolen = exi_token(1, NOW);
    let other = exi_token(2, NOW + 5);
    let store = FixedFirstSight::<1>::new();
    let e = expect().first_sight(&store);
    let mono = |s| FixedClock::monotonic_only(1, s);
    assert_eq!(check(&stolen, &mono(10), &e), Ok(()));
    assert_eq!(check(&stolen, &mono(110), &e), Err(Reject::Expired));
    // Ordinary traffic: another token's sighting takes the (stale) slot...
    assert_eq!(check(&other, &mono(120), &e), Ok(()));
    // ...and after that one's window too, the stolen token is replayed.
    assert!(
        check(&stolen, &mono(300), &e).is_err(),
        "an exi token whose first-sight record was evicted must not get a fresh window"
    );
    // A newer token is still accepted once a slot is free.
    let newer = exi_token(3, NOW + 10);
    assert_eq!(check(&newer, &mono(300), &e), Ok(()));
}

#[test]
fn a_clock_that_stops_answering_does_not_freeze_time() {
    struct Flaky(core::cell::Cell<Option<u64>>);
    impl Clock for Flaky {
        fn unix_time(&self) -> Option<u64> {
            self.0.get()
        }
    }
    let t = sign1(&claims(Role::Patient)); // valid NOW .. NOW + 3600
    let clock = RollbackGuard::new(Flaky(core::cell::Cell::new(Some(NOW + 10))));
    let parsed = UnverifiedToken::parse_inner(&t).unwrap();
    assert!(parsed.verify_inner(&keys(), &clock, &expect()).is_ok());
    // The RTC fails. Real time keeps going; a pinned reading would keep this token valid
    // forever.
    clock.inner().0.set(None);
    assert_eq!(
        parsed.verify_inner(&keys(), &clock, &expect()).err(),
        Some(Reject::NoTimeSource)
    );
    // It comes back earlier than it was: the high-water mark still holds.
    clock.inner().0.set(Some(NOW));
    assert_eq!(clock.unix_time(), Some(NOW + 10));
}

#[test]
fn pruning_never_revives_a_revoked_token_inside_the_leeway() {
    let c = claims(Role::Patient);
    let t = sign1(&c);
    let now = c.expires_at() + 30; // past exp, inside the default 60 s leeway
    let mut rev = FixedRevocationList::<2>::new();
    rev.revoke(c.token_id(), c.expires_at()).unwrap();
    rev.prune_expired(now);
    assert_eq!(
        check(&t, &FixedClock::at(now), &expect().revocation(&rev)),
        Err(Reject::Revoked)
    );
    let mut grow = crate::RevocationList::new();
    grow.revoke(c.token_id(), c.expires_at());
    grow.prune_expired(now);
    let max_leeway = expect().leeway(Expectations::MAX_LEEWAY).unwrap();
    assert_eq!(
        check(&t, &FixedClock::at(now), &max_leeway.revocation(&grow)),
        Err(Reject::Revoked)
    );
    // Once no leeway could accept it, the entry goes.
    assert_eq!(
        rev.prune_expired(c.expires_at() + Expectations::MAX_LEEWAY),
        1
    );
}

#[test]
fn the_issuer_never_mints_what_a_verifier_refuses() {
    let build = |scope: Scope<'static>, pk: Option<ProofKey<'static>>| {
        let table: &'static [(Role, &'static [Scope<'static>])] =
            vec![(Role::Technician, &*vec![scope].leak())].leak();
        let mut b = ClaimsBuilder::new(ISS, Role::Technician)
            .policy(PolicyTable::new(table))
            .subject("t")
            .audience(AUD)
            .issued_at(NOW)
            .ttl(60);
        if let Some(pk) = pk {
            b = b.proof_key(pk);
        }
        b.build(&mut rng())
    };
    // A custom resource spelled like a known one, or outside the alphabet.
    for name in ["alarms", "Pump", "", "a b"] {
        let r = build(Scope::new(Resource::Custom(name), Actions::READ), None);
        assert_eq!(r.err(), Some(Error::InvalidInput), "{name:?}");
    }
    // A cnf key id the verifier refuses.
    for kid in [&[][..], &[1u8; 17][..]] {
        let r = build(
            Scope::new(Resource::DeviceLogs, Actions::READ),
            Some(ProofKey::KeyId(kid)),
        );
        assert_eq!(r.err(), Some(Error::InvalidInput), "kid {}", kid.len());
    }
    // A revocation update that would exceed the 1024-byte limit is refused, not signed.
    let ids: Vec<crate::RevokedToken> = (0..crate::revocation::MAX_UPDATE_IDS)
        .map(|i| crate::RevokedToken {
            id: TokenId::from_slice(&[i as u8; 32]).unwrap(),
            expires_at: NOW,
        })
        .collect();
    for n in 1..=ids.len() {
        let u = crate::RevocationUpdate {
            issuer: ISS,
            audience: AUD,
            issued_at: NOW,
            sequence: 1,
            epoch: RevocationEpoch::ZERO,
            revoked: &ids[..n],
        };
        let mut out = [0u8; 4096];
        if let Ok(len) = u.sign(&signing_key(), &mut out) {
            let mut list = FixedRevocationList::<64>::new();
            assert_eq!(
                list.apply_update(&out[..len], &keys(), ISSUERS, AUD, &FixedClock::at(NOW)),
                Ok(n),
                "{n} ids: signed {len} bytes that no device accepts"
            );
        }
    }
}

#[test]
fn builder_debug_shows_no_subject_or_patient() {
    let b = ClaimsBuilder::new(ISS, Role::Patient)
        .subject("subject-secret-name")
        .patient("patient-secret-id")
        .audience(AUD);
    let t = sign1(&claims(Role::Clinician));
    let v = verified(&t, NOW);
    let n = v
        .narrow()
        .subject("subject-secret-name")
        .patient("patient-secret-id");
    for text in [std::format!("{b:?}"), std::format!("{n:?}")] {
        assert!(
            !text.contains("secret"),
            "Debug leaks an identifier: {text}"
        );
    }
}

#[test]
fn a_reboot_does_not_give_an_exi_token_a_fresh_window() {
    let exi_token = |id: u8, iat: u64| {
        sign1(
            &ClaimsBuilder::new(ISS, Role::Technician)
                .subject("tech-1")
                .audience(AUD)
                .issued_at(iat)
                .ttl(86_400)
                .exi(100)
                .token_id(TokenId::from_slice(&[id; 16]).unwrap())
                .build(&mut rng())
                .unwrap(),
        )
    };
    let stolen = exi_token(1, NOW);
    let store = FixedFirstSight::<4>::new();
    let before = expect().first_sight(&store);
    assert_eq!(
        check(&stolen, &FixedClock::monotonic_only(1, 10), &before),
        Ok(())
    );
    // The device persists one number (after each new sighting); RAM is lost at reboot.
    let persisted = store.iat_high_water().unwrap();
    let rebooted = FixedFirstSight::<4>::resume(persisted);
    let after = expect().first_sight(&rebooted);
    assert_eq!(
        check(&stolen, &FixedClock::monotonic_only(2, 5), &after),
        Err(Reject::FirstSight),
        "a reboot must not give an exi token a fresh window"
    );
    // Tokens issued later are seen afresh.
    assert_eq!(
        check(
            &exi_token(2, NOW + 1),
            &FixedClock::monotonic_only(2, 6),
            &after
        ),
        Ok(())
    );
    assert_eq!(rebooted.iat_high_water(), Some(NOW + 1));
}

#[test]
fn a_caregiver_child_is_read_only() {
    let parent = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-who")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(8 * 3600)
        .patient("patient-8f3a2c")
        .build(&mut rng())
        .unwrap();
    let t = sign1(&parent);
    let v = UnverifiedToken::parse(&t)
        .unwrap()
        .verify(&keys(), &FixedClock::at(NOW + 60), &expect())
        .unwrap();
    let narrow = |scopes| {
        v.narrow()
            .subject("caregiver-7")
            .role(Role::Caregiver)
            .scopes(scopes)
            .patient("patient-8f3a2c")
            .ttl(3600)
            .issued_at(NOW + 60)
            .build(&mut child_rng())
    };
    let export =
        ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsExport, Actions::EXPORT)]).unwrap();
    assert_eq!(narrow(export).err(), Some(Error::InvalidInput));
    let write =
        ScopeSet::from_scopes(&[Scope::new(Resource::TherapySettings, Actions::READ_WRITE)])
            .unwrap();
    assert_eq!(narrow(write).err(), Some(Error::InvalidInput));
    let read = ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ)]).unwrap();
    assert!(narrow(read).is_ok());
    // Without a role change the caller keeps the parent's (clinician) rights to narrow from.
    let clinician_child = v
        .narrow()
        .scopes(
            ScopeSet::from_scopes(&[Scope::new(Resource::TherapySettings, Actions::READ_WRITE)])
                .unwrap(),
        )
        .issued_at(NOW + 60)
        .build(&mut child_rng());
    assert!(clinician_child.is_ok());
}

/// A leeway above the profile's maximum is a configuration error, not quietly lowered: the
/// verifier would otherwise run with a policy nobody wrote down.
#[test]
fn an_out_of_range_leeway_is_a_configuration_error() {
    assert_eq!(expect().leeway(601).err(), Some(Error::InvalidInput));
    assert_eq!(expect().leeway(u64::MAX).err(), Some(Error::InvalidInput));
    // 0 and 600 are inside the range, and each is applied exactly.
    let t = sign1(&claims(Role::Patient)); // exp NOW + 3600
    let widest = expect().leeway(600).unwrap();
    assert_eq!(
        check(&t, &FixedClock::at(NOW + 3600 + 599), &widest),
        Ok(())
    );
    assert_eq!(
        check(&t, &FixedClock::at(NOW + 3600 + 600), &widest),
        Err(Reject::Expired)
    );
    let none = expect().leeway(0).unwrap();
    assert_eq!(check(&t, &FixedClock::at(NOW), &none), Ok(()));
    assert_eq!(
        check(&t, &FixedClock::at(NOW - 1), &none),
        Err(Reject::IssuedInFuture)
    );
}

/// With several issuers allowlisted, a key bound to one of them signs for no other; an
/// unbound key still signs for every allowlisted issuer (the default trust model, §1.3).
#[test]
fn a_key_bound_to_one_issuer_signs_for_no_other() {
    let both: &[&str] = &[ISS, "lab.example"];
    let lab = ClaimsBuilder::new("lab.example", Role::Patient)
        .subject("patient-8f3a2c")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .build(&mut rng())
        .unwrap();
    let sk = signing_key();
    let clinic_token = sign1(&claims(Role::Patient));
    let lab_token = sign1(&lab);
    let lab_mac = mac_key().mint_vec(&lab).unwrap();
    let clock = FixedClock::at(NOW);
    let e = Expectations::new(both, AUD);
    let run = |t: &[u8], keys: &KeySet<2>| {
        UnverifiedToken::parse_inner(t)
            .and_then(|p| p.verify_inner(keys, &clock, &e))
            .map(|_| ())
    };
    // Unbound: both issuers verify under the one key.
    assert_eq!(run(&clinic_token, &keys()), Ok(()));
    assert_eq!(run(&lab_token, &keys()), Ok(()));
    assert_eq!(run(&lab_mac, &keys()), Ok(()));
    // Bound: only its own issuer.
    let mut bound = KeySet::<2>::new();
    bound
        .insert(sk.verifying_key().bound_to_issuer(ISS).unwrap())
        .unwrap();
    bound
        .insert(mac_key().bound_to_issuer(ISS).unwrap())
        .unwrap();
    assert_eq!(run(&clinic_token, &bound), Ok(()));
    assert_eq!(run(&lab_token, &bound), Err(Reject::Issuer));
    assert_eq!(run(&lab_mac, &bound), Err(Reject::Issuer));
    // A prefix or a longer name is another issuer.
    let mut prefix = KeySet::<2>::new();
    prefix
        .insert(sk.verifying_key().bound_to_issuer("clinic.exampl").unwrap())
        .unwrap();
    assert_eq!(run(&clinic_token, &prefix), Err(Reject::Issuer));
    assert_eq!(
        sk.verifying_key().bound_to_issuer("").err(),
        Some(Error::InvalidInput)
    );
    let long = "x".repeat(129);
    assert_eq!(
        sk.verifying_key().bound_to_issuer(&long).err(),
        Some(Error::InvalidInput)
    );
    assert_eq!(
        VerificationKey::from(sk.verifying_key().bound_to_issuer(ISS).unwrap()).issuer(),
        Some(ISS)
    );
}

// ---------------------------------------------------------------------------------------
// Clean-room round 4: each test below failed before its fix.
// ---------------------------------------------------------------------------------------

/// Narrowing never widens patient reach (§3.4, §7): the child reaches exactly the patient
/// its parent reaches, or none. Before the fix an unbound clinician could derive a child
/// bound to any patient, or a patient-role child that reaches its own chosen `sub`.
#[test]
fn narrowing_never_widens_patient_reach() {
    let unbound = sign1(&claims(Role::Clinician)); // reaches no patient
    let v = verified(&unbound, NOW);
    assert_eq!(v.claims().reached_patient(), None);
    let read = || ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ)]);
    let refused = |r: Result<Claims<'_>>| r.err() == Some(Error::InvalidInput);
    // A patient named on a parent that reaches none.
    assert!(refused(
        v.narrow()
            .scopes(read().unwrap())
            .patient("patient-000000")
            .issued_at(NOW)
            .build(&mut child_rng())
    ));
    // A caregiver child (which must carry a patient), with and without one named.
    for patient in [None, Some("patient-000000")] {
        let mut n = v
            .narrow()
            .subject("caregiver-7")
            .role(Role::Caregiver)
            .scopes(read().unwrap())
            .issued_at(NOW);
        if let Some(p) = patient {
            n = n.patient(p);
        }
        assert!(refused(n.build(&mut child_rng())));
    }
    // A patient-role child without a patient claim reaches its own sub.
    assert!(refused(
        v.narrow()
            .subject("patient-000000")
            .role(Role::Patient)
            .scopes(read().unwrap())
            .issued_at(NOW)
            .build(&mut child_rng())
    ));
    // Children that reach no patient either are still derived.
    let tech = v
        .narrow()
        .role(Role::Technician)
        .scopes(read().unwrap())
        .issued_at(NOW)
        .build(&mut child_rng())
        .unwrap();
    assert_eq!(tech.reached_patient(), None);

    // A caregiver token without a patient (another minter's; medsec's builder refuses it)
    // reaches no patient: keeping the role, or naming a patient, is refused.
    let mut cg = claims(Role::Caregiver);
    cg.patient = None;
    let t = sign1(&cg);
    let v = verified(&t, NOW);
    assert!(refused(v.narrow().issued_at(NOW).build(&mut child_rng())));
    assert!(refused(
        v.narrow()
            .patient("patient-8f3a2c")
            .issued_at(NOW)
            .build(&mut child_rng())
    ));
    let other_role = v
        .narrow()
        .role(Role::Technician)
        .issued_at(NOW)
        .build(&mut child_rng())
        .unwrap();
    assert_eq!(other_role.reached_patient(), None);

    // A parent that reaches one patient: every child reaches that one, whatever its role.
    let own = sign1(&claims(Role::Patient)); // sub patient-8f3a2c, no patient claim
    let v = verified(&own, NOW);
    for role in Role::ALL {
        let child = v
            .narrow()
            .subject("someone-else")
            .role(role)
            .issued_at(NOW)
            .build(&mut child_rng())
            .unwrap();
        assert_eq!(child.patient(), Some("patient-8f3a2c"), "{role}");
        assert_eq!(child.reached_patient(), Some("patient-8f3a2c"), "{role}");
    }
}

/// The child's `cti` differs from its parent's, whether fixed or drawn: revocation and
/// first-sight records are keyed by `cti` alone.
#[test]
fn a_childs_cti_differs_from_its_parents() {
    let parent = claims(Role::Clinician); // cti drawn from rng()
    let t = sign1(&parent);
    let v = verified(&t, NOW);
    assert_eq!(
        v.narrow()
            .token_id(parent.token_id())
            .issued_at(NOW)
            .build(&mut child_rng())
            .err(),
        Some(Error::InvalidInput)
    );
    // An RNG that repeats the parent's id (here: the same seed) is refused, not used.
    assert_eq!(
        v.narrow().issued_at(NOW).build(&mut rng()).err(),
        Some(Error::InvalidInput)
    );
    let child = v.narrow().issued_at(NOW).build(&mut child_rng()).unwrap();
    assert_ne!(child.token_id(), parent.token_id());
    // 1 and 32 bytes are accepted ids.
    for len in [1, 32] {
        let id = TokenId::from_slice(&vec![0x5a; len]).unwrap();
        let child = v
            .narrow()
            .token_id(id)
            .issued_at(NOW)
            .build(&mut child_rng())
            .unwrap();
        assert_eq!(child.token_id(), id);
    }
}

/// A child's lifetime has the minting cap of 366 days: a longer request is refused, and
/// the default (the parent's remaining lifetime, longer from another minter) is capped.
#[test]
fn a_childs_lifetime_is_at_most_366_days() {
    let mut long = claims(Role::Clinician);
    long.expires_at = NOW + 400 * 86_400; // another minter's token: over the cap
    let t = sign1(&long);
    let v = verified(&t, NOW);
    let max = ClaimsBuilder::MAX_TTL;
    let child = v.narrow().issued_at(NOW).build(&mut child_rng()).unwrap();
    assert_eq!(child.expires_at(), NOW + max);
    let child = v
        .narrow()
        .ttl(max)
        .issued_at(NOW)
        .build(&mut child_rng())
        .unwrap();
    assert_eq!(child.expires_at(), NOW + max);
    assert_eq!(
        v.narrow()
            .ttl(max + 1)
            .issued_at(NOW)
            .build(&mut child_rng())
            .err(),
        Some(Error::InvalidInput)
    );
    // Over the cap is refused even when the parent expires sooner (never clamped from above
    // the cap): the request itself is out of range.
    let short = sign1(&claims(Role::Clinician));
    let v = verified(&short, NOW);
    assert_eq!(
        v.narrow()
            .ttl(u64::MAX)
            .issued_at(NOW)
            .build(&mut child_rng())
            .err(),
        Some(Error::InvalidInput)
    );
}

/// A caregiver acts for one patient: the builder refuses a caregiver token without one (a
/// caregiver token from another minter without one still verifies and reaches no patient).
#[test]
fn a_caregiver_token_is_minted_only_with_a_patient() {
    let b = || {
        ClaimsBuilder::new(ISS, Role::Caregiver)
            .subject("caregiver-7")
            .audience(AUD)
            .issued_at(NOW)
            .ttl(3600)
    };
    assert_eq!(b().build(&mut rng()).err(), Some(Error::InvalidInput));
    let bound = b().patient("patient-1").build(&mut rng()).unwrap();
    let mut unbound = bound;
    unbound.patient = None;
    let t = sign1(&unbound);
    let v = verified(&t, NOW);
    assert_eq!(v.claims().reached_patient(), None);
    assert!(v.allows(&Resource::Alarms, Action::Read));
    assert!(!v.allows_for_patient(&Resource::Alarms, Action::Read, "patient-1"));
    assert!(!v.allows_for_patient(&Resource::Alarms, Action::Read, "caregiver-7"));
}

/// A token over 1,024 bytes is InvalidInput whatever the output buffer: `mint_vec` (whose
/// buffer is 1,024 bytes) reported it as BufferTooSmall, which says "try a bigger buffer".
#[test]
fn an_oversize_token_is_invalid_input_whatever_the_buffer() {
    // Technician claims with custom resources: a payload below 1,024 bytes, a token above.
    let names: Vec<&'static str> = (0..15)
        .map(|i| {
            &*std::boxed::Box::leak(std::format!("r{i:02}/{}", "a".repeat(56)).into_boxed_str())
        })
        .collect();
    let sized = |count: usize| {
        let mut c = claims(Role::Technician);
        let mut set = ScopeSet::new();
        for name in &names[..count] {
            set.add(Scope::new(Resource::Custom(name), Actions::READ))
                .unwrap();
        }
        c.scopes = set;
        c
    };
    let big = sized(14);
    let n = big.encode(&mut [0u8; 1024]).unwrap();
    assert!(n < 1024 && n + 80 > 1024, "payload {n}");
    for out in [1024, 2048] {
        assert_eq!(
            signing_key().mint(&big, &mut vec![0u8; out]),
            Err(Error::InvalidInput)
        );
    }
    assert_eq!(signing_key().mint_vec(&big), Err(Error::InvalidInput));
    // A token that fits: its length is known before writing; a shorter buffer is
    // BufferTooSmall.
    let fits = sized(10);
    let t = signing_key().mint_vec(&fits).unwrap();
    let p = payload(&fits);
    assert_eq!(t.len(), cbor::cose_len(13, p.len(), 64));
    assert_eq!(
        signing_key().mint(&fits, &mut vec![0u8; t.len() - 1]),
        Err(Error::BufferTooSmall)
    );
}
