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

#[path = "vectors/extended.rs"]
mod extended;
#[path = "vectors/must_fail.rs"]
mod must_fail;
#[path = "vectors/spec.rs"]
mod spec;
#[path = "vectors/stored_context.rs"]
mod stored_context;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use medsec_envelope::{
    Context, Disclosure, Kek, KeyId, KeyState, Keyring, Opener, OpeningReader, RecipientSecretKey,
    Sealer, Suite, SuitePolicy, Unwrap, UnwrapAny,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Replays a fixed byte sequence as the random generator.
pub(crate) struct ScriptedRng {
    pub(crate) bytes: Vec<u8>,
    pub(crate) pos: usize,
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

pub(crate) fn pattern(seed: u8, n: usize) -> Vec<u8> {
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

    let envelope = seal_scripted(&sealer, case.chunk_size, &case.plaintext, &mut rng);
    assert_eq!(rng.pos, random.len(), "every scripted byte is used");
    let context: Vec<(Vec<u8>, Vec<u8>)> = case
        .context
        .iter()
        .map(|(k, v, _)| (k.as_bytes().to_vec(), v.to_vec()))
        .collect();
    let intermediate = intermediate(case.suite, &random, &context, &envelope);

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
        "intermediate": intermediate,
        "envelope": hex::encode(&envelope),
    })
}

/// Seals `plaintext` one-shot (`chunk_size` 0) or streamed, drawing from `rng`.
pub(crate) fn seal_scripted(
    sealer: &Sealer<'_>,
    chunk_size: u32,
    plaintext: &[u8],
    rng: &mut ScriptedRng,
) -> Vec<u8> {
    if chunk_size == 0 {
        return sealer.seal(plaintext, rng).unwrap();
    }
    let mut out = vec![0u8; sealer.header_len().unwrap()];
    let mut stream = sealer.begin_stream(chunk_size, &mut out, rng).unwrap();
    let cs = chunk_size as usize;
    let full = plaintext.len() / cs;
    for i in 0..full {
        let mut chunk = plaintext[i * cs..(i + 1) * cs].to_vec();
        let tag = stream.seal_chunk(&mut chunk).unwrap();
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&tag);
    }
    let mut last = plaintext[full * cs..].to_vec();
    let tag = stream.seal_last(&mut last).unwrap();
    out.extend_from_slice(&last);
    out.extend_from_slice(&tag);
    out
}

