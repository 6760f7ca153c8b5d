//! Golden known-answer vectors for the token profile (`docs/token-profile.md`), checked into
//! `tests/data/token-vectors.json` at the workspace root.
//!
//! `vectors_match_golden_file` regenerates every vector deterministically (fixed keys, fixed
//! token ids, fixed times) and compares with the file, so a format change is always
//! deliberate: set `MEDSEC_REGENERATE_VECTORS=1` to rewrite it. `vectors_verify` reads the
//! file alone and checks each token against its expected outcome and claims, which is what
//! an independent implementation does with the same file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::panic,
    clippy::type_complexity,
    reason = "tests"
)]

#[path = "support/claims_json.rs"]
mod support;

use coset::cbor::value::Value as Cbor;
use coset::{
    iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable,
};
use ed25519_dalek::Signer;
use medsec_token::{
    Actions, ClaimsBuilder, Expectations, FixedClock, FixedFirstSight, FixedRevocationList, KeyId,
    KeySet, MacKey, PolicyTable, ProofKey, Resource, RevocationCheck as _, RevocationEpoch,
    RevocationUpdate, RevokedToken, Role, Scope, ScopeSet, SigningKey, TokenId, UnverifiedToken,
    VerifyingKey,
};
use serde_json::{json, Value};

/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600;
/// RFC 8032 §7.1 TEST 1 secret key.
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const MAC_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const MAC_KID: &[u8] = b"backend-mac-1";
const ISS: &str = "clinic.example";
const AUD: &str = "pump-SN004711";

fn seed() -> [u8; 32] {
    hex::decode(SEED).unwrap().try_into().unwrap()
}
fn signing_key() -> SigningKey {
    SigningKey::from_seed(&seed(), None)
}
fn mac_key() -> MacKey {
    let k: [u8; 32] = hex::decode(MAC_KEY).unwrap().try_into().unwrap();
    MacKey::new(KeyId::from_slice(MAC_KID).unwrap(), &k)
}
fn cti(n: u8) -> TokenId {
    let mut b = [0u8; 16];
    for (i, x) in b.iter_mut().enumerate() {
        *x = n.wrapping_mul(16).wrapping_add(i as u8);
    }
    TokenId::from_slice(&b).unwrap()
}
/// `build` needs an RNG only when no token id is fixed; every vector fixes one.
fn no_rng() -> rand_chacha::ChaCha20Rng {
    use rand_chacha::rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::seed_from_u64(0)
}

struct Case {
    name: &'static str,
    token: Vec<u8>,
    now: Option<u64>,
    monotonic: Option<(u32, u64)>,
    audience: &'static str,
    revocation_epoch: Option<u64>,
    revoked: Vec<TokenId>,
    valid: bool,
    why: &'static str,
}

impl Case {
    fn ok(
        name: &'static str,
        token: Vec<u8>,
        now: u64,
        audience: &'static str,
        why: &'static str,
    ) -> Self {
        Self {
            name,
            token,
            now: Some(now),
            monotonic: None,
            audience,
            revocation_epoch: None,
            revoked: vec![],
            valid: true,
            why,
        }
    }
    fn bad(
        name: &'static str,
        token: Vec<u8>,
        now: u64,
        audience: &'static str,
        why: &'static str,
    ) -> Self {
        Self {
            valid: false,
            ..Self::ok(name, token, now, audience, why)
        }
    }
}

