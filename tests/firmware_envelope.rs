//! Generates and checks `examples/firmware/envelope.bin`, the envelope the Cortex-M firmware
//! example links into flash and opens without an allocator.
//!
//! The envelope is sealed deterministically (fixed KEK, fixed context, seeded ChaCha20 RNG) from
//! the constants in `examples/firmware/src/fixture.rs`, which the firmware uses too. The test
//! fails if the committed file differs from what sealing produces now; after a deliberate format
//! change, rewrite it with `MEDSEC_REGENERATE_VECTORS=1 cargo test --test firmware_envelope`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test code: fixed inputs, a failure should stop the test"
)]

use std::path::PathBuf;

use medsec_envelope::{
    Context, ContextField, Error, Kek, KeyId, Opener, Sealer, Suite, SuitePolicy,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

mod fixture {
    include!("../examples/firmware/src/fixture.rs");
}

fn bin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/firmware/envelope.bin")
}

fn regenerating() -> bool {
    std::env::var_os("MEDSEC_REGENERATE_VECTORS").is_some()
}

/// The committed envelope (a fresh seal while regenerating, so the tests need not run in order).
fn envelope() -> Vec<u8> {
    if regenerating() {
        seal()
    } else {
        std::fs::read(bin_path()).unwrap()
    }
}

fn kek() -> Kek {
    Kek::from_bytes(KeyId::new(fixture::KEK_ID).unwrap(), fixture::KEK_BYTES)
}

fn context() -> Context<'static> {
    Context::new()
        .with(ContextField::Patient, fixture::PATIENT)
        .unwrap()
        .with_stored(ContextField::RecordKind, fixture::RECORD_KIND)
        .unwrap()
}

fn seal() -> Vec<u8> {
    let kek = kek();
    let mut rng = ChaCha20Rng::from_seed(fixture::SEAL_SEED);
    Sealer::new()
        .suite(Suite::Aes256GcmSiv)
        .context(context())
        .key_wrap(&kek)
        .unwrap()
        .seal(fixture::PLAINTEXT, &mut rng)
        .unwrap()
}

#[test]
fn firmware_envelope_is_reproducible() {
    let sealed = seal();
    assert_eq!(
        sealed,
        seal(),
        "sealing with a seeded RNG must be deterministic"
    );
    let path = bin_path();
    if regenerating() {
        std::fs::write(&path, &sealed).unwrap();
    }
    let committed = std::fs::read(&path).unwrap();
    assert!(
        committed == sealed,
        "examples/firmware/envelope.bin differs from a fresh seal; after a deliberate format \
         change regenerate it with MEDSEC_REGENERATE_VECTORS=1"
    );
}

#[test]
fn firmware_envelope_opens_as_the_firmware_opens_it() {
    let kek = kek();
    let opener = Opener::new(&kek)
        .context(context())
        .policy(SuitePolicy::GCM_SIV_ONLY);
    // The committed bytes, in place and without allocation, exactly as on the device.
    let mut buf = envelope();
    assert_eq!(opener.open_in_place(&mut buf).unwrap(), fixture::PLAINTEXT);
    // The firmware's tamper check: the last bit of the tag flipped.
    let mut buf = envelope();
    *buf.last_mut().unwrap() ^= 0x01;
    assert_eq!(opener.open_in_place(&mut buf), Err(Error::DidNotVerify));
    // The patient is bound, not stored: another pseudonym does not open it, and the pseudonym's
    // bytes do not appear in the envelope.
    let other = Context::new()
        .with(ContextField::Patient, b"p-000000")
        .unwrap()
        .with_stored(ContextField::RecordKind, fixture::RECORD_KIND)
        .unwrap();
    let mut buf = envelope();
    assert!(!buf
        .windows(fixture::PATIENT.len())
        .any(|w| w == fixture::PATIENT));
    assert_eq!(
        Opener::new(&kek).context(other).open_in_place(&mut buf),
        Err(Error::DidNotVerify)
    );
}