/// The `intermediate` object: every derived value, computed straight from the specification
/// with the primitives alone, and checked against the envelope's commitment and header MAC.
pub(crate) fn intermediate(
    suite: Suite,
    random: &[u8],
    context: &[(Vec<u8>, Vec<u8>)],
    envelope: &[u8],
) -> Value {
    let data_key = &random[..32];
    let salt = &random[32..64];
    let suite_id = [suite.id()];
    let hk = Hkdf::<Sha256>::new(Some(salt), data_key);
    let expand = |label: &[u8]| {
        let mut okm = [0u8; 32];
        hk.expand_multi_info(&[label, &suite_id], &mut okm).unwrap();
        okm
    };
    let payload_key = expand(b"medsec-envelope-v1/payload-key");
    let commitment = expand(b"medsec-envelope-v1/commitment");
    let header_mac_key = expand(b"medsec-envelope-v1/header-mac");
    let mut sorted = context.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canon = b"medsec-envelope-v1/context".to_vec();
    canon.push(sorted.len() as u8);
    for (k, v) in &sorted {
        canon.push(k.len() as u8);
        canon.extend_from_slice(k);
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
        "data_key": hex::encode(data_key),
        "salt": hex::encode(salt),
        "payload_key": hex::encode(payload_key),
        "commitment": hex::encode(commitment),
        "header_mac_key": hex::encode(header_mac_key),
        "context_digest": hex::encode(context_digest),
        "binding": hex::encode(binding),
        "header_len": header_len,
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

// --- material and helpers shared by the extended, re-wrap and must-fail vectors ---------------

/// KEK number `i` of the newer vectors: id `kek-a`, `kek-b`, ... (ASCII), key `pattern(0x70 + i)`.
pub(crate) fn kek_material(i: usize) -> (Vec<u8>, [u8; 32]) {
    (
        format!("kek-{}", (b'a' + i as u8) as char).into_bytes(),
        pattern(0x70 + i as u8, 32).try_into().unwrap(),
    )
}

/// HPKE recipient number `i` of the newer vectors: its id and secret key `pattern(0x30 + i)`
/// (recipient 0 is the `backend-2026` key of `envelopes[]`).
pub(crate) fn hpke_material(i: usize) -> (Vec<u8>, [u8; 32]) {
    const IDS: [&str; 5] = [
        "backend-2026",
        "custodian-1",
        "custodian-2",
        "backend-2027",
        "custodian-3",
    ];
    (
        IDS[i].as_bytes().to_vec(),
        pattern(0x30 + i as u8, 32).try_into().unwrap(),
    )
}

pub(crate) fn kek_json(id: &[u8], key: &[u8; 32]) -> Value {
    json!({"kind": "kek", "id": hex::encode(id), "key": hex::encode(key)})
}

pub(crate) fn hpke_json(id: &[u8], secret: &[u8; 32]) -> Value {
    let sk = RecipientSecretKey::from_bytes(KeyId::new(id).unwrap(), secret).unwrap();
    let public = sk.public_key().to_bytes();
    assert_eq!(
        public,
        spec::x25519_public(secret),
        "X25519 public key per RFC 7748"
    );
    json!({
        "kind": "hpke",
        "id": hex::encode(id),
        "secret_key": hex::encode(secret),
        "public_key": hex::encode(public),
    })
}

/// `[{key, value}]` of an expected context.
pub(crate) fn context_json(entries: &[(Vec<u8>, Vec<u8>)]) -> Value {
    entries
        .iter()
        .map(|(k, v)| json!({"key": std::str::from_utf8(k).unwrap(), "value": hex::encode(v)}))
        .collect()
}

pub(crate) fn hex_field(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap_or_else(|| panic!("{field}"))).unwrap()
}

/// The keys of an `open_with` (or `recipients`) list.
pub(crate) fn load_keys(list: &Value) -> Vec<Box<dyn Unwrap>> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| -> Box<dyn Unwrap> {
            let id = KeyId::new(&hex_field(k, "id")).unwrap();
            match k["kind"].as_str().unwrap() {
                "kek" => Box::new(Kek::from_bytes(id, hex_field(k, "key").try_into().unwrap())),
                "hpke" => {
                    let secret: [u8; 32] = hex_field(k, "secret_key").try_into().unwrap();
                    let sk = RecipientSecretKey::from_bytes(id, &secret).unwrap();
                    assert_eq!(
                        sk.public_key().to_bytes().to_vec(),
                        hex_field(k, "public_key")
                    );
                    Box::new(sk)
                }
                other => panic!("key kind {other}"),
            }
        })
        .collect()
}

/// The entries of a `context` list (key as text, value from hex).
pub(crate) fn load_context(list: &Value) -> Vec<(String, Vec<u8>)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| (e["key"].as_str().unwrap().to_owned(), hex_field(e, "value")))
        .collect()
}

pub(crate) fn load_policy(v: &Value) -> SuitePolicy {
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    match names.as_slice() {
        ["aes-256-gcm-siv", "aes-256-gcm"] | ["aes-256-gcm", "aes-256-gcm-siv"] => SuitePolicy::ALL,
        ["aes-256-gcm"] => SuitePolicy::APPROVED_ONLY,
        ["aes-256-gcm-siv"] => SuitePolicy::GCM_SIV_ONLY,
        other => panic!("policy {other:?}"),
    }
}