/// Signs arbitrary payload bytes with an arbitrary protected header, using coset (an
/// independent COSE encoder) and ed25519-dalek directly.
fn forge_sign1(protected: coset::Header, unprotected: coset::Header, payload: Vec<u8>) -> Vec<u8> {
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

fn ed_header() -> coset::Header {
    HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(signing_key().kid().as_bytes().to_vec())
        .build()
}

/// The payload of a token, as a CBOR map we can edit.
fn payload_map(token: &[u8]) -> Vec<(Cbor, Cbor)> {
    let s = CoseSign1::from_tagged_slice(token).unwrap();
    match Cbor::from_slice(&s.payload.unwrap()).unwrap() {
        Cbor::Map(m) => m,
        _ => panic!("payload is a map"),
    }
}

fn encode_map(m: Vec<(Cbor, Cbor)>) -> Vec<u8> {
    Cbor::Map(m).to_vec().unwrap()
}

fn cases() -> Vec<Case> {
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

    let typical = base(Role::Patient)
        .token_id(cti(1))
        .build(&mut rng)
        .unwrap();
    let typical_tok = sk.mint_vec(&typical).unwrap();
    let bound = base(Role::Patient)
        .patient("patient-8f3a2c")
        .token_id(cti(2))
        .build(&mut rng)
        .unwrap();
    let clinician = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-jane")
        .audience(AUD)
        .issued_at(T0)
        .not_before(T0 + 600)
        .ttl(8 * 3600)
        .token_id(cti(3))
        .build(&mut rng)
        .unwrap();
    let clinician_tok = sk.mint_vec(&clinician).unwrap();
    let tech = ClaimsBuilder::new(ISS, Role::Technician)
        .subject("tech-0042")
        .audience(AUD)
        .issued_at(T0)
        .ttl(86_400)
        .exi(900)
        .token_id(cti(4))
        .build(&mut rng)
        .unwrap();
    // Narrowing: the clinician hands a caregiver a one-hour read-only token for one patient.
    let keys = {
        let mut k = KeySet::<1>::new();
        k.insert(sk.verifying_key()).unwrap();
        k
    };
    let parent = UnverifiedToken::parse(&clinician_tok)
        .unwrap()
        .verify(
            &keys,
            &FixedClock::at(T0 + 600),
            &Expectations::new(&[ISS], AUD),
        )
        .unwrap();
    let caregiver = parent
        .narrow()
        .subject("caregiver-77")
        .role(Role::Caregiver)
        .scopes(ScopeSet::from_scopes(&[Scope::new(Resource::ReadingsRaw, Actions::READ)]).unwrap())
        .patient("patient-8f3a2c")
        .ttl(3600)
        .issued_at(T0 + 600)
        .token_id(cti(5))
        .build(&mut rng)
        .unwrap();
    let admin = ClaimsBuilder::new(ISS, Role::Admin)
        .subject("admin-1")
        .audience("backend-api")
        .issued_at(T0)
        .ttl(900)
        .token_id(cti(6))
        .build(&mut rng)
        .unwrap();
    let patient_mac = base(Role::Patient)
        .audience("backend-api")
        .token_id(cti(7))
        .build(&mut rng)
        .unwrap();
    const CUSTOM: &[(Role, &[Scope<'static>])] = &[(
        Role::Technician,
        &[
            Scope::new(Resource::DeviceLogs, Actions::READ),
            Scope::new(Resource::Custom("pump/calibration"), Actions::READ_WRITE),
            Scope::new(Resource::Custom("pump/motor"), Actions::READ),
        ],
    )];
    let holder = [0x42u8; 32];
    let custom = ClaimsBuilder::new(ISS, Role::Technician)
        .policy(PolicyTable::new(CUSTOM))
        .subject("tech-0042")
        .audience(AUD)
        .issued_at(T0)
        .ttl(600)
        .proof_key(ProofKey::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(&holder)
                .verifying_key()
                .to_bytes(),
        ))
        .token_id(cti(8))
        .build(&mut rng)
        .unwrap();

    let mut v = vec![
        Case::ok(
            "patient-sign1-typical",
            typical_tok.clone(),
            T0 + 60,
            AUD,
            "the typical patient token: default patient scopes, no binding",
        ),
        Case::ok(
            "patient-sign1-bound",
            sk.mint_vec(&bound).unwrap(),
            T0 + 60,
            AUD,
            "patient token bound to the patient's data",
        ),
        Case::ok(
            "clinician-sign1-nbf",
            clinician_tok.clone(),
            T0 + 600,
            AUD,
            "clinician token with not-before",
        ),
        Case {
            monotonic: Some((3, 120)),
            now: None,
            ..Case::ok(
                "technician-sign1-exi-no-wall-clock",
                sk.mint_vec(&tech).unwrap(),
                0,
                AUD,
                "valid from first sight for exi seconds on a device with only a monotonic counter",
            )
        },
        Case::ok(
            "caregiver-sign1-narrowed",
            sk.mint_vec(&caregiver).unwrap(),
            T0 + 700,
            AUD,
            "narrowed from clinician-sign1-nbf: one patient, read-only raw readings, one hour",
        ),
        Case::ok(
            "admin-mac0",
            mac.mint_vec(&admin).unwrap(),
            T0 + 10,
            "backend-api",
            "backend-local COSE_Mac0, HMAC 256/256",
        ),
        Case::ok(
            "patient-mac0",
            mac.mint_vec(&patient_mac).unwrap(),
            T0 + 10,
            "backend-api",
            "backend-local patient token",
        ),
        Case::ok(
            "technician-sign1-custom-resources-cnf",
            sk.mint_vec(&custom).unwrap(),
            T0 + 10,
            AUD,
            "custom resources as text keys, proof-of-possession key",
        ),
        Case::ok(
            "patient-sign1-cwt-tag",
            [&[0xd8u8, 0x3d][..], &typical_tok].concat(),
            T0 + 60,
            AUD,
            "CWT tag 61 in front of the COSE_Sign1 tag is accepted",
        ),
    ];

    // Rejections. Each is a well-formed token except for the one thing named.
    v.push(Case::bad(
        "expired",
        typical_tok.clone(),
        T0 + 3600 + 60,
        AUD,
        "now >= exp + leeway (60 s)",
    ));
    v.push(Case::ok(
        "expired-within-leeway",
        typical_tok.clone(),
        T0 + 3600 + 59,
        AUD,
        "now < exp + leeway",
    ));
    v.push(Case::bad(
        "not-yet-valid",
        clinician_tok.clone(),
        T0 + 100,
        AUD,
        "nbf > now + leeway",
    ));
    v.push(Case::bad(
        "issued-in-future",
        typical_tok.clone(),
        T0 - 61,
        AUD,
        "iat > now + leeway",
    ));
    v.push(Case::bad(
        "wrong-audience",
        typical_tok.clone(),
        T0 + 60,
        "pump-SN000001",
        "aud differs from the verifier's audience",
    ));
    v.push(Case {
        revocation_epoch: Some(T0 + 1),
        ..Case::bad(
            "revoked-by-epoch",
            typical_tok.clone(),
            T0 + 60,
            AUD,
            "iat < revocation epoch",
        )
    });
    v.push(Case {
        revoked: vec![cti(1)],
        ..Case::bad(
            "revoked-by-id",
            typical_tok.clone(),
            T0 + 60,
            AUD,
            "cti is on the revocation list",
        )
    });
    v.push(Case {
        revoked: vec![cti(3)],
        ..Case::bad(
            "revoked-parent",
            sk.mint_vec(&caregiver).unwrap(),
            T0 + 700,
            AUD,
            "the parent cti is on the revocation list",
        )
    });
    let mut t = typical_tok.clone();
    *t.last_mut().unwrap() ^= 1;
    v.push(Case::bad(
        "bad-signature",
        t,
        T0 + 60,
        AUD,
        "last signature byte flipped",
    ));
    let mut t = typical_tok.clone();
    let at = t.windows(14).position(|w| w == b"patient-8f3a2c").unwrap();
    t[at + 13] = b'd';
    v.push(Case::bad(
        "payload-tampered",
        t,
        T0 + 60,
        AUD,
        "one byte of sub changed after signing",
    ));
    let confused = MacKey::new(sk.kid(), &sk.verifying_key().to_bytes())
        .mint_vec(&typical)
        .unwrap();
    v.push(Case::bad(
        "mac0-under-ed25519-kid",
        confused,
        T0 + 60,
        AUD,
        "COSE_Mac0 keyed with the public key, naming the Ed25519 kid: the key fixes the algorithm",
    ));
    v.push(Case::bad(
        "sign1-under-hmac-kid",
        SigningKey::from_seed(&seed(), Some(mac.kid()))
            .mint_vec(&admin)
            .unwrap(),
        T0 + 10,
        "backend-api",
        "COSE_Sign1 naming the HMAC key's kid",
    ));
    let p = HeaderBuilder::new()
        .algorithm(iana::Algorithm::HMAC_256_256)
        .key_id(sk.kid().as_bytes().to_vec())
        .build();
    let body = encode_map(payload_map(&typical_tok));
    v.push(Case::bad(
        "sign1-alg-hmac",
        forge_sign1(p, Default::default(), body.clone()),
        T0 + 60,
        AUD,
        "COSE_Sign1 whose protected alg is 5",
    ));
    let p = HeaderBuilder::new()
        .key_id(sk.kid().as_bytes().to_vec())
        .build();
    v.push(Case::bad(
        "sign1-no-alg",
        forge_sign1(p, Default::default(), body.clone()),
        T0 + 60,
        AUD,
        "protected header without alg",
    ));
    let p = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .build();
    let u = HeaderBuilder::new()
        .key_id(sk.kid().as_bytes().to_vec())
        .build();
    v.push(Case::bad(
        "kid-unprotected",
        forge_sign1(p, u, body.clone()),
        T0 + 60,
        AUD,
        "kid in the unprotected bucket",
    ));
    v.push(Case::bad(
        "unknown-kid",
        SigningKey::from_seed(&[1u8; 32], None)
            .mint_vec(&typical)
            .unwrap(),
        T0 + 60,
        AUD,
        "kid not in the verifier's key set",
    ));
    v.push(Case::ok(
        "forged-by-coset-valid",
        forge_sign1(ed_header(), Default::default(), body),
        T0 + 60,
        AUD,
        "control: the same claims encoded by coset verify",
    ));

    let edit = |f: &dyn Fn(&mut Vec<(Cbor, Cbor)>)| {
        let mut m = payload_map(&typical_tok);
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
        "exp-as-float",
        edit(&set(4, Cbor::Float((T0 + 3600) as f64))),
        T0 + 60,
        AUD,
        "exp is a float",
    ));
    v.push(Case::bad(
        "iat-as-text",
        edit(&set(6, Cbor::Text("1767225600".into()))),
        T0 + 60,
        AUD,
        "iat is text",
    ));
    v.push(Case::bad(
        "aud-as-array",
        edit(&set(3, Cbor::Array(vec![Cbor::Text(AUD.into())]))),
        T0 + 60,
        AUD,
        "aud is an array",
    ));
    v.push(Case::bad(
        "scope-resource-as-known-text",
        edit(&set(
            -65537,
            Cbor::Map(vec![(Cbor::Text("alarms".into()), Cbor::from(1))]),
        )),
        T0 + 60,
        AUD,
        "a known resource must use its code",
    ));
    v.push(Case::bad(
        "role-unknown",
        edit(&set(-65538, Cbor::from(9))),
        T0 + 60,
        AUD,
        "role code 9 is unassigned",
    ));
    v.push(Case::bad(
        "unknown-claim",
        edit(&|m| m.push((Cbor::from(9), Cbor::Text("x".into())))),
        T0 + 60,
        AUD,
        "claim key 9 is not in the profile",
    ));
    v.push(Case::bad(
        "duplicate-claim",
        edit(&|m| m.push((Cbor::from(2), Cbor::Text("dr-jane".into())))),
        T0 + 60,
        AUD,
        "sub appears twice",
    ));
    v.push(Case::bad(
        "missing-cti",
        edit(&|m| m.retain(|(k, _)| *k != Cbor::from(7))),
        T0 + 60,
        AUD,
        "cti is required",
    ));
    let mut oversize = typical_tok.clone();
    oversize.resize(1025, 0);
    v.push(Case::bad(
        "oversize",
        oversize,
        T0 + 60,
        AUD,
        "longer than 1024 bytes",
    ));
    v.push(Case::bad(
        "untagged",
        typical_tok[1..].to_vec(),
        T0 + 60,
        AUD,
        "the COSE_Sign1 tag (18) is required",
    ));
    v.push(Case {
        now: None,
        ..Case::bad(
            "no-time-source",
            typical_tok,
            0,
            AUD,
            "no wall clock and no exi",
        )
    });
    v
}

