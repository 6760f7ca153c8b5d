//! Vectors added after the second clean-room review of the profile: the §2 rules applied to
//! the outer COSE structure, CBOR rules inside the claims and the protected header, time and
//! scope boundaries, tags and `kid` lengths, a mixed-order Ed25519 key and a key that is not
//! a curve point, the first-sight store (eviction, its floor, saturation), a subject epoch
//! across issuers, and `M` on a device without a wall clock.

use super::*;

/// The RFC 8032 TEST 1 key as ed25519-dalek sees it, for signing forged structures.
fn dalek() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&seed())
}

/// A correctly signed COSE_Sign1 over `protected` and `payload` exactly as given (any bytes).
fn signed_raw(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let sig = dalek().sign(&sig_structure(protected, payload)).to_bytes();
    raw_sign1(protected, payload, &sig)
}

/// `hay` with its only occurrence of `from` replaced by `to`.
fn replace_once(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let hits: Vec<usize> = hay
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "pattern {}", hex::encode(from));
    let at = hits[0];
    [&hay[..at], to, &hay[at + from.len()..]].concat()
}

/// A reading `{boot, seconds}` in the vectors' JSON shape.
fn reading(boot: u32, seconds: u64) -> Value {
    json!({ "boot": boot, "seconds": seconds })
}

/// One earlier verification of another token with the same store (`presented_before`).
fn presented(token: &[u8], boot: u32, seconds: u64, valid: bool) -> Value {
    json!({
        "token": hex::encode(token),
        "monotonic": reading(boot, seconds),
        "result": if valid { "valid" } else { "rejected" },
    })
}

/// `R` in the 8 canonical small-order encodings (§1.2 table, rows 0–7).
fn canonical_small_order() -> Vec<[u8; 32]> {
    files::SMALL_ORDER[..8].iter().map(|h| h32(h)).collect()
}

/// A mixed-order public key `A = [a]B + T` (the TEST 1 scalar `a`, `T` the order-8 point of
/// row 4) and a token under it whose signature has a small-order `R` other than the
/// identity, with `S = k·a mod L`: then `[S]B − [k]A = −[k]T`, which equals `R` for about
/// one message in eight per candidate `R`. Searches token ids from 100 upwards.
fn mixed_key_small_order_r() -> ([u8; 32], KeyId, Vec<u8>) {
    let esk = ed25519_dalek::hazmat::ExpandedSecretKey::from(&seed());
    let large = signing_key().verifying_key();
    let large = ed25519_dalek::VerifyingKey::from_bytes(&large.to_bytes())
        .unwrap()
        .to_edwards();
    let torsion = ed25519_dalek::VerifyingKey::from_bytes(&h32(files::SMALL_ORDER[4]))
        .unwrap()
        .to_edwards();
    let base = ed25519_dalek::VerifyingKey::from_bytes(&h32(BASE_POINT))
        .unwrap()
        .to_edwards();
    let public = ed25519_dalek::VerifyingKey::from(large + torsion).to_bytes();
    let kid = KeyId::derive_ed25519(&public);
    let minter = SigningKey::from_seed(&seed(), Some(kid));
    for n in 100u8..=255 {
        let claims = ClaimsBuilder::new(ISS, Role::Patient)
            .subject(PATIENT)
            .audience(AUD)
            .issued_at(T0)
            .ttl(3600)
            .token_id(cti(n))
            .build(&mut no_rng())
            .unwrap();
        let (protected, payload) = sign1_parts(&minter.mint_vec(&claims).unwrap());
        let message = sig_structure(&protected, &payload);
        for r in canonical_small_order().into_iter().skip(1) {
            let mut h = Sha512::new();
            h.update(r);
            h.update(public);
            h.update(&message);
            let mut wide = [0u8; 64];
            wide.copy_from_slice(&h.finalize());
            let k = scalar_from_wide(&esk.scalar, &wide);
            let s = k * esk.scalar;
            let q = base * s - (large + torsion) * k;
            if ed25519_dalek::VerifyingKey::from(q).to_bytes() == r {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&r);
                sig[32..].copy_from_slice(&s.to_bytes());
                return (public, kid, raw_sign1(&protected, &payload, &sig));
            }
        }
    }
    panic!("no token id in 100..=255 gives a small-order R");
}

