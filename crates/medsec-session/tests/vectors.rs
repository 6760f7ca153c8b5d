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

use medsec_session::record::{decode, encode};
use medsec_session::*;
use serde_json::{json, Value};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/session-vectors.json")
}

struct Case {
    name: &'static str,
    id: [u8; 32],
    nonce: [u8; 12],
    plaintext: &'static [u8],
    exporter: Option<[u8; 32]>,
    user: &'static str,
    role: Role,
    state: StoredState,
    elevated_until: u64,
}

fn cases() -> Vec<Case> {
    let mut seq = [0u8; 32];
    for (i, b) in seq.iter_mut().enumerate() {
        *b = i as u8;
    }
    vec![
        Case {
            name: "active-with-data-bound",
            id: seq,
            nonce: [0x24; 12],
            plaintext: b"export cursor 2026-11-29T09:00Z",
            exporter: Some([0xE0; 32]),
            user: "clinician-42",
            role: Role::Clinician,
            state: StoredState::Active,
            elevated_until: 1_700_000_300_000,
        },
        Case {
            name: "established-no-data-unbound",
            id: [0xff; 32],
            nonce: [0; 12],
            plaintext: b"",
            exporter: None,
            user: "p",
            role: Role::Patient,
            state: StoredState::Established,
            elevated_until: 0,
        },
        Case {
            name: "max-user-id-utf8",
            id: [0x5a; 32],
            nonce: [0x01; 12],
            plaintext: b"\x00\x01\x02",
            exporter: None,
            user: "techn\u{00e9}cien-\u{00fc}-0000000000000000000000000000000000000000000000000",
            role: Role::Technician,
            state: StoredState::Active,
            elevated_until: 0,
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
            .seal(&id, &id_hash, c.nonce, c.plaintext, &mut out)
            .unwrap();
        out
    };
    let binding = c
        .exporter
        .map(|e| ChannelBinding::from_exporter(e).binding_hash());
    let meta = SessionMeta {
        version: 7,
        user: UserId::new(c.user).unwrap(),
        role: c.role,
        state: c.state,
        created_at: Timestamp::from_millis(1_700_000_000_000),
        authenticated_at: Timestamp::from_millis(1_700_000_000_000),
        last_seen: Timestamp::from_millis(1_700_000_123_456),
        idle_timeout_ms: 900_000,
        absolute_deadline: Timestamp::from_millis(1_700_043_200_000),
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
    json!({
        "name": c.name,
        "input": {
            "id": hex::encode(c.id),
            "data_secret": hex::encode(DATA_SECRET),
            "record_key": hex::encode(RECORD_KEY),
            "nonce": hex::encode(c.nonce),
            "plaintext": hex::encode(c.plaintext),
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
    })
}

#[test]
fn golden_vectors_match() {
    let computed = json!({
        "format": "medsec-session stored-session format v1 (docs/session-format.md)",
        "vectors": cases().iter().map(compute).collect::<Vec<_>>(),
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

const PY_CHECK: &str = r#"
import json, sys, hashlib, hmac, struct, base64
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
doc = json.load(open(sys.argv[1]))
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
    assert min(i["last_seen"] + i["idle_timeout_ms"], i["absolute_deadline"]) == o["expires_at"]
print("python: %d session vectors verified" % len(doc["vectors"]))
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