fn vectors_json() -> Value {
    let sk = signing_key();
    let mut priv_key = [0u8; SigningKey::COSE_KEY_MAX_LEN];
    let n = sk.to_cose_key(&mut priv_key).unwrap();
    let mut pub_key = [0u8; VerifyingKey::COSE_KEY_MAX_LEN];
    let m = sk.verifying_key().to_cose_key(&mut pub_key).unwrap();
    let keys = {
        let mut k = KeySet::<2>::new();
        k.insert(sk.verifying_key()).unwrap();
        k.insert(mac_key()).unwrap();
        k
    };
    let vectors: Vec<Value> = cases()
        .into_iter()
        .map(|c| {
            let mut verify = json!({
                "audience": c.audience,
                "issuers": [ISS],
                "leeway": 60,
            });
            if let Some(now) = c.now {
                verify["now"] = json!(now);
            }
            if let Some((boot, s)) = c.monotonic {
                verify["monotonic"] = json!({ "boot": boot, "seconds": s });
            }
            if let Some(e) = c.revocation_epoch {
                verify["revocation_epoch"] = json!(e);
            }
            if !c.revoked.is_empty() {
                verify["revoked"] =
                    json!(c.revoked.iter().map(|t| t.to_string()).collect::<Vec<_>>());
            }
            let mut out = json!({
                "name": c.name,
                "token": hex::encode(&c.token),
                "length": c.token.len(),
                "verify": verify,
                "result": if c.valid { "valid" } else { "rejected" },
                "why": c.why,
            });
            if c.valid {
                let outcome = run(&keys, &out).expect(c.name);
                out["claims"] = outcome;
            }
            out
        })
        .collect();
    json!({
        "profile": "medsec-token/1 (docs/token-profile.md)",
        "keys": {
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
        },
        "vectors": vectors,
        "revocation_updates": revocation_updates(),
    })
}

