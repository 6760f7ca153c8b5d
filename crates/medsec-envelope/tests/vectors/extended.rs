//! `extended_envelopes[]` (several slots in any order, chunk sizes 5000 and 65536, empty
//! plaintexts, sixteen stored entries) and `rewraps[]` (keyring re-wrap, HPKE recipient
//! rotation and addition), each regenerated from its inputs and random bytes.

use medsec_envelope::{
    Context, Disclosure, Kek, KeyId, KeyState, Keyring, Opener, RecipientSecretKey, Sealer, Suite,
    Unwrap, UnwrapAny,
};
use serde_json::{json, Value};

use crate::spec::{Slot, Spec};
use crate::{
    hpke_json, hpke_material, intermediate, kek_json, kek_material, pattern, seal_scripted,
    ScriptedRng,
};

/// A recipient slot: KEK number `i` or HPKE recipient number `i` (see `kek_material`,
/// `hpke_material`).
#[derive(Clone, Copy, Debug)]
pub enum R {
    Kek(usize),
    Hpke(usize),
}

pub struct Case {
    pub name: &'static str,
    pub suite: Suite,
    pub chunk_size: u32,
    pub context: Vec<(String, Vec<u8>, Disclosure)>,
    pub recipients: Vec<R>,
    pub plaintext: Vec<u8>,
    /// Seed of the random bytes: `pattern(seed, 64 + 32 × slots)`.
    pub seed: u8,
}

fn entry(k: &str, v: &[u8], d: Disclosure) -> (String, Vec<u8>, Disclosure) {
    (k.to_owned(), v.to_vec(), d)
}

fn bound(k: &str, v: &[u8]) -> (String, Vec<u8>, Disclosure) {
    entry(k, v, Disclosure::BoundOnly)
}

fn stored(k: &str, v: &[u8]) -> (String, Vec<u8>, Disclosure) {
    entry(k, v, Disclosure::Stored)
}

/// Sixteen stored entries listed out of order: one-byte and 32-byte keys, every allowed
/// punctuation character, keys that are prefixes of others, empty and 255-byte values.
fn sixteen_edge_entries() -> Vec<(String, Vec<u8>, Disclosure)> {
    let keys = [
        "tenant",
        "a",
        "schema-version",
        "a-",
        "a.b",
        "a_",
        "a0",
        "device",
        "record-kind",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "patient-ref",
        "b",
        "x-1",
        "x.1",
        "x_1",
        "x1",
    ];
    let lens = [6, 0, 1, 2, 3, 4, 5, 9, 12, 255, 16, 7, 1, 1, 1, 1];
    keys.iter()
        .zip(lens)
        .enumerate()
        .map(|(i, (k, n))| stored(k, &pattern(0xa0 + i as u8, n)))
        .collect()
}

fn sixteen_clinic_entries() -> Vec<(String, Vec<u8>, Disclosure)> {
    [
        ("record-kind", "infusion-log"),
        ("device", "pump-0042"),
        ("schema-version", "4"),
        ("tenant", "clinic-9"),
        ("site", "north"),
        ("unit", "icu"),
        ("ward", "7"),
        ("bed", "12b"),
        ("shift", "night"),
        ("clinician-role", "nurse"),
        ("consent", "research-2025"),
        ("study", "s-118"),
        ("arm", "b"),
        ("visit", "3"),
        ("lot", "l-55"),
        ("fw", "2.4.1"),
    ]
    .iter()
    .map(|(k, v)| stored(k, v.as_bytes()))
    .collect()
}

