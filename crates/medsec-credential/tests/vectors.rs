//! Golden known-answer vectors for the formats in docs/credential-format.md.
//!
//! The test regenerates every vector from the code and compares with
//! `tests/data/credential-vectors.json` (workspace root), so a format change is always
//! deliberate. `MEDSEC_UPDATE_VECTORS=1` rewrites the file instead. The PHC vectors are also
//! checked against libargon2 (argon2-cffi) in `cross_argon2_cffi.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use std::path::PathBuf;

use medsec_credential::hash::{hazmat, Block};
use medsec_credential::throttle::flash::{RecordCodec, SlotRecord};
use medsec_credential::throttle::{
    self, FixedThrottleStore, Schedule, ThrottleKey, ThrottleKeyer, ThrottleRecord, ThrottleStore,
};
use medsec_credential::Error;
use medsec_credential::{HashParams, Password, PasswordHasher, Pepper, PepperRing};
use serde_json::{json, Value};

pub fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/credential-vectors.json")
}

struct PhcCase {
    name: &'static str,
    password: &'static str,
    salt: Vec<u8>,
    params: (u32, u32, u32),
    pepper: Option<(u32, [u8; 32])>,
}

fn phc_cases() -> Vec<PhcCase> {
    vec![
        PhcCase {
            name: "small-ascii",
            password: "correct horse battery staple",
            salt: b"medsec-salt-0001".to_vec(),
            params: (64, 1, 1),
            pepper: None,
        },
        PhcCase {
            name: "small-two-lanes-8-byte-salt",
            password: "hunter2-is-not-a-passphrase",
            salt: b"8bytesal".to_vec(),
            params: (64, 2, 2),
            pepper: None,
        },
        PhcCase {
            // Input "ﬁle Å" with a ligature and a combining ring: hashed as NFKC "file Å".
            name: "small-nfkc",
            password: "\u{FB01}le A\u{030A} 🩺 pumpe",
            salt: b"medsec-salt-0002".to_vec(),
            params: (64, 1, 1),
            pepper: None,
        },
        PhcCase {
            name: "small-peppered",
            password: "correct horse battery staple",
            salt: b"medsec-salt-0003".to_vec(),
            params: (64, 1, 1),
            pepper: Some((0x0102_0304, [0x5a; 32])),
        },
        PhcCase {
            name: "server-preset",
            password: "violet kettle under the stairs",
            salt: b"medsec-salt-0004".to_vec(),
            params: (19_456, 2, 1),
            pepper: None,
        },
    ]
}

fn phc_vectors() -> Value {
    let mut out = Vec::new();
    for c in phc_cases() {
        let params = HashParams::new(c.params.0, c.params.1, c.params.2).unwrap();
        let mut hasher = hazmat::hasher_below_minimum(params).unwrap();
        if let Some((id, secret)) = c.pepper {
            let mut ring = PepperRing::new();
            ring.rotate_to(Pepper::new(id, secret)).unwrap();
            hasher = hasher.with_peppers(ring);
        }
        let pw = Password::new(c.password).unwrap();
        let mut memory = vec![Block::new(); params.blocks()];
        let phc = hazmat::hash_with_salt(&hasher, &pw, &c.salt, &mut memory).unwrap();
        out.push(json!({
            "name": c.name,
            "password": c.password,
            "password_nfkc_utf8_hex": hex::encode(pw.as_bytes()),
            "salt_hex": hex::encode(&c.salt),
            "m": c.params.0, "t": c.params.1, "p": c.params.2,
            "pepper": c.pepper.map(|(id, s)| json!({"id": id, "secret_hex": hex::encode(s)})),
            "phc": phc.as_str(),
        }));
    }
    Value::Array(out)
}

fn throttle_key_vectors() -> Value {
    let key = [0x42u8; 32];
    let keyer = ThrottleKeyer::new(key);
    let mut out = Vec::new();
    for (scope, input) in [
        ("account", &b"alice"[..]),
        ("account", &b""[..]),
        ("account", "Dr. Zoë Ng".as_bytes()),
        ("source", &[127, 0, 0, 1][..]),
        ("source", &b"phone:5f2c"[..]),
    ] {
        let k = match scope {
            "account" => keyer.account(input),
            _ => keyer.source(input),
        };
        out.push(json!({
            "keyer_key_hex": hex::encode(key),
            "scope": scope,
            "input_hex": hex::encode(input),
            "throttle_key_hex": hex::encode(k.as_bytes()),
        }));
    }
    Value::Array(out)
}

fn record_vectors() -> Value {
    let record_key = [0x17u8; 32];
    let codec = RecordCodec::new(record_key);
    let mut out = Vec::new();
    for (sequence, key, failures, last) in [
        (1u32, [0x01u8; 16], 1u32, 1_000u64),
        (2, [0x01; 16], 0, 0),
        (0x0102_0304, [0xAB; 16], 100, 1_718_000_000_123),
        (u32::MAX, [0x00; 16], u32::MAX, u64::MAX),
    ] {
        let image = codec.encode(&SlotRecord {
            sequence,
            key: ThrottleKey::from_bytes(key),
            record: ThrottleRecord {
                failures,
                last_failure_ms: last,
            },
        });
        out.push(json!({
            "record_key_hex": hex::encode(record_key),
            "sequence": sequence,
            "throttle_key_hex": hex::encode(key),
            "failures": failures,
            "last_failure_ms": last,
            "image_hex": hex::encode(image),
        }));
    }
    Value::Array(out)
}