/// Opens `envelope` as a reader would: one-shot when the header's `chunk_size` field is 0
/// (with both `open` and `open_in_place`, which must agree), else as a stream read to its end.
/// The context entries that the `Context` type refuses (a 17th entry, a malformed key, a
/// duplicate key) are left out; the second value says whether any was.
pub(crate) fn open_vector(
    envelope: &[u8],
    keys: &[Box<dyn Unwrap>],
    context: &[(String, Vec<u8>)],
    policy: SuitePolicy,
) -> (Result<Vec<u8>, medsec_envelope::Error>, bool) {
    let refs: Vec<&dyn Unwrap> = keys.iter().map(|k| k.as_ref()).collect();
    let any = UnwrapAny(&refs);
    let mut ctx = Context::new();
    let mut complete = true;
    for (k, v) in context {
        match ctx.with_custom(k, v) {
            Ok(c) => ctx = c,
            Err(_) => complete = false,
        }
    }
    let opener = Opener::new(&any).context(ctx).policy(policy);
    let chunk_size = envelope
        .get(8..12)
        .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()));
    let result = if chunk_size == 0 {
        let owned = opener.open(envelope).map(|p| p.to_vec());
        let mut buf = envelope.to_vec();
        let in_place = opener.open_in_place(&mut buf).map(|p| p.to_vec());
        assert_eq!(owned, in_place, "open and open_in_place agree");
        owned
    } else {
        use std::io::Read;
        let from_io = |e: std::io::Error| {
            *e.get_ref()
                .and_then(|i| i.downcast_ref::<medsec_envelope::Error>())
                .unwrap_or_else(|| panic!("not an envelope error: {e}"))
        };
        OpeningReader::new(&opener, envelope)
            .map_err(from_io)
            .and_then(|mut r| {
                let mut out = Vec::new();
                r.read_to_end(&mut out).map_err(from_io)?;
                Ok(out)
            })
    };
    (result, complete)
}

pub(crate) fn stored_vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap()
}

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/envelope-vectors.json")
}

