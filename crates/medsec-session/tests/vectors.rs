//! Known-answer vectors for `docs/session-format.md`: regenerated with the crate and compared
//! with `tests/data/session-vectors.json`, then recomputed independently in Python
//! (`cryptography`) from the document's construction. Regenerate deliberately with
//! `MEDSEC_REGEN_VECTORS=1 cargo test -p medsec-session --test vectors`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use std::path::PathBuf;

use hmac::{Hmac, KeyInit, Mac};
use medsec_session::record::{self, decode, encode};
use medsec_session::*;
use serde_json::{json, Value};
use sha2::Sha256;

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/session-vectors.json")
}

struct Case {
    name: &'static str,
    id: [u8; 32],
    nonce: [u8; 12],
    plaintext: Vec<u8>,
    exporter: Option<[u8; 32]>,
    user: String,
    role: Role,
    state: StoredState,
    elevated_until: u64,
    version: u64,
    last_seen: u64,
    idle_timeout_ms: u64,
    absolute_deadline: u64,
    /// The first three vectors predate the `expires_at_column` output; they stay
    /// byte-identical.
    first_generation: bool,
}

/// The values the first three vectors share.
const VERSION: u64 = 7;
const LAST_SEEN: u64 = 1_700_000_123_456;
const IDLE: u64 = 900_000;
const ABSOLUTE: u64 = 1_700_043_200_000;

fn cases() -> Vec<Case> {
    let mut seq = [0u8; 32];
    for (i, b) in seq.iter_mut().enumerate() {
        *b = i as u8;
    }
    let first = |name, id, nonce, plaintext: &[u8], exporter, user: &str, role, state, elev| Case {
        name,
        id,
        nonce,
        plaintext: plaintext.to_vec(),
        exporter,
        user: user.to_owned(),
        role,
        state,
        elevated_until: elev,
        version: VERSION,
        last_seen: LAST_SEEN,
        idle_timeout_ms: IDLE,
        absolute_deadline: ABSOLUTE,
        first_generation: true,
    };
    vec![
        first(
            "active-with-data-bound",
            seq,
            [0x24; 12],
            b"export cursor 2026-11-29T09:00Z",
            Some([0xE0; 32]),
            "clinician-42",
            Role::Clinician,
            StoredState::Active,
            1_700_000_300_000,
        ),
        first(
            "established-no-data-unbound",
            [0xff; 32],
            [0; 12],
            b"",
            None,
            "p",
            Role::Patient,
            StoredState::Established,
            0,
        ),
        // A 64-byte user id (the limit when this vector was made; now 128, see "max-size").
        first(
            "max-user-id-utf8",
            [0x5a; 32],
            [0x01; 12],
            b"\x00\x01\x02",
            None,
            "techn\u{00e9}cien-\u{00fc}-0000000000000000000000000000000000000000000000000",
            Role::Technician,
            StoredState::Active,
            0,
        ),
        // The largest record: 128-byte user id, 16,384-byte plaintext, the largest version.
        Case {
            name: "max-size",
            id: [0xA7; 32],
            nonce: [0x3c; 12],
            plaintext: (0..MAX_DATA_LEN).map(|i| (i * 7 + 3) as u8).collect(),
            exporter: Some([0x0E; 32]),
            user: "\u{e9}".repeat(60) + "admin-01",
            role: Role::Admin,
            state: StoredState::Active,
            elevated_until: 1_700_000_200_000,
            version: record::MAX_VERSION,
            last_seen: LAST_SEEN,
            idle_timeout_ms: IDLE,
            absolute_deadline: ABSOLUTE,
            first_generation: false,
        },
        // last_seen + idle lies past the absolute deadline: expires_at is the deadline.
        Case {
            name: "absolute-deadline-wins",
            id: [0x11; 32],
            nonce: [0x02; 12],
            plaintext: b"x".to_vec(),
            exporter: None,
            user: "caregiver-7".to_owned(),
            role: Role::Caregiver,
            state: StoredState::Active,
            elevated_until: 0,
            version: 1,
            last_seen: ABSOLUTE - 60_000,
            idle_timeout_ms: IDLE,
            absolute_deadline: ABSOLUTE,
            first_generation: false,
        },
        // last_seen + idle saturates at 2^64 - 1 and the column clamps to 2^63 - 1.
        Case {
            name: "saturated-expires-at",
            id: [0x22; 32],
            nonce: [0x03; 12],
            plaintext: Vec::new(),
            exporter: None,
            user: "p-sat".to_owned(),
            role: Role::Patient,
            state: StoredState::Established,
            elevated_until: 0,
            version: 1,
            last_seen: LAST_SEEN,
            idle_timeout_ms: u64::MAX,
            absolute_deadline: u64::MAX,
            first_generation: false,
        },
    ]
}