fn schedule_vectors() -> Value {
    let mut out = Vec::new();
    for (name, s) in [
        ("ACCOUNT", Schedule::ACCOUNT),
        ("DEVICE_PIN", Schedule::DEVICE_PIN),
        ("SOURCE", Schedule::SOURCE),
    ] {
        let delays: Vec<u64> = (0..=20).map(|f| s.delay_after(f)).collect();
        out.push(json!({
            "name": name,
            "hard_limit": s.hard_limit(),
            "delay_after_failures_ms": delays,
        }));
    }
    Value::Array(out)
}

/// Event sequences through `begin`/`clear` (docs/credential-format.md section 7), including a
/// clock that goes back: each event's answer and the record stored after it.
fn sequence_vectors() -> Value {
    // (schedule name, schedule, events: (now_ms, is_attempt)); `false` is a success (clear).
    type Script = (&'static str, Schedule, Vec<(u64, bool)>);
    let scripts: [Script; 2] = [
        (
            "ACCOUNT",
            Schedule::ACCOUNT,
            vec![
                (1_000, true),
                (1_001, true),
                (1_002, true),
                (1_003, true),
                (1_004, true),
                (1_005, true),
                (1_500, true),
                (2_005, true),
                (3_000, true),
                // The clock goes back (reboot with a boot-relative clock).
                (100, true),
                (2_099, true),
                (2_100, true),
                (2_200, false),
                (2_300, true),
            ],
        ),
        (
            "DEVICE_PIN",
            Schedule::DEVICE_PIN,
            (0..12u64).map(|i| (i * 3_600_000, true)).collect(),
        ),
    ];
    let mut out = Vec::new();
    for (name, schedule, events) in scripts {
        let store = FixedThrottleStore::<4>::new(0);
        let key = ThrottleKey::from_bytes([1; 16]);
        let mut rows = Vec::new();
        for (now, is_attempt) in events {
            let answer = if is_attempt {
                match throttle::begin(&store, &key, &schedule, now) {
                    Ok(_) => json!({ "answer": "admitted" }),
                    Err(Error::Throttled { retry_at_ms }) => {
                        json!({ "answer": "wait", "retry_at_ms": retry_at_ms })
                    }
                    Err(Error::LockedOut) => json!({ "answer": "locked" }),
                    Err(e) => panic!("{e:?}"),
                }
            } else {
                throttle::clear(&store, &key).unwrap();
                json!({ "answer": "cleared" })
            };
            let after = store.load(&key).unwrap();
            let mut row = json!({
                "now_ms": now,
                "event": if is_attempt { "attempt" } else { "success" },
                "failures_after": after.failures,
                "last_failure_ms_after": after.last_failure_ms,
            });
            for (k, v) in answer.as_object().unwrap() {
                row[k] = v.clone();
            }
            rows.push(row);
        }
        out.push(json!({ "schedule": name, "events": rows }));
    }
    Value::Array(out)
}

fn all_vectors() -> Value {
    json!({
        "description": "Known-answer vectors for docs/credential-format.md (medsec-credential). Regenerated and compared by crates/medsec-credential/tests/vectors.rs.",
        "phc": phc_vectors(),
        "throttle_keys": throttle_key_vectors(),
        "throttle_records": record_vectors(),
        "schedules": schedule_vectors(),
        "throttle_sequences": sequence_vectors(),
    })
}

#[test]
fn golden_vectors_match() {
    let fresh = all_vectors();
    let path = vectors_path();
    if std::env::var_os("MEDSEC_UPDATE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&fresh).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("vector file")).unwrap();
    assert_eq!(
        fresh, stored,
        "vectors changed: a format change must be deliberate"
    );
}

#[test]
fn phc_vectors_verify_and_reparse() {
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    for v in stored["phc"].as_array().unwrap() {
        let params = HashParams::new(
            v["m"].as_u64().unwrap() as u32,
            v["t"].as_u64().unwrap() as u32,
            v["p"].as_u64().unwrap() as u32,
        )
        .unwrap();
        let mut hasher = hazmat::hasher_below_minimum(params).unwrap();
        if let Some(p) = v["pepper"].as_object() {
            let mut secret = [0u8; 32];
            hex::decode_to_slice(p["secret_hex"].as_str().unwrap(), &mut secret).unwrap();
            let mut ring = PepperRing::new();
            ring.rotate_to(Pepper::new(p["id"].as_u64().unwrap() as u32, secret))
                .unwrap();
            hasher = hasher.with_peppers(ring);
        }
        let phc = v["phc"].as_str().unwrap();
        let pw = Password::new(v["password"].as_str().unwrap()).unwrap();
        assert!(hasher.verify(&pw, phc).is_ok(), "{}", v["name"]);
        let wrong = Password::new("not the password").unwrap();
        assert!(hasher.verify(&wrong, phc).is_err());
        // The server preset itself also verifies it, with no rehash advice for its own vector.
        if v["name"] == "server-preset" {
            let server = PasswordHasher::new(HashParams::SERVER).unwrap();
            assert!(!server.verify(&pw, phc).unwrap().needs_rehash());
        }
    }
}