fn generate_all() -> Value {
    json!({
        "format": "medsec envelope v1 known-answer vectors; see docs/envelope-format.md",
        "envelopes": cases().iter().map(generate).collect::<Vec<_>>(),
        "keyrings": [keyring_vector()],
        "extended_envelopes": extended::envelopes(),
        "rewraps": extended::rewraps(),
        "must_fail": must_fail::must_fail(),
        "must_open": must_fail::must_open(),
        "recipient_public_keys": must_fail::recipient_public_keys(),
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
        let mut keys: Vec<Box<dyn Unwrap>> = Vec::new();
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
                OpeningReader::new(&opener, &envelope[..])
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

#[test]
fn extended_vectors_open_with_each_recipient() {
    let stored = stored_vectors();
    let vectors = stored["extended_envelopes"].as_array().unwrap();
    assert!(vectors.len() >= 12);
    for v in vectors {
        let envelope = hex_field(v, "envelope");
        let context = load_context(&v["context"]);
        let recipients = v["recipients"].as_array().unwrap();
        assert_eq!(
            envelope[77 + header_stored_len(&envelope)] as usize,
            recipients.len(),
            "{}: one slot per listed recipient",
            v["name"]
        );
        for r in recipients {
            let keys = load_keys(&json!([r]));
            let (opened, complete) = open_vector(&envelope, &keys, &context, SuitePolicy::ALL);
            assert!(complete);
            assert_eq!(
                opened.unwrap(),
                hex_field(v, "plaintext"),
                "{} with {}",
                v["name"],
                r["id"]
            );
        }
    }
}

/// Bytes of the stored entries of a well-formed header.
fn header_stored_len(envelope: &[u8]) -> usize {
    let mut pos = 77;
    for _ in 0..envelope[76] {
        pos += 1 + envelope[pos] as usize;
        pos += 1 + envelope[pos] as usize;
    }
    pos - 77
}

#[test]
fn rewrap_vectors_open_and_keep_the_body() {
    let stored = stored_vectors();
    let vectors = stored["rewraps"].as_array().unwrap();
    assert!(vectors.len() >= 7);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let input = hex_field(v, "input");
        let output = hex_field(v, "output");
        let plaintext = hex_field(v, "plaintext");
        let context = load_context(&v["context"]);
        let open_with = load_keys(&v["open_with"]);
        let open = |env: &[u8], keys: &[Box<dyn Unwrap>]| {
            open_vector(env, keys, &context, SuitePolicy::ALL).0
        };
        assert_eq!(open(&input, &open_with).unwrap(), plaintext, "{name} input");
        // Same preamble and body; only header_len, the slots and the MAC differ.
        let (hi, ho) = (
            u16::from_be_bytes([input[5], input[6]]) as usize,
            u16::from_be_bytes([output[5], output[6]]) as usize,
        );
        let pre = 77 + header_stored_len(&input);
        assert_eq!(input[..5], output[..5], "{name}");
        assert_eq!(input[7..pre], output[7..pre], "{name}");
        assert_eq!(input[hi..], output[ho..], "{name}: body copied through");
        let new_keys: Vec<Box<dyn Unwrap>> = match v["operation"].as_str().unwrap() {
            "keyring-rewrap" => {
                let primary = v["keyring"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|k| k["state"] == "primary")
                    .unwrap();
                let mut k = primary.clone();
                k["kind"] = json!("kek");
                load_keys(&json!([k]))
            }
            "rotate-recipient" => {
                let retired_id = hex_field(v, "retired_id");
                if retired_id != hex_field(&v["successor"], "id") {
                    let retired: Vec<_> = v["open_with"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|k| k["kind"] == "hpke" && hex_field(k, "id") == retired_id)
                        .cloned()
                        .collect();
                    if !retired.is_empty() {
                        assert_eq!(
                            open(&output, &load_keys(&json!(retired))),
                            Err(medsec_envelope::Error::NoMatchingKey),
                            "{name}: the retired key has no slot left"
                        );
                    }
                }
                load_keys(&json!([v["successor"]]))
            }
            "add-recipient" => load_keys(&json!([v["new_recipient"]])),
            other => panic!("{other}"),
        };
        assert_eq!(
            open(&output, &new_keys).unwrap(),
            plaintext,
            "{name} new key"
        );
    }
}

#[test]
fn must_fail_vectors_fail_with_their_class() {
    let stored = stored_vectors();
    let vectors = stored["must_fail"].as_array().unwrap();
    assert!(vectors.len() >= 50);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let envelope = hex_field(v, "envelope");
        let keys = load_keys(&v["open_with"]);
        let context = load_context(&v["context"]);
        let (result, complete) = open_vector(&envelope, &keys, &context, load_policy(&v["policy"]));
        let class = match result {
            Ok(_) => panic!("{name}: opened"),
            Err(medsec_envelope::Error::DidNotVerify) => "did_not_verify",
            Err(medsec_envelope::Error::NoMatchingKey) => "no_matching_key",
            Err(e) => panic!("{name}: {e:?}"),
        };
        assert_eq!(class, v["expected"], "{name}");
        if !complete {
            // The expected context itself breaks section 4, so the `Context` type refused
            // part of it: the header must be refused on its own as well.
            assert!(
                medsec_envelope::HeaderView::parse(&envelope, &medsec_envelope::Limits::default())
                    .is_err(),
                "{name}: header refused"
            );
        }
    }
}

#[test]
fn must_open_vectors_open() {
    let stored = stored_vectors();
    let vectors = stored["must_open"].as_array().unwrap();
    assert!(vectors.len() >= 4);
    for v in vectors {
        let (opened, complete) = open_vector(
            &hex_field(v, "envelope"),
            &load_keys(&v["open_with"]),
            &load_context(&v["context"]),
            load_policy(&v["policy"]),
        );
        assert!(complete);
        assert_eq!(opened.unwrap(), hex_field(v, "plaintext"), "{}", v["name"]);
    }
}

/// A recipient public key file read as section 10.2 says (the CLI's reader does the same):
/// split on ASCII whitespace into exactly label, id and key, hex in either case, then
/// `RecipientPublicKey::from_bytes`, which refuses non-canonical and small-order keys.
fn read_public_key_line(line: &str) -> Option<medsec_envelope::RecipientPublicKey> {
    let mut parts = line.split_ascii_whitespace();
    if parts.next()? != "medsec-recipient-public-v1" {
        return None;
    }
    let id = KeyId::new(&hex::decode(parts.next()?).ok()?).ok()?;
    let key: [u8; 32] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
    if parts.next().is_some() {
        return None;
    }
    medsec_envelope::RecipientPublicKey::from_bytes(id, &key).ok()
}

#[test]
fn recipient_public_key_lines() {
    let stored = stored_vectors();
    let vectors = stored["recipient_public_keys"].as_array().unwrap();
    assert!(vectors.len() >= 20);
    for v in vectors {
        let accepted = read_public_key_line(v["line"].as_str().unwrap()).is_some();
        assert_eq!(
            if accepted { "accept" } else { "refuse" },
            v["expected"],
            "{}",
            v["name"]
        );
    }
}