/// Signed revocation updates (profile §6.1): one valid, one tampered.
fn revocation_updates() -> Value {
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
    let update = RevocationUpdate {
        issuer: ISS,
        audience: AUD,
        issued_at: T0 + 120,
        sequence: 42,
        epoch: RevocationEpoch::from_unix_seconds(T0 - 86_400),
        revoked: &ids,
    };
    let mut buf = [0u8; 1024];
    let n = update.sign(&signing_key(), &mut buf).unwrap();
    let good = buf[..n].to_vec();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    let content = json!({
        "sequence": 42,
        "epoch": T0 - 86_400,
        "revoked": ids.iter().map(|r| json!([r.id.to_string(), r.expires_at])).collect::<Vec<_>>(),
    });
    json!([
        { "name": "update-valid", "update": hex::encode(&good), "verify": {"issuers": [ISS], "audience": AUD},
          "result": "valid", "content": content },
        { "name": "update-wrong-audience", "update": hex::encode(&good), "verify": {"issuers": [ISS], "audience": "pump-SN000001"},
          "result": "rejected" },
        { "name": "update-bad-signature", "update": hex::encode(&bad), "verify": {"issuers": [ISS], "audience": AUD},
          "result": "rejected" },
    ])
}

/// Verifies one vector as described by its JSON; returns the claims JSON or `None`.
fn run(keys: &KeySet<2>, vector: &Value) -> Option<Value> {
    let token = hex::decode(vector["token"].as_str()?).ok()?;
    let v = &vector["verify"];
    let audience = v["audience"].as_str()?;
    let issuers: Vec<&str> = v["issuers"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut revocation = FixedRevocationList::<8>::new();
    if let Some(e) = v["revocation_epoch"].as_u64() {
        revocation.raise_epoch(RevocationEpoch::from_unix_seconds(e));
    }
    for id in v["revoked"].as_array().into_iter().flatten() {
        let id = TokenId::from_slice(&hex::decode(id.as_str()?).ok()?).ok()?;
        revocation.revoke(id, u64::MAX).ok()?;
    }
    let first_sight = FixedFirstSight::<4>::new();
    let clock = FixedClock {
        unix: v["now"].as_u64(),
        monotonic: v["monotonic"]
            .as_object()
            .map(|m| medsec_token::MonotonicTime {
                boot: m["boot"].as_u64().unwrap_or(0) as u32,
                seconds: m["seconds"].as_u64().unwrap_or(0),
            }),
    };
    let expectations = Expectations::new(&issuers, audience)
        .leeway(v["leeway"].as_u64()?)
        .revocation(&revocation)
        .first_sight(&first_sight);
    let parsed = UnverifiedToken::parse(&token).ok()?;
    let verified = parsed.verify(keys, &clock, &expectations).ok()?;
    Some(support::claims_json(&verified))
}

fn vectors_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/token-vectors.json")
}