pub fn cases() -> Vec<Case> {
    use R::{Hpke, Kek};
    vec![
        Case {
            name: "gcm-siv-three-keks-one-hpke",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 0,
            context: vec![
                bound("patient", b"p-7f3a9c"),
                stored("record-kind", b"insulin-doses"),
            ],
            recipients: vec![Kek(0), Kek(1), Hpke(0), Kek(2)],
            plaintext: b"bolus 4.5 U at 12:05; basal 0.8 U/h".to_vec(),
            seed: 0x01,
        },
        Case {
            name: "gcm-eight-slots-stream-4096",
            suite: Suite::Aes256Gcm,
            chunk_size: 4096,
            context: vec![bound("device", b"pump-0042")],
            recipients: vec![
                Kek(0),
                Hpke(0),
                Kek(1),
                Hpke(1),
                Kek(2),
                Hpke(2),
                Kek(3),
                Kek(4),
            ],
            plaintext: pattern(11, 5000),
            seed: 0x02,
        },
        Case {
            name: "gcm-siv-stream-65536-exact-multiple",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 65536,
            context: vec![],
            recipients: vec![Kek(0)],
            plaintext: pattern(12, 65536),
            seed: 0x03,
        },
        Case {
            name: "gcm-stream-65536-not-a-multiple",
            suite: Suite::Aes256Gcm,
            chunk_size: 65536,
            context: vec![bound("patient", b"p-7f3a9c")],
            recipients: vec![Hpke(0), Kek(0)],
            plaintext: pattern(13, 65536 + 300),
            seed: 0x04,
        },
        Case {
            name: "gcm-siv-stream-5000-exact-multiple",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 5000,
            context: vec![stored("record-kind", b"cgm-trace")],
            recipients: vec![Kek(0), Hpke(1)],
            plaintext: pattern(14, 15000),
            seed: 0x05,
        },
        Case {
            name: "gcm-stream-5000-not-a-multiple",
            suite: Suite::Aes256Gcm,
            chunk_size: 5000,
            context: vec![stored("record-kind", b"ecg-strip")],
            recipients: vec![Hpke(0)],
            plaintext: pattern(15, 12345),
            seed: 0x06,
        },
        Case {
            name: "gcm-empty-one-shot",
            suite: Suite::Aes256Gcm,
            chunk_size: 0,
            context: vec![],
            recipients: vec![Kek(0)],
            plaintext: vec![],
            seed: 0x07,
        },
        Case {
            name: "gcm-siv-empty-stream-4096",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 4096,
            context: vec![bound("patient", b"p-7f3a9c")],
            recipients: vec![Kek(0), Hpke(0)],
            plaintext: vec![],
            seed: 0x08,
        },
        Case {
            name: "gcm-empty-stream-65536",
            suite: Suite::Aes256Gcm,
            chunk_size: 65536,
            context: vec![],
            recipients: vec![Hpke(1)],
            plaintext: vec![],
            seed: 0x09,
        },
        Case {
            name: "gcm-siv-sixteen-stored-entries",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 0,
            context: sixteen_edge_entries(),
            recipients: vec![Kek(0), Hpke(0)],
            plaintext: b"sixteen stored entries".to_vec(),
            seed: 0x0a,
        },
        Case {
            name: "gcm-sixteen-stored-entries-stream-4096",
            suite: Suite::Aes256Gcm,
            chunk_size: 4096,
            context: sixteen_clinic_entries(),
            recipients: vec![Hpke(2), Kek(1)],
            plaintext: pattern(16, 4100),
            seed: 0x0b,
        },
        Case {
            name: "gcm-siv-duplicate-kek-slots",
            suite: Suite::Aes256GcmSiv,
            chunk_size: 0,
            context: vec![],
            recipients: vec![Kek(0), Kek(0)],
            plaintext: b"two slots for one key".to_vec(),
            seed: 0x0c,
        },
    ]
}

fn context_of(case: &Case) -> Context<'_> {
    let mut c = Context::new();
    for (k, v, d) in &case.context {
        c = c.insert(k, v, *d).unwrap();
    }
    c
}

