//! Golden known-answer vectors for the envelope format (`tests/data/envelope-vectors.json` at
//! the workspace root). The test regenerates every vector from its inputs and compares; set
//! `MEDSEC_REGENERATE_VECTORS=1` to rewrite the file after a deliberate format change.
//!
//! Each vector lists the exact bytes drawn from the random generator, in order (data key, salt,
//! then 32 bytes per recipient slot: the wrap salt of a KEK slot or the HPKE ephemeral `ikmE`),
//! so an independent implementation can reproduce the envelope byte for byte. Intermediate
//! values are computed here a second time, straight from the specification, with the
//! primitives alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use std::path::PathBuf;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use medsec_envelope::{
    Context, Disclosure, Kek, KeyId, KeyState, Keyring, Opener, RecipientSecretKey, Sealer, Suite,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Replays a fixed byte sequence as the random generator.
struct ScriptedRng {
    bytes: Vec<u8>,
    pos: usize,
}

impl rand_core::TryRng for ScriptedRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        let end = self.pos + dst.len();
        assert!(
            end <= self.bytes.len(),
            "vector ran out of scripted randomness"
        );
        dst.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
        Ok(())
    }
}
impl rand_core::TryCryptoRng for ScriptedRng {}

fn pattern(seed: u8, n: usize) -> Vec<u8> {
    // Deterministic, obviously-not-secret filler so vectors are easy to read.
    (0..n)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

struct Case {
    name: &'static str,
    suite: Suite,
    chunk_size: u32,
    context: Vec<(&'static str, &'static [u8], Disclosure)>,
    hpke: bool,
    plaintext: Vec<u8>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "gcm-siv-kek-empty",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 0,
            context: vec![],
            hpke: false,
            plaintext: vec![],
        },
        Case {
            name: "gcm-siv-kek-context",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 0,
            context: vec![
                ("patient", b"p-7f3a9c", Disclosure::BoundOnly),
                ("record-kind", b"cgm-readings", Disclosure::Stored),
                ("schema-version", b"3", Disclosure::Stored),
            ],
            hpke: false,
            plaintext: b"glucose 5.4 mmol/L at 07:30".to_vec(),
        },
        Case {
            name: "gcm-kek-and-hpke",
            suite: Suite::Aes256Gcm,
            chunk_size: 0,
            context: vec![
                ("device", b"pump-0042", Disclosure::BoundOnly),
                ("patient", b"p-7f3a9c", Disclosure::BoundOnly),
            ],
            hpke: true,
            plaintext: pattern(3, 100),
        },
        Case {
            name: "gcm-siv-hpke-only",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 0,
            context: vec![("record-kind", b"alarm-log", Disclosure::Stored)],
            hpke: true,
            plaintext: b"occlusion alarm".to_vec(),
        },
        Case {
            name: "gcm-siv-stream-4096",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 4096,
            context: vec![("patient", b"p-7f3a9c", Disclosure::BoundOnly)],
            hpke: false,
            plaintext: pattern(5, 4096 + 10),
        },
        Case {
            name: "gcm-stream-exact-multiple",
            suite: Suite::Aes256Gcm,
            chunk_size: 4096,
            context: vec![],
            hpke: true,
            plaintext: pattern(6, 8192),
        },
    ]
}

fn build_context<'a>(entries: &'a [(&'static str, &'static [u8], Disclosure)]) -> Context<'a> {
    let mut c = Context::new();
    for (k, v, d) in entries {
        c = c.insert(k, v, *d).unwrap();
    }
    c
}

