// The demo envelope's inputs, shared by the firmware (`src/main.rs`) and the host test that
// generates and checks `envelope.bin` (`tests/firmware_envelope.rs` in the workspace root, which
// `include!`s this file). Plain constants only, so it compiles in both.
//
// DEMO KEY MATERIAL, PUBLISHED HERE: never provision it in a product. A real device gets its KEK
// from a secure element (or keeps it there and unwraps through `medsec_envelope::KeyWrap`).

/// The KEK's id, as written in the envelope's recipient slot.
pub const KEK_ID: &[u8] = b"device-kek-2026-01";
/// The KEK (AES-256) itself.
pub const KEK_BYTES: [u8; 32] = [
    0x6d, 0x65, 0x64, 0x73, 0x65, 0x63, 0x2d, 0x66, 0x69, 0x72, 0x6d, 0x77, 0x61, 0x72, 0x65, 0x2d,
    0x64, 0x65, 0x6d, 0x6f, 0x2d, 0x6b, 0x65, 0x6b, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
];
/// Patient pseudonym: bound into the envelope, not stored in it.
pub const PATIENT: &[u8] = b"p-7f3a9c";
/// Record kind: bound and stored in the clear header.
pub const RECORD_KIND: &[u8] = b"dose-schedule";
/// What the envelope holds.
pub const PLAINTEXT: &[u8] =
    b"basal 0.85 U/h 00:00-06:00; 1.10 U/h 06:00-22:00; 0.90 U/h 22:00-24:00; max bolus 8 U";
/// Seed of the ChaCha20 RNG the generator seals with, so `envelope.bin` is reproducible.
pub const SEAL_SEED: [u8; 32] = [0x5e; 32];