const DATA_SECRET: [u8; 32] = [0x42; 32];
const RECORD_KEY: [u8; 32] = [0x33; 32];

fn compute(c: &Case) -> Value {
    let id = SessionId::from_bytes(c.id);
    let id_hash = id.id_hash();
    let secret = DataSecret::from_bytes(DATA_SECRET);
    let sealed = if c.plaintext.is_empty() {
        Vec::new()
    } else {
        let mut out = vec![0u8; c.plaintext.len() + 28];
        secret
            .seal(&id, &id_hash, c.nonce, &c.plaintext, &mut out)
            .unwrap();
        out
    };
    let binding = c
        .exporter
        .map(|e| ChannelBinding::from_exporter(e).binding_hash());
    let meta = SessionMeta {
        version: c.version,
        user: UserId::new(&c.user).unwrap(),
        role: c.role,
        state: c.state,
        created_at: Timestamp::from_millis(1_700_000_000_000),
        authenticated_at: Timestamp::from_millis(1_700_000_000_000),
        last_seen: Timestamp::from_millis(c.last_seen),
        idle_timeout_ms: c.idle_timeout_ms,
        absolute_deadline: Timestamp::from_millis(c.absolute_deadline),
        elevated_until: Timestamp::from_millis(c.elevated_until),
        binding,
        data_len: sealed.len() as u32,
    };
    let key = RecordKey::from_bytes(RECORD_KEY);
    let record = encode(&key, &id_hash, &meta, &sealed).unwrap();
    // And it decodes back.
    let (back, data) = decode(&key, &id_hash, &record).unwrap();
    assert_eq!(back, meta);
    assert_eq!(data, sealed.as_slice());
    let mut v = json!({
        "name": c.name,
        "input": {
            "id": hex::encode(c.id),
            "data_secret": hex::encode(DATA_SECRET),
            "record_key": hex::encode(RECORD_KEY),
            "nonce": hex::encode(c.nonce),
            "plaintext": hex::encode(&c.plaintext),
            "tls_exporter": c.exporter.map(hex::encode),
            "user": c.user,
            "role_code": c.role.code(),
            "state": c.state as u8,
            "version": meta.version,
            "created_at": meta.created_at.as_millis(),
            "authenticated_at": meta.authenticated_at.as_millis(),
            "last_seen": meta.last_seen.as_millis(),
            "idle_timeout_ms": meta.idle_timeout_ms,
            "absolute_deadline": meta.absolute_deadline.as_millis(),
            "elevated_until": meta.elevated_until.as_millis(),
        },
        "output": {
            "id_text": id.encode().as_str(),
            "id_hash": hex::encode(id_hash.as_bytes()),
            "binding_hash": binding.map(hex::encode),
            "sealed_data": hex::encode(&sealed),
            "record": hex::encode(&record),
            "expires_at": meta.expires_at().as_millis(),
        }
    });
    if !c.first_generation {
        v["output"]["expires_at_column"] = json!(meta.expires_at_column());
    }
    v
}

/// The record key the "mac-other-key" rejection was made with.
const OTHER_RECORD_KEY: [u8; 32] = [0x34; 32];

