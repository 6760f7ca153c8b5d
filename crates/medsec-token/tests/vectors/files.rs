//! The key files and signed revocation updates of the vectors file.

use super::*;

pub(super) fn keys_json() -> Value {
    let sk = signing_key();
    let mut priv_key = [0u8; SigningKey::COSE_KEY_MAX_LEN];
    let n = sk.to_cose_key(&mut priv_key).unwrap();
    let mut pub_key = [0u8; VerifyingKey::COSE_KEY_MAX_LEN];
    let m = sk.verifying_key().to_cose_key(&mut pub_key).unwrap();
    json!({
        "ed25519": {
            "seed": SEED,
            "public": hex::encode(sk.verifying_key().to_bytes()),
            "kid": sk.kid().to_string(),
            "cose_key_private": hex::encode(&priv_key[..n]),
            "cose_key_public": hex::encode(&pub_key[..m]),
        },
        "hmac_sha256": {
            "key": MAC_KEY,
            "kid": hex::encode(MAC_KID),
        },
    })
}

/// Public and private key files (profile §8), accepted or refused as a whole.
pub(super) fn key_files() -> Value {
    let sk = signing_key();
    let x = sk.verifying_key().to_bytes().to_vec();
    let kid = sk.kid().as_bytes().to_vec();
    let d = seed().to_vec();
    let i = |v: i64| Cbor::from(v);
    let b = |v: &[u8]| Cbor::Bytes(v.to_vec());
    let public = |entries: Vec<(Cbor, Cbor)>| Cbor::Map(entries).to_vec().unwrap();
    let full = || {
        vec![
            (i(1), i(1)),
            (i(2), b(&kid)),
            (i(3), i(-8)),
            (i(-1), i(6)),
            (i(-2), b(&x)),
        ]
    };
    let without = |label: i64| {
        let mut m = full();
        m.retain(|(k, _)| *k != i(label));
        public(m)
    };
    let with = |label: i64, value: Cbor| {
        let mut m = full();
        match m.iter_mut().find(|(k, _)| *k == i(label)) {
            Some(entry) => entry.1 = value,
            None => m.push((i(label), value)),
        }
        public(m)
    };
    let mut noncanonical_x = [0xffu8; 32];
    noncanonical_x[0] = 0xf0;
    noncanonical_x[31] = 0x7f;
    let mut y3 = [0u8; 32];
    y3[0] = 3;
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    let mixed_order = ed25519_dalek::VerifyingKey::from(
        ed25519_dalek::VerifyingKey::from_bytes(&sk.verifying_key().to_bytes())
            .unwrap()
            .to_edwards()
            + ed25519_dalek::VerifyingKey::from_bytes(&h32(SMALL_ORDER[4]))
                .unwrap()
                .to_edwards(),
    )
    .to_bytes();
    let mut private_mismatch = full();
    private_mismatch.push((i(-4), b(&[0x11; 32])));
    let mut private_ok = full();
    private_ok.push((i(-4), b(&d)));
    let mut duplicate = full();
    duplicate.push((i(2), b(&kid)));
    let ok_kid = sk.kid().to_string();
    let entry = |name: &str, kind: &str, file: Vec<u8>, kid: Option<&str>, why: &str| {
        let mut e = json!({
            "name": name,
            "kind": kind,
            "file": hex::encode(file),
            "result": if kid.is_some() { "accepted" } else { "rejected" },
            "why": why,
        });
        if let Some(k) = kid {
            e["kid"] = json!(k);
        }
        e
    };
    let mut out = vec![
        entry(
            "public-cose-key",
            "public",
            public(full()),
            Some(&ok_kid),
            "the documented form",
        ),
        entry(
            "public-raw",
            "public",
            x.clone(),
            Some(&ok_kid),
            "32 raw bytes; the kid is derived (§1.4)",
        ),
        entry(
            "public-raw-canonical-y3",
            "public",
            y3.to_vec(),
            Some(&KeyId::derive_ed25519(&y3).to_string()),
            "y = 3 is a curve point of large order, canonically encoded: accepted (nobody knows \
             its private key; the check is on the encoding)",
        ),
        entry(
            "public-raw-not-a-point",
            "public",
            not_a_point.to_vec(),
            None,
            "y = 2, canonically encoded, is not the y of any curve point: (y^2 - 1) / (d y^2 + \
             1) is not a square mod p",
        ),
        entry(
            "public-raw-mixed-order",
            "public",
            mixed_order.to_vec(),
            Some(&KeyId::derive_ed25519(&mixed_order).to_string()),
            "the TEST 1 public key plus the order-8 point of the §1.2 table (row 4): a \
             large-order point with a small-order component, accepted",
        ),
        entry(
            "public-raw-non-canonical",
            "public",
            noncanonical_x.to_vec(),
            None,
            "the same point as public-raw-canonical-y3 with y = p + 3: not canonical",
        ),
        entry(
            "public-cose-key-non-canonical-x",
            "public",
            with(-2, b(&noncanonical_x)),
            None,
            "x is not a canonical encoding",
        ),
        entry(
            "public-cose-key-small-order-x",
            "public",
            with(-2, b(&h32(IDENTITY))),
            None,
            "x is the identity (small order)",
        ),
        entry(
            "public-missing-kty",
            "public",
            without(1),
            None,
            "kty is required",
        ),
        entry(
            "public-missing-kid",
            "public",
            without(2),
            None,
            "kid is required",
        ),
        entry(
            "public-missing-alg",
            "public",
            without(3),
            None,
            "alg is required",
        ),
        entry(
            "public-missing-crv",
            "public",
            without(-1),
            None,
            "crv is required",
        ),
        entry(
            "public-missing-x",
            "public",
            without(-2),
            None,
            "x is required",
        ),
        entry(
            "public-alg-es256",
            "public",
            with(3, i(-7)),
            None,
            "alg must be -8",
        ),
        entry(
            "public-crv-x25519",
            "public",
            with(-1, i(4)),
            None,
            "crv must be 6",
        ),
        entry(
            "public-kty-ec2",
            "public",
            with(1, i(2)),
            None,
            "kty must be 1 (OKP)",
        ),
        entry(
            "public-kid-empty",
            "public",
            with(2, b(&[])),
            None,
            "kid is 1 to 16 bytes",
        ),
        entry(
            "public-kid-17-bytes",
            "public",
            with(2, b(&[7; 17])),
            None,
            "kid is 1 to 16 bytes",
        ),
        entry(
            "public-x-31-bytes",
            "public",
            with(-2, b(&x[..31])),
            None,
            "x is 32 bytes",
        ),
        entry(
            "public-unknown-label",
            "public",
            with(-3, b(&x)),
            None,
            "no label beyond the five (here -3, y)",
        ),
        entry(
            "public-duplicate-label",
            "public",
            public(duplicate),
            None,
            "kid appears twice",
        ),
        entry(
            "public-with-private-part",
            "public",
            public(private_ok.clone()),
            None,
            "a public key file must not carry d",
        ),
        entry(
            "public-trailing-byte",
            "public",
            [public(full()), vec![0]].concat(),
            None,
            "no bytes after the map",
        ),
        entry(
            "public-raw-31-bytes",
            "public",
            x[..31].to_vec(),
            None,
            "neither 32 raw bytes nor a COSE_Key",
        ),
        entry(
            "private-cose-key",
            "private",
            public(private_ok),
            Some(&ok_kid),
            "the documented private key file",
        ),
        entry(
            "private-x-mismatch",
            "private",
            public(private_mismatch),
            None,
            "x is not the public key of d",
        ),
        entry(
            "private-missing-d",
            "private",
            public(full()),
            None,
            "d is required",
        ),
    ];
    // Every small-order point, in each encoding a reducing decoder accepts (§1.2 table).
    for (n, h) in SMALL_ORDER.iter().enumerate() {
        out.push(json!({
            "name": format!("public-raw-small-order-{n}"),
            "kind": "public",
            "file": h,
            "result": "rejected",
            "why": "a small-order point (profile §1.2 table)",
        }));
    }
    Value::Array(out)
}

