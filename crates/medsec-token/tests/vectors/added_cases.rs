//! Vectors added after the clean-room review of the profile: strict Ed25519, the Mac0 tag,
//! the length limit alone, accepted encodings, time and revocation boundaries, `exi` on a
//! device without a wall clock, and keys bound to issuers.

use super::*;

/// The cases beyond the original set, built from four of its tokens and claims.
pub(super) fn added_cases(
    typical_tok: &[u8],
    clinician_tok: &[u8],
    admin: &Claims<'static>,
    tech: &Claims<'static>,
) -> Vec<Case> {
    let sk = signing_key();
    let mac = mac_key();
    let mut rng = no_rng();
    let base = |role| {
        ClaimsBuilder::new(ISS, role)
            .subject("patient-8f3a2c")
            .audience(AUD)
            .issued_at(T0)
            .ttl(3600)
    };
    let mut v = vec![];
    // ---- Strict Ed25519 (profile §1.2). Each signature is over patient-sign1-typical's
    // Sig_structure; `plain_rfc8032` records what OpenSSL's cofactorless verifier says.
    let (prot, payload) = sign1_parts(typical_tok);
    let tbs = sig_structure(&prot, &payload);
    let good: [u8; 64] = typical_tok[typical_tok.len() - 64..].try_into().unwrap();
    assert_eq!(raw_sign1(&prot, &payload, &good), typical_tok);
    let strict = |name, signature: [u8; 64], plain: bool, why| Case {
        plain_rfc8032: Some(plain),
        ..Case::bad(
            name,
            raw_sign1(&prot, &payload, &signature),
            T0 + 60,
            AUD,
            why,
        )
    };
    v.push(strict(
        "ed25519-r-small-order",
        signature_with_r(h32(IDENTITY), &tbs),
        true,
        "R = 01 00..00, the identity (small order), and S = k·a mod L: [S]B = R + [k]A holds, \
         so a plain cofactorless verifier (OpenSSL) accepts it; the profile rejects a \
         small-order R",
    ));
    v.push(strict(
        "ed25519-r-small-order-non-canonical",
        signature_with_r(h32(IDENTITY_Y_PLUS_P), &tbs),
        false,
        "R = the identity encoded with y = p + 1 (non-canonical), S = k·a mod L with k over \
         those R bytes: R is small order, and its bytes are not the canonical encoding of \
         [S]B - [k]A",
    ));
    v.push(strict(
        "ed25519-r-negative-zero",
        signature_with_r(h32(IDENTITY_NEGATIVE_ZERO), &tbs),
        false,
        "R = the identity with the sign bit set on x = 0 (non-canonical), S = k·a mod L",
    ));
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    v.push(strict(
        "ed25519-r-not-a-point",
        signature_with_r(not_a_point, &tbs),
        false,
        "R = 02 00..00: y = 2 is not the y of any curve point",
    ));
    let mut s_plus_l = good;
    s_plus_l[32..].copy_from_slice(&add_le(&good[32..], &h32(ORDER_L)));
    v.push(strict(
        "ed25519-s-not-reduced",
        s_plus_l,
        false,
        "patient-sign1-typical's signature with S + L in place of S: the same equation, but \
         S >= L is rejected",
    ));
    // Small-order public keys: under A = identity, R = B and S = 1 satisfy [S]B = R + [k]A
    // for every message. The key set holds the weak key; a verifier must refuse to load it
    // (§8), and then the token names an unknown kid.
    let weak = |name, public: &'static str, why| {
        let kid = KeyId::derive_ed25519(&h32(public));
        let protected = [&[0xa2u8, 0x01, 0x27, 0x04, 0x48][..], kid.as_bytes()].concat();
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&h32(BASE_POINT));
        sig[32] = 1;
        Case {
            keys: json!([
                { "ed25519_public": public, "kid": kid.to_string() },
                { "name": "hmac_sha256" },
            ]),
            plain_rfc8032: Some(true),
            ..Case::bad(
                name,
                raw_sign1(&protected, &payload, &sig),
                T0 + 60,
                AUD,
                why,
            )
        }
    };
    v.push(weak(
        "ed25519-a-small-order",
        IDENTITY,
        "the key set's public key is the identity (small order): R = B, S = 1 verifies for \
         any message under a plain verifier; the profile refuses the key",
    ));
    v.push(weak(
        "ed25519-a-small-order-non-canonical",
        IDENTITY_Y_PLUS_P,
        "the public key is the identity encoded with y = p + 1: refused (small order and \
         non-canonical)",
    ));
    v.push(weak(
        "ed25519-a-small-order-negative-zero",
        IDENTITY_NEGATIVE_ZERO,
        "the public key is the identity with the sign bit set on x = 0: refused",
    ));

    // ---- The COSE_Mac0 tag, and the length limit on its own.
    let mut t = mac.mint_vec(admin).unwrap();
    *t.last_mut().unwrap() ^= 1;
    v.push(Case::bad(
        "mac0-bad-tag",
        t,
        T0 + 10,
        "backend-api",
        "admin-mac0 with the last tag byte flipped",
    ));
    // Validly signed tokens of exactly 1024 and 1025 bytes: 11 custom resources of 64 bytes
    // and a patient claim whose length sets the total.
    let sized = |total: usize| -> Vec<u8> {
        for n in 24..=128 {
            let mut m = payload_map(typical_tok);
            for (k, val) in &mut m {
                if *k == Cbor::from(-65537) {
                    if let Cbor::Map(scope) = val {
                        for i in 0..11 {
                            let name = format!("pad{i:02}/{}", "x".repeat(58));
                            scope.push((Cbor::Text(name), Cbor::from(1)));
                        }
                    }
                }
            }
            let patient = format!("patient-{}", "p".repeat(n - 8));
            m.push((Cbor::from(-65539), Cbor::Text(patient)));
            let t = forge_sign1(ed_header(), Default::default(), encode_map(m));
            if t.len() == total {
                return t;
            }
        }
        panic!("no patient length gives {total} bytes");
    };
    v.push(Case::ok(
        "max-size-1024",
        sized(1024),
        T0 + 60,
        AUD,
        "exactly 1024 bytes, validly signed: the largest token accepted",
    ));
    v.push(Case::bad(
        "oversize-signed",
        sized(1025),
        T0 + 60,
        AUD,
        "1025 bytes, validly signed and otherwise valid: only the length limit rejects it",
    ));

    // ---- Encodings the profile accepts besides medsec's own.
    let cnf_kid = ClaimsBuilder::new(ISS, Role::Caregiver)
        .subject("caregiver-77")
        .audience(AUD)
        .issued_at(T0)
        .ttl(3600)
        .patient(PATIENT)
        .proof_key(ProofKey::KeyId(b"holder-key-1"))
        .token_id(cti(9))
        .build(&mut rng)
        .unwrap();
    v.push(Case::ok(
        "caregiver-sign1-cnf-kid",
        sk.mint_vec(&cnf_kid).unwrap(),
        T0 + 60,
        AUD,
        "proof of possession named by key id (cnf {3: kid}), bound to one patient",
    ));
    let mut m = payload_map(typical_tok);
    m.reverse();
    v.push(Case::ok(
        "patient-sign1-claims-reordered",
        forge_sign1(ed_header(), Default::default(), encode_map(m)),
        T0 + 60,
        AUD,
        "patient-sign1-typical's claims in reverse key order: map keys may come in any order",
    ));
    let kid = sk.kid();
    let reordered = [&[0xa2u8, 0x04, 0x48][..], kid.as_bytes(), &[0x01, 0x27]].concat();
    let sig = ed25519_dalek::SigningKey::from_bytes(&seed())
        .sign(&sig_structure(&reordered, &payload))
        .to_bytes();
    v.push(Case::ok(
        "patient-sign1-protected-reordered",
        raw_sign1(&reordered, &payload, &sig),
        T0 + 60,
        AUD,
        "protected header {4: kid, 1: -8}: its labels may come in either order",
    ));

    // ---- Time boundaries (§4 step 8; all bounds as stated there).
    v.push(Case::ok(
        "issued-in-future-within-leeway",
        typical_tok.to_vec(),
        T0 - 60,
        AUD,
        "iat = now + leeway is accepted",
    ));
    v.push(Case::ok(
        "not-yet-valid-within-leeway",
        clinician_tok.to_vec(),
        T0 + 540,
        AUD,
        "nbf = now + leeway is accepted",
    ));
    v.push(Case::bad(
        "not-yet-valid-boundary",
        clinician_tok.to_vec(),
        T0 + 539,
        AUD,
        "nbf = now + leeway + 1",
    ));
    v.push(Case {
        leeway: 600,
        ..Case::ok(
            "expired-within-max-leeway",
            typical_tok.to_vec(),
            T0 + 3600 + 599,
            AUD,
            "leeway 600 s, the largest allowed: now = exp + 599 is accepted",
        )
    });
    v.push(Case {
        leeway: 600,
        ..Case::bad(
            "expired-at-max-leeway",
            typical_tok.to_vec(),
            T0 + 3600 + 600,
            AUD,
            "leeway 600 s: now = exp + 600 is rejected",
        )
    });
    v.push(Case {
        extra: vec![("max_lifetime", json!(3600))],
        ..Case::ok(
            "max-lifetime-equal",
            typical_tok.to_vec(),
            T0 + 60,
            AUD,
            "exp - iat = 3600 = max lifetime",
        )
    });
    v.push(Case {
        extra: vec![("max_lifetime", json!(3599))],
        ..Case::bad(
            "max-lifetime-exceeded",
            typical_tok.to_vec(),
            T0 + 60,
            AUD,
            "exp - iat = 3600 > max lifetime 3599",
        )
    });
    let long_exi = base(Role::Patient)
        .exi(7200)
        .token_id(cti(10))
        .build(&mut rng)
        .unwrap();
    let long_exi_tok = sk.mint_vec(&long_exi).unwrap();
    v.push(Case {
        monotonic: Some((3, 120)),
        extra: vec![("max_lifetime", json!(3600))],
        ..Case::bad(
            "exi-above-max-lifetime",
            long_exi_tok.clone(),
            T0 + 60,
            AUD,
            "exp - iat = 3600 is within the max lifetime 3600, exi = 7200 is not",
        )
    });
    v.push(Case {
        monotonic: Some((3, 120)),
        extra: vec![("max_lifetime", json!(7200))],
        ..Case::ok(
            "exi-within-max-lifetime",
            long_exi_tok,
            T0 + 60,
            AUD,
            "exi = 7200 = max lifetime; a wall clock and a monotonic counter both present",
        )
    });

    // ---- Revocation boundaries and subject epochs (§6).
    v.push(Case {
        revocation_epoch: Some(T0),
        ..Case::ok(
            "revocation-epoch-equal-iat",
            typical_tok.to_vec(),
            T0 + 60,
            AUD,
            "iat = epoch: only tokens issued before the epoch are dead",
        )
    });
    v.push(Case {
        extra: vec![("subject_epochs", json!({ PATIENT: T0 + 1 }))],
        ..Case::bad(
            "revoked-by-subject-epoch",
            typical_tok.to_vec(),
            T0 + 60,
            AUD,
            "iat < the epoch of the token's sub",
        )
    });
    v.push(Case {
        extra: vec![("subject_epochs", json!({ OTHER_PATIENT: T0 + 1 }))],
        ..Case::ok(
            "subject-epoch-of-another-subject",
            typical_tok.to_vec(),
            T0 + 60,
            AUD,
            "a subject epoch reaches only tokens whose sub is that subject",
        )
    });

    // ---- exi on a device without a wall clock (§5.2): technician-sign1-exi-no-wall-clock
    // (exi 900, iat T0, exp T0 + 86400), first accepted at boot 3, second 120.
    let tech_tok = sk.mint_vec(tech).unwrap();
    let seen = || vec![("seen_at", json!([{ "boot": 3, "seconds": 120 }]))];
    let exi = |name, valid: bool, mono: Option<(u32, u64)>, extra, why| Case {
        now: None,
        monotonic: mono,
        extra,
        valid,
        ..Case::ok(name, tech_tok.clone(), 0, AUD, why)
    };
    v.push(exi(
        "exi-within-window",
        true,
        Some((3, 1019)),
        seen(),
        "first seen at (3, 120); reading 120 + 899: inside the 900 s window",
    ));
    v.push(exi(
        "exi-window-over",
        false,
        Some((3, 1020)),
        seen(),
        "first seen at (3, 120); reading 120 + 900: reading - first >= exi",
    ));
    v.push(exi(
        "exi-other-boot",
        false,
        Some((4, 130)),
        seen(),
        "first seen in boot 3; a reading from boot 4 counts as expired",
    ));
    v.push(exi(
        "exi-counter-went-back",
        false,
        Some((3, 119)),
        seen(),
        "first seen at (3, 120); a reading of (3, 119) counts as expired",
    ));
    v.push(exi(
        "exi-at-forgotten-floor",
        false,
        Some((3, 120)),
        vec![("first_sight_floor", json!(T0))],
        "the store has forgotten a token issued at T0 (F = T0): an unseen token with iat <= F \
         is refused",
    ));
    v.push(exi(
        "exi-above-forgotten-floor",
        true,
        Some((3, 120)),
        vec![("first_sight_floor", json!(T0 - 1))],
        "F = iat - 1: the unseen token is recorded",
    ));
    v.push(Case {
        now: Some(T0 + 86_400 + 60),
        ..exi(
            "exi-wall-clock-expired",
            false,
            Some((3, 120)),
            vec![],
            "with a wall clock too, exp applies: now = exp + leeway, although exi has just \
             started",
        )
    });
    v.push(Case {
        now: Some(T0 + 60),
        ..exi(
            "exi-no-monotonic-reading",
            false,
            None,
            vec![],
            "a token with exi needs a monotonic reading and a first-sight store, even where \
             a wall clock is present",
        )
    });

    // ---- Keys bound to issuers (§1.3): both issuers allowlisted.
    v.push(Case {
        keys: json!([{ "name": "ed25519", "issuer": OTHER_ISS }, { "name": "hmac_sha256" }]),
        issuers: vec![ISS, OTHER_ISS],
        ..Case::bad(
            "key-bound-to-other-issuer",
            typical_tok.to_vec(),
            T0 + 60,
            AUD,
            "the key verifies the signature but is bound to lab.example; iss is \
             clinic.example",
        )
    });
    v.push(Case {
        keys: json!([{ "name": "ed25519", "issuer": ISS }, { "name": "hmac_sha256" }]),
        issuers: vec![ISS, OTHER_ISS],
        ..Case::ok(
            "key-bound-to-its-issuer",
            typical_tok.to_vec(),
            T0 + 60,
            AUD,
            "the key is bound to clinic.example, the token's iss",
        )
    });
    v
}