/// Seals `case` with the crate; returns the envelope and the random bytes drawn. Checks that
/// the specification-level builder writes the same bytes.
pub fn seal(case: &Case) -> (Vec<u8>, Vec<u8>) {
    let keks: Vec<Kek> = case
        .recipients
        .iter()
        .filter_map(|r| match r {
            R::Kek(i) => {
                let (id, key) = kek_material(*i);
                Some(Kek::from_bytes(KeyId::new(&id).unwrap(), key))
            }
            R::Hpke(_) => None,
        })
        .collect();
    let pks: Vec<_> = case
        .recipients
        .iter()
        .filter_map(|r| match r {
            R::Hpke(i) => {
                let (id, secret) = hpke_material(*i);
                Some(
                    RecipientSecretKey::from_bytes(KeyId::new(&id).unwrap(), &secret)
                        .unwrap()
                        .public_key(),
                )
            }
            R::Kek(_) => None,
        })
        .collect();
    let mut sealer = Sealer::new().suite(case.suite).context(context_of(case));
    let (mut k, mut h) = (keks.iter(), pks.iter());
    for r in &case.recipients {
        sealer = match r {
            R::Kek(_) => sealer.key_wrap(k.next().unwrap()).unwrap(),
            R::Hpke(_) => sealer.recipient(h.next().unwrap()).unwrap(),
        };
    }
    let random = pattern(case.seed, 64 + 32 * case.recipients.len());
    let mut rng = ScriptedRng {
        bytes: random.clone(),
        pos: 0,
    };
    let envelope = seal_scripted(&sealer, case.chunk_size, &case.plaintext, &mut rng);
    assert_eq!(
        rng.pos,
        random.len(),
        "{}: every scripted byte is used",
        case.name
    );

    // The same envelope from the specification alone.
    let mut spec = Spec::new(
        case.suite,
        case.chunk_size,
        random[..32].try_into().unwrap(),
        random[32..64].try_into().unwrap(),
    );
    let mut stored: Vec<(Vec<u8>, Vec<u8>)> = case
        .context
        .iter()
        .filter(|e| e.2 == Disclosure::Stored)
        .map(|(k, v, _)| (k.as_bytes().to_vec(), v.clone()))
        .collect();
    stored.sort();
    spec.stored = stored;
    spec.context = case
        .context
        .iter()
        .map(|(k, v, _)| (k.as_bytes().to_vec(), v.clone()))
        .collect();
    spec.slots = case
        .recipients
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let rnd: [u8; 32] = random[64 + 32 * n..96 + 32 * n].try_into().unwrap();
            match r {
                R::Kek(i) => {
                    let (id, key) = kek_material(*i);
                    Slot::kek(&id, key, rnd)
                }
                R::Hpke(i) => {
                    let (id, secret) = hpke_material(*i);
                    Slot::hpke(&id, crate::spec::x25519_public(&secret), rnd)
                }
            }
        })
        .collect();
    spec.plaintext = case.plaintext.clone();
    assert!(
        spec.envelope() == envelope,
        "{}: the specification-level builder reproduces the sealer",
        case.name
    );
    (envelope, random)
}

pub fn recipient_json(r: R) -> Value {
    match r {
        R::Kek(i) => {
            let (id, key) = kek_material(i);
            kek_json(&id, &key)
        }
        R::Hpke(i) => {
            let (id, secret) = hpke_material(i);
            hpke_json(&id, &secret)
        }
    }
}

fn context_entries_json(case: &Case) -> Value {
    case.context
        .iter()
        .map(|(k, v, d)| json!({"key": k, "value": hex::encode(v), "stored": *d == Disclosure::Stored}))
        .collect()
}