pub(super) fn review2_cases(typical_tok: &[u8], tech_tok: &[u8]) -> Vec<Case> {
    let sk = signing_key();
    let mut rng = no_rng();
    let mut v = vec![];
    let (prot, payload) = sign1_parts(typical_tok);
    let sig = &typical_tok[typical_tok.len() - 64..];

    // ---- §2 applies to the outer structure too: every head shortest, definite lengths.
    // Each token carries patient-sign1-typical's valid signature (the Sig_structure is
    // rebuilt from the bstr contents, so it does not see these heads).
    let outer = |tag: &[u8],
                 array: &[u8],
                 protected_head: &[u8],
                 unprotected: &[u8],
                 payload_head: &[u8],
                 signature_head: &[u8],
                 end: &[u8]| {
        [
            tag,
            array,
            protected_head,
            &prot,
            unprotected,
            payload_head,
            &payload,
            signature_head,
            sig,
            end,
        ]
        .concat()
    };
    let d2 = [0xd2u8];
    let a84 = [0x84u8];
    let p4d = [0x4du8];
    let a0 = [0xa0u8];
    let pl = [0x58u8, 0x64];
    let s40 = [0x58u8, 0x40];
    assert_eq!(outer(&d2, &a84, &p4d, &a0, &pl, &s40, &[]), typical_tok);
    let outer_cases: [(&'static str, Vec<u8>, &'static str); 11] = [
        (
            "outer-array-head-non-shortest",
            outer(&d2, &[0x98, 0x04], &p4d, &a0, &pl, &s40, &[]),
            "the COSE array's head is 98 04, not 84",
        ),
        (
            "outer-array-indefinite",
            outer(&d2, &[0x9f], &p4d, &a0, &pl, &s40, &[0xff]),
            "the COSE array has indefinite length (9f ... ff)",
        ),
        (
            "outer-sign1-tag-non-shortest",
            outer(&[0xd8, 0x12], &a84, &p4d, &a0, &pl, &s40, &[]),
            "tag 18 encoded d8 12, not d2",
        ),
        (
            "outer-cwt-tag-non-shortest",
            [&[0xd9u8, 0x00, 0x3d][..], typical_tok].concat(),
            "tag 61 encoded d9 003d, not d8 3d",
        ),
        (
            "outer-protected-head-non-shortest",
            outer(&d2, &a84, &[0x58, 0x0d], &a0, &pl, &s40, &[]),
            "the protected bstr's head is 58 0d, not 4d",
        ),
        (
            "outer-payload-head-non-shortest",
            outer(&d2, &a84, &p4d, &a0, &[0x59, 0x00, 0x64], &s40, &[]),
            "the payload bstr's head is 59 0064, not 58 64",
        ),
        (
            "outer-payload-indefinite",
            outer(
                &d2,
                &a84,
                &p4d,
                &a0,
                &[0x5f, 0x58, 0x64],
                &[0xff, 0x58, 0x40],
                &[],
            ),
            "the payload is an indefinite-length bstr of one chunk (5f 58 64 ... ff)",
        ),
        (
            "outer-signature-head-non-shortest",
            outer(&d2, &a84, &p4d, &a0, &pl, &[0x59, 0x00, 0x40], &[]),
            "the signature bstr's head is 59 0040, not 58 40",
        ),
        (
            "outer-unprotected-non-shortest",
            outer(&d2, &a84, &p4d, &[0xb8, 0x00], &pl, &s40, &[]),
            "the empty unprotected map encoded b8 00, not a0",
        ),
        (
            "outer-unprotected-indefinite",
            outer(&d2, &a84, &p4d, &[0xbf, 0xff], &pl, &s40, &[]),
            "the empty unprotected map encoded bf ff (indefinite length)",
        ),
        (
            "outer-trailing-byte",
            outer(&d2, &a84, &p4d, &a0, &pl, &s40, &[0x00]),
            "one byte (00) after the COSE array",
        ),
    ];
    for (name, token, why) in outer_cases {
        v.push(Case::bad(name, token, T0 + 60, AUD, why));
    }

    // ---- §2 inside the claims: patient-sign1-typical's payload edited byte-wise and
    // signed again (the signature is valid; only the encoding is wrong).
    let exp_entry = [0x04u8, 0x1a, 0x69, 0x55, 0xc7, 0x10];
    let sub_entry = [&[0x02u8, 0x6e][..], PATIENT.as_bytes()].concat();
    let mut bad_utf8 = PATIENT.as_bytes().to_vec();
    *bad_utf8.last_mut().unwrap() = 0xff;
    let mut indefinite_map = payload.clone();
    assert_eq!(indefinite_map[0], 0xa8);
    indefinite_map[0] = 0xbf;
    indefinite_map.push(0xff);
    let mut with_null_nbf = replace_once(
        &payload,
        &exp_entry,
        &[&exp_entry[..], &[0x05, 0xf6]].concat(),
    );
    with_null_nbf[0] = 0xa9;
    let claim_cases: [(&'static str, Vec<u8>, &'static str); 9] = [
        (
            "claims-int-non-shortest",
            replace_once(
                &payload,
                &exp_entry,
                &[0x04, 0x1b, 0, 0, 0, 0, 0x69, 0x55, 0xc7, 0x10],
            ),
            "exp encoded in 8 bytes (1b 00000000 6955c710) where 4 suffice",
        ),
        (
            "claims-key-non-shortest",
            replace_once(
                &payload,
                &exp_entry,
                &[0x18, 0x04, 0x1a, 0x69, 0x55, 0xc7, 0x10],
            ),
            "the claim key 4 encoded 18 04",
        ),
        (
            "claims-text-head-non-shortest",
            replace_once(
                &payload,
                &sub_entry,
                &[&[0x02u8, 0x78, 0x0e][..], PATIENT.as_bytes()].concat(),
            ),
            "sub's length head 78 0e, not 6e",
        ),
        (
            "claims-map-indefinite",
            indefinite_map,
            "the claims map has indefinite length (bf ... ff)",
        ),
        (
            "claims-text-indefinite",
            replace_once(
                &payload,
                &sub_entry,
                &[&[0x02u8, 0x7f][..], &sub_entry[1..], &[0xff]].concat(),
            ),
            "sub as an indefinite-length text string of one chunk (7f 6e ... ff)",
        ),
        (
            "claims-inner-tag",
            replace_once(
                &payload,
                &exp_entry,
                &[0x04, 0xc1, 0x1a, 0x69, 0x55, 0xc7, 0x10],
            ),
            "exp carries tag 1 (epoch-based date): tags appear only outside the COSE array",
        ),
        (
            "claims-invalid-utf8",
            replace_once(&payload, PATIENT.as_bytes(), &bad_utf8),
            "sub's last byte is ff: not UTF-8",
        ),
        (
            "claims-null-nbf",
            with_null_nbf,
            "nbf is null (f6): major type 7 never appears",
        ),
        (
            "claims-reserved-additional-information",
            replace_once(&payload, &exp_entry, &[0x04, 0x1c, 0x69, 0x55, 0xc7, 0x10]),
            "exp's head 1c: additional information 28 is reserved",
        ),
    ];
    for (name, bytes, why) in claim_cases {
        v.push(Case::bad(
            name,
            signed_raw(&prot, &bytes),
            T0 + 60,
            AUD,
            why,
        ));
    }

    // ---- §2 inside the protected header, and kid lengths (§1.1).
    let kid = sk.kid();
    let with_kid = |head: &[u8], kid: &[u8]| [&[0xa2u8, 0x01, 0x27, 0x04][..], head, kid].concat();
    assert_eq!(with_kid(&[0x48], kid.as_bytes()), prot);
    let protected_cases: [(&'static str, Vec<u8>, &'static str); 5] = [
        (
            "protected-kid-head-non-shortest",
            with_kid(&[0x58, 0x08], kid.as_bytes()),
            "the kid's length head is 58 08, not 48",
        ),
        (
            "protected-map-indefinite",
            [
                &[0xbfu8, 0x01, 0x27, 0x04, 0x48][..],
                kid.as_bytes(),
                &[0xff],
            ]
            .concat(),
            "the protected map has indefinite length (bf ... ff)",
        ),
        (
            "protected-alg-non-shortest",
            [&[0xa2u8, 0x01, 0x38, 0x07, 0x04, 0x48][..], kid.as_bytes()].concat(),
            "alg -8 encoded 38 07, not 27",
        ),
        (
            "kid-empty",
            with_kid(&[0x40], &[]),
            "kid of 0 bytes (kid is 1 to 16 bytes)",
        ),
        (
            "kid-17-bytes",
            with_kid(&[0x51], &[0x6b; 17]),
            "kid of 17 bytes (kid is 1 to 16 bytes)",
        ),
    ];
    for (name, protected, why) in protected_cases {
        v.push(Case::bad(
            name,
            signed_raw(&protected, &payload),
            T0 + 60,
            AUD,
            why,
        ));
    }
    let public = hex::encode(sk.verifying_key().to_bytes());
    for (name, id, why) in [
        (
            "kid-16-bytes",
            &b"0123456789abcdef"[..],
            "kid of 16 bytes, the longest; the key set holds the TEST 1 key under it",
        ),
        (
            "kid-1-byte",
            &b"k"[..],
            "kid of 1 byte, the shortest; the key set holds the TEST 1 key under it",
        ),
    ] {
        v.push(Case {
            keys: json!([{ "ed25519_public": public, "kid": hex::encode(id) }]),
            ..Case::ok(
                name,
                signed_raw(&with_kid(&[0x40 + id.len() as u8], id), &payload),
                T0 + 60,
                AUD,
                why,
            )
        });
    }

    // ---- Tags (§1): only [61] then 18 or 17, each once, shortest.
    let tag_cases: [(&'static str, Vec<u8>, &'static str); 7] = [
        (
            "cwt-tag-twice",
            [&[0xd8u8, 0x3d, 0xd8, 0x3d][..], typical_tok].concat(),
            "tag 61 twice in front of the COSE_Sign1 tag",
        ),
        (
            "cwt-tag-without-cose-tag",
            [&[0xd8u8, 0x3d][..], &typical_tok[1..]].concat(),
            "tag 61 directly on the array: the COSE tag is required",
        ),
        (
            "cose-encrypt0-tag",
            [&[0xd0u8][..], &typical_tok[1..]].concat(),
            "patient-sign1-typical under tag 16 (COSE_Encrypt0)",
        ),
        (
            "cose-mac-tag",
            [&[0xd8u8, 0x61][..], &typical_tok[1..]].concat(),
            "patient-sign1-typical under tag 97 (COSE_Mac)",
        ),
        (
            "cose-sign-tag",
            [&[0xd8u8, 0x62][..], &typical_tok[1..]].concat(),
            "patient-sign1-typical under tag 98 (COSE_Sign)",
        ),
        (
            "mac0-with-64-byte-tag",
            [&[0xd1u8][..], &typical_tok[1..]].concat(),
            "patient-sign1-typical under tag 17: after tag 17 the last bstr must be 32 bytes",
        ),
        (
            "cwt-tag-on-mac0-with-64-byte-tag",
            [&[0xd8u8, 0x3d, 0xd1][..], &typical_tok[1..]].concat(),
            "as mac0-with-64-byte-tag, behind tag 61",
        ),
    ];
    for (name, token, why) in tag_cases {
        v.push(Case::bad(name, token, T0 + 60, AUD, why));
    }

    // ---- Time rules that hold with or without a clock (§4 steps 5 and 7).
    let edit = |f: &dyn Fn(&mut Vec<(Cbor, Cbor)>)| {
        let mut m = payload_map(typical_tok);
        f(&mut m);
        forge_sign1(ed_header(), Default::default(), encode_map(m))
    };
    let set = |k: i64, val: Cbor| {
        move |m: &mut Vec<(Cbor, Cbor)>| {
            for (key, v) in m.iter_mut() {
                if *key == Cbor::from(k) {
                    *v = val.clone();
                }
            }
        }
    };
    v.push(Case::bad(
        "exp-equal-iat",
        edit(&set(4, Cbor::from(T0))),
        T0,
        AUD,
        "exp = iat: exp must be after iat",
    ));
    v.push(Case::bad(
        "nbf-equal-exp",
        edit(&|m| m.push((Cbor::from(5), Cbor::from(T0 + 3600)))),
        T0 + 3599,
        AUD,
        "nbf = exp: nbf must be before exp",
    ));
    let late_nbf = ClaimsBuilder::new(ISS, Role::Patient)
        .subject(PATIENT)
        .audience(AUD)
        .issued_at(T0)
        .ttl(3600)
        .not_before(T0 + 3599)
        .token_id(cti(12))
        .build(&mut rng)
        .unwrap();
    v.push(Case::ok(
        "nbf-just-before-exp",
        sk.mint_vec(&late_nbf).unwrap(),
        T0 + 3599,
        AUD,
        "nbf = exp - 1, verified at now = nbf",
    ));
    v.push(Case {
        now: None,
        monotonic: Some((3, 120)),
        ..Case::bad(
            "exi-zero",
            edit(&|m| m.push((Cbor::from(40), Cbor::from(0)))),
            0,
            AUD,
            "exi = 0: exi is at least 1",
        )
    });
    for (name, m, valid, why) in [
        (
            "max-lifetime-no-wall-clock",
            3600u64,
            false,
            "technician-sign1-exi-no-wall-clock (exp - iat = 86400, exi 900) with M = 3600: \
             exp - iat > M is checked without a wall clock too",
        ),
        (
            "max-lifetime-no-wall-clock-equal",
            86_400,
            true,
            "the same token with M = 86400 = exp - iat, no wall clock",
        ),
    ] {
        v.push(Case {
            now: None,
            monotonic: Some((3, 120)),
            extra: vec![("max_lifetime", json!(m))],
            valid,
            ..Case::ok(name, tech_tok.to_vec(), 0, AUD, why)
        });
    }

    // ---- Scopes (§3.1).
    let scope = |entries: Vec<(Cbor, Cbor)>| edit(&set(-65537, Cbor::Map(entries)));
    let code = |c: u64, a: u64| (Cbor::from(c), Cbor::from(a));
    let custom = |n: &str, a: u64| (Cbor::Text(n.into()), Cbor::from(a));
    let mut sixteen: Vec<(Cbor, Cbor)> = (1..=12).map(|c| code(c, 1)).collect();
    for i in 0..4 {
        sixteen.push(custom(&format!("extra/{i}"), 1));
    }
    let mut seventeen = sixteen.clone();
    seventeen.push(custom("extra/4", 1));
    v.push(Case::ok(
        "scope-16-entries",
        scope(sixteen),
        T0 + 60,
        AUD,
        "16 scope entries, the most (every code 1-12 and 4 custom resources); the verifier \
         does not compare scopes with the role",
    ));
    v.push(Case::ok(
        "scope-custom-all-characters",
        scope(vec![
            code(1, 1),
            custom("abcdefghijklmnopqrstuvwxyz0123456789/_-.", 7),
        ]),
        T0 + 60,
        AUD,
        "a custom resource using every allowed character, all three actions",
    ));
    let scope_cases: [(&'static str, Vec<(Cbor, Cbor)>, &'static str); 11] = [
        ("scope-empty", vec![], "a scope map with 0 entries"),
        (
            "scope-17-entries",
            seventeen,
            "17 scope entries (at most 16)",
        ),
        (
            "scope-custom-uppercase",
            vec![custom("Pump/motor", 1)],
            "a custom resource with an upper-case letter",
        ),
        (
            "scope-custom-space",
            vec![custom("pump motor", 1)],
            "a custom resource with a space",
        ),
        (
            "scope-custom-65-bytes",
            vec![custom(&"a".repeat(65), 1)],
            "a custom resource of 65 bytes (at most 64)",
        ),
        (
            "scope-custom-empty",
            vec![custom("", 1)],
            "an empty custom resource",
        ),
        ("scope-action-zero", vec![code(1, 0)], "actions value 0"),
        (
            "scope-action-eight",
            vec![code(1, 8)],
            "actions value 8 (bit 3 is not an action)",
        ),
        (
            "scope-code-zero",
            vec![code(0, 1)],
            "resource code 0 is unassigned",
        ),
        (
            "scope-code-13",
            vec![code(13, 1)],
            "resource code 13 is unassigned",
        ),
        (
            "scope-resource-negative",
            vec![(Cbor::from(-1), Cbor::from(1))],
            "a negative integer as resource: neither a code nor text",
        ),
    ];
    for (name, entries, why) in scope_cases {
        v.push(Case::bad(name, scope(entries), T0 + 60, AUD, why));
    }

    // ---- A subject epoch is keyed by sub alone (§6): it reaches the same sub from every
    // issuer the verifier trusts.
    let lab = ClaimsBuilder::new(OTHER_ISS, Role::Patient)
        .subject(PATIENT)
        .audience(AUD)
        .issued_at(T0)
        .ttl(3600)
        .token_id(cti(11))
        .build(&mut rng)
        .unwrap();
    let lab_tok = sk.mint_vec(&lab).unwrap();
    v.push(Case {
        issuers: vec![ISS, OTHER_ISS],
        ..Case::ok(
            "other-issuer-token",
            lab_tok.clone(),
            T0 + 60,
            AUD,
            "a patient token from lab.example for the same sub as patient-sign1-typical; \
             both issuers allowlisted, the key unbound",
        )
    });
    v.push(Case {
        issuers: vec![ISS, OTHER_ISS],
        extra: vec![("subject_epochs", json!({ PATIENT: T0 + 1 }))],
        ..Case::bad(
            "subject-epoch-reaches-other-issuer",
            lab_tok,
            T0 + 60,
            AUD,
            "other-issuer-token under a subject epoch for its sub: subject epochs match sub \
             alone, whatever the issuer",
        )
    });

    // ---- Strict Ed25519 (§1.2): the third divergence from a plain verifier, and a key
    // that is not a curve point.
    let (mixed, mixed_kid, mixed_tok) = mixed_key_small_order_r();
    v.push(Case {
        keys: json!([{ "ed25519_public": hex::encode(mixed), "kid": mixed_kid.to_string() }]),
        plain_rfc8032: Some(true),
        ..Case::bad(
            "ed25519-r-small-order-mixed-key",
            mixed_tok,
            T0 + 60,
            AUD,
            "the key is A = [a]B + T (T of order 8: a large-order point with a small-order \
             component, accepted into key sets); R is a small-order point other than the \
             identity and S = k·a mod L, so [S]B - [k]A = -[k]T = R: a plain verifier accepts, \
             the profile rejects a small-order R",
        )
    });
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    let nap_kid = KeyId::derive_ed25519(&not_a_point);
    let nap_prot = [&[0xa2u8, 0x01, 0x27, 0x04, 0x48][..], nap_kid.as_bytes()].concat();
    let mut nap_sig = [0u8; 64];
    nap_sig[..32].copy_from_slice(&h32(BASE_POINT));
    nap_sig[32] = 1;
    v.push(Case {
        keys: json!([{ "ed25519_public": hex::encode(not_a_point), "kid": nap_kid.to_string() }]),
        plain_rfc8032: Some(false),
        ..Case::bad(
            "ed25519-a-not-a-point",
            raw_sign1(&nap_prot, &payload, &nap_sig),
            T0 + 60,
            AUD,
            "the key set's public key is 02 00..00: y = 2 is not the y of a curve point, so \
             the key is refused and the kid is unknown",
        )
    });

    // ---- The first-sight store (§5.2; N = 4 records). Devices without a wall clock; each
    // vector first verifies its `presented_before` tokens with the same store.
    let fs = |n: u8, iat: u64, exi: u64| {
        let c = ClaimsBuilder::new(ISS, Role::Technician)
            .subject("tech-0042")
            .audience(AUD)
            .issued_at(iat)
            .ttl(86_400)
            .exi(exi)
            .token_id(cti(n))
            .build(&mut no_rng())
            .unwrap();
        sk.mint_vec(&c).unwrap()
    };
    let fill = |exi: u64, at: u64| -> Vec<Value> {
        [(40u8, 10u64), (41, 20), (42, 30), (43, 40)]
            .iter()
            .map(|(n, d)| presented(&fs(*n, T0 + d, exi), 3, at, true))
            .collect()
    };
    let x = fs(44, T0 + 50, 100);
    let store_case = |name, token: Vec<u8>, valid, mono, before: Vec<Value>, why| Case {
        now: None,
        monotonic: Some(mono),
        extra: vec![("presented_before", Value::Array(before))],
        valid,
        ..Case::ok(name, token, 0, AUD, why)
    };
    v.push(store_case(
        "first-sight-store-full",
        x.clone(),
        false,
        (3, 99),
        fill(100, 0),
        "4 tokens (iat T0+10..T0+40, exi 100) recorded at (3, 0) fill the store; at (3, 99) \
         all 4 are live (99 - 0 = 99 < exi 100), so a new token is refused",
    ));
    v.push(store_case(
        "first-sight-evicts-at-window-end",
        x.clone(),
        true,
        (3, 100),
        fill(100, 0),
        "the same 4 records at (3, 100): 100 - 0 = 100 >= exi 100, all stale; the new token \
         replaces the one with the smallest iat",
    ));
    let mut then_x = fill(100, 0);
    then_x.push(presented(&x, 3, 100, true));
    v.push(store_case(
        "first-sight-evicts-smallest-iat",
        fs(45, T0 + 15, 100),
        true,
        (3, 100),
        then_x.clone(),
        "after first-sight-evicts-at-window-end dropped the record with iat T0+10 (F = \
         T0+10), an unseen token with iat T0+15 > F is recorded (had the largest iat been \
         dropped, F would be T0+40 and it would be refused)",
    ));
    v.push(store_case(
        "first-sight-floor-refuses-older-unseen",
        fs(46, T0 + 5, 100),
        false,
        (3, 100),
        then_x,
        "after first-sight-evicts-at-window-end (F = T0+10), an unseen token with iat T0+5 \
         <= F is refused although stale records could make room",
    ));
    let mut three = fill(100, 0);
    three.remove(0);
    three.push(presented(&fs(47, T0 + 5, 100), 3, 100, true));
    v.push(store_case(
        "first-sight-empty-slot-first",
        fs(48, T0 + 8, 100),
        true,
        (3, 100),
        three,
        "3 stale records (iat T0+20..T0+40) and an empty slot: a token with iat T0+5 takes \
         the empty slot (F stays none), so one with iat T0+8 is then recorded in place of \
         the T0+20 record (had the T0+5 token dropped a record, F = T0+20 would refuse it)",
    ));
    v.push(store_case(
        "first-sight-other-boot-is-stale",
        x.clone(),
        true,
        (4, 5),
        fill(100_000, 0),
        "4 records from boot 3 whose windows have not ended (exi 100000): a reading from \
         boot 4 makes them all stale, so a new token is recorded",
    ));
    let w = fs(49, T0 + 10, 100);
    v.push(Case {
        extra: vec![
            ("presented_before", Value::Array(fill(100, 0))),
            ("seen_at", json!([reading(3, 100)])),
        ],
        ..store_case(
            "first-sight-recorded-at-floor",
            w,
            true,
            (3, 150),
            vec![],
            "a token with iat T0+10 first seen at (3, 100) replaces the record with iat T0+10 \
             (F becomes T0+10, checked before the drop, so it is recorded); at (3, 150) it is \
             found by cti and F plays no part",
        )
    });
    v.push(store_case(
        "first-sight-window-past-counter-range",
        x,
        false,
        (3, u64::MAX),
        fill(u64::MAX, 10),
        "4 records with exi 2^64 - 1 first seen at (3, 10): at (3, 2^64 - 1), \
         (2^64 - 1) - 10 < exi, so all are live and a new token is refused (forming the sum \
         10 + exi instead, wrapped to 9 or saturated to 2^64 - 1 <= now, would make them \
         stale)",
    ));
    v
}
