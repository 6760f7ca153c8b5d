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

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use medsec_credential::hash::{hazmat, Block};
use medsec_credential::throttle::flash::{FlashError, RecordCodec, SlotRecord, RECORD_LEN};
use medsec_credential::throttle::{
    self, FixedThrottleStore, FlashThrottleStore, RecordFlash, Schedule, ThrottleKey,
    ThrottleKeyer, ThrottleRecord, ThrottleStore,
};
use medsec_credential::{
    Error, PhcHash, Rejection, VerifyLimits, NFKC_UNICODE_VERSION, POLICY_UNICODE_VERSION,
};
use medsec_credential::{
    HashParams, Password, PasswordHasher, PasswordPolicy, Pepper, PepperRequirement, PepperRing,
    PinPolicy,
};
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
    /// The oldest Unicode version whose NFKC tables give `password_nfkc_utf8_hex` (`None`:
    /// any version since 3.2).
    min_unicode_version: Option<&'static str>,
}

fn phc_cases() -> Vec<PhcCase> {
    vec![
        PhcCase {
            name: "small-ascii",
            password: "correct horse battery staple",
            salt: b"medsec-salt-0001".to_vec(),
            params: (64, 1, 1),
            pepper: None,
            min_unicode_version: None,
        },
        PhcCase {
            name: "small-two-lanes-8-byte-salt",
            password: "hunter2-is-not-a-passphrase",
            salt: b"8bytesal".to_vec(),
            params: (64, 2, 2),
            pepper: None,
            min_unicode_version: None,
        },
        PhcCase {
            // Input "ﬁle Å" with a ligature and a combining ring: hashed as NFKC "file Å".
            name: "small-nfkc",
            password: "\u{FB01}le A\u{030A} 🩺 pumpe",
            salt: b"medsec-salt-0002".to_vec(),
            params: (64, 1, 1),
            pepper: None,
            min_unicode_version: None,
        },
        PhcCase {
            name: "small-peppered",
            password: "correct horse battery staple",
            salt: b"medsec-salt-0003".to_vec(),
            params: (64, 1, 1),
            pepper: Some((0x0102_0304, [0x5a; 32])),
            min_unicode_version: None,
        },
        PhcCase {
            name: "server-preset",
            password: "violet kettle under the stairs",
            salt: b"medsec-salt-0004".to_vec(),
            params: (19_456, 2, 1),
            pepper: None,
            min_unicode_version: None,
        },
        PhcCase {
            // U+1E030 MODIFIER LETTER CYRILLIC SMALL A, new in Unicode 15.0, NFKC U+0430:
            // implementations with older tables (Python 3.11 has 14.0) leave it unchanged and
            // compute another hash (docs/credential-format.md section 1).
            name: "small-unicode15-compat",
            password: "\u{1E030}nna's pump diary 15",
            salt: b"medsec-salt-0005".to_vec(),
            params: (64, 1, 1),
            pepper: None,
            min_unicode_version: Some("15.0.0"),
        },
        PhcCase {
            // A pepper of 32 zero bytes: the stand-in secret a verifier uses for a keyid its
            // ring does not hold (section 4). This tag is what a database writer would plant;
            // `phc_verify` / `pepper-unknown-keyid-zero-secret-tag*` show it is NotVerified.
            name: "small-pepper-zero-secret",
            password: "the attacker's own passphrase",
            salt: b"medsec-salt-0006".to_vec(),
            params: (64, 1, 1),
            pepper: Some((3, [0x00; 32])),
            min_unicode_version: None,
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
            "min_unicode_version": c.min_unicode_version,
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
    // Account on an authenticated device: `input_hex` is everything after the scope byte 0x03,
    // BE64(len(name)) || name || BE64(len(device_id)) || device_id. The first two pairs (and
    // the third with the bare account "alice") shared a key under the old recipe
    // account(name || device_id); now they do not.
    for (name, device) in [
        (&b"ab"[..], &b"c"[..]),
        (&b"a"[..], &b"bc"[..]),
        (&b"alice"[..], &b""[..]),
        (&b"alice"[..], &b"phone:5f2c"[..]),
    ] {
        let k = keyer.account_on_device(name, device);
        let mut input = (name.len() as u64).to_be_bytes().to_vec();
        input.extend_from_slice(name);
        input.extend_from_slice(&(device.len() as u64).to_be_bytes());
        input.extend_from_slice(device);
        out.push(json!({
            "keyer_key_hex": hex::encode(key),
            "scope": "account_on_device",
            "name_hex": hex::encode(name),
            "device_id_hex": hex::encode(device),
            "input_hex": hex::encode(input),
            "throttle_key_hex": hex::encode(k.as_bytes()),
        }));
    }
    // Client IP addresses (scope 0x04): IPv4 and IPv4-mapped IPv6 as 4 bytes (one counter for
    // both forms), other IPv6 as the 8-byte /64 prefix (one counter per /64).
    for ip in [
        "127.0.0.1",
        "::ffff:127.0.0.1",
        "203.0.113.7",
        "2001:db8:aa:bb::1",
        "2001:db8:aa:bb:ffff:ffff:ffff:ffff",
        "2001:db8:aa:bc::1",
        "::1",
        // A zone id (text after `%`, a `SocketAddrV6::scope_id`) is not part of the input:
        // `IpAddr` has none, and every link-local address shares the key of fe80::/64.
        "fe80::1%1",
        "fe80::2%2",
        // IPv4-compatible (deprecated), NAT64 well-known prefix, 6to4 and Teredo addresses
        // are ordinary IPv6: their /64 prefix, never the IPv4 address inside.
        "::203.0.113.7",
        "64:ff9b::203.0.113.7",
        "2002:cb00:7107::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        // Another client of the same Teredo server (65.54.227.120 in bytes 4..8): the /64 is
        // 2001:0 and the server's address, so every client of one server shares the key.
        "2001:0:4136:e378:0:f227:62ff:fe85",
        // NAT64 with the local-use /48 prefix 64:ff9b:1::/48 (RFC 8215, RFC 6052 layout):
        // bytes 6 and 7 are the first two octets of the IPv4 address, so 203.0.113.7 and
        // 203.0.200.9 (one IPv4 /16) share the key.
        "64:ff9b:1:cb00:71:700::",
        "64:ff9b:1:cb00:c8:900::",
    ] {
        let text = ip.split_once('%').map_or(ip, |(addr, _zone)| addr);
        let addr: std::net::IpAddr = text.parse().unwrap();
        let input = match addr {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets().to_vec(),
                None => v6.octets()[..8].to_vec(),
            },
        };
        out.push(json!({
            "keyer_key_hex": hex::encode(key),
            "scope": "source_ip",
            "ip": ip,
            "input_hex": hex::encode(input),
            "throttle_key_hex": hex::encode(keyer.source_ip(addr).as_bytes()),
        }));
    }
    Value::Array(out)
}

fn record_vectors() -> Value {
    let record_key = [0x17u8; 32];
    let codec = RecordCodec::new(record_key);
    let mut out = Vec::new();
    for (slot, sequence, key, failures, last) in [
        (0u32, 1u32, [0x01u8; 16], 1u32, 1_000u64),
        (1, 2, [0x01; 16], 0, 0),
        // The same record for another slot: only the tag differs.
        (7, 2, [0x01; 16], 0, 0),
        (4, 0x0102_0304, [0xAB; 16], 100, 1_718_000_000_123),
        (0xFFFF_FFFE, u32::MAX, [0x00; 16], u32::MAX, u64::MAX),
    ] {
        let image = codec.encode(
            slot,
            &SlotRecord {
                sequence,
                key: ThrottleKey::from_bytes(key),
                record: ThrottleRecord {
                    failures,
                    last_failure_ms: last,
                },
            },
        );
        out.push(json!({
            "record_key_hex": hex::encode(record_key),
            "slot": slot,
            "sequence": sequence,
            "throttle_key_hex": hex::encode(key),
            "failures": failures,
            "last_failure_ms": last,
            "image_hex": hex::encode(image),
        }));
    }
    Value::Array(out)
}

/// A schedule with every feature (free failures, a low cap, a hard limit and forget-after), so
/// the vectors cover non-zero delays, the cap, the lock and forgetting with small numbers.
const CUSTOM: Schedule = match Schedule::new(2, 1_500, 10_000, Some(8), Some(60_000)) {
    Ok(s) => s,
    Err(_) => panic!("valid schedule"),
};

fn schedules() -> [(&'static str, Schedule); 4] {
    [
        ("ACCOUNT", Schedule::ACCOUNT),
        ("DEVICE_PIN", Schedule::DEVICE_PIN),
        ("SOURCE", Schedule::SOURCE),
        ("CUSTOM", CUSTOM),
    ]
}

fn schedule_json(name: &str, s: &Schedule) -> Value {
    json!({
        "name": name,
        "free_failures": s.free_failures(),
        "base_delay_ms": s.base_delay_ms(),
        "max_delay_ms": s.max_delay_ms(),
        "hard_limit": s.hard_limit(),
        "forget_after_ms": s.forget_after_ms(),
    })
}

fn schedule_vectors() -> Value {
    let mut out = Vec::new();
    for (name, s) in schedules() {
        // Up to 40 failures: past SOURCE's 20 free failures and every cap.
        let delays: Vec<u64> = (0..=40).map(|f| s.delay_after(f)).collect();
        let mut v = schedule_json(name, &s);
        v["delay_after_failures_ms"] = json!(delays);
        v["delay_after_u32_max_ms"] = json!(s.delay_after(u32::MAX));
        out.push(v);
    }
    Value::Array(out)
}

/// Event sequences through `begin`/`clear` (docs/credential-format.md section 7), including a
/// clock that goes back, non-zero delays, forget-after, and times near 2^64 (saturation): each
/// event's answer and the record stored after it. An `attempt` is `begin` (admit, then count);
/// a `success` is `clear` alone (LoginGuard's step 4 after a verified password, whose attempt
/// was admitted and counted first; also the out-of-band unlock), never preceded by `admit`.
fn sequence_vectors() -> Value {
    // (script name, schedule name, schedule, events: (now_ms, is_attempt)); `false` is a
    // success (clear).
    type Script = (&'static str, &'static str, Schedule, Vec<(u64, bool)>);
    const DAY: u64 = 24 * 60 * 60 * 1_000;
    let near_max = u64::MAX - 2_000;
    let scripts: [Script; 6] = [
        (
            "account-backoff-clock-back-success",
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
                // A success clears without admit: (8, 2100) would have answered Wait here.
                (2_200, false),
                (2_300, true),
            ],
        ),
        (
            "device-pin-lock",
            "DEVICE_PIN",
            Schedule::DEVICE_PIN,
            (0..12u64).map(|i| (i * 3_600_000, true)).collect(),
        ),
        (
            // 20 free failures, then 1 s doubling; forgotten 24 h after the last failure.
            "source-delays-and-forget",
            "SOURCE",
            Schedule::SOURCE,
            (0..21u64)
                .map(|i| (i, true))
                .chain([
                    (21, true),
                    (1_019, true),
                    (1_020, true),
                    (2_000, true),
                    (3_020, true),
                    (3_020 + DAY - 1, true),
                    (3_020 + DAY - 1 + DAY, true),
                    (3_020 + DAY - 1 + DAY + 1, true),
                ])
                .collect(),
        ),
        (
            "custom-cap-lock-forget",
            "CUSTOM",
            CUSTOM,
            vec![
                (0, true),
                (10, true),
                (20, true),
                (1_519, true),
                (1_520, true),
                (4_519, true),
                (4_520, true),
                (10_520, true),
                (20_519, true),
                (20_520, true),
                (30_520, true),
                (40_520, true),
                // Locked at 8 failures, until forget-after (60 s after the last failure).
                (90_519, true),
                (90_520, true),
                (90_521, true),
            ],
        ),
        (
            // retry = last + delay and last + forget_after saturate at 2^64 - 1.
            "source-saturation",
            "SOURCE",
            Schedule::SOURCE,
            (0..21u64)
                .map(|i| (near_max + i, true))
                .chain([(u64::MAX - 1, true), (u64::MAX, true), (u64::MAX, true)])
                .collect(),
        ),
        (
            "custom-saturation",
            "CUSTOM",
            CUSTOM,
            vec![
                (u64::MAX - 5, true),
                (u64::MAX - 4, true),
                (u64::MAX - 3, true),
                (u64::MAX - 2, true),
                (u64::MAX, true),
                (u64::MAX, true),
            ],
        ),
    ];
    #[derive(Clone, Copy)]
    enum Ev {
        Attempt,
        Success,
        Refund,
        /// A refund of the admitted attempt counted at this time (not the latest one).
        RefundOf(u64),
    }
    type EvScript = (&'static str, &'static str, Schedule, Vec<(u64, Ev)>);
    let mut all: Vec<EvScript> = scripts
        .into_iter()
        .map(|(script, name, schedule, events)| {
            let events = events
                .into_iter()
                .map(|(now, a)| (now, if a { Ev::Attempt } else { Ev::Success }))
                .collect();
            (script, name, schedule, events)
        })
        .collect();
    // A source's verified login (section 7, step 5): `begin` counted it, `refund` gives the
    // one count back, so the source holds failures only. 40 logins a minute apart stay clear.
    all.push((
        "source-logins-refunded",
        "SOURCE",
        Schedule::SOURCE,
        (0..40u64)
            .flat_map(|i| [(i * 60_000, Ev::Attempt), (i * 60_000, Ev::Refund)])
            .collect(),
    ));
    // Refunds among failures: a refund on a clear record writes nothing; a refund right after
    // its attempt restores the record the attempt replaced, time included, so the next wait
    // runs as if the attempt had not been made; it never clears the failures of other
    // attempts; forgetting still applies.
    all.push((
        "source-failures-and-refunds",
        "SOURCE",
        Schedule::SOURCE,
        [(0, Ev::Refund)]
            .into_iter()
            .chain((0..21u64).map(|i| (i, Ev::Attempt)))
            .chain([
                (21, Ev::Attempt),
                (1_020, Ev::Attempt),
                (1_020, Ev::Refund),
                (1_021, Ev::Attempt),
                (2_020, Ev::Attempt),
                (3_000, Ev::Attempt),
                (4_020, Ev::Attempt),
                (4_020, Ev::Refund),
                (4_021, Ev::Attempt),
                (4_020 + DAY, Ev::Attempt),
                (4_020 + DAY, Ev::Refund),
            ])
            .collect(),
    ));
    // A refund after another attempt was counted (the store no longer holds the record its
    // attempt wrote): one count comes back and last_failure_ms stays that of the latest count.
    // A refund right after its attempt restores the record the attempt replaced, and the clear
    // record when that one had been forgotten.
    all.push((
        "source-refund-after-other-attempts",
        "SOURCE",
        Schedule::SOURCE,
        vec![
            (1_000, Ev::Attempt),
            (1_500, Ev::Attempt),
            (2_000, Ev::RefundOf(1_000)),
            (1_500 + DAY - 1, Ev::Attempt),
            (1_500 + DAY - 1, Ev::Refund),
            (1_500 + DAY, Ev::Attempt),
            (1_500 + DAY, Ev::Refund),
        ],
    ));
    let mut out = Vec::new();
    for (script, name, schedule, events) in all {
        let store = FixedThrottleStore::<4>::new();
        let key = ThrottleKey::from_bytes([1; 16]);
        let mut rows = Vec::new();
        // A refund gives back the latest admitted attempt not yet refunded (in these scripts,
        // the attempt just before it); with none, it is a refund that finds a clear record.
        let mut unrefunded: Vec<(u64, throttle::Counted)> = Vec::new();
        for (now, ev) in events {
            let answer = match ev {
                Ev::Attempt => match throttle::begin_counted(&store, &key, &schedule, now) {
                    Ok(counted) => {
                        unrefunded.push((now, counted));
                        json!({ "answer": "admitted" })
                    }
                    Err(Error::Throttled { retry_at_ms }) => {
                        json!({ "answer": "wait", "retry_at_ms": retry_at_ms })
                    }
                    Err(Error::LockedOut) => json!({ "answer": "locked" }),
                    Err(e) => panic!("{e:?}"),
                },
                Ev::Success => {
                    throttle::clear(&store, &key).unwrap();
                    json!({ "answer": "cleared" })
                }
                Ev::Refund | Ev::RefundOf(_) => {
                    let at = match ev {
                        Ev::RefundOf(at) => Some(at),
                        _ => None,
                    };
                    let found = match at {
                        Some(at) => unrefunded.iter().rposition(|(t, _)| *t == at),
                        None => unrefunded.len().checked_sub(1),
                    };
                    let counted = match found {
                        Some(i) => unrefunded.remove(i).1,
                        None => throttle::Counted {
                            prior: ThrottleRecord::CLEAR,
                            counted: ThrottleRecord {
                                failures: 1,
                                last_failure_ms: now,
                            },
                        },
                    };
                    throttle::refund(&store, &key, &schedule, &counted).unwrap();
                    match at {
                        Some(at) => json!({ "answer": "refunded", "refunds_attempt_at_ms": at }),
                        None => json!({ "answer": "refunded" }),
                    }
                }
            };
            let after = store.load(&key).unwrap();
            let event = match ev {
                Ev::Attempt => "attempt",
                Ev::Success => "success",
                Ev::Refund | Ev::RefundOf(_) => "refund",
            };
            let mut row = json!({
                "now_ms": now,
                "event": event,
                "failures_after": after.failures,
                "last_failure_ms_after": after.last_failure_ms,
            });
            for (k, v) in answer.as_object().unwrap() {
                row[k] = v.clone();
            }
            rows.push(row);
        }
        out.push(json!({ "name": script, "schedule": name, "events": rows }));
    }
    Value::Array(out)
}

/// The failure count saturates at 2^32 - 1 (section 7), shown on the record level.
fn count_saturation_vectors() -> Value {
    let full = ThrottleRecord {
        failures: u32::MAX,
        last_failure_ms: 5,
    };
    let counted = Schedule::SOURCE.count_failure(&full, 10);
    json!([{
        "schedule": "SOURCE",
        "record": {"failures": full.failures, "last_failure_ms": full.last_failure_ms},
        "now_ms": 10,
        "admission": format!("{:?}", Schedule::SOURCE.admit(&full, 10)),
        "counted": {"failures": counted.failures, "last_failure_ms": counted.last_failure_ms},
    }])
}

const GOOD_SALT: &str = "c2FsdHNhbHRzYWx0c2FsdA";
const GOOD_HASH: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn limits_json(l: &VerifyLimits) -> Value {
    json!({
        "max_m_kib": l.max_m_kib(),
        "max_t": l.max_t(),
        "max_p": l.max_p(),
        "max_salt_len": l.max_salt_len(),
        "max_hash_len": l.max_hash_len(),
    })
}

fn error_class(e: &Error) -> &'static str {
    match e {
        Error::MalformedHash => "malformed_hash",
        Error::LimitExceeded => "limit_exceeded",
        Error::NotVerified => "not_verified",
        Error::PepperRequired => "pepper_required",
        e => panic!("unexpected {e:?}"),
    }
}

