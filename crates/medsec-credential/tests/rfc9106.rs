//! RFC 9106 known-answer test for Argon2id, through the same `argon2` entry points the hasher
//! uses (`Argon2::new_with_secret` + `hash_password_into_with_memory` in caller memory), and the
//! crate's own hasher checked against the same primitive.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use argon2::{Algorithm, Argon2, AssociatedData, Block, ParamsBuilder, Version};
use medsec_credential::hash::hazmat;
use medsec_credential::{HashParams, Password, Pepper, PepperRing, PhcHash, VerifyLimits};

/// RFC 9106, section 5.3 (Argon2id test vector): m = 32 KiB, t = 3, p = 4, 32-byte tag,
/// password 32 x 0x01, salt 16 x 0x02, secret 8 x 0x03, associated data 12 x 0x04.
const RFC9106_ARGON2ID_TAG: [u8; 32] = [
    0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
    0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59,
];

#[test]
fn rfc9106_section_5_3_argon2id() {
    let params = ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .data(AssociatedData::new(&[0x04; 12]).unwrap())
        .output_len(32)
        .build()
        .unwrap();
    let secret = [0x03u8; 8];
    let ctx =
        Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut memory = vec![Block::new(); 32];
    let mut tag = [0u8; 32];
    ctx.hash_password_into_with_memory(&[0x01; 32], &[0x02; 16], &mut tag, &mut memory)
        .unwrap();
    assert_eq!(tag, RFC9106_ARGON2ID_TAG);
}

#[test]
fn the_hasher_computes_plain_argon2id_with_the_pepper_as_secret() {
    let mut ring = PepperRing::new();
    ring.rotate_to(Pepper::new(1, [0x03; 32])).unwrap();
    let hasher = hazmat::hasher_below_minimum(HashParams::new(32, 3, 4).unwrap())
        .unwrap()
        .with_peppers(ring);
    let pw = Password::new("\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}").unwrap();
    let mut memory = vec![Block::new(); 32];
    let phc = hazmat::hash_with_salt(&hasher, &pw, &[0x02; 16], &mut memory).unwrap();
    let parsed = PhcHash::parse(phc.as_str(), &VerifyLimits::SERVER).unwrap();

    let params = ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .output_len(32)
        .build()
        .unwrap();
    let ctx =
        Argon2::new_with_secret(&[0x03; 32], Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut tag = [0u8; 32];
    ctx.hash_password_into_with_memory(&[0x01; 8], &[0x02; 16], &mut tag, &mut memory)
        .unwrap();
    assert_eq!(parsed.hash(), tag);
    assert_eq!(parsed.pepper_id(), Some(1));
}