/// The 14 small-order encodings of profile §1.2: 8 canonical, 6 not.
pub(super) const SMALL_ORDER: [&str; 14] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

/// An update payload map built by hand (coset encodes it), for updates no medsec signer makes.
pub(super) fn update_payload(iat: u64, seq: u64, epoch: u64) -> Vec<u8> {
    update_payload_with_ids(iat, seq, epoch, vec![])
}

/// As [`update_payload`], with the given `revoked` entries.
pub(super) fn update_payload_with_ids(iat: u64, seq: u64, epoch: u64, ids: Vec<Cbor>) -> Vec<u8> {
    Cbor::Map(vec![
        (Cbor::from(1), Cbor::Text(ISS.into())),
        (Cbor::from(3), Cbor::Text(AUD.into())),
        (Cbor::from(6), Cbor::from(iat)),
        (Cbor::from(-65550), Cbor::from(seq)),
        (Cbor::from(-65551), Cbor::from(epoch)),
        (Cbor::from(-65552), Cbor::Array(ids)),
    ])
    .to_vec()
    .unwrap()
}

/// A COSE_Mac0 under the vectors' HMAC key over any payload (coset builds it).
fn mac0_over(payload: Vec<u8>) -> Vec<u8> {
    use hmac::{KeyInit as _, Mac as _};
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::HMAC_256_256)
        .key_id(MAC_KID.to_vec())
        .build();
    coset::CoseMac0Builder::new()
        .protected(protected)
        .payload(payload)
        .create_tag(b"", |data| {
            let mut mac =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(&hex::decode(MAC_KEY).unwrap()).unwrap();
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        })
        .build()
        .to_tagged_vec()
        .unwrap()
}

