//! Section 8 step 5: every entry stored in the clear header must appear in the expected context
//! with a byte-equal value, on every path that reads an envelope. The envelopes are built from
//! the specification (`spec.rs`) as a sender who knows the expected context would build them —
//! binding, wraps, header MAC and body all computed over that context — so only the comparison
//! of the stored entries fails. The same envelopes with consistent stored entries open on every
//! path (the control), so each refusal below is the rule's.

use std::io::Read;

use medsec_envelope::provider::{AeadProvider, RustCrypto};
use medsec_envelope::{
    Context, Error, Kek, KeyId, KeyState, Keyring, Limits, Opener, OpeningReader,
    RecipientSecretKey, Suite, Unwrap, UnwrapAny,
};

use crate::spec::{x25519_public, Slot, Spec};
use crate::{hpke_material, kek_material, pattern, ScriptedRng};

fn kv(k: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
    (k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

/// A well-formed envelope: stored `record-kind` and `tenant`, bound-only `patient`; slots
/// kek-a and backend-2026 (HPKE).
fn consistent(suite: Suite, chunk_size: u32) -> Spec {
    let mut s = Spec::new(
        suite,
        chunk_size,
        pattern(0xa1, 32).try_into().unwrap(),
        pattern(0xa2, 32).try_into().unwrap(),
    );
    s.stored = vec![kv("record-kind", "lab"), kv("tenant", "clinic-a")];
    s.context = vec![
        kv("patient", "p-7f3a9c"),
        kv("record-kind", "lab"),
        kv("tenant", "clinic-a"),
    ];
    let (kek_id, kek_key) = kek_material(0);
    let (hpke_id, hpke_secret) = hpke_material(0);
    s.slots = vec![
        Slot::kek(&kek_id, kek_key, pattern(0xa3, 32).try_into().unwrap()),
        Slot::hpke(
            &hpke_id,
            x25519_public(&hpke_secret),
            pattern(0xa4, 32).try_into().unwrap(),
        ),
    ];
    s.plaintext = pattern(0xa5, if chunk_size == 0 { 100 } else { 9000 });
    s
}

/// The ways a header's stored entries can disagree with the expected context.
fn inconsistent(suite: Suite, chunk_size: u32) -> Vec<(&'static str, Spec)> {
    let base = consistent(suite, chunk_size);
    let mut value_differs = base.clone();
    value_differs.context[1] = kv("record-kind", "prescription");
    let mut key_absent = base.clone();
    key_absent.context.remove(2);
    let mut contradicts = base.clone();
    contradicts.context = vec![kv("record-kind", "prescription")];
    let mut empty_value = base.clone();
    empty_value.stored[1] = kv("tenant", "");
    let mut longer_value = base;
    longer_value.stored[1] = kv("tenant", "clinic-a2");
    vec![
        ("stored value differs", value_differs),
        ("stored key absent from the expected context", key_absent),
        ("stored entries contradict the bound context", contradicts),
        ("stored value empty, expected not", empty_value),
        (
            "stored value a prefix-extension of the expected",
            longer_value,
        ),
    ]
}

fn kek_a() -> Kek {
    let (id, key) = kek_material(0);
    Kek::from_bytes(KeyId::new(&id).unwrap(), key)
}

fn backend_secret() -> RecipientSecretKey {
    let (id, secret) = hpke_material(0);
    RecipientSecretKey::from_bytes(KeyId::new(&id).unwrap(), &secret).unwrap()
}

fn context_of(entries: &[(Vec<u8>, Vec<u8>)], all_stored: bool) -> Context<'_> {
    let mut c = Context::new();
    for (k, v) in entries {
        let k = std::str::from_utf8(k).unwrap();
        c = if all_stored {
            c.with_custom_stored(k, v)
        } else {
            c.with_custom(k, v)
        }
        .unwrap();
    }
    c
}

fn rng(seed: u8) -> ScriptedRng {
    ScriptedRng {
        bytes: pattern(seed, 32),
        pos: 0,
    }
}

/// Opens `envelope` with `opener` on every reading path that applies to it: one-shot (owned and
/// in place) or streamed (the `Read` adapter and the chunk API).
fn open_every_way<P: AeadProvider>(
    opener: &Opener<'_, P>,
    envelope: &[u8],
) -> Vec<Result<Vec<u8>, Error>> {
    let one_shot = u32::from_be_bytes(envelope[8..12].try_into().unwrap()) == 0;
    if one_shot {
        let mut buf = envelope.to_vec();
        let in_place = opener.open_in_place(&mut buf).map(|p| p.to_vec());
        if in_place.is_err() {
            assert_eq!(
                buf, envelope,
                "a refused header leaves the buffer as it was"
            );
        }
        vec![opener.open(envelope).map(|p| p.to_vec()), in_place]
    } else {
        let reader = OpeningReader::new(opener, envelope)
            .and_then(|mut r| {
                let mut out = Vec::new();
                r.read_to_end(&mut out)?;
                Ok(out)
            })
            .map_err(|e| {
                *e.get_ref()
                    .and_then(|i| i.downcast_ref::<Error>())
                    .unwrap_or_else(|| panic!("not an envelope error: {e}"))
            });
        let chunks = opener.begin_stream(envelope).and_then(|(len, mut stream)| {
            let body = &envelope[len..];
            let full = stream.sealed_chunk_len();
            let (mut out, mut pos) = (Vec::new(), 0);
            while body.len() - pos >= full {
                let mut chunk = body[pos..pos + full].to_vec();
                let n = stream.open_chunk(&mut chunk)?;
                out.extend_from_slice(&chunk[..n]);
                pos += full;
            }
            let mut last = body[pos..].to_vec();
            let (n, _) = stream.open_last(&mut last)?;
            out.extend_from_slice(&last[..n]);
            Ok(out)
        });
        vec![reader, chunks]
    }
}

/// Re-wraps `envelope` three ways (keyring re-wrap, HPKE rotation, HPKE addition).
fn rewrap_every_way(opener: &Opener<'_>, envelope: &[u8]) -> Vec<Result<Vec<u8>, Error>> {
    let mut keyring = Keyring::new();
    keyring.insert(kek_a(), KeyState::DecryptOnly).unwrap();
    let (c_id, c_key) = kek_material(2);
    keyring
        .insert(
            Kek::from_bytes(KeyId::new(&c_id).unwrap(), c_key),
            KeyState::Primary,
        )
        .unwrap();
    let (new_id, new_secret) = hpke_material(3);
    let successor = RecipientSecretKey::from_bytes(KeyId::new(&new_id).unwrap(), &new_secret)
        .unwrap()
        .public_key();
    let retired = KeyId::new(&hpke_material(0).0).unwrap();
    vec![
        keyring.rewrap(opener, envelope, &mut rng(1)),
        successor.rewrap(opener, envelope, &retired, &mut rng(2)),
        successor.add_to(opener, envelope, &mut rng(3)),
    ]
}

fn check<P: AeadProvider>(provider: P, suite: Suite, chunk_size: u32) {
    let kek = kek_a();
    let secret = backend_secret();
    let both: [&dyn Unwrap; 2] = [&kek, &secret];
    let key_sets: [(&str, &dyn Unwrap); 3] = [
        ("kek-a", &kek),
        ("backend-2026", &secret),
        ("both", &UnwrapAny(&both)),
    ];
    // A firmware reader: a header limit well below the default.
    let small = Limits::DEFAULT.with_max_header_len(1024).unwrap();

    let control = consistent(suite, chunk_size);
    let envelope = control.envelope();
    for all_stored in [false, true] {
        let context = context_of(&control.context, all_stored);
        for (name, keys) in key_sets {
            for limits in [Limits::DEFAULT, small] {
                let opener = Opener::with_provider(provider, keys)
                    .context(context)
                    .limits(limits);
                for result in open_every_way(&opener, &envelope) {
                    let opened = result.unwrap_or_else(|e| panic!("control, {name}: {e:?}"));
                    assert_eq!(opened, control.plaintext, "control, {name}");
                }
            }
            for result in rewrap_every_way(&Opener::new(keys).context(context), &envelope) {
                result.unwrap_or_else(|e| panic!("control re-wrap, {name}: {e:?}"));
            }
        }
    }

    for (case, spec) in inconsistent(suite, chunk_size) {
        let envelope = spec.envelope();
        // The context the sender computed the binding over: without the rule, it opens.
        let context = context_of(&spec.context, false);
        for (name, keys) in key_sets {
            for limits in [Limits::DEFAULT, small] {
                let opener = Opener::with_provider(provider, keys)
                    .context(context)
                    .limits(limits);
                for result in open_every_way(&opener, &envelope) {
                    assert_eq!(
                        result.err(),
                        Some(Error::DidNotVerify),
                        "{case}, {name}, {suite:?}, chunk size {chunk_size}, {provider:?}"
                    );
                }
            }
            for result in rewrap_every_way(&Opener::new(keys).context(context), &envelope) {
                assert_eq!(result.err(), Some(Error::DidNotVerify), "{case}, {name}");
            }
        }
    }
}

#[test]
fn stored_entries_must_be_in_the_expected_context_on_every_path() {
    for (suite, chunk_size) in [
        (Suite::Aes256GcmSiv, 0),
        (Suite::Aes256Gcm, 0),
        (Suite::Aes256GcmSiv, 4096),
        (Suite::Aes256Gcm, 4096),
    ] {
        check(RustCrypto, suite, chunk_size);
        #[cfg(feature = "aws-lc")]
        {
            check(medsec_envelope::provider::AwsLc, suite, chunk_size);
            check(
                medsec_envelope::provider::AwsLcUnwipedHpke,
                suite,
                chunk_size,
            );
        }
    }
}