fn generate(case: &Case) -> Value {
    let kek_key: [u8; 32] = pattern(0x10, 32).try_into().unwrap();
    let kek_id = pattern(0x20, 16);
    let kek = Kek::from_bytes(KeyId::new(&kek_id).unwrap(), kek_key);
    let hpke_sk_bytes: [u8; 32] = pattern(0x30, 32).try_into().unwrap();
    let hpke_sk =
        RecipientSecretKey::from_bytes(KeyId::new(b"backend-2026").unwrap(), &hpke_sk_bytes)
            .unwrap();
    let hpke_pk = hpke_sk.public_key();
    let context = build_context(&case.context);

    let only_hpke = case.name.contains("hpke-only");
    let mut sealer = Sealer::new().suite(case.suite).context(context);
    if !only_hpke {
        sealer = sealer.key_wrap(&kek).unwrap();
    }
    if case.hpke {
        sealer = sealer.recipient(&hpke_pk).unwrap();
    }
    let slots = usize::from(!only_hpke) + usize::from(case.hpke);
    let random = pattern(0x40 + case.name.len() as u8, 64 + 32 * slots);
    let mut rng = ScriptedRng {
        bytes: random.clone(),
        pos: 0,
    };

    let envelope = if case.chunk_size == 0 {
        sealer.seal(&case.plaintext, &mut rng).unwrap()
    } else {
        let mut out = vec![0u8; sealer.header_len().unwrap()];
        let mut stream = sealer
            .begin_stream(case.chunk_size, &mut out, &mut rng)
            .unwrap();
        let cs = case.chunk_size as usize;
        let full = case.plaintext.len() / cs;
        for i in 0..full {
            let mut chunk = case.plaintext[i * cs..(i + 1) * cs].to_vec();
            let tag = stream.seal_chunk(&mut chunk).unwrap();
            out.extend_from_slice(&chunk);
            out.extend_from_slice(&tag);
        }
        let mut last = case.plaintext[full * cs..].to_vec();
        let tag = stream.seal_last(&mut last).unwrap();
        out.extend_from_slice(&last);
        out.extend_from_slice(&tag);
        out
    };
    assert_eq!(rng.pos, random.len(), "every scripted byte is used");

    // Intermediate values straight from the specification.
    let data_key = &random[..32];
    let salt = &random[32..64];
    let suite_id = [case.suite.id()];
    let hk = Hkdf::<Sha256>::new(Some(salt), data_key);
    let expand = |label: &[u8]| {
        let mut okm = [0u8; 32];
        hk.expand_multi_info(&[label, &suite_id], &mut okm).unwrap();
        okm
    };
    let payload_key = expand(b"medsec-envelope-v1/payload-key");
    let commitment = expand(b"medsec-envelope-v1/commitment");
    let header_mac_key = expand(b"medsec-envelope-v1/header-mac");
    let mut sorted = case.context.clone();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut canon = b"medsec-envelope-v1/context".to_vec();
    canon.push(sorted.len() as u8);
    for (k, v, _) in &sorted {
        canon.push(k.len() as u8);
        canon.extend_from_slice(k.as_bytes());
        canon.push(v.len() as u8);
        canon.extend_from_slice(v);
    }
    let context_digest = Sha256::digest(&canon);
    let header_len = u16::from_be_bytes([envelope[5], envelope[6]]) as usize;
    let mut pos = 77;
    for _ in 0..envelope[76] {
        pos += 1 + envelope[pos] as usize;
        pos += 1 + envelope[pos] as usize;
    }
    let preamble = &envelope[7..pos];
    let mut b = Sha256::new();
    b.update(b"medsec-envelope-v1/binding");
    b.update(preamble);
    b.update(context_digest);
    let binding = b.finalize();
    assert_eq!(&envelope[44..76], &commitment, "commitment per spec");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&header_mac_key).unwrap();
    mac.update(&envelope[..header_len - 32]);
    assert_eq!(
        &envelope[header_len - 32..header_len],
        &mac.finalize().into_bytes()[..],
        "header MAC per spec"
    );

    json!({
        "name": case.name,
        "suite": case.suite.name(),
        "chunk_size": case.chunk_size,
        "kek": if only_hpke { Value::Null } else { json!({"id": hex::encode(&kek_id), "key": hex::encode(kek_key)}) },
        "hpke_recipient": if case.hpke {
            json!({"id": hex::encode(b"backend-2026"), "secret_key": hex::encode(hpke_sk_bytes), "public_key": hex::encode(hpke_pk.to_bytes())})
        } else { Value::Null },
        "context": case.context.iter().map(|(k, v, d)| json!({
            "key": k, "value": hex::encode(v), "stored": *d == Disclosure::Stored
        })).collect::<Vec<_>>(),
        "random": hex::encode(&random),
        "plaintext": hex::encode(&case.plaintext),
        "intermediate": {
            "data_key": hex::encode(data_key),
            "salt": hex::encode(salt),
            "payload_key": hex::encode(payload_key),
            "commitment": hex::encode(commitment),
            "header_mac_key": hex::encode(header_mac_key),
            "context_digest": hex::encode(context_digest),
            "binding": hex::encode(binding),
            "header_len": header_len,
        },
        "envelope": hex::encode(&envelope),
    })
}