pub fn envelopes() -> Vec<Value> {
    cases()
        .iter()
        .map(|case| {
            let (envelope, random) = seal(case);
            let context: Vec<(Vec<u8>, Vec<u8>)> = case
                .context
                .iter()
                .map(|(k, v, _)| (k.as_bytes().to_vec(), v.clone()))
                .collect();
            json!({
                "name": case.name,
                "suite": case.suite.name(),
                "chunk_size": case.chunk_size,
                "recipients": case.recipients.iter().map(|r| recipient_json(*r)).collect::<Vec<_>>(),
                "context": context_entries_json(case),
                "random": hex::encode(&random),
                "plaintext": hex::encode(&case.plaintext),
                "intermediate": intermediate(case.suite, &random, &context, &envelope),
                "envelope": hex::encode(&envelope),
            })
        })
        .collect()
}

// --- re-wrapping ------------------------------------------------------------------------------

pub enum Op {
    /// Keyring re-wrap with this keyring: (KEK number, state), in insertion order.
    Keyring(Vec<(usize, KeyState)>),
    /// HPKE rotation from recipient number `retired` to the successor (id, secret key).
    Rotate {
        retired: usize,
        successor_id: Vec<u8>,
        successor_secret: [u8; 32],
    },
    /// HPKE addition of recipient number `i`.
    Add(usize),
}

pub struct RewrapCase {
    pub name: &'static str,
    pub input: Case,
    pub open_with: Vec<R>,
    pub op: Op,
    /// Seed of the 32 random bytes the new slot draws.
    pub seed: u8,
}

