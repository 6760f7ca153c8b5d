//! `must_fail[]`, `must_open[]` and `recipient_public_keys[]`.
//!
//! Each must-fail envelope breaks one rule of the format. Wherever the broken rule leaves it
//! possible, everything else is valid: the builder in `spec.rs` computes the commitment, every
//! wrap, the header MAC and the body from the listed data key over the bytes as written (an
//! unsorted stored context, a ninth slot, a stray byte before the MAC...), so a reader that
//! skipped the rule would open the envelope.

use medsec_envelope::Suite;
use serde_json::{json, Value};

use crate::spec::{nonce, x25519_public, Aead, Slot, Spec};
use crate::{context_json, hpke_json, hpke_material, kek_json, kek_material, pattern};

const DID_NOT_VERIFY: &str = "did_not_verify";
const NO_MATCHING_KEY: &str = "no_matching_key";
const BOTH_SUITES: [&str; 2] = ["aes-256-gcm-siv", "aes-256-gcm"];

fn arr(v: Vec<u8>) -> [u8; 32] {
    v.try_into().unwrap()
}

fn kv(k: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
    (k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn kek_a() -> Value {
    let (id, key) = kek_material(0);
    kek_json(&id, &key)
}

fn hpke_0() -> Value {
    let (id, secret) = hpke_material(0);
    hpke_json(&id, &secret)
}

fn kek_a_slot(wrap_salt_seed: u8) -> Slot {
    let (id, key) = kek_material(0);
    Slot::kek(&id, key, arr(pattern(wrap_salt_seed, 32)))
}

fn hpke_0_slot(ikm_seed: u8) -> Slot {
    let (id, secret) = hpke_material(0);
    Slot::hpke(&id, x25519_public(&secret), arr(pattern(ikm_seed, 32)))
}

/// One-shot, AES-256-GCM-SIV, two stored entries and one bound-only, slots kek-a and
/// backend-2026.
fn base_one_shot() -> Spec {
    let mut s = Spec::new(
        Suite::Aes256GcmSiv,
        0,
        arr(pattern(0x81, 32)),
        arr(pattern(0x82, 32)),
    );
    s.stored = vec![kv("record-kind", "cgm-readings"), kv("schema-version", "3")];
    s.context = vec![
        kv("patient", "p-7f3a9c"),
        kv("record-kind", "cgm-readings"),
        kv("schema-version", "3"),
    ];
    s.slots = vec![kek_a_slot(0x83), hpke_0_slot(0x84)];
    s.plaintext = b"glucose 5.4 mmol/L at 07:30".to_vec();
    s
}

/// Streamed (4096), AES-256-GCM, one stored entry and one bound-only, slot kek-a; two full
/// chunks and a last chunk of 100 bytes, or (exact) of 0 bytes.
fn base_stream(exact: bool) -> Spec {
    let mut s = Spec::new(
        Suite::Aes256Gcm,
        4096,
        arr(pattern(0x91, 32)),
        arr(pattern(0x92, 32)),
    );
    s.stored = vec![kv("record-kind", "cgm-trace")];
    s.context = vec![kv("patient", "p-7f3a9c"), kv("record-kind", "cgm-trace")];
    s.slots = vec![kek_a_slot(0x93)];
    s.plaintext = pattern(9, 2 * 4096 + if exact { 0 } else { 100 });
    s
}

struct Vector {
    name: &'static str,
    description: &'static str,
    envelope: Vec<u8>,
    open_with: Vec<Value>,
    context: Vec<(Vec<u8>, Vec<u8>)>,
    policy: Vec<&'static str>,
    expected: &'static str,
    data_key: [u8; 32],
    plaintext: Vec<u8>,
}

impl Vector {
    /// `envelope`, opened with kek-a, the spec's whole context and both suites, does not
    /// verify.
    fn new(name: &'static str, description: &'static str, spec: &Spec, envelope: Vec<u8>) -> Self {
        Self {
            name,
            description,
            envelope,
            open_with: vec![kek_a()],
            context: spec.context.clone(),
            policy: BOTH_SUITES.to_vec(),
            expected: DID_NOT_VERIFY,
            data_key: spec.data_key,
            plaintext: spec.plaintext.clone(),
        }
    }

    /// The spec as built.
    fn built(name: &'static str, description: &'static str, spec: &Spec) -> Self {
        Self::new(name, description, spec, spec.envelope())
    }

    fn keys(mut self, keys: Vec<Value>) -> Self {
        self.open_with = keys;
        self
    }

    fn json(&self, with_expected: bool) -> Value {
        let mut v = json!({
            "name": self.name,
            "description": self.description,
            "envelope": hex::encode(&self.envelope),
            "open_with": self.open_with,
            "context": context_json(&self.context),
            "policy": self.policy,
            "data_key": hex::encode(self.data_key),
        });
        if with_expected {
            v["expected"] = json!(self.expected);
        } else {
            v["plaintext"] = json!(hex::encode(&self.plaintext));
        }
        v
    }
}

fn header_len_of(spec: &Spec) -> usize {
    spec.build().0.len()
}

#[allow(clippy::too_many_lines)]
fn must_fail_vectors() -> Vec<Vector> {
    let base = base_one_shot();
    let mut out = vec![];

    // --- context, keys, policy (a well-formed envelope opened with the wrong inputs) --------
    let mut v = Vector::built(
        "wrong-context-value",
        "the expected context's patient value differs from the sealed one",
        &base,
    );
    v.context[0] = kv("patient", "p-000000");
    out.push(v);
    let mut v = Vector::built(
        "context-missing-bound-entry",
        "the expected context omits the bound-only entry patient",
        &base,
    );
    v.context.remove(0);
    out.push(v);
    let mut v = Vector::built(
        "context-missing-stored-entry",
        "the expected context omits schema-version, an entry stored in the header: stored \
         entries must be supplied too",
        &base,
    );
    v.context.remove(2);
    out.push(v);
    let mut v = Vector::built(
        "context-extra-entry",
        "the expected context has an entry (device) that was not sealed",
        &base,
    );
    v.context.push(kv("device", "pump-0042"));
    out.push(v);
    let mut v = Vector::built(
        "suite-refused-by-policy",
        "an aes-256-gcm-siv envelope opened by a caller that accepts only aes-256-gcm",
        &base,
    );
    v.policy = vec!["aes-256-gcm"];
    out.push(v);
    let stream = base_stream(false);
    let mut v = Vector::built(
        "suite-refused-by-policy-stream",
        "an aes-256-gcm stream opened by a caller that accepts only aes-256-gcm-siv",
        &stream,
    );
    v.policy = vec!["aes-256-gcm-siv"];
    out.push(v);
    out.push(
        Vector::built(
            "wrong-kek-same-id",
            "a KEK with the slot's id but other key bytes",
            &base,
        )
        .keys(vec![kek_json(&kek_material(0).0, &arr(pattern(0x7f, 32)))]),
    );
    out.push(
        Vector::built(
            "wrong-hpke-secret-same-id",
            "an HPKE secret key with the slot's id but another key pair",
            &base,
        )
        .keys(vec![hpke_json(
            &hpke_material(0).0,
            &arr(pattern(0x3e, 32)),
        )]),
    );
    let mut v = Vector::built(
        "no-slot-for-the-keys",
        "no slot names the caller's keys (kek-z, custodian-9)",
        &base,
    )
    .keys(vec![
        kek_json(b"kek-z", &kek_material(0).1),
        hpke_json(b"custodian-9", &hpke_material(0).1),
    ]);
    v.expected = NO_MATCHING_KEY;
    out.push(v);
    let mut v = Vector::built(
        "kek-named-like-the-hpke-slot",
        "a KEK whose id is the HPKE slot's id: slots of another kind are not addressed to it",
        &base,
    )
    .keys(vec![kek_json(&hpke_material(0).0, &kek_material(0).1)]);
    v.expected = NO_MATCHING_KEY;
    out.push(v);
    let mut v = Vector::built(
        "hpke-key-named-like-the-kek-slot",
        "an HPKE secret key whose id is the KEK slot's id",
        &base,
    )
    .keys(vec![hpke_json(&kek_material(0).0, &hpke_material(0).1)]);
    v.expected = NO_MATCHING_KEY;
    out.push(v);

    // --- fixed fields and header_len ----------------------------------------------------------
    let mut s = base.clone();
    s.magic = *b"MSEW";
    out.push(Vector::built(
        "bad-magic",
        "magic MSEW; header MAC recomputed",
        &s,
    ));
    let mut s = base.clone();
    s.version = 2;
    out.push(Vector::built(
        "version-2",
        "version 0x02; header MAC recomputed",
        &s,
    ));
    let mut s = base.clone();
    s.header_len_delta = 1;
    out.push(Vector::built(
        "header-len-plus-one",
        "header_len one more than the header's length (the first body byte would be the MAC's \
         last); the MAC is computed over the header as written, header_len field included",
        &s,
    ));
    let mut s = base.clone();
    s.header_len_delta = -1;
    out.push(Vector::built(
        "header-len-minus-one",
        "header_len one less than the header's length; the MAC is computed over the header as \
         written, header_len field included",
        &s,
    ));
    let mut s = base.clone();
    s.stray = vec![0];
    out.push(Vector::built(
        "stray-byte-before-mac",
        "one zero byte between the last slot and the MAC, counted in header_len and covered by \
         the MAC: exactly 32 bytes must remain after the slots",
        &s,
    ));
    let mut s = base.clone();
    s.header_len_delta = 115 - header_len_of(&s) as i32;
    out.push(Vector::built(
        "header-len-115",
        "header_len 115, below the minimum of 116; MAC recomputed",
        &s,
    ));
    let mut s = base.clone();
    s.plaintext = pattern(0x55, 13_300);
    s.header_len_delta = 13_215 - header_len_of(&s) as i32;
    out.push(Vector::built(
        "header-len-13215",
        "header_len 13,215, above the largest valid header (the input is longer than that); \
         MAC recomputed",
        &s,
    ));
    let (header, _) = base.build();
    out.push(Vector::new(
        "header-cut-short",
        "the input ends one byte before header_len (the header's last byte and the body are \
         missing)",
        &base,
        header[..header.len() - 1].to_vec(),
    ));

    // --- preamble -----------------------------------------------------------------------------
    for (name, id, desc) in [
        (
            "unknown-suite-3",
            3u8,
            "suite_id 3; with an HPKE-only slot (the HPKE wrap does not depend on the suite) the \
             commitment and header MAC are derived with u8(3) and valid; the body is sealed \
             with aes-256-gcm-siv under that payload key",
        ),
        (
            "unknown-suite-0",
            0u8,
            "suite_id 0; built as unknown-suite-3",
        ),
    ] {
        let mut s = base.clone();
        s.suite_id = id;
        s.aead = Aead::GcmSiv;
        s.slots = vec![hpke_0_slot(0x84)];
        out.push(Vector::built(name, desc, &s).keys(vec![hpke_0()]));
    }
    let mut s = base.clone();
    s.suite_id = 2;
    s.aead = Aead::Gcm;
    let (header, _) = s.build();
    let (_, body) = base.build();
    out.push(Vector::new(
        "suite-byte-rewritten",
        "suite_id changed from 1 to 2 with the whole header recomputed for suite 2 (commitment, \
         wraps, MAC); the body is the one sealed under suite 1",
        &s,
        [header, body].concat(),
    ));
    let mut s = base_stream(false);
    s.chunk_size = 4095;
    out.push(Vector::built(
        "chunk-size-4095",
        "chunk_size 4095, below 4096; the body is a valid stream of 4095-byte chunks",
        &s,
    ));
    let mut s = base_stream(false);
    s.chunk_size = 65_537;
    s.plaintext = pattern(9, 100);
    out.push(Vector::built(
        "chunk-size-65537",
        "chunk_size 65,537, above 65,536; the body is a valid one-chunk stream",
        &s,
    ));
    let mut s = base.clone();
    s.commitment = Some({
        let mut c = s.keys().commitment;
        c[0] ^= 1;
        c
    });
    out.push(Vector::built(
        "commitment-flipped",
        "one bit of the stored commitment flipped; binding, wraps, MAC and body are computed \
         over the header as written, so only the commitment comparison fails",
        &s,
    ));

    // --- stored entries ------------------------------------------------------------------------
    let mut s = base.clone();
    s.stored.reverse();
    out.push(Vector::built(
        "stored-entries-unsorted",
        "the two stored entries written in decreasing key order",
        &s,
    ));
    let mut s = base.clone();
    s.stored = vec![
        kv("record-kind", "cgm-readings"),
        kv("record-kind", "cgm-trace"),
    ];
    s.context = vec![
        kv("patient", "p-7f3a9c"),
        kv("record-kind", "cgm-readings"),
        kv("record-kind", "cgm-trace"),
    ];
    out.push(Vector::built(
        "stored-entries-duplicate-key",
        "two stored entries with the key record-kind (the context digest is computed over both)",
        &s,
    ));
    let mut s = base.clone();
    s.stored[0] = kv("Record-kind", "cgm-readings");
    s.context[1] = kv("Record-kind", "cgm-readings");
    out.push(Vector::built(
        "stored-key-uppercase",
        "a stored key with an uppercase letter (Record-kind)",
        &s,
    ));
    let mut s = base.clone();
    s.stored.insert(0, kv("", "x"));
    s.context.insert(0, kv("", "x"));
    out.push(Vector::built(
        "stored-key-empty",
        "a stored entry with an empty key",
        &s,
    ));
    let long = "k".repeat(33);
    let mut s = base.clone();
    s.stored
        .insert(0, (long.as_bytes().to_vec(), b"x".to_vec()));
    s.context
        .insert(0, (long.as_bytes().to_vec(), b"x".to_vec()));
    out.push(Vector::built(
        "stored-key-33-bytes",
        "a stored key of 33 bytes",
        &s,
    ));
    let mut s = base.clone();
    s.stored = (0..17).map(|i| kv(&format!("e{i:02}"), "v")).collect();
    s.context = s.stored.clone();
    out.push(Vector::built(
        "stored-count-17",
        "seventeen stored entries (the context, of 17 entries, breaks section 4 too)",
        &s,
    ));

    // --- slots --------------------------------------------------------------------------------
    let mut s = base.clone();
    s.slots.clear();
    out.push(Vector::built(
        "recipient-count-0",
        "no recipient slots; MAC recomputed",
        &s,
    ));
    let mut s = base.clone();
    s.slots = (0..9)
        .map(|i| {
            let (id, key) = kek_material(i);
            Slot::kek(&id, key, arr(pattern(0xb0 + i as u8, 32)))
        })
        .collect();
    out.push(Vector::built(
        "recipient-count-9",
        "nine valid KEK slots (kek-a to kek-i), one more than the hard cap of 8",
        &s,
    ));
    let long_id = vec![b'k'; 33];
    for (name, kind, id, len, desc) in [
        (
            "slot-kind-0",
            0u8,
            &b"future-kind"[..],
            80,
            "a third slot of kind 0x00",
        ),
        (
            "slot-kind-3",
            3,
            b"future-kind",
            80,
            "a third slot of kind 0x03",
        ),
        (
            "slot-key-id-empty",
            1,
            b"",
            80,
            "a third slot, kind 0x01, with an empty key id",
        ),
        (
            "slot-key-id-33-bytes",
            1,
            &long_id,
            80,
            "a third slot, kind 0x01, with a 33-byte key id",
        ),
        (
            "kek-slot-body-empty",
            1,
            b"other-ring",
            0,
            "a third slot, kind 0x01, with an empty body",
        ),
        (
            "kek-slot-body-1025",
            1,
            b"other-ring",
            1025,
            "a third slot, kind 0x01, with a body of 1025 bytes",
        ),
        (
            "hpke-slot-body-79",
            2,
            b"custodian-9",
            79,
            "a third slot, kind 0x02, with a body of 79 bytes",
        ),
        (
            "hpke-slot-body-81",
            2,
            b"custodian-9",
            81,
            "a third slot, kind 0x02, with a body of 81 bytes",
        ),
    ] {
        let mut s = base.clone();
        s.slots.push(Slot::raw(kind, id, pattern(0xc0, len)));
        out.push(Vector::built(name, desc, &s));
    }
    let mut s = base.clone();
    s.flip_mac = true;
    out.push(Vector::built(
        "header-mac-flipped",
        "the header MAC's last bit flipped",
        &s,
    ));
    let mut s = base.clone();
    s.slots[0].tamper = Some(|b| *b.last_mut().unwrap() ^= 1);
    out.push(Vector::built(
        "kek-wrap-tag-flipped",
        "the last bit of kek-a's wrap (its AEAD tag) flipped; the MAC covers the slot as \
         written; no other slot is addressed to the caller's keys",
        &s,
    ));
    let mut s = base.clone();
    s.slots[1].tamper = Some(|b| b[..32].fill(0));
    out.push(
        Vector::built(
            "hpke-enc-small-order",
            "the HPKE slot's enc replaced by 32 zero bytes (a point of small order: the X25519 \
             shared secret is zero); MAC recomputed",
            &s,
        )
        .keys(vec![hpke_0()]),
    );
    let mut s = base.clone();
    s.slots[0] = Slot::raw(1, &kek_material(0).0, pattern(0xc1, 100));
    out.push(Vector::built(
        "held-kek-slot-of-another-length",
        "the only slot addressed to kek-a has a 100-byte body (another backend's format): the \
         slot fails, so the envelope does not verify (not: no matching key)",
        &s,
    ));

    // --- one-shot body ------------------------------------------------------------------------
    let env = base.envelope();
    out.push(Vector::new(
        "one-shot-body-truncated",
        "the last byte of the one-shot body removed",
        &base,
        env[..env.len() - 1].to_vec(),
    ));
    out.push(Vector::new(
        "one-shot-trailing-byte",
        "a zero byte appended after the one-shot body",
        &base,
        [&env[..], &[0]].concat(),
    ));
    let mut flipped = env.clone();
    let h = header_len_of(&base);
    flipped[h + 3] ^= 0x10;
    out.push(Vector::new(
        "one-shot-body-bit-flipped",
        "one bit of the one-shot ciphertext flipped",
        &base,
        flipped,
    ));
    out.push(Vector::new(
        "one-shot-no-body",
        "the header alone, no body",
        &base,
        env[..h].to_vec(),
    ));
    let mut empty = base.clone();
    empty.plaintext = vec![];
    let env = empty.envelope();
    out.push(Vector::new(
        "one-shot-body-15-bytes",
        "an empty plaintext's 16-byte body cut to 15 bytes, shorter than a tag",
        &empty,
        env[..env.len() - 1].to_vec(),
    ));

    // --- streamed body ------------------------------------------------------------------------
    let s = base_stream(false);
    let (header, _) = s.build();
    let c = s.chunks();
    assert_eq!(c.len(), 3);
    let stream_vector = |name, desc, parts: Vec<&[u8]>| {
        let mut env = header.clone();
        for p in parts {
            env.extend_from_slice(p);
        }
        Vector::new(name, desc, &s, env)
    };
    out.push(stream_vector(
        "stream-last-chunk-dropped",
        "the 116-byte last chunk removed: the stream ends after a middle chunk",
        vec![&c[0], &c[1]],
    ));
    out.push(stream_vector(
        "stream-chunks-swapped",
        "the two middle chunks swapped",
        vec![&c[1], &c[0], &c[2]],
    ));
    out.push(stream_vector(
        "stream-chunk-duplicated",
        "the first middle chunk repeated",
        vec![&c[0], &c[0], &c[1], &c[2]],
    ));
    out.push(stream_vector(
        "stream-trailing-byte",
        "a zero byte after the last chunk",
        vec![&c[0], &c[1], &c[2], &[0]],
    ));
    out.push(stream_vector(
        "stream-last-chunk-repeated",
        "the last chunk written twice",
        vec![&c[0], &c[1], &c[2], &c[2]],
    ));
    out.push(stream_vector(
        "stream-cut-inside-a-chunk",
        "the stream cut 100 bytes into the second middle chunk",
        vec![&c[0], &c[1][..100]],
    ));
    let mut bad = c[1].clone();
    bad[7] ^= 1;
    out.push(stream_vector(
        "stream-middle-chunk-bit-flipped",
        "one bit of the second middle chunk flipped",
        vec![&c[0], &bad, &c[2]],
    ));
    let keys = s.keys();
    let bind = s.binding();
    let as_middle = s.aead.seal(
        &keys.payload_key,
        &nonce(2, false),
        &bind,
        &s.plaintext[8192..],
    );
    out.push(stream_vector(
        "stream-last-chunk-sealed-as-middle",
        "the 100-byte last chunk sealed with flag 0 (nonce(2, 0)) instead of 1",
        vec![&c[0], &c[1], &as_middle],
    ));
    out.push(stream_vector(
        "stream-header-only",
        "the stream's header alone, no chunk",
        vec![],
    ));

    let s = base_stream(true);
    let (header, _) = s.build();
    let c = s.chunks();
    assert_eq!(c.len(), 3);
    assert_eq!(c[2].len(), 16);
    out.push(Vector::new(
        "stream-exact-multiple-empty-last-chunk-dropped",
        "a plaintext of exactly two chunks without its empty (16-byte) last chunk",
        &s,
        [&header[..], &c[0], &c[1]].concat(),
    ));
    let keys = s.keys();
    let bind = s.binding();
    let full_last = s.aead.seal(
        &keys.payload_key,
        &nonce(1, true),
        &bind,
        &s.plaintext[4096..],
    );
    out.push(Vector::new(
        "stream-full-size-last-chunk",
        "a plaintext of exactly two chunks whose second chunk, full size, is sealed as the last \
         (nonce(1, 1)) and no empty last chunk follows: a piece of chunk_size + 16 bytes is \
         always a middle chunk",
        &s,
        [&header[..], &c[0], &full_last].concat(),
    ));

    // --- stored entries against the expected context (section 8 step 5) -----------------------
    // Each is built exactly as a sender who knows the expected context would build it: the
    // binding (hence every wrap, the header MAC and the body) is computed over the expected
    // context, so only the comparison of the stored entries with that context fails.
    let mut s = base.clone();
    s.context[1] = kv("record-kind", "insulin-doses");
    out.push(Vector::built(
        "stored-value-differs-from-expected-context",
        "the header stores record-kind = cgm-readings; the expected context (over which the \
         binding, the wraps, the MAC and the body are computed) has record-kind = insulin-doses",
        &s,
    ));
    let mut s = base.clone();
    s.stored.push(kv("tenant", "clinic-a"));
    out.push(Vector::built(
        "stored-key-absent-from-expected-context",
        "the header stores tenant = clinic-a besides the two base entries; the expected context \
         (over which the binding is computed) has no tenant entry",
        &s,
    ));
    let mut s = base.clone();
    s.stored = vec![kv("record-kind", "lab"), kv("tenant", "A")];
    s.context = vec![kv("record-kind", "prescription")];
    out.push(Vector::built(
        "stored-entries-contradict-expected-context",
        "the header stores record-kind = lab and tenant = A; the expected context, over which \
         the binding is computed, is record-kind = prescription alone",
        &s,
    ));
    let mut s = base_stream(false);
    s.context[1] = kv("record-kind", "cgm-readings");
    out.push(Vector::built(
        "stored-value-differs-from-expected-context-stream",
        "a stream whose header stores record-kind = cgm-trace; the expected context (over which \
         the binding, the wrap, the MAC and every chunk are computed) has record-kind = \
         cgm-readings",
        &s,
    ));
    out
}

pub fn must_fail() -> Vec<Value> {
    let vectors = must_fail_vectors();
    let mut names: Vec<_> = vectors.iter().map(|v| v.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), vectors.len(), "unique names");
    vectors.iter().map(|v| v.json(true)).collect()
}

pub fn must_open() -> Vec<Value> {
    let base = base_one_shot();
    let mut out = vec![];

    let mut s = base.clone();
    s.slots.insert(0, kek_a_slot(0x85));
    s.slots[0].tamper = Some(|b| *b.last_mut().unwrap() ^= 1);
    out.push(Vector::built(
        "failed-slot-then-good-slot",
        "two slots for kek-a: the first's tag is flipped (it fails), the second unwraps; the \
         MAC covers both as written",
        &s,
    ));

    let mut s = base.clone();
    s.slots[0] = Slot::raw(1, &kek_material(0).0, pattern(0xc1, 100));
    out.push(
        Vector::built(
            "held-kek-slot-of-another-length-then-hpke",
            "a 100-byte kind 0x01 body under kek-a's id (it fails for kek-a), then an HPKE slot \
             that backend-2026 unwraps",
            &s,
        )
        .keys(vec![kek_a(), hpke_0()]),
    );

    let mut s = base.clone();
    s.slots = vec![
        Slot::kek(b"shared-id", kek_material(0).1, arr(pattern(0x86, 32))),
        Slot::hpke(
            b"shared-id",
            x25519_public(&hpke_material(0).1),
            arr(pattern(0x87, 32)),
        ),
    ];
    out.push(
        Vector::built(
            "same-id-different-kinds",
            "a KEK slot and an HPKE slot with the same id; an HPKE key of that id skips the KEK \
             slot and unwraps the HPKE slot",
            &s,
        )
        .keys(vec![hpke_json(b"shared-id", &hpke_material(0).1)]),
    );

    // Sixteen largest stored entries, seven largest foreign slots and one HPKE slot with a
    // 32-byte id: 12,270 bytes, the largest header a reader holding only standard keys can open.
    let mut s = base.clone();
    s.stored = (0..16u8)
        .map(|i| {
            let key = format!("{:x}{}", i, "-".repeat(31)).into_bytes();
            (key, pattern(0xd0 + i, 255))
        })
        .collect();
    s.context = s.stored.clone();
    let hpke_id = b"recipient-with-a-32-byte-long-id";
    assert_eq!(hpke_id.len(), 32);
    s.slots = (0..7u8)
        .map(|i| {
            Slot::raw(
                1,
                format!("foreign-backend-key-{i:012}").as_bytes(),
                pattern(0xe0 + i, 1024),
            )
        })
        .collect();
    s.slots.push(Slot::hpke(
        hpke_id,
        x25519_public(&hpke_material(0).1),
        arr(pattern(0x88, 32)),
    ));
    assert_eq!(header_len_of(&s), 12_270);
    out.push(
        Vector::built(
            "large-header-12270",
            "16 stored entries of 32-byte keys and 255-byte values, seven kind 0x01 slots of \
             other backends (32-byte ids, 1024-byte bodies) and one HPKE slot with a 32-byte id",
            &s,
        )
        .keys(vec![hpke_json(hpke_id, &hpke_material(0).1)]),
    );

    let mut s = base.clone();
    s.slots = vec![hpke_0_slot(0x84), hpke_0_slot(0x89)];
    s.slots[0].tamper = Some(|b| b[..32].fill(0));
    out.push(
        Vector::built(
            "hpke-small-order-enc-then-good-slot",
            "two slots for backend-2026: the first's enc is 32 zero bytes (the X25519 shared \
             secret is zero, so the slot does not unwrap and is skipped), the second unwraps; \
             the MAC covers both as written",
            &s,
        )
        .keys(vec![hpke_0()]),
    );

    let mut s = base.clone();
    s.stored.pop();
    out.push(Vector::built(
        "expected-entry-not-stored",
        "the expected context has schema-version = 3 bound only (the header does not store \
         it) besides patient, bound only, and record-kind, stored: an expected entry the \
         header does not store is fine",
        &s,
    ));
    out.iter().map(|v| v.json(false)).collect()
}

pub fn recipient_public_keys() -> Vec<Value> {
    let id = hex::encode(b"backend-2026");
    let good = x25519_public(&hpke_material(0).1);
    let p_plus = |k: u8| {
        // p + k, little-endian, for k < 18 (no carry out of the first byte).
        let mut b = [0xff; 32];
        b[0] = 0xed + k;
        b[31] = 0x7f;
        b
    };
    let mut p_minus_one = p_plus(0);
    p_minus_one[0] = 0xec;
    let mut base_point = [0u8; 32];
    base_point[0] = 9;
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut high_bit = good;
    high_bit[31] |= 0x80;
    let order8_a =
        hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800").unwrap();
    let order8_b =
        hex::decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157").unwrap();
    let line = |key: &[u8]| format!("medsec-recipient-public-v1 {id} {}\n", hex::encode(key));
    let cases: Vec<(&str, String, &str)> = vec![
        ("valid", line(&good), "accept"),
        (
            "valid-uppercase-hex",
            line(&good)
                .to_uppercase()
                .replace("MEDSEC-RECIPIENT-PUBLIC-V1", "medsec-recipient-public-v1"),
            "accept",
        ),
        (
            "valid-tabs-crlf-blank-line",
            format!(
                "medsec-recipient-public-v1\t{id}  \t{}\r\n\r\n",
                hex::encode(good)
            ),
            "accept",
        ),
        (
            "valid-no-newline",
            line(&good).trim_end().to_owned(),
            "accept",
        ),
        ("base-point-u-9", line(&base_point), "accept"),
        ("small-order-zero", line(&[0; 32]), "refuse"),
        ("small-order-one", line(&one), "refuse"),
        ("small-order-8-a", line(&order8_a), "refuse"),
        ("small-order-8-b", line(&order8_b), "refuse"),
        ("small-order-p-minus-one", line(&p_minus_one), "refuse"),
        ("non-canonical-p", line(&p_plus(0)), "refuse"),
        ("non-canonical-p-plus-one", line(&p_plus(1)), "refuse"),
        (
            "non-canonical-p-plus-9-encodes-the-base-point",
            line(&p_plus(9)),
            "refuse",
        ),
        (
            "non-canonical-2-pow-255-minus-1",
            line(&p_plus(18)),
            "refuse",
        ),
        ("non-canonical-bit-255-set", line(&high_bit), "refuse"),
        (
            "secret-key-label",
            line(&good).replace("public", "secret"),
            "refuse",
        ),
        (
            "missing-key-field",
            format!("medsec-recipient-public-v1 {id}\n"),
            "refuse",
        ),
        (
            "four-fields",
            format!("medsec-recipient-public-v1 {id} {} 00\n", hex::encode(good)),
            "refuse",
        ),
        ("key-31-bytes", line(&good[..31]), "refuse"),
        ("key-33-bytes", line(&[&good[..], &[0]].concat()), "refuse"),
        (
            "key-id-33-bytes",
            format!(
                "medsec-recipient-public-v1 {} {}\n",
                "6b".repeat(33),
                hex::encode(good)
            ),
            "refuse",
        ),
        (
            "odd-hex-digits",
            format!(
                "medsec-recipient-public-v1 {id} {}\n",
                &hex::encode(good)[1..]
            ),
            "refuse",
        ),
        (
            "non-hex-digit",
            format!(
                "medsec-recipient-public-v1 {id} zz{}\n",
                &hex::encode(good)[2..]
            ),
            "refuse",
        ),
    ];
    cases
        .into_iter()
        .map(|(name, line, expected)| json!({"name": name, "line": line, "expected": expected}))
        .collect()
}