fn keyring_vector() -> Value {
    let mut keyring = Keyring::new();
    let ids = [pattern(0x50, 16), pattern(0x51, 16), pattern(0x52, 8)];
    keyring
        .insert(
            Kek::from_bytes(
                KeyId::new(&ids[0]).unwrap(),
                pattern(0x60, 32).try_into().unwrap(),
            ),
            KeyState::DecryptOnly,
        )
        .unwrap();
    keyring
        .insert(
            Kek::from_bytes(
                KeyId::new(&ids[1]).unwrap(),
                pattern(0x61, 32).try_into().unwrap(),
            ),
            KeyState::Primary,
        )
        .unwrap();
    keyring
        .insert(
            Kek::from_bytes(
                KeyId::new(&ids[2]).unwrap(),
                pattern(0x62, 32).try_into().unwrap(),
            ),
            KeyState::DecryptOnly,
        )
        .unwrap();
    keyring.destroy(&KeyId::new(&ids[2]).unwrap()).unwrap();
    json!({
        "name": "keyring-three-states",
        "keys": [
            {"id": hex::encode(&ids[0]), "state": "decrypt-only", "key": hex::encode(pattern(0x60, 32))},
            {"id": hex::encode(&ids[1]), "state": "primary", "key": hex::encode(pattern(0x61, 32))},
            {"id": hex::encode(&ids[2]), "state": "destroyed", "key": Value::Null},
        ],
        "file": hex::encode(&keyring.to_bytes()[..]),
    })
}

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/envelope-vectors.json")
}

fn generate_all() -> Value {
    json!({
        "format": "medsec envelope v1 known-answer vectors; see docs/envelope-format.md",
        "envelopes": cases().iter().map(generate).collect::<Vec<_>>(),
        "keyrings": [keyring_vector()],
    })
}

#[test]
fn golden_vectors_match() {
    let generated = generate_all();
    let path = vectors_path();
    if std::env::var_os("MEDSEC_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        stored, generated,
        "format changed: regenerate deliberately with MEDSEC_REGENERATE_VECTORS=1"
    );
}

#[test]
fn stored_vectors_open_with_their_keys() {
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    for v in stored["envelopes"].as_array().unwrap() {
        let envelope = hex::decode(v["envelope"].as_str().unwrap()).unwrap();
        let plaintext = hex::decode(v["plaintext"].as_str().unwrap()).unwrap();
        let entries: Vec<(String, Vec<u8>)> = v["context"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["key"].as_str().unwrap().to_owned(),
                    hex::decode(e["value"].as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        let mut ctx = Context::new();
        for (k, val) in &entries {
            ctx = ctx.with_custom(k, val).unwrap();
        }
        let mut keys: Vec<Box<dyn medsec_envelope::Unwrap>> = Vec::new();
        if !v["kek"].is_null() {
            let id = hex::decode(v["kek"]["id"].as_str().unwrap()).unwrap();
            let key: [u8; 32] = hex::decode(v["kek"]["key"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            keys.push(Box::new(Kek::from_bytes(KeyId::new(&id).unwrap(), key)));
        }
        if !v["hpke_recipient"].is_null() {
            let id = hex::decode(v["hpke_recipient"]["id"].as_str().unwrap()).unwrap();
            let sk: [u8; 32] = hex::decode(v["hpke_recipient"]["secret_key"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            keys.push(Box::new(
                RecipientSecretKey::from_bytes(KeyId::new(&id).unwrap(), &sk).unwrap(),
            ));
        }
        for key in &keys {
            let opener = Opener::new(key.as_ref()).context(ctx);
            let opened = if v["chunk_size"].as_u64().unwrap() == 0 {
                opener.open(&envelope).unwrap().to_vec()
            } else {
                use std::io::Read;
                let mut out = Vec::new();
                medsec_envelope::OpeningReader::new(&opener, &envelope[..])
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
                out
            };
            assert_eq!(opened, plaintext, "{}", v["name"]);
        }
    }
    let k = &stored["keyrings"][0];
    let keyring = Keyring::from_bytes(&hex::decode(k["file"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(keyring.keys().count(), 3);
}