pub fn rewrap_cases() -> Vec<RewrapCase> {
    use R::{Hpke, Kek};
    vec![
        RewrapCase {
            // kek-a (decrypt-only) and kek-b (destroyed) belong to the keyring: both of
            // kek-a's slots and kek-b's slot collapse into one kek-c (primary) slot at the
            // first one's position; the HPKE slot and kek-d (another keyring) are kept.
            name: "keyring-rewrap-replaces-collapses-drops-keeps",
            input: Case {
                name: "",
                suite: Suite::Aes256GcmSiv,
                chunk_size: 0,
                context: vec![
                    bound("patient", b"p-7f3a9c"),
                    stored("record-kind", b"cgm-readings"),
                ],
                recipients: vec![Kek(0), Hpke(0), Kek(3), Kek(1), Kek(0)],
                plaintext: b"glucose 6.1 mmol/L at 19:10".to_vec(),
                seed: 0x21,
            },
            open_with: vec![Kek(0)],
            op: Op::Keyring(vec![
                (0, KeyState::DecryptOnly),
                (1, KeyState::Destroyed),
                (2, KeyState::Primary),
            ]),
            seed: 0x22,
        },
        RewrapCase {
            // The replaced slot is not the first one; the data key is unwrapped by another
            // recipient (HPKE); a streamed body is copied through.
            name: "keyring-rewrap-stream-unwrapped-by-another-recipient",
            input: Case {
                name: "",
                suite: Suite::Aes256Gcm,
                chunk_size: 4096,
                context: vec![bound("device", b"pump-0042")],
                recipients: vec![Hpke(1), Kek(0)],
                plaintext: pattern(21, 5000),
                seed: 0x23,
            },
            open_with: vec![Hpke(1)],
            op: Op::Keyring(vec![(0, KeyState::DecryptOnly), (2, KeyState::Primary)]),
            seed: 0x24,
        },
        RewrapCase {
            // The primary's own slot is replaced too (a fresh wrap_salt).
            name: "keyring-rewrap-primary-slot-rewrapped",
            input: Case {
                name: "",
                suite: Suite::Aes256Gcm,
                chunk_size: 0,
                context: vec![],
                recipients: vec![Kek(2)],
                plaintext: b"already under the primary".to_vec(),
                seed: 0x25,
            },
            open_with: vec![Kek(2)],
            op: Op::Keyring(vec![(2, KeyState::Primary)]),
            seed: 0x26,
        },
        RewrapCase {
            name: "rotate-recipient-to-new-id",
            input: Case {
                name: "",
                suite: Suite::Aes256Gcm,
                chunk_size: 0,
                context: vec![bound("patient", b"p-7f3a9c")],
                recipients: vec![Kek(0), Hpke(0), Hpke(1)],
                plaintext: b"ecg strip 2026-03-01".to_vec(),
                seed: 0x27,
            },
            open_with: vec![Hpke(0)],
            op: Op::Rotate {
                retired: 0,
                successor_id: hpke_material(3).0,
                successor_secret: hpke_material(3).1,
            },
            seed: 0x28,
        },
        RewrapCase {
            // Two slots for the retired key collapse into one; the successor reuses the id;
            // a KEK recipient unwraps; a streamed body (exact multiple) is copied through.
            name: "rotate-recipient-same-id-duplicate-slots-stream",
            input: Case {
                name: "",
                suite: Suite::Aes256GcmSiv,
                chunk_size: 4096,
                context: vec![stored("record-kind", b"alarm-log")],
                recipients: vec![Hpke(0), Kek(0), Hpke(0)],
                plaintext: pattern(22, 4096),
                seed: 0x29,
            },
            open_with: vec![Kek(0)],
            op: Op::Rotate {
                retired: 0,
                successor_id: hpke_material(0).0,
                successor_secret: pattern(0x3f, 32).try_into().unwrap(),
            },
            seed: 0x2a,
        },
        RewrapCase {
            name: "add-recipient",
            input: Case {
                name: "",
                suite: Suite::Aes256GcmSiv,
                chunk_size: 0,
                context: vec![bound("patient", b"p-7f3a9c")],
                recipients: vec![Kek(0)],
                plaintext: b"break-glass custodian added later".to_vec(),
                seed: 0x2b,
            },
            open_with: vec![Kek(0)],
            op: Op::Add(2),
            seed: 0x2c,
        },
        RewrapCase {
            // Seven slots become eight, the most a header holds.
            name: "add-recipient-eighth-slot-stream",
            input: Case {
                name: "",
                suite: Suite::Aes256Gcm,
                chunk_size: 5000,
                context: vec![],
                recipients: vec![Kek(0), Kek(1), Hpke(0), Kek(2), Kek(3), Hpke(1), Kek(4)],
                plaintext: pattern(23, 10001),
                seed: 0x2d,
            },
            open_with: vec![Hpke(1)],
            op: Op::Add(4),
            seed: 0x2e,
        },
        RewrapCase {
            // No key of the keyring can unwrap: the input's only KEK slot is kek-a's, and
            // kek-a is a destroyed tombstone in the keyring. Only custodian-1 (HPKE) unwraps,
            // whether or not a re-wrapper also tries the keyring's own keys; kek-a's slot is
            // replaced by kek-c's (primary) at its position; a stored entry is checked.
            name: "keyring-rewrap-unwrapped-only-by-another-recipient",
            input: Case {
                name: "",
                suite: Suite::Aes256GcmSiv,
                chunk_size: 0,
                context: vec![
                    bound("patient", b"p-7f3a9c"),
                    stored("record-kind", b"cgm-readings"),
                ],
                recipients: vec![Hpke(1), Kek(0)],
                plaintext: b"re-wrapped by a custodian".to_vec(),
                seed: 0x2f,
            },
            open_with: vec![Hpke(1)],
            op: Op::Keyring(vec![(0, KeyState::Destroyed), (2, KeyState::Primary)]),
            seed: 0x30,
        },
    ]
}

fn unwrap_key(r: R) -> Box<dyn Unwrap> {
    match r {
        R::Kek(i) => {
            let (id, key) = kek_material(i);
            Box::new(Kek::from_bytes(KeyId::new(&id).unwrap(), key))
        }
        R::Hpke(i) => {
            let (id, secret) = hpke_material(i);
            Box::new(RecipientSecretKey::from_bytes(KeyId::new(&id).unwrap(), &secret).unwrap())
        }
    }
}