fn hmac_tag(key: &[u8; 32], id_hash: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(b"medsec-session/v1/record\0");
    mac.update(id_hash);
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The id every rejection vector is filed under (unless the vector says otherwise).
fn rejection_id() -> SessionId {
    SessionId::from_bytes([0x3e; 32])
}

/// A well-formed record body (everything before the MAC) with `user` and `data` spliced in
/// raw: fields 0..97 from an encoded base record, then `user_len || user || data_len || data`.
fn body_with(user: &[u8], data: &[u8]) -> Vec<u8> {
    let meta = SessionMeta {
        version: 1,
        user: UserId::new("u").unwrap(),
        role: Role::Patient,
        state: StoredState::Active,
        created_at: Timestamp::from_millis(1_700_000_000_000),
        authenticated_at: Timestamp::from_millis(1_700_000_000_000),
        last_seen: Timestamp::from_millis(LAST_SEEN),
        idle_timeout_ms: IDLE,
        absolute_deadline: Timestamp::from_millis(ABSOLUTE),
        elevated_until: Timestamp::ZERO,
        binding: None,
        data_len: 0,
    };
    let key = RecordKey::from_bytes(RECORD_KEY);
    let rec = encode(&key, &rejection_id().id_hash(), &meta, &[]).unwrap();
    let mut body = rec[..97].to_vec();
    body.push(user.len() as u8);
    body.extend_from_slice(user);
    body.extend_from_slice(&(data.len() as u32).to_be_bytes());
    body.extend_from_slice(data);
    body
}

fn base_body() -> Vec<u8> {
    body_with(b"patient-r", &[])
}

/// `body` with `bytes` written at `offset`.
fn patched(offset: usize, bytes: &[u8]) -> Vec<u8> {
    let mut b = base_body();
    b[offset..offset + bytes.len()].copy_from_slice(bytes);
    b
}

/// Records every reader must refuse, each breaking the named rule of
/// `docs/session-format.md` §5.1 (the first rule it breaks, in the document's order). All
/// but the "length" and "mac" ones carry an authentic MAC, so only the field rules can
/// refuse them.
fn rejections() -> Vec<Value> {
    let h = *rejection_id().id_hash().as_bytes();
    let other_h = *SessionId::from_bytes([0x3f; 32]).id_hash().as_bytes();
    let sealed = |n: usize| vec![0x5a; n];
    let authentic = |body: Vec<u8>| {
        let tag = hmac_tag(&RECORD_KEY, &h, &body);
        [body, tag.to_vec()].concat()
    };
    let valid = authentic(base_body());
    let mut flipped = valid.clone();
    *flipped.last_mut().unwrap() ^= 0x01;
    let other_key = {
        let body = base_body();
        let tag = hmac_tag(&OTHER_RECORD_KEY, &h, &body);
        [body, tag.to_vec()].concat()
    };
    let mut cases: Vec<(&str, &str, Vec<u8>, [u8; 32])> = vec![
        ("empty", "length", Vec::new(), h),
        (
            "one-byte-short",
            "length",
            {
                let smallest = authentic(body_with(b"u", &[]));
                assert_eq!(smallest.len(), 135);
                smallest[..134].to_vec()
            },
            h,
        ),
        (
            "one-byte-over-max",
            "length",
            authentic(body_with(&[b'a'; 128], &sealed(16_413))),
            h,
        ),
        ("mac-flipped", "mac", flipped, h),
        ("filed-under-another-id-hash", "mac", valid.clone(), other_h),
        ("mac-other-record-key", "mac", other_key, h),
    ];
    let fields: Vec<(&str, &str, Vec<u8>)> = vec![
        ("magic-MSSS", "magic", patched(0, b"MSSS")),
        ("format-version-0", "format-version", patched(4, &[0])),
        ("format-version-2", "format-version", patched(4, &[2])),
        ("state-2", "state", patched(5, &[2])),
        ("role-0", "role", patched(6, &[0, 0])),
        ("role-6", "role", patched(6, &[0, 6])),
        ("role-0x0103", "role", patched(6, &[1, 3])),
        ("version-0", "version", patched(8, &0u64.to_be_bytes())),
        (
            "version-2^63",
            "version",
            patched(8, &(1u64 << 63).to_be_bytes()),
        ),
        (
            "idle-timeout-0",
            "idle-timeout",
            patched(40, &0u64.to_be_bytes()),
        ),
        ("binding-flag-2", "binding", patched(64, &[2])),
        ("unbound-with-hash", "binding", patched(96, &[1])),
        // (with data, so that the record is not also too short)
        ("user-len-0", "user-length", body_with(b"", &sealed(29))),
        ("user-len-129", "user-length", body_with(&[b'a'; 129], &[])),
        ("user-len-past-end", "user-length", {
            let mut b = body_with(b"u", &[]);
            b[97] = 6; // 1 byte of user id and 4 of data_len follow: 5 < 6
            b
        }),
        (
            "user-lone-continuation",
            "user-utf8",
            body_with(b"\x80", &[]),
        ),
        (
            "user-overlong-slash",
            "user-utf8",
            body_with(b"\xc0\xaf", &[]),
        ),
        (
            "user-surrogate",
            "user-utf8",
            body_with(b"\xed\xa0\x80", &[]),
        ),
        (
            "user-above-10ffff",
            "user-utf8",
            body_with(b"\xf4\x90\x80\x80", &[]),
        ),
        (
            "user-truncated-sequence",
            "user-utf8",
            body_with(b"ab\xc3", &[]),
        ),
        ("data-len-1", "data-length", body_with(b"u", &sealed(1))),
        ("data-len-27", "data-length", body_with(b"u", &sealed(27))),
        (
            "data-len-28-sealed-empty-plaintext",
            "data-length",
            body_with(b"u", &sealed(28)),
        ),
        (
            "data-len-16413",
            "data-length",
            body_with(b"u", &sealed(16_413)),
        ),
        ("data-len-past-end", "data-length", {
            let mut b = body_with(b"u", &[]);
            let n = b.len();
            b[n - 4..].copy_from_slice(&28u32.to_be_bytes());
            b
        }),
        ("trailing-byte", "trailing", {
            let mut b = body_with(b"u", &sealed(29));
            b.push(0);
            b
        }),
        // The user id fits before the MAC but the 4-byte data_len field does not: the
        // smallest record (135 bytes) with u = 3 (2 bytes of data_len left) and u = 5 (the
        // user id ends exactly where the MAC starts). `data-length`, not `user-length`.
        ("data-len-field-cut-off-u3", "data-length", {
            let mut b = body_with(b"u", &[]);
            b[97] = 3;
            b
        }),
        ("data-len-field-cut-off-u5", "data-length", {
            let mut b = body_with(b"u", &[]);
            b[97] = 5;
            b
        }),
        // The one rule alone: u = 1, d = 29 (in range), 5 bytes of data before the MAC, a
        // 140-byte record. The data would end 24 bytes into the MAC.
        ("data-len-29-past-end", "data-length", {
            let mut b = body_with(b"u", &sealed(5));
            let at = 98 + 1;
            b[at..at + 4].copy_from_slice(&29u32.to_be_bytes());
            assert_eq!(b.len() + 32, 140);
            b
        }),
    ];
    cases.extend(
        fields
            .into_iter()
            .map(|(name, rule, body)| (name, rule, authentic(body), h)),
    );
    cases
        .into_iter()
        .map(|(name, rule, record, id_hash)| {
            json!({
                "name": name,
                "rule": rule,
                "record_key": hex::encode(RECORD_KEY),
                "id_hash": hex::encode(id_hash),
                "record": hex::encode(record),
            })
        })
        .collect()
}

/// TLS exporter values of a length other than 32 bytes: a caller error at login and at
/// every request (`docs/session-format.md` §3), never truncated, padded or hashed as given.
/// 48 and 64 are the lengths a caller gets by asking the TLS stack for a SHA-384 or SHA-512
/// sized output; the empty value is not "no exporter".
fn binding_rejections() -> Vec<Value> {
    let bytes: Vec<u8> = (0u8..64).map(|i| 0xE0 ^ i).collect();
    [0usize, 1, 16, 31, 33, 48, 64]
        .into_iter()
        .map(|n| {
            json!({
                "name": format!("exporter-{n}-bytes"),
                "rule": "exporter-length",
                "tls_exporter": hex::encode(&bytes[..n]),
            })
        })
        .collect()
}

/// The text form every id vector's `id_text` is checked against: the first vector's id.
fn id_text_base() -> String {
    let mut seq = [0u8; 32];
    for (i, b) in seq.iter_mut().enumerate() {
        *b = i as u8;
    }
    SessionId::from_bytes(seq).encode().as_str().to_owned()
}

/// Texts every decoder must refuse as a session id (`docs/session-format.md` §1), each
/// breaking the named rule (the first it breaks in the order length in bytes, alphabet,
/// canonical last symbol). In the crate all of them fail with the one `Rejected`.
fn id_text_rejections() -> Vec<Value> {
    let base = id_text_base();
    assert_eq!(base.len(), 43);
    let head = |n: usize| base[..n].to_owned();
    let with_at = |i: usize, c: char| {
        let mut t: Vec<char> = base.chars().collect();
        t[i] = c;
        t.into_iter().collect::<String>()
    };
    let cases: Vec<(&str, &str, String)> = vec![
        ("empty", "id-length", String::new()),
        ("42-chars", "id-length", head(42)),
        ("44-chars", "id-length", base.clone() + "A"),
        ("44-chars-padded", "id-length", base.clone() + "="),
        (
            "43-chars-44-bytes-non-ascii",
            "id-length",
            head(42) + "\u{e9}",
        ),
        (
            "42-chars-43-bytes-non-ascii",
            "id-alphabet",
            head(41) + "\u{e9}",
        ),
        ("padding-as-last-char", "id-alphabet", head(42) + "="),
        ("plus", "id-alphabet", with_at(10, '+')),
        ("slash", "id-alphabet", with_at(20, '/')),
        ("space-inside", "id-alphabet", with_at(21, ' ')),
        ("trailing-newline", "id-alphabet", head(42) + "\n"),
        ("nul-last", "id-alphabet", head(42) + "\0"),
        ("non-canonical-last-B", "id-non-canonical", head(42) + "B"),
        ("non-canonical-last-9", "id-non-canonical", head(42) + "9"),
        (
            "non-canonical-last-dash",
            "id-non-canonical",
            head(42) + "-",
        ),
        (
            "non-canonical-last-underscore",
            "id-non-canonical",
            head(42) + "_",
        ),
    ];
    cases
        .into_iter()
        .map(|(name, rule, text)| json!({ "name": name, "rule": rule, "text": text }))
        .collect()
}

#[test]
fn golden_vectors_match() {
    let computed = json!({
        "format": "medsec-session stored-session format v1 (docs/session-format.md)",
        "vectors": cases().iter().map(compute).collect::<Vec<_>>(),
        "rejections": rejections(),
        "binding_rejections": binding_rejections(),
        "id_text_rejections": id_text_rejections(),
    });
    let path = vectors_path();
    if std::env::var_os("MEDSEC_REGEN_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        stored, computed,
        "format changed: regenerate deliberately (see module docs)"
    );
}

#[test]
fn vectors_tampered_are_refused() {
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    let key = RecordKey::from_bytes(RECORD_KEY);
    for v in stored["vectors"].as_array().unwrap() {
        let record = hex::decode(v["output"]["record"].as_str().unwrap()).unwrap();
        let h = IdHash::from_bytes(
            hex::decode(v["output"]["id_hash"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
        );
        assert!(decode(&key, &h, &record).is_ok());
        for i in 0..record.len() * 8 {
            let mut t = record.clone();
            t[i / 8] ^= 1 << (i % 8);
            assert_eq!(decode(&key, &h, &t).map(|_| ()), Err(Error::Rejected));
        }
        for n in 0..record.len() {
            assert!(decode(&key, &h, &record[..n]).is_err());
        }
        let mut longer = record.clone();
        longer.push(0);
        assert!(decode(&key, &h, &longer).is_err());
    }
}

/// Every rejection vector is refused by the decoder, and every one that names a field rule
/// carries an authentic MAC (so it is that rule, not the MAC, that refuses it).
#[test]
fn rejection_vectors_are_refused() {
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    let rejections = stored["rejections"].as_array().unwrap();
    assert!(rejections.len() >= 30);
    let key = RecordKey::from_bytes(RECORD_KEY);
    for r in rejections {
        let name = r["name"].as_str().unwrap();
        let rule = r["rule"].as_str().unwrap();
        let record = hex::decode(r["record"].as_str().unwrap()).unwrap();
        let h: [u8; 32] = hex::decode(r["id_hash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            decode(&key, &IdHash::from_bytes(h), &record).map(|_| ()),
            Err(Error::Rejected),
            "{name}"
        );
        if rule != "length" && rule != "mac" {
            let (body, tag) = record.split_at(record.len() - 32);
            assert_eq!(
                hmac_tag(&RECORD_KEY, &h, body),
                tag,
                "{name}: authentic MAC"
            );
        }
    }
    // `data-len-29-past-end` breaks that one rule alone: u = 1, d = 29 (an allowed length),
    // an allowed record length (140); with the 24 missing data bytes added before the MAC
    // (and the MAC recomputed) the same fields are accepted.
    let alone = rejections
        .iter()
        .find(|r| r["name"] == "data-len-29-past-end")
        .unwrap();
    let record = hex::decode(alone["record"].as_str().unwrap()).unwrap();
    assert_eq!(record.len(), 140);
    assert_eq!(record[97], 1);
    assert_eq!(record[99..103], 29u32.to_be_bytes());
    let h = rejection_id().id_hash();
    let mut body = record[..108].to_vec();
    body.extend_from_slice(&[0x5a; 24]);
    let tag = hmac_tag(&RECORD_KEY, h.as_bytes(), &body);
    let completed = [body, tag.to_vec()].concat();
    assert!(decode(&key, &h, &completed).is_ok());
    // The accepted extremes: the largest record, and the largest version.
    let max = stored["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "max-size")
        .unwrap();
    let record = hex::decode(max["output"]["record"].as_str().unwrap()).unwrap();
    assert_eq!(record.len(), record::MAX_RECORD_LEN);
    assert_eq!(max["input"]["version"], json!(record::MAX_VERSION));
}

/// Every exporter value of the wrong length is refused as a caller error; the 32-byte
/// prefix of the same bytes is accepted.
#[test]
fn binding_rejection_vectors_are_refused() {
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    let cases = stored["binding_rejections"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        assert_eq!(c["rule"], "exporter-length", "{name}");
        let value = hex::decode(c["tls_exporter"].as_str().unwrap()).unwrap();
        assert_ne!(value.len(), TLS_EXPORTER_LEN, "{name}");
        assert_eq!(
            ChannelBinding::try_from_exporter(&value).unwrap_err(),
            Error::InvalidInput,
            "{name}"
        );
        if value.len() > TLS_EXPORTER_LEN {
            assert!(ChannelBinding::try_from_exporter(&value[..TLS_EXPORTER_LEN]).is_ok());
        }
    }
}

/// Base64url symbols in value order.
const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The rule of §1 a text breaks first, or `None` for a well-formed id.
fn id_text_rule(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    if b.len() != ENCODED_ID_LEN {
        return Some("id-length");
    }
    if !b.iter().all(|c| B64URL.contains(c)) {
        return Some("id-alphabet");
    }
    let last = B64URL.iter().position(|c| *c == b[42]).unwrap();
    (last & 3 != 0).then_some("id-non-canonical")
}

/// Every id-text rejection is refused by `SessionId::decode` with `Rejected` and breaks the
/// rule it names; every accepted vector's `id_text` decodes to its id; and of the 64 symbols
/// exactly the 16 whose two low bits are zero may end an id.
#[test]
fn id_text_rejection_vectors_are_refused() {
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    let cases = stored["id_text_rejections"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    let mut rules = std::collections::BTreeSet::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let text = c["text"].as_str().unwrap();
        assert_eq!(id_text_rule(text), c["rule"].as_str(), "{name}");
        rules.insert(c["rule"].as_str().unwrap());
        assert_eq!(
            SessionId::decode(text).unwrap_err(),
            Error::Rejected,
            "{name}"
        );
    }
    assert_eq!(rules.len(), 3);
    for v in stored["vectors"].as_array().unwrap() {
        let text = v["output"]["id_text"].as_str().unwrap();
        assert_eq!(id_text_rule(text), None);
        let id = SessionId::decode(text).unwrap();
        assert_eq!(
            hex::encode(id.as_bytes()),
            v["input"]["id"].as_str().unwrap()
        );
    }
    let base = id_text_base();
    let mut endings = 0;
    for (value, symbol) in B64URL.iter().enumerate() {
        let text = format!("{}{}", &base[..42], *symbol as char);
        let ok = SessionId::decode(&text).is_ok();
        assert_eq!(ok, value % 4 == 0, "{text}");
        assert_eq!(ok, id_text_rule(&text).is_none());
        endings += usize::from(ok);
    }
    assert_eq!(endings, 16);
}

const PY_CHECK: &str = r#"
import json, sys, hashlib, hmac, struct, base64
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
U64, I64 = 2**64 - 1, 2**63 - 1
MIN_LEN, MAX_LEN = 135, 16674
doc = json.load(open(sys.argv[1]))

class Reject(Exception):
    pass

def decode(key, id_hash, rec):
    # docs/session-format.md section 5.1, rule by rule, in the document's order.
    if not MIN_LEN <= len(rec) <= MAX_LEN:
        raise Reject("length")
    body, tag = rec[:-32], rec[-32:]
    mac = hmac.new(key, b"medsec-session/v1/record\0" + id_hash + body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, tag):
        raise Reject("mac")
    if body[0:4] != b"MSSR":
        raise Reject("magic")
    if body[4] != 1:
        raise Reject("format-version")
    if body[5] not in (0, 1):
        raise Reject("state")
    role = struct.unpack(">H", body[6:8])[0]
    if not 1 <= role <= 5:
        raise Reject("role")
    (version, created, authn, last_seen, idle, absolute, elevated) = struct.unpack(">7Q", body[8:64])
    if not 1 <= version <= I64:
        raise Reject("version")
    if idle < 1:
        raise Reject("idle-timeout")
    flag, bh = body[64], body[65:97]
    if flag not in (0, 1) or (flag == 0 and bh != bytes(32)):
        raise Reject("binding")
    u = body[97]
    if not 1 <= u <= 128 or 98 + u > len(body):
        raise Reject("user-length")
    try:
        user = body[98:98 + u].decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Reject("user-utf8")
    if 102 + u > len(body):
        raise Reject("data-length")
    d = struct.unpack(">I", body[98 + u:102 + u])[0]
    if not (d == 0 or 29 <= d <= 16412) or 102 + u + d > len(body):
        raise Reject("data-length")
    if 102 + u + d != len(body):
        raise Reject("trailing")
    return dict(state=body[5], role_code=role, version=version, created_at=created,
                authenticated_at=authn, last_seen=last_seen, idle_timeout_ms=idle,
                absolute_deadline=absolute, elevated_until=elevated,
                binding_hash=bh.hex() if flag else None, user=user,
                sealed_data=body[102 + u:102 + u + d].hex())

for v in doc["vectors"]:
    i, o = v["input"], v["output"]
    sid = bytes.fromhex(i["id"])
    text = base64.urlsafe_b64encode(sid).rstrip(b"=").decode()
    assert text == o["id_text"], v["name"]
    id_hash = hashlib.sha256(b"medsec-session/v1/id-hash\0" + sid).digest()
    assert id_hash.hex() == o["id_hash"], v["name"]
    bh = None
    if i["tls_exporter"] is not None:
        bh = hashlib.sha256(b"medsec-session/v1/binding\0" + bytes.fromhex(i["tls_exporter"])).digest()
        assert bh.hex() == o["binding_hash"], v["name"]
    pt = bytes.fromhex(i["plaintext"])
    sealed = b""
    if pt:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes.fromhex(i["data_secret"]),
                   info=b"medsec-session/v1/data-key").derive(sid)
        nonce = bytes.fromhex(i["nonce"])
        sealed = nonce + AESGCMSIV(key).encrypt(nonce, pt, b"medsec-session/v1/data\0" + id_hash)
    assert sealed.hex() == o["sealed_data"], v["name"]
    user = i["user"].encode()
    body = b"MSSR" + bytes([1, i["state"]]) + struct.pack(">H", i["role_code"])
    for f in ["version", "created_at", "authenticated_at", "last_seen", "idle_timeout_ms",
              "absolute_deadline", "elevated_until"]:
        body += struct.pack(">Q", i[f])
    body += (b"\x01" + bh) if bh else (b"\x00" + bytes(32))
    body += bytes([len(user)]) + user + struct.pack(">I", len(sealed)) + sealed
    mac = hmac.new(bytes.fromhex(i["record_key"]), b"medsec-session/v1/record\0" + id_hash + body,
                   hashlib.sha256).digest()
    assert (body + mac).hex() == o["record"], v["name"]
    # The reader accepts it and gets the fields back.
    back = decode(bytes.fromhex(i["record_key"]), id_hash, body + mac)
    for f in ["state", "role_code", "version", "created_at", "authenticated_at", "last_seen",
              "idle_timeout_ms", "absolute_deadline", "elevated_until", "user"]:
        assert back[f] == i[f], (v["name"], f)
    assert back["binding_hash"] == o["binding_hash"] and back["sealed_data"] == o["sealed_data"]
    expires = min(min(i["last_seen"] + i["idle_timeout_ms"], U64), i["absolute_deadline"])
    assert expires == o["expires_at"], v["name"]
    if "expires_at_column" in o:
        assert min(expires, I64) == o["expires_at_column"], v["name"]
    else:
        assert expires <= I64, v["name"]

seen = set()
for r in doc["rejections"]:
    try:
        decode(bytes.fromhex(r["record_key"]), bytes.fromhex(r["id_hash"]), bytes.fromhex(r["record"]))
    except Reject as e:
        assert str(e) == r["rule"], (r["name"], str(e), r["rule"])
        seen.add(str(e))
    else:
        raise AssertionError("accepted: " + r["name"])
assert seen == {"length", "mac", "magic", "format-version", "state", "role", "version",
                "idle-timeout", "binding", "user-length", "user-utf8", "data-length",
                "trailing"}, seen
def binding_hash(exporter):
    # docs/session-format.md section 3: exactly 32 bytes, nothing else.
    if len(exporter) != 32:
        raise Reject("exporter-length")
    return hashlib.sha256(b"medsec-session/v1/binding\0" + exporter).digest()

for v in doc["vectors"]:
    if v["input"]["tls_exporter"] is not None:
        bh = binding_hash(bytes.fromhex(v["input"]["tls_exporter"]))
        assert bh.hex() == v["output"]["binding_hash"], v["name"]
for r in doc["binding_rejections"]:
    try:
        binding_hash(bytes.fromhex(r["tls_exporter"]))
    except Reject as e:
        assert str(e) == r["rule"], (r["name"], str(e))
    else:
        raise AssertionError("accepted: " + r["name"])
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

def decode_id(text):
    # docs/session-format.md section 1, rule by rule: length in bytes, alphabet, last symbol.
    raw = text.encode("utf-8")
    if len(raw) != 43:
        raise Reject("id-length")
    if any(b >= 128 or chr(b) not in B64URL for b in raw):
        raise Reject("id-alphabet")
    if B64URL.index(chr(raw[42])) & 3:
        raise Reject("id-non-canonical")
    return base64.urlsafe_b64decode(raw + b"=")

for v in doc["vectors"]:
    assert decode_id(v["output"]["id_text"]) == bytes.fromhex(v["input"]["id"]), v["name"]
seen = set()
for r in doc["id_text_rejections"]:
    try:
        decode_id(r["text"])
    except Reject as e:
        assert str(e) == r["rule"], (r["name"], str(e), r["rule"])
        seen.add(str(e))
    else:
        raise AssertionError("accepted: " + r["name"])
assert seen == {"id-length", "id-alphabet", "id-non-canonical"}, seen
print("python: %d session vectors, %d rejections, %d binding rejections and %d id-text "
      "rejections verified" % (len(doc["vectors"]), len(doc["rejections"]),
                               len(doc["binding_rejections"]), len(doc["id_text_rejections"])))
"#;

#[test]
fn vectors_match_an_independent_python_implementation() {
    let python = std::env::var_os("MEDSEC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
        });
    if !python.exists() {
        eprintln!(
            "\n*** SKIPPING Python cross-check: no {} (run scripts/python-env.sh) ***\n",
            python.display()
        );
        return;
    }
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(PY_CHECK)
        .arg(vectors_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
}