#[test]
fn vectors_match_golden_file() {
    let fresh = vectors_json();
    let path = vectors_path();
    if std::env::var_os("MEDSEC_REGENERATE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&fresh).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        on_disk, fresh,
        "token vectors changed; if deliberate, regenerate with MEDSEC_REGENERATE_VECTORS=1"
    );
}

#[test]
fn vectors_verify() {
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    let k = &file["keys"];
    let seed: [u8; 32] = hex::decode(k["ed25519"]["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sk = SigningKey::from_seed(&seed, None);
    // The key files in the vectors parse to the same key.
    let from_file = SigningKey::from_cose_key(
        &hex::decode(k["ed25519"]["cose_key_private"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(from_file.verifying_key(), sk.verifying_key());
    let public = VerifyingKey::from_file_bytes(
        &hex::decode(k["ed25519"]["cose_key_public"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(public, sk.verifying_key());
    assert_eq!(
        public.kid().to_string(),
        k["ed25519"]["kid"].as_str().unwrap()
    );
    let mac: [u8; 32] = hex::decode(k["hmac_sha256"]["key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let mac_kid = hex::decode(k["hmac_sha256"]["kid"].as_str().unwrap()).unwrap();
    let mut keys = KeySet::<2>::new();
    keys.insert(public).unwrap();
    keys.insert(MacKey::new(KeyId::from_slice(&mac_kid).unwrap(), &mac))
        .unwrap();
    for u in file["revocation_updates"].as_array().unwrap() {
        let bytes = hex::decode(u["update"].as_str().unwrap()).unwrap();
        let issuers: Vec<&str> = u["verify"]["issuers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut list = FixedRevocationList::<4>::new();
        let r = list.apply_update(
            &bytes,
            &keys,
            &issuers,
            u["verify"]["audience"].as_str().unwrap(),
        );
        if u["result"] == "valid" {
            let c = &u["content"];
            let ids = c["revoked"].as_array().unwrap();
            assert_eq!(r, Ok(ids.len()), "{}", u["name"]);
            assert_eq!(list.sequence(), c["sequence"].as_u64().unwrap());
            assert_eq!(list.epoch().unix_seconds(), c["epoch"].as_u64().unwrap());
            for id in ids {
                let id =
                    TokenId::from_slice(&hex::decode(id[0].as_str().unwrap()).unwrap()).unwrap();
                assert!(medsec_token::RevocationCheck::is_revoked(&list, &id));
            }
            // Replaying it is refused.
            assert!(list
                .apply_update(
                    &bytes,
                    &keys,
                    &issuers,
                    u["verify"]["audience"].as_str().unwrap()
                )
                .is_err());
        } else {
            assert!(r.is_err(), "{}", u["name"]);
        }
    }
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 30);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let got = run(&keys, v);
        match v["result"].as_str().unwrap() {
            "valid" => assert_eq!(got.as_ref(), Some(&v["claims"]), "{name}"),
            _ => assert_eq!(got, None, "{name} should be rejected"),
        }
    }
}

#[test]
fn typical_patient_token_fits_200_bytes() {
    let c = cases();
    let typical = c
        .iter()
        .find(|c| c.name == "patient-sign1-typical")
        .unwrap();
    let bound = c.iter().find(|c| c.name == "patient-sign1-bound").unwrap();
    println!(
        "typical patient token: {} bytes; bound to a patient: {} bytes",
        typical.token.len(),
        bound.token.len()
    );
    assert!(typical.token.len() <= 200, "{}", typical.token.len());
}