/// PHC strings and how `PhcHash::parse` classifies them (section 3): `ok`, `malformed_hash`
/// or `limit_exceeded`, with the stage (3.3) that decides.
fn phc_parse_vectors() -> Value {
    let phc =
        |params: &str, salt: &str, hash: &str| format!("$argon2id$v=19${params}${salt}${hash}");
    let good = phc("m=19456,t=2,p=1", GOOD_SALT, GOOD_HASH);
    let b64 = |n: usize| "A".repeat(n);
    let ideographic = "\u{3000}";
    let firmware = VerifyLimits::for_memory_blocks(12_288).unwrap();
    let tight = VerifyLimits::new(19_456, 2, 1, 16, 32).unwrap();
    let smallest = VerifyLimits::for_memory_blocks(8).unwrap();
    let cases: Vec<(&str, String, VerifyLimits)> = vec![
        ("canonical", good.clone(), VerifyLimits::SERVER),
        (
            "keyid",
            phc("m=19456,t=2,p=1,keyid=AQIDBA", GOOD_SALT, GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "max-lengths-64-byte-salt-and-hash",
            phc("m=65536,t=10,p=4", &b64(86), &b64(86)),
            VerifyLimits::SERVER,
        ),
        (
            "min-lengths-8-byte-salt-16-byte-hash",
            phc("m=8,t=1,p=1", &b64(11), &b64(22)),
            VerifyLimits::SERVER,
        ),
        // The smallest ceilings, `VerifyLimits::for_memory_blocks(8)` (max_m = 8, max_p = 4):
        // only m = 8 with p = 1 fits, since m >= 8p (stage 2) and m <= 8 (stage 3).
        (
            "smallest-ceiling-m-8",
            phc("m=8,t=1,p=1", &b64(11), &b64(22)),
            smallest,
        ),
        (
            "smallest-ceiling-m-9",
            phc("m=9,t=1,p=1", &b64(11), &b64(22)),
            smallest,
        ),
        (
            "smallest-ceiling-m-16-p-2",
            phc("m=16,t=1,p=2", &b64(11), &b64(22)),
            smallest,
        ),
        (
            "smallest-ceiling-m-8-p-2",
            phc("m=8,t=1,p=2", &b64(11), &b64(22)),
            smallest,
        ),
        // Stage 1: the whole string.
        (
            "257-bytes",
            format!("{good}{}", "A".repeat(257 - good.len())),
            VerifyLimits::SERVER,
        ),
        ("empty", String::new(), VerifyLimits::SERVER),
        (
            "argon2i",
            good.replace("argon2id", "argon2i"),
            VerifyLimits::SERVER,
        ),
        ("v=16", good.replace("v=19", "v=16"), VerifyLimits::SERVER),
        ("leading-space", format!(" {good}"), VerifyLimits::SERVER),
        ("trailing-space", format!("{good} "), VerifyLimits::SERVER),
        ("trailing-lf", format!("{good}\n"), VerifyLimits::SERVER),
        ("trailing-crlf", format!("{good}\r\n"), VerifyLimits::SERVER),
        ("trailing-tab", format!("{good}\t"), VerifyLimits::SERVER),
        (
            "trailing-no-break-space",
            format!("{good}\u{A0}"),
            VerifyLimits::SERVER,
        ),
        (
            "trailing-ideographic-space",
            format!("{good}{ideographic}"),
            VerifyLimits::SERVER,
        ),
        (
            "two-fields",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA".to_owned(),
            VerifyLimits::SERVER,
        ),
        ("trailing-dollar", format!("{good}$"), VerifyLimits::SERVER),
        // Stage 2: m, t, p as strict decimals in order, then Argon2's own bounds.
        (
            "order-t-m-p",
            good.replace("m=19456,t=2,p=1", "t=2,m=19456,p=1"),
            VerifyLimits::SERVER,
        ),
        (
            "leading-zero",
            good.replace("m=19456", "m=019456"),
            VerifyLimits::SERVER,
        ),
        (
            "plus-sign",
            good.replace("m=19456", "m=+19456"),
            VerifyLimits::SERVER,
        ),
        (
            "negative-m",
            good.replace("m=19456", "m=-19456"),
            VerifyLimits::SERVER,
        ),
        (
            "negative-t",
            good.replace("t=2", "t=-1"),
            VerifyLimits::SERVER,
        ),
        (
            "m-11-digits",
            good.replace("m=19456", "m=99999999999"),
            VerifyLimits::SERVER,
        ),
        (
            "m-2^32",
            good.replace("m=19456", "m=4294967296"),
            VerifyLimits::SERVER,
        ),
        ("t=0", good.replace("t=2", "t=0"), VerifyLimits::SERVER),
        ("p=0", good.replace("p=1", "p=0"), VerifyLimits::SERVER),
        (
            "p-2^24",
            good.replace("m=19456,t=2,p=1", "m=4294967295,t=2,p=16777216"),
            VerifyLimits::SERVER,
        ),
        (
            "m-below-8p-with-p-over-ceiling",
            good.replace("m=19456,t=2,p=1", "m=39,t=2,p=5"),
            VerifyLimits::SERVER,
        ),
        (
            "five-params",
            good.replace("p=1", "p=1,keyid=AAAAAQ,data=AAAA"),
            VerifyLimits::SERVER,
        ),
        (
            "trailing-comma-after-keyid",
            good.replace("p=1", "p=1,keyid=AAAAAQ,"),
            VerifyLimits::SERVER,
        ),
        // Stage 3: ceilings on m, t, p, then on the byte lengths of the salt and hash fields.
        (
            "m-over-ceiling",
            good.replace("m=19456", "m=65537"),
            VerifyLimits::SERVER,
        ),
        (
            "m-2^32-1",
            good.replace("m=19456", "m=4294967295"),
            VerifyLimits::SERVER,
        ),
        (
            "t-over-ceiling",
            good.replace("t=2", "t=11"),
            VerifyLimits::SERVER,
        ),
        (
            "p-over-ceiling",
            good.replace("m=19456,t=2,p=1", "m=40,t=2,p=5"),
            VerifyLimits::SERVER,
        ),
        (
            "m-over-firmware-memory",
            good.replace("m=19456", "m=12289"),
            firmware,
        ),
        (
            "over-ceiling-outranks-unknown-param",
            good.replace("m=19456,t=2,p=1", "m=131072,t=2,p=1,data=x"),
            VerifyLimits::SERVER,
        ),
        (
            "over-ceiling-outranks-bad-base64",
            phc("m=131072,t=2,p=1", "!!!!", GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "salt-87-chars-65-bytes",
            phc("m=19456,t=2,p=1", &b64(87), GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "hash-87-chars",
            phc("m=19456,t=2,p=1", GOOD_SALT, &b64(87)),
            VerifyLimits::SERVER,
        ),
        (
            "hash-88-chars-66-bytes",
            phc("m=19456,t=2,p=1", GOOD_SALT, &b64(88)),
            VerifyLimits::SERVER,
        ),
        (
            "hash-29-ideographic-spaces-87-bytes",
            phc("m=19456,t=2,p=1", GOOD_SALT, &ideographic.repeat(29)),
            VerifyLimits::SERVER,
        ),
        (
            "hash-28-ideographic-spaces-84-bytes",
            phc("m=19456,t=2,p=1", GOOD_SALT, &ideographic.repeat(28)),
            VerifyLimits::SERVER,
        ),
        (
            "salt-over-tight-ceiling-17-bytes",
            phc("m=19456,t=2,p=1", &b64(23), GOOD_HASH),
            tight,
        ),
        (
            "hash-over-tight-ceiling-43-chars-ok",
            phc("m=19456,t=2,p=1", GOOD_SALT, GOOD_HASH),
            tight,
        ),
        (
            "hash-over-tight-ceiling-44-chars",
            phc("m=19456,t=2,p=1", GOOD_SALT, &b64(44)),
            tight,
        ),
        // Stage 4: keyid, Base64, byte ranges.
        (
            "unknown-param",
            good.replace("p=1", "p=1,data=AAAA"),
            VerifyLimits::SERVER,
        ),
        (
            "keyid-5-chars",
            good.replace("p=1", "p=1,keyid=AAAAA"),
            VerifyLimits::SERVER,
        ),
        (
            "keyid-7-chars",
            good.replace("p=1", "p=1,keyid=AAAAAAA"),
            VerifyLimits::SERVER,
        ),
        (
            "keyid-non-canonical",
            good.replace("p=1", "p=1,keyid=AAAAAR"),
            VerifyLimits::SERVER,
        ),
        (
            "salt-padding",
            phc("m=19456,t=2,p=1", &format!("{GOOD_SALT}=="), GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "hash-non-canonical-last-char",
            good.replace("Hh8", "Hh9"),
            VerifyLimits::SERVER,
        ),
        (
            "salt-85-chars-impossible-length",
            phc("m=19456,t=2,p=1", &b64(85), GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "salt-url-safe-alphabet",
            phc("m=19456,t=2,p=1", "c2FsdHNhbHRzYWx0c2Fs-_", GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "salt-7-bytes",
            phc("m=19456,t=2,p=1", &b64(10), GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "hash-15-bytes",
            phc("m=19456,t=2,p=1", GOOD_SALT, &b64(20)),
            VerifyLimits::SERVER,
        ),
        (
            "empty-salt",
            phc("m=19456,t=2,p=1", "", GOOD_HASH),
            VerifyLimits::SERVER,
        ),
        (
            "hash-with-inner-space",
            good.replace("AAEC", "AA C"),
            VerifyLimits::SERVER,
        ),
    ];
    let mut out = Vec::new();
    for (name, s, limits) in cases {
        let expected = match PhcHash::parse(&s, &limits) {
            Ok(h) => {
                assert_eq!(h.encode().as_str(), s, "{name}: canonical");
                "ok"
            }
            Err(e) => error_class(&e),
        };
        out.push(json!({
            "name": name,
            "phc": s,
            "limits": limits_json(&limits),
            "expected": expected,
        }));
    }
    Value::Array(out)
}

/// Full verification with peppers and rehash advice (sections 3.4 and 4).
fn phc_verify_vectors() -> Value {
    let params = HashParams::new(64, 1, 1).unwrap();
    let password = "correct horse battery staple";
    let make = |pepper: Option<(u32, [u8; 32])>, salt: &[u8], p: HashParams| {
        let mut h = hazmat::hasher_below_minimum(p).unwrap();
        if let Some((id, secret)) = pepper {
            let mut ring = PepperRing::new();
            ring.rotate_to(Pepper::new(id, secret)).unwrap();
            h = h.with_peppers(ring);
        }
        let mut memory = vec![Block::new(); p.blocks()];
        hazmat::hash_with_salt(&h, &Password::new(password).unwrap(), salt, &mut memory)
            .unwrap()
            .as_str()
            .to_owned()
    };
    let peppered_1 = make(Some((1, [0x11; 32])), b"medsec-salt-0101", params);
    let peppered_2 = make(Some((2, [0x22; 32])), b"medsec-salt-0102", params);
    let plain = make(None, b"medsec-salt-0103", params);
    let stronger = make(
        None,
        b"medsec-salt-0104",
        HashParams::new(128, 2, 2).unwrap(),
    );
    // (name, verifier's peppers (id, secret), current id, password, phc)
    type Case = (
        &'static str,
        Vec<(u32, [u8; 32])>,
        Option<u32>,
        &'static str,
        String,
    );
    let cases: Vec<Case> = vec![
        (
            "pepper-known-current",
            vec![(1, [0x11; 32])],
            Some(1),
            password,
            peppered_1.clone(),
        ),
        (
            "pepper-known-not-current",
            vec![(1, [0x11; 32]), (2, [0x22; 32])],
            Some(2),
            password,
            peppered_1.clone(),
        ),
        // An id the ring does not hold: a full hash with an all-zero stand-in secret, then
        // the same answer as a wrong password.
        (
            "pepper-unknown-keyid",
            vec![(1, [0x11; 32])],
            Some(1),
            password,
            peppered_2.clone(),
        ),
        (
            "pepper-unknown-keyid-no-ring",
            vec![],
            None,
            password,
            peppered_2,
        ),
        (
            "pepper-wrong-password",
            vec![(1, [0x11; 32])],
            Some(1),
            "correct horse battery stapl",
            peppered_1,
        ),
        (
            "unpeppered-while-pepper-configured",
            vec![(1, [0x11; 32])],
            Some(1),
            password,
            plain.clone(),
        ),
        ("unpeppered", vec![], None, password, plain.clone()),
        ("weaker-than-policy", vec![], None, password, plain),
        ("stronger-than-policy", vec![], None, password, stronger),
    ];
    let mut out = Vec::new();
    for (name, peppers, current, pw, phc) in cases {
        let policy = if name == "weaker-than-policy" {
            HashParams::new(128, 1, 1).unwrap()
        } else {
            params
        };
        let mut hasher = hazmat::hasher_below_minimum(policy).unwrap();
        let mut ring = PepperRing::new();
        for (id, secret) in &peppers {
            if Some(*id) == current {
                continue;
            }
            ring.add(Pepper::new(*id, *secret)).unwrap();
        }
        if let Some((id, secret)) = peppers.iter().find(|(id, _)| Some(*id) == current) {
            ring.rotate_to(Pepper::new(*id, *secret)).unwrap();
        }
        hasher = hasher.with_peppers(ring);
        let result = match hasher.verify(&Password::new(pw).unwrap(), &phc) {
            Ok(v) => json!({
                "answer": "verified",
                "needs_rehash": v.needs_rehash(),
                "needs_repepper": v.needs_repepper(),
            }),
            Err(e) => json!({ "answer": error_class(&e) }),
        };
        out.push(json!({
            "name": name,
            "policy": {"m": policy.m_kib(), "t": policy.t(), "p": policy.p()},
            "peppers": peppers.iter().map(|(id, s)| json!({"id": id, "secret_hex": hex::encode(s)})).collect::<Vec<_>>(),
            "current_pepper_id": current,
            "password": pw,
            "phc": phc,
            "expected": result,
        }));
    }
    // With a pepper requirement (section 4; the entries above have none, which is
    // `optional`). The planted hash names keyid 3 and carries the tag computed with the
    // stand-in secret of 32 zero bytes, so the tag matches: an id the ring does not hold is
    // still NotVerified. Then the order: a string refused by parsing (any stage) is
    // MalformedHash or LimitExceeded before the requirement is looked at.
    let planted_password = "the attacker's own passphrase";
    let planted = {
        let mut h = hazmat::hasher_below_minimum(params).unwrap();
        let mut ring = PepperRing::new();
        ring.rotate_to(Pepper::new(3, [0x00; 32])).unwrap();
        h = h.with_peppers(ring);
        let mut memory = vec![Block::new(); params.blocks()];
        hazmat::hash_with_salt(
            &h,
            &Password::new(planted_password).unwrap(),
            b"medsec-salt-0105",
            &mut memory,
        )
        .unwrap()
        .as_str()
        .to_owned()
    };
    let plain = make(None, b"medsec-salt-0103", params);
    let peppered_1 = make(Some((1, [0x11; 32])), b"medsec-salt-0101", params);
    let mut bad_last = plain.clone();
    let last = bad_last.pop().unwrap();
    bad_last.push(if last == 'B' { 'C' } else { 'B' });
    let ring_1_2 = vec![(1, [0x11; 32]), (2, [0x22; 32])];
    // (name, requirement, verifier's peppers, current id, password, phc)
    type ReqCase = (
        &'static str,
        PepperRequirement,
        Vec<(u32, [u8; 32])>,
        Option<u32>,
        &'static str,
        String,
    );
    let required: Vec<ReqCase> = vec![
        (
            "pepper-unknown-keyid-zero-secret-tag",
            PepperRequirement::Optional,
            ring_1_2.clone(),
            Some(2),
            planted_password,
            planted.clone(),
        ),
        (
            "pepper-unknown-keyid-zero-secret-tag-any",
            PepperRequirement::Any,
            ring_1_2.clone(),
            Some(2),
            planted_password,
            planted.clone(),
        ),
        (
            "pepper-unknown-keyid-zero-secret-tag-no-ring",
            PepperRequirement::Optional,
            vec![],
            None,
            planted_password,
            planted.clone(),
        ),
        (
            // The same string verifies where id 3 really is the zero pepper: the tag is right.
            "pepper-zero-secret-known",
            PepperRequirement::Any,
            vec![(3, [0x00; 32])],
            Some(3),
            planted_password,
            planted.clone(),
        ),
        (
            "pepper-unknown-keyid-zero-secret-tag-current",
            PepperRequirement::Current,
            ring_1_2.clone(),
            Some(2),
            planted_password,
            planted,
        ),
        (
            "required-any-unpeppered",
            PepperRequirement::Any,
            ring_1_2.clone(),
            Some(2),
            password,
            plain.clone(),
        ),
        (
            "required-current-older-pepper",
            PepperRequirement::Current,
            ring_1_2.clone(),
            Some(2),
            password,
            peppered_1.clone(),
        ),
        (
            "required-any-older-pepper",
            PepperRequirement::Any,
            ring_1_2.clone(),
            Some(2),
            password,
            peppered_1,
        ),
        (
            "required-any-malformed-stage-4",
            PepperRequirement::Any,
            ring_1_2.clone(),
            Some(2),
            password,
            bad_last,
        ),
        (
            "required-any-over-ceiling",
            PepperRequirement::Any,
            ring_1_2,
            Some(2),
            password,
            plain.replace("m=64,", "m=65537,"),
        ),
    ];
    for (name, requirement, peppers, current, pw, phc) in required {
        let mut ring = PepperRing::new();
        for (id, secret) in &peppers {
            if Some(*id) != current {
                ring.add(Pepper::new(*id, *secret)).unwrap();
            }
        }
        if let Some((id, secret)) = peppers.iter().find(|(id, _)| Some(*id) == current) {
            ring.rotate_to(Pepper::new(*id, *secret)).unwrap();
        }
        let hasher = hazmat::hasher_below_minimum(params)
            .unwrap()
            .with_peppers(ring)
            .require_pepper(requirement)
            .unwrap();
        let result = match hasher.verify(&Password::new(pw).unwrap(), &phc) {
            Ok(v) => json!({
                "answer": "verified",
                "needs_rehash": v.needs_rehash(),
                "needs_repepper": v.needs_repepper(),
            }),
            Err(e) => json!({ "answer": error_class(&e) }),
        };
        let requirement = match requirement {
            PepperRequirement::Optional => "optional",
            PepperRequirement::Any => "any",
            PepperRequirement::Current => "current",
            r => panic!("{r:?}"),
        };
        out.push(json!({
            "name": name,
            "policy": {"m": params.m_kib(), "t": params.t(), "p": params.p()},
            "pepper_requirement": requirement,
            "peppers": peppers.iter().map(|(id, s)| json!({"id": id, "secret_hex": hex::encode(s)})).collect::<Vec<_>>(),
            "current_pepper_id": current,
            "password": pw,
            "phc": phc,
            "expected": result,
        }));
    }
    Value::Array(out)
}

fn rejection_json(r: Result<(), Error>) -> Value {
    match r {
        Ok(()) => json!("accepted"),
        Err(Error::Rejected(Rejection::TooShort { min, actual })) => {
            json!({"rejection": "TooShort", "min": min, "actual": actual})
        }
        Err(Error::Rejected(Rejection::TooLong { max, actual })) => {
            json!({"rejection": "TooLong", "max": max, "actual": actual})
        }
        Err(Error::Rejected(r)) => json!({ "rejection": format!("{r:?}") }),
        // Context words out of range: a caller error, not a rejection (section 5.2).
        Err(Error::Config(_)) => json!({ "error": "config" }),
        Err(e) => panic!("{e:?}"),
    }
}

/// Password policy decisions (section 5): policy, candidate, context words, decision.
fn policy_vectors() -> Value {
    let sf = PasswordPolicy::SINGLE_FACTOR;
    let mfa = PasswordPolicy::WITH_SECOND_FACTOR;
    let sf64 = sf.with_max_code_points(64).unwrap();
    let long = "correct horse battery staple ".repeat(9);
    let long = long.get(..257).unwrap();
    let word_1024 = "x".repeat(1024);
    let word_1025 = "x".repeat(1025);
    // 1,024 bytes as passed (341 × U+FDFA and "x"), 11,254 bytes after NFKC.
    let word_expands = "\u{FDFA}".repeat(341) + "x";
    // The first mojibake line of the list, "пїѕ" four times (section 5.5).
    let mojibake = "\u{43F}\u{457}\u{455}".repeat(4);
    let cases: Vec<(PasswordPolicy, &str, Vec<&str>)> = vec![
        (sf, "violet kettle under the stairs", vec![]),
        (sf, "short", vec![]),
        (sf, "plum orchard k", vec![]),
        (sf, "plum orchard kx", vec![]),
        // Ligature: NFKC "ffi" is three code points (13 + 2 = 15).
        (sf, "\u{FB03} plum orchard", vec![]),
        (sf, long, vec![]),
        (sf64, "a quiet river runs past the old mill where the heron waits, ok!!", vec![]),
        (sf64, "a quiet river runs past the old mill where the heron waits, ok!!!", vec![]),
        // Unassigned code points are refused first (even before length).
        (sf, "passphrase with \u{0378} inside it", vec![]),
        (sf, "short \u{0378}", vec![]),
        (sf, "noncharacter \u{FFFF} in the middle", vec![]),
        (sf, "private use \u{E000} is assigned", vec![]),
        (sf, "\u{1E030}nna's pump diary 15", vec![]),
        // Repetitive: fewer than 3 distinct code points, or one unit repeated.
        (sf, "aaaaaaaaaaaaaaaaaaaa", vec![]),
        (sf, "abababababababab", vec![]),
        (sf, "abcabcabcabcabc", vec![]),
        (sf, "abcabcabcabcabd", vec![]),
        // Case is not folded for patterns: "Abc..." has a step of +33 first.
        (sf, "AbcAbcAbcAbcAbc", vec![]),
        (sf, "ABCabcABCabcABCabc", vec![]),
        // Sequential: every step +1 or every step -1; ASCII digits modulo 10.
        (sf, "abcdefghijklmnopq", vec![]),
        (sf, "zyxwvutsrqponmlkj", vec![]),
        (sf, "7890123456789012", vec![]),
        (sf, "3210987654321098", vec![]),
        (sf, "Abcdefghijklmnop", vec![]),
        // Full-width letters become ASCII under NFKC.
        (sf, "\u{FF41}\u{FF42}\u{FF43}\u{FF44}\u{FF45}\u{FF46}\u{FF47}\u{FF48}\u{FF49}\u{FF4A}\u{FF4B}\u{FF4C}\u{FF4D}\u{FF4E}\u{FF4F}", vec![]),
        // Common: the lowercased NFKC text is on the list.
        (sf, "1qaz2wsx3edc4rfv", vec![]),
        (sf, "1QAZ2WSX3EDC4RFV", vec![]),
        (mfa, "password", vec![]),
        (mfa, "Passw0rd", vec![]),
        (mfa, "passwor", vec![]),
        (mfa, "hunter2!", vec![]),
        // Context words: NFKC, lowercase (full Unicode), trim; whole word, or a letter/digit
        // run of at least 4 code points.
        (sf, "welcome to st mary clinic", vec!["St. Mary Clinic"]),
        (sf, "welcome to st mery clinik", vec!["St. Mary Clinic"]),
        (sf, "serial SN12345678 here", vec!["SN-1234-5678"]),
        (sf, "ДОКТОР ИВАНОВ ПАРОЛЬ 2026", vec!["иванов"]),
        (sf, "my address is bob@x.io ok", vec!["bob@x.io"]),
        // Runs shorter than 4 code points ("bob", "x", "io") are not searched for.
        (sf, "bob likes long walks", vec!["bob@x.io"]),
        (sf, "empty words are ignored ok", vec!["", "   "]),
        (sf, "  leading and trailing space kept  ", vec![]),
        // Lowercasing and letter runs use Unicode 17.0.0 (POLICY_UNICODE_VERSION). Garay
        // (Unicode 16.0) and Beria Erfe (Unicode 17.0) capitals lowercase to their small
        // letters and are alphanumeric there; with Unicode 16.0 tables the Beria Erfe cases
        // would be accepted, and with 15.1 the Garay ones too.
        (sf, "garay \u{10D50}\u{10D51}\u{10D52}\u{10D53} pump diary", vec!["\u{10D70}\u{10D71}\u{10D72}\u{10D73}"]),
        (sf, "garay \u{10D50}\u{10D51}\u{10D52}\u{10D53} pump diary", vec![]),
        (sf, "my \u{10D70}\u{10D71}\u{10D72}\u{10D73} pump diary ok", vec!["SN-\u{10D50}\u{10D51}\u{10D52}\u{10D53}-7"]),
        (sf, "beria \u{16EA0}\u{16EA1}\u{16EA2}\u{16EA3} pump diary", vec!["\u{16EBB}\u{16EBC}\u{16EBD}\u{16EBE}"]),
        (sf, "beria \u{16EA0}\u{16EA1}\u{16EA2}\u{16EA3} pump diary", vec![]),
        (sf, "note \u{16EBB}\u{16EBC}\u{16EBD}\u{16EBE} in the pump log", vec!["ID-\u{16EA0}\u{16EA1}\u{16EA2}\u{16EA3}-9"]),
        // Marks inside context words: a run is a maximal stretch of alphanumeric code points,
        // combining marks (General_Category M) and ZWNJ/ZWJ, marks kept. Other_Alphabetic
        // marks (U+0345, Devanagari vowel sign U+093F) are alphanumeric anyway; the name
        // without its mark is another string.
        (sf, "note ab\u{0345}cd in the pump log", vec!["ID-ab\u{0345}cd-9"]),
        (sf, "note abcd in the pump log", vec!["ID-ab\u{0345}cd-9"]),
        (sf, "मेरा नाम किरण है, पंप 42", vec!["SN-किरण-7"]),
        (sf, "मेरा नाम करण है, पंप 42", vec!["SN-किरण-7"]),
        // Marks that are not Alphabetic (virama U+094D, Thai tone mark U+0E49, U+0301 on a
        // letter without a precomposed form) and ZWNJ do not split a run either.
        (sf, "मेरा नाम कृष्ण है, पंप 42", vec!["SN-कृष्ण-7"]),
        (sf, "मेरा नाम कृषण है, पंप 42", vec!["SN-कृष्ण-7"]),
        (sf, "ชื่อแก้ว ปั๊ม 42 อัน", vec!["SN-แก้ว-7"]),
        (sf, "note x\u{0301}yzw in the pump log", vec!["ID-x\u{0301}yzw-9"]),
        (sf, "note xyzw in the pump log", vec!["ID-x\u{0301}yzw-9"]),
        (sf, "note ab\u{200C}cd in the pump log", vec!["ID-ab\u{200C}cd-9"]),
        // Context limits: at most 32 words (empty ones count), each at most 1,024 bytes as
        // passed (before NFKC); beyond is a caller error, decided before the password.
        (sf, "violet kettle under the stairs", vec![""; 32]),
        (sf, "violet kettle under the stairs", vec![""; 33]),
        (sf, "short", vec![""; 33]),
        (sf, "violet kettle under the stairs", vec![word_1024.as_str()]),
        (sf, "violet kettle under the stairs", vec![word_1025.as_str()]),
        (sf, "violet kettle under the stairs", vec![word_expands.as_str()]),
        // ZWJ (U+200D) stays inside a run, as ZWNJ does.
        (sf, "note ab\u{200D}cd in the pump log", vec!["ID-ab\u{200D}cd-9"]),
        (sf, "note abcd in the pump log", vec!["ID-ab\u{200D}cd-9"]),
        // Marks new in Unicode 18.0.0 (unassigned in 17.0.0, so not alphanumeric in the
        // policy tables): only rule 2 with the 18.0.0 tables keeps them inside the run. With
        // 17.0.0 mark tables the runs would be "ab" and "cd" and the first candidate accepted;
        // with a 17.0.0 "unassigned" rule it would be `Unassigned`.
        (sf, "note ab\u{05C8}cd in the pump log", vec!["ID-ab\u{05C8}cd-9"]),
        (sf, "note abcd in the pump log", vec!["ID-ab\u{05C8}cd-9"]),
        (sf, "note ab\u{1ADE}cd in the pump log", vec!["ID-ab\u{1ADE}cd-9"]),
        (sf, "note ab\u{1D250}cd in the pump log", vec!["ID-ab\u{1D250}cd-9"]),
        // An enclosing mark (Me) and a spacing mark that is not Alphabetic (Mc, U+0F3E).
        (sf, "note ab\u{20DD}cd in the pump log", vec!["ID-ab\u{20DD}cd-9"]),
        (sf, "note abcd in the pump log", vec!["ID-ab\u{20DD}cd-9"]),
        (sf, "note ab\u{0F3E}cd in the pump log", vec!["ID-ab\u{0F3E}cd-9"]),
        (sf, "note abcd in the pump log", vec!["ID-ab\u{0F3E}cd-9"]),
        // Built-in list (section 5.5): the lookup lowercases, the pattern rules do not, so an
        // entry refused as repetitive as it stands is reached through a capital.
        (mfa, "testtest", vec![]),
        (mfa, "Testtest", vec![]),
        (mfa, mojibake.as_str(), vec![]),
        (mfa, "\u{41F}\u{457}\u{455}\u{43F}\u{457}\u{455}\u{43F}\u{457}\u{455}\u{43F}\u{457}\u{455}", vec![]),
        (mfa, "1111aaaa", vec![]),
        (mfa, "1111Aaaa", vec![]),
        (mfa, "aaaaaaaa", vec![]),
        (mfa, "aAaAaAaA", vec![]),
    ];
    let mut out = Vec::new();
    for (policy, candidate, context) in cases {
        let decision = rejection_json(policy.check(&Password::new(candidate).unwrap(), &context));
        out.push(json!({
            "policy": {"min_code_points": policy.min_code_points(), "max_code_points": policy.max_code_points()},
            "candidate": candidate,
            "context": context,
            "decision": decision,
        }));
    }
    Value::Array(out)
}

/// PIN policy decisions (section 5.2).
fn pin_vectors() -> Value {
    let default = PinPolicy::DEFAULT;
    let four = PinPolicy::new(4, 8).unwrap();
    let cases: Vec<(PinPolicy, &str, Vec<&str>)> = vec![
        (default, "482915", vec![]),
        (default, "48291", vec![]),
        (default, "4829150372615", vec![]),
        (default, "48a915", vec![]),
        (default, "482 915", vec![]),
        (
            default,
            "\u{0664}\u{0668}\u{0662}\u{0669}\u{0661}\u{0665}",
            vec![],
        ),
        // Full-width digits become ASCII under NFKC.
        (
            default,
            "\u{FF14}\u{FF18}\u{FF12}\u{FF19}\u{FF11}\u{FF15}",
            vec![],
        ),
        (
            default,
            "\u{FF11}\u{FF12}\u{FF13}\u{FF14}\u{FF15}\u{FF16}",
            vec![],
        ),
        (default, "111111", vec![]),
        (default, "121212", vec![]),
        (default, "122122", vec![]),
        (default, "123456", vec![]),
        (default, "890123", vec![]),
        (default, "654321", vec![]),
        // Mirrors, whatever their halves.
        (default, "123321", vec![]),
        (default, "135531", vec![]),
        (default, "9082809", vec![]),
        // A 4-digit mirror has at most 2 distinct digits: repetitive first.
        (four, "4004", vec![]),
        (four, "12321", vec![]),
        // Doubled: only when the halved string is repetitive or sequential.
        (default, "112233", vec![]),
        (default, "998877", vec![]),
        (default, "445566", vec![]),
        (default, "113355", vec![]),
        (default, "112234", vec![]),
        (four, "1212", vec![]),
        (four, "5589", vec![]),
        // The list's all-digit entries (8 digits or more).
        (default, "01011980", vec![]),
        (default, "0147258369", vec![]),
        (default, "01011981", vec![]),
        // Context words: a device serial's digit run.
        (default, "482915", vec!["SN-4829-15"]),
        (default, "482915", vec!["SN-482-915"]),
        // Context limits as for passwords (section 5.2).
        (default, "482915", vec![""; 33]),
    ];
    let mut out = Vec::new();
    for (policy, pin, context) in cases {
        let decision = rejection_json(policy.check(&Password::new(pin).unwrap(), &context));
        out.push(json!({
            "policy": {"min_digits": policy.min_digits(), "max_digits": policy.max_digits()},
            "pin": pin,
            "context": context,
            "decision": decision,
        }));
    }
    Value::Array(out)
}

/// In-memory flash for the cell vectors, shared so the vectors can show it between operations.
struct MemFlash(Rc<RefCell<Vec<[u8; RECORD_LEN]>>>);

impl RecordFlash for MemFlash {
    fn slot_count(&self) -> u32 {
        self.0.borrow().len() as u32
    }
    fn read_slot(&mut self, slot: u32, out: &mut [u8; RECORD_LEN]) -> Result<(), FlashError> {
        *out = *self.0.borrow().get(slot as usize).ok_or(FlashError)?;
        Ok(())
    }
    fn write_slot(&mut self, slot: u32, data: &[u8; RECORD_LEN]) -> Result<(), FlashError> {
        *self
            .0
            .borrow_mut()
            .get_mut(slot as usize)
            .ok_or(FlashError)? = *data;
        Ok(())
    }
}

/// Flash cells (section 8): initial slot images, operations through `FlashThrottleStore`
/// (schedule ACCOUNT), and every slot image after each operation.
fn flash_cell_vectors() -> Value {
    let record_key = [0x17u8; 32];
    let codec = RecordCodec::new(record_key);
    let k1 = ThrottleKey::from_bytes([0x01; 16]);
    let k2 = ThrottleKey::from_bytes([0x02; 16]);
    let k3 = ThrottleKey::from_bytes([0x03; 16]);
    let k4 = ThrottleKey::from_bytes([0x04; 16]);
    let img = |slot: u32, sequence: u32, key: ThrottleKey, failures: u32, last: u64| {
        codec.encode(
            slot,
            &SlotRecord {
                sequence,
                key,
                record: ThrottleRecord {
                    failures,
                    last_failure_ms: last,
                },
            },
        )
    };
    let erased = [0xFFu8; RECORD_LEN];
    #[derive(Clone, Copy)]
    enum Op {
        Attempt(ThrottleKey, u64),
        Clear(ThrottleKey),
        Load(ThrottleKey),
    }
    type Scenario = (&'static str, Vec<[u8; RECORD_LEN]>, Vec<Op>);
    let scenarios: Vec<Scenario> = vec![
        (
            // No eviction: a full store refuses a new key and keeps every record with failures;
            // a cleared cell (a failures-0 image, not an erase) is free again.
            "fill-refuse-clear-reuse",
            vec![erased; 4],
            vec![
                Op::Attempt(k1, 1_000),
                Op::Attempt(k2, 1_100),
                Op::Attempt(k2, 1_200),
                // Both cells hold records with failures: k3 is refused, k1 (1 failure) stays.
                Op::Attempt(k3, 1_300),
                Op::Load(k1),
                // Clearing a key that has no record writes nothing.
                Op::Clear(k3),
                // k1 cleared: its cell is free, and k3 takes it.
                Op::Clear(k1),
                Op::Attempt(k3, 1_400),
                Op::Attempt(k1, 1_500),
                Op::Clear(k2),
                Op::Attempt(k1, 1_600),
                Op::Attempt(k4, 1_700),
                Op::Load(k3),
            ],
        ),
        (
            "sequence-wrap",
            vec![img(0, u32::MAX, k1, 3, 5_000), erased],
            vec![
                Op::Attempt(k1, 10_000),
                Op::Attempt(k1, 20_000),
                Op::Clear(k1),
            ],
        ),
        (
            // Equal sequences (never written by this store): the even slot wins.
            "equal-sequences",
            vec![img(0, 7, k1, 2, 100), img(1, 7, k1, 5, 200)],
            vec![Op::Load(k1), Op::Attempt(k1, 1_000)],
        ),
        (
            // An older image of k1 written for slot 2, copied to slot 0: invalid there (the tag
            // covers the slot number), so cell 0 is empty and k1 keeps its cell-1 record (before
            // format version 2, cell 0 would have been found first: a rollback to 1 failure).
            "misplaced-image",
            vec![img(2, 1, k1, 1, 50), erased, img(2, 3, k1, 4, 100), erased],
            vec![Op::Load(k1)],
        ),
        (
            // Images this store never writes are still valid: sequence 0 (k1's record, loses
            // to any higher sequence), and failures 0 with a time (k2: a cleared record, so
            // `load` gives (0, 0) and the cell is free). k1's next write goes to slot 1 with
            // sequence 1; k3 takes cell 1, writing sequence 6 to slot 3.
            "sequence-zero-and-cleared-image-with-time",
            vec![img(0, 0, k1, 2, 100), erased, img(2, 5, k2, 0, 777), erased],
            vec![
                Op::Load(k1),
                Op::Load(k2),
                Op::Attempt(k1, 1_000),
                Op::Attempt(k3, 1_100),
                Op::Load(k3),
            ],
        ),
    ];
    let mut out = Vec::new();
    for (name, initial, ops) in scenarios {
        let initial_hex: Vec<String> = initial.iter().map(hex::encode).collect();
        let slots = Rc::new(RefCell::new(initial));
        let store =
            FlashThrottleStore::new(MemFlash(slots.clone()), RecordCodec::new(record_key)).unwrap();
        let mut rows = Vec::new();
        for op in ops {
            let (mut row, key) = match op {
                Op::Attempt(key, now) => {
                    let answer = match throttle::begin(&store, &key, &Schedule::ACCOUNT, now) {
                        Ok(_) => "admitted",
                        Err(Error::Store) => "store_failure",
                        Err(e) => panic!("{e:?}"),
                    };
                    (
                        json!({"op": "attempt", "now_ms": now, "answer": answer}),
                        key,
                    )
                }
                Op::Clear(key) => {
                    throttle::clear(&store, &key).unwrap();
                    (json!({"op": "clear", "answer": "cleared"}), key)
                }
                Op::Load(key) => (json!({"op": "load"}), key),
            };
            let r = store.load(&key).unwrap();
            row["key_hex"] = json!(hex::encode(key.as_bytes()));
            row["record_after"] =
                json!({"failures": r.failures, "last_failure_ms": r.last_failure_ms});
            row["slots_after_hex"] =
                json!(slots.borrow().iter().map(hex::encode).collect::<Vec<_>>());
            rows.push(row);
        }
        out.push(json!({
            "name": name,
            "record_key_hex": hex::encode(record_key),
            "schedule": "ACCOUNT",
            "initial_slots_hex": initial_hex,
            "operations": rows,
        }));
    }
    Value::Array(out)
}

fn all_vectors() -> Value {
    let (major, minor, patch) = NFKC_UNICODE_VERSION;
    let (a, b, c) = POLICY_UNICODE_VERSION;
    let policy_version = format!("{a}.{b}.{c}");
    json!({
        "description": "Known-answer vectors for docs/credential-format.md (medsec-credential). Regenerated and compared by crates/medsec-credential/tests/vectors.rs.",
        "nfkc_unicode_version": format!("{major}.{minor}.{patch}"),
        "policy_unicode_version": policy_version,
        "phc": phc_vectors(),
        "phc_parse": phc_parse_vectors(),
        "phc_verify": phc_verify_vectors(),
        "password_policy": policy_vectors(),
        "pin_policy": pin_vectors(),
        "throttle_keys": throttle_key_vectors(),
        "throttle_records": record_vectors(),
        "flash_cells": flash_cell_vectors(),
        "schedules": schedule_vectors(),
        "throttle_sequences": sequence_vectors(),
        "count_saturation": count_saturation_vectors(),
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