/// Signed revocation updates (profile §6.1).
pub(super) fn revocation_updates() -> Value {
    let ids = [
        RevokedToken {
            id: cti(1),
            expires_at: T0 + 3600,
        },
        RevokedToken {
            id: cti(3),
            expires_at: T0 + 8 * 3600,
        },
    ];
    let sign = |sequence: u64, revoked: &[RevokedToken]| {
        let update = RevocationUpdate {
            issuer: ISS,
            audience: AUD,
            issued_at: T0 + 120,
            sequence,
            epoch: RevocationEpoch::from_unix_seconds(T0 - 86_400),
            revoked,
        };
        let mut buf = [0u8; 1024];
        let n = update.sign(&signing_key(), &mut buf).unwrap();
        buf[..n].to_vec()
    };
    let good = sign(42, &ids);
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    let content_of = |issuer: &str, sequence: u64, epoch: u64, revoked: &[RevokedToken]| {
        json!({
            "issuer": issuer,
            "sequence": sequence,
            "epoch": epoch,
            "revoked": revoked.iter().map(|r| json!([r.id.to_string(), r.expires_at])).collect::<Vec<_>>(),
        })
    };
    let content =
        |sequence: u64, revoked: &[RevokedToken]| content_of(ISS, sequence, T0 - 86_400, revoked);
    let verify = |audience: &str| json!({"issuers": [ISS], "audience": audience, "keys": [{"name": "ed25519"}]});
    let with = |audience: &str, extra: Value| {
        let mut v = verify(audience);
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    };
    let max_step = sign(42 + MAX_SEQUENCE_STEP, &[]);
    let too_far = sign(42 + MAX_SEQUENCE_STEP + 1, &[]);
    let epoch_after_iat = forge_sign1(
        ed_header(),
        Default::default(),
        update_payload(T0 + 120, 43, T0 + 121),
    );
    let reserved_time = forge_sign1(
        ed_header(),
        Default::default(),
        update_payload(MAX_UPDATE_TIME + 1, 43, 0),
    );
    // From the second issuer (the TEST 1 key, unbound, signs for both allowlisted issuers).
    let sign_lab = |sequence: u64| {
        let update = RevocationUpdate {
            issuer: OTHER_ISS,
            audience: AUD,
            issued_at: T0 + 60,
            sequence,
            epoch: RevocationEpoch::from_unix_seconds(T0 - 3600),
            revoked: &[],
        };
        let mut buf = [0u8; 1024];
        let n = update.sign(&signing_key(), &mut buf).unwrap();
        buf[..n].to_vec()
    };
    let both = |extra: Value| {
        let mut v =
            json!({"issuers": [ISS, OTHER_ISS], "audience": AUD, "keys": [{"name": "ed25519"}]});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    };
    let five: Vec<RevokedToken> = (1..=5)
        .map(|n| RevokedToken {
            id: cti(20 + n),
            expires_at: T0 + 3600,
        })
        .collect();
    let list_full = sign(43, &five);
    // Added after clean-room round 4: a full list takes no slot for an id it already holds.
    let four: Vec<RevokedToken> = (1..=4)
        .map(|n| RevokedToken {
            id: id4(0xd4, n),
            expires_at: T0 + 3600,
        })
        .collect();
    let relisted = [RevokedToken {
        id: four[0].id,
        expires_at: T0 + 7200,
    }];
    let one_more = [RevokedToken {
        id: id4(0xd4, 5),
        expires_at: T0 + 3600,
    }];
    let thirty_three: Vec<Cbor> = (0..33u8)
        .map(|i| Cbor::Array(vec![Cbor::Bytes(vec![i]), Cbor::from(T0 + 3600)]))
        .collect();
    let too_many_ids = forge_sign1(
        ed_header(),
        Default::default(),
        update_payload_with_ids(T0 + 120, 43, T0 - 86_400, thirty_three),
    );
    // Added after clean-room round 6: a fifth issuer finds no free issuer slot (the list keeps
    // sequences for 4). The key is unbound, so it signs for every allowlisted issuer.
    let sign_as = |issuer: &str, sequence: u64, epoch: u64, revoked: &[RevokedToken]| {
        let update = RevocationUpdate {
            issuer,
            audience: AUD,
            issued_at: T0 + 120,
            sequence,
            epoch: RevocationEpoch::from_unix_seconds(epoch),
            revoked,
        };
        let mut buf = [0u8; 1024];
        let n = update.sign(&signing_key(), &mut buf).unwrap();
        buf[..n].to_vec()
    };
    let (third, fourth, fifth) = ("ward.example", "pharmacy.example", "home.example");
    let five_issuers = |extra: Value| {
        let mut v = json!({"issuers": [ISS, OTHER_ISS, third, fourth, fifth], "audience": AUD,
                           "keys": [{"name": "ed25519"}]});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    };
    let fifth_ids = [RevokedToken {
        id: id4(0xd6, 1),
        expires_at: T0 + 3600,
    }];
    // Added after clean-room round 7: an issuer takes a slot only when step 6 sets S(iss).
    let sign_for = |issuer: &str, audience: &str, sequence: u64, revoked: &[RevokedToken]| {
        let update = RevocationUpdate {
            issuer,
            audience,
            issued_at: T0 + 120,
            sequence,
            epoch: RevocationEpoch::from_unix_seconds(T0 - 3600),
            revoked,
        };
        let mut buf = [0u8; 1024];
        let n = update.sign(&signing_key(), &mut buf).unwrap();
        buf[..n].to_vec()
    };
    let four_before = json!({"applied_before": ["update-valid", "update-other-issuer", "update-third-issuer", "update-fourth-issuer"]});
    let good_payload = CoseSign1::from_tagged_slice(&good)
        .unwrap()
        .payload
        .unwrap();
    let as_mac0 = mac0_over(good_payload);
    json!([
        { "name": "update-valid", "update": hex::encode(&good), "verify": verify(AUD),
          "result": "valid", "content": content(42, &ids) },
        { "name": "update-wrong-audience", "update": hex::encode(&good), "verify": verify("pump-SN000001"),
          "result": "rejected" },
        { "name": "update-bad-signature", "update": hex::encode(&bad), "verify": verify(AUD),
          "result": "rejected" },
        { "name": "update-valid-wall-clock", "update": hex::encode(&good),
          "verify": with(AUD, json!({"now": T0 + 120 - 600})), "result": "valid", "content": content(42, &ids),
          "why": "iat = now + 600 s: the latest an update may be issued" },
        { "name": "update-from-the-future", "update": hex::encode(&good),
          "verify": with(AUD, json!({"now": T0 + 120 - 601})), "result": "rejected",
          "why": "iat = now + 601 s on a verifier with a wall clock" },
        { "name": "update-epoch-after-iat", "update": hex::encode(&epoch_after_iat), "verify": verify(AUD),
          "result": "rejected", "why": "epoch = iat + 1: an update cannot revoke tokens issued after it was made" },
        { "name": "update-time-reserved", "update": hex::encode(&reserved_time), "verify": verify(AUD),
          "result": "rejected", "why": "iat = 2^63: update times (and so epochs) above 2^63 - 1 are reserved" },
        { "name": "update-sequence-zero", "update": hex::encode(sign(0, &[])), "verify": verify(AUD),
          "result": "rejected", "why": "a fresh list has applied sequence 0; seq must be above it" },
        { "name": "update-sequence-max-step", "update": hex::encode(&max_step),
          "verify": with(AUD, json!({"applied_before": ["update-valid"]})), "result": "valid",
          "content": content(42 + MAX_SEQUENCE_STEP, &[]),
          "why": "after update-valid (seq 42): seq = 42 + 2^32, the largest step" },
        { "name": "update-sequence-step-too-large", "update": hex::encode(&too_far),
          "verify": with(AUD, json!({"applied_before": ["update-valid"]})), "result": "rejected",
          "why": "after update-valid (seq 42): seq = 42 + 2^32 + 1" },
        { "name": "update-key-bound-to-other-issuer", "update": hex::encode(&good),
          "verify": {"issuers": [ISS, OTHER_ISS], "audience": AUD, "keys": [{"name": "ed25519", "issuer": OTHER_ISS}]},
          "result": "rejected", "why": "the signing key is bound to lab.example; the update's iss is clinic.example" },
        { "name": "update-cwt-tag", "update": hex::encode([&[0xd8u8, 0x3d][..], &good].concat()),
          "verify": verify(AUD), "result": "rejected",
          "why": "update-valid behind a CWT tag 61: updates carry tag 18 only" },
        { "name": "update-mac0", "update": hex::encode(&as_mac0),
          "verify": {"issuers": [ISS], "audience": AUD, "keys": [{"name": "ed25519"}, {"name": "hmac_sha256"}]},
          "result": "rejected",
          "why": "update-valid's payload in a COSE_Mac0 under the HMAC key (in the key set): updates are COSE_Sign1 under an Ed25519 key only" },
        { "name": "update-33-ids", "update": hex::encode(&too_many_ids), "verify": verify(AUD),
          "result": "rejected", "why": "33 revoked entries (1-byte ids): at most 32" },
        { "name": "update-list-full", "update": hex::encode(&list_full), "verify": verify(AUD),
          "result": "list_full", "content": content(0, &five[..4]),
          "why": "5 ids into a list with room for 4: CapacityExceeded; the epoch is raised and the first 4 ids are listed, but the sequence stays 0, so the update can be applied again after pruning" },
        { "name": "update-other-issuer", "update": hex::encode(sign_lab(1)),
          "verify": both(json!({"applied_before": ["update-valid"]})), "result": "valid",
          "content": content_of(OTHER_ISS, 1, T0 - 3600, &[]),
          "why": "from lab.example with seq 1 after update-valid (clinic.example, seq 42): each issuer has its own sequence" },
        { "name": "update-other-issuer-max-step", "update": hex::encode(sign_lab(MAX_SEQUENCE_STEP)),
          "verify": both(json!({})), "result": "valid",
          "content": content_of(OTHER_ISS, MAX_SEQUENCE_STEP, T0 - 3600, &[]),
          "why": "from lab.example, seq 2^32 on a fresh list: the largest first step" },
        { "name": "update-after-other-issuer-jump", "update": hex::encode(&good),
          "verify": both(json!({"applied_before": ["update-other-issuer-max-step"]})), "result": "valid",
          "content": content_of(ISS, 42, T0 - 3600, &ids),
          "why": "update-valid (clinic.example, seq 42) after lab.example moved its own sequence to 2^32: not blocked" },
        { "name": "update-four-ids", "update": hex::encode(sign(43, &four)), "verify": verify(AUD),
          "result": "valid", "content": content(43, &four),
          "why": "4 ids: the list (room for 4) is full afterwards" },
        { "name": "update-relist-when-full", "update": hex::encode(sign(44, &relisted)),
          "verify": with(AUD, json!({"applied_before": ["update-four-ids"]})), "result": "valid",
          "content": content(44, &relisted),
          "why": "after update-four-ids filled the list: an id it already holds takes no slot, so the update applies; that id keeps the larger exp, T0+7200" },
        { "name": "update-new-id-when-full", "update": hex::encode(sign(44, &one_more)),
          "verify": with(AUD, json!({"applied_before": ["update-four-ids"]})), "result": "list_full",
          "content": content(43, &[]),
          "why": "after update-four-ids filled the list: a fifth id does not fit (CapacityExceeded), and the sequence stays 43" },
        { "name": "update-third-issuer", "update": hex::encode(sign_as(third, 1, T0 - 3600, &[])),
          "verify": five_issuers(json!({})), "result": "valid",
          "content": content_of(third, 1, T0 - 3600, &[]),
          "why": "from ward.example, seq 1: a third issuer (an applied_before of update-no-issuer-slot)" },
        { "name": "update-fourth-issuer", "update": hex::encode(sign_as(fourth, 1, T0 - 3600, &[])),
          "verify": five_issuers(json!({})), "result": "valid",
          "content": content_of(fourth, 1, T0 - 3600, &[]),
          "why": "from pharmacy.example, seq 1: a fourth issuer (an applied_before of update-no-issuer-slot)" },
        { "name": "update-no-issuer-slot", "update": hex::encode(sign_as(fifth, 1, T0, &fifth_ids)),
          "verify": five_issuers(json!({"applied_before": ["update-valid", "update-other-issuer", "update-third-issuer", "update-fourth-issuer"]})),
          "result": "no_issuer_slot", "content": content_of(fifth, 0, T0 - 3600, &[]),
          "why": "after updates from clinic.example, lab.example, ward.example and pharmacy.example filled the list's 4 issuer slots: an otherwise valid update from a fifth issuer, home.example, is refused with CapacityExceeded and nothing of it is applied: the epoch stays T0-3600 (not its T0), its id is not listed, and S(home.example) stays 0" },
        { "name": "update-no-issuer-slot-sequence-zero", "update": hex::encode(sign_for(fifth, AUD, 0, &[])),
          "verify": five_issuers(four_before.clone()), "result": "rejected",
          "why": "as update-no-issuer-slot, but with seq 0: step 3 rejects it (0 is not above S = 0) before the issuer-slot check of step 4a, so it is rejected, not no_issuer_slot" },
        { "name": "update-no-issuer-slot-wrong-audience", "update": hex::encode(sign_for(fifth, "pump-SN000001", 1, &[])),
          "verify": five_issuers(four_before), "result": "rejected",
          "why": "as update-no-issuer-slot, but addressed to pump-SN000001: step 1 rejects it before the issuer-slot check of step 4a, so it is rejected, not no_issuer_slot" },
        { "name": "update-list-full-new-issuer", "update": hex::encode(sign_for(fifth, AUD, 1, &five)),
          "verify": five_issuers(json!({})), "result": "list_full",
          "content": content_of(fifth, 0, T0 - 3600, &five[..4]),
          "why": "5 ids from home.example, the first update of a fresh list: CapacityExceeded; the epoch is raised and the first 4 ids are listed, S(home.example) stays 0 and home.example takes no issuer slot (update-after-list-full-new-issuer)" },
        { "name": "update-after-list-full-new-issuer", "update": hex::encode(sign_for(ISS, AUD, 1, &[])),
          "verify": five_issuers(json!({"attempted_before": ["update-list-full-new-issuer"],
                                        "applied_before": ["update-other-issuer", "update-third-issuer", "update-fourth-issuer"]})),
          "result": "valid", "content": content_of(ISS, 1, T0 - 3600, &[]),
          "why": "after update-list-full-new-issuer stopped with list_full, updates without ids from lab.example, ward.example and pharmacy.example apply, and then this one from clinic.example (seq 1): four issuers hold the 4 issuer slots, so the list_full update took none" },
    ])
}