fn keyring_of(entries: &[(usize, KeyState)]) -> Keyring {
    let mut ring = Keyring::new();
    for (i, state) in entries {
        let (id, key) = kek_material(*i);
        let insert_state = if *state == KeyState::Destroyed {
            KeyState::DecryptOnly
        } else {
            *state
        };
        ring.insert(Kek::from_bytes(KeyId::new(&id).unwrap(), key), insert_state)
            .unwrap();
        if *state == KeyState::Destroyed {
            ring.destroy(&KeyId::new(&id).unwrap()).unwrap();
        }
    }
    ring
}

fn state_name(s: KeyState) -> &'static str {
    match s {
        KeyState::Primary => "primary",
        KeyState::DecryptOnly => "decrypt-only",
        _ => "destroyed",
    }
}

/// Runs one re-wrap with the crate; returns the input envelope, the random bytes and the output.
pub fn rewrap(case: &RewrapCase) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (input, _) = seal(&case.input);
    let keys: Vec<Box<dyn Unwrap>> = case.open_with.iter().map(|r| unwrap_key(*r)).collect();
    let refs: Vec<&dyn Unwrap> = keys.iter().map(|k| k.as_ref()).collect();
    let any = UnwrapAny(&refs);
    let opener = Opener::new(&any).context(context_of(&case.input));
    let random = pattern(case.seed, 32);
    let mut rng = ScriptedRng {
        bytes: random.clone(),
        pos: 0,
    };
    let output = match &case.op {
        Op::Keyring(entries) => keyring_of(entries).rewrap(&opener, &input, &mut rng),
        Op::Rotate {
            retired,
            successor_id,
            successor_secret,
        } => RecipientSecretKey::from_bytes(KeyId::new(successor_id).unwrap(), successor_secret)
            .unwrap()
            .public_key()
            .rewrap(
                &opener,
                &input,
                &KeyId::new(&hpke_material(*retired).0).unwrap(),
                &mut rng,
            ),
        Op::Add(i) => {
            let (id, secret) = hpke_material(*i);
            RecipientSecretKey::from_bytes(KeyId::new(&id).unwrap(), &secret)
                .unwrap()
                .public_key()
                .add_to(&opener, &input, &mut rng)
        }
    }
    .unwrap();
    assert_eq!(
        rng.pos, 32,
        "{}: a new slot draws exactly 32 bytes",
        case.name
    );
    (input, random, output)
}

pub fn rewraps() -> Vec<Value> {
    rewrap_cases()
        .iter()
        .map(|case| {
            let (input, random, output) = rewrap(case);
            let mut v = json!({
                "name": case.name,
                "suite": case.input.suite.name(),
                "chunk_size": case.input.chunk_size,
                "context": context_entries_json(&case.input),
                "input": hex::encode(&input),
                "open_with": case.open_with.iter().map(|r| recipient_json(*r)).collect::<Vec<_>>(),
                "random": hex::encode(&random),
                "output": hex::encode(&output),
                "plaintext": hex::encode(&case.input.plaintext),
            });
            match &case.op {
                Op::Keyring(entries) => {
                    v["operation"] = json!("keyring-rewrap");
                    v["keyring"] = entries
                        .iter()
                        .map(|(i, s)| {
                            let (id, key) = kek_material(*i);
                            json!({
                                "id": hex::encode(id),
                                "state": state_name(*s),
                                "key": if *s == KeyState::Destroyed { Value::Null } else { json!(hex::encode(key)) },
                            })
                        })
                        .collect();
                }
                Op::Rotate {
                    retired,
                    successor_id,
                    successor_secret,
                } => {
                    v["operation"] = json!("rotate-recipient");
                    v["retired_id"] = json!(hex::encode(hpke_material(*retired).0));
                    v["successor"] = hpke_json(successor_id, successor_secret);
                }
                Op::Add(i) => {
                    let (id, secret) = hpke_material(*i);
                    v["operation"] = json!("add-recipient");
                    v["new_recipient"] = hpke_json(&id, &secret);
                }
            }
            v
        })
        .collect()
}
