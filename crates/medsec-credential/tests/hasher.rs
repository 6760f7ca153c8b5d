//! Hasher behaviour: presets, rehash and re-pepper advice, peppers, tamper and truncation of
//! stored strings, PHC round trips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use medsec_credential::hash::{hazmat, Block};
use medsec_credential::throttle::{MemoryThrottleStore, ThrottleKeyer};
use medsec_credential::{
    Attempt, Error, HashParams, LoginGuard, Password, PasswordHasher, Pepper, PepperRequirement,
    PepperRing, PhcHash, Protected, VerifyLimits,
};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

fn small(m: u32, t: u32) -> PasswordHasher {
    hazmat::hasher_below_minimum(HashParams::new(m, t, 1).unwrap()).unwrap()
}

#[test]
fn presets_emit_their_parameters_and_verify() {
    let pw = Password::new("violet kettle under the stairs").unwrap();
    for (params, prefix) in [
        (HashParams::SERVER, "$argon2id$v=19$m=19456,t=2,p=1$"),
        (HashParams::APP, "$argon2id$v=19$m=47104,t=1,p=1$"),
        (HashParams::FIRMWARE, "$argon2id$v=19$m=12288,t=3,p=1$"),
    ] {
        let h = PasswordHasher::new(params).unwrap();
        let phc = h.hash(&pw, &mut rng()).unwrap();
        assert!(phc.as_str().starts_with(prefix), "{}", phc.as_str());
        let v = h.verify(&pw, phc.as_str()).unwrap();
        assert!(!v.needs_rehash() && !v.needs_repepper());
        let wrong = Password::new("violet kettle under the stair").unwrap();
        assert_eq!(h.verify(&wrong, phc.as_str()), Err(Error::NotVerified));
    }
}

#[test]
fn firmware_preset_in_caller_memory() {
    let h = PasswordHasher::new(HashParams::FIRMWARE)
        .unwrap()
        .with_limits(VerifyLimits::for_memory_blocks(12_288).unwrap())
        .unwrap();
    let mut memory = vec![Block::new(); HashParams::FIRMWARE.blocks()];
    let pin = Password::new("482915").unwrap();
    let phc = h.hash_with_memory(&pin, &mut rng(), &mut memory).unwrap();
    assert!(h
        .verify_with_memory(&pin, phc.as_str(), &mut memory)
        .is_ok());
    // The memory is wiped after use.
    assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
    let mut too_small = vec![Block::new(); 1024];
    assert_eq!(
        h.verify_with_memory(&pin, phc.as_str(), &mut too_small),
        Err(Error::MemoryTooSmall)
    );
}

#[test]
fn needs_rehash_only_when_weaker() {
    let pw = Password::new("amber teapot on the landing").unwrap();
    let policy = small(256, 2);
    for (m, t, weaker) in [
        (128, 2, true),
        (256, 1, true),
        (256, 2, false),
        (512, 3, false),
        (1024, 1, true),
    ] {
        let phc = small(m, t).hash(&pw, &mut rng()).unwrap();
        assert_eq!(
            policy.needs_rehash(phc.as_str()).unwrap(),
            weaker,
            "m={m} t={t}"
        );
        assert_eq!(
            policy.verify(&pw, phc.as_str()).unwrap().needs_rehash(),
            weaker
        );
    }
    // A shorter salt or hash than we emit (a libargon2-made string) is weaker too.
    let h =
        PhcHash::from_parts(HashParams::new(256, 2, 1).unwrap(), None, &[1; 8], &[2; 32]).unwrap();
    assert!(policy.needs_rehash(h.encode().as_str()).unwrap());
}

#[test]
fn pepper_rotation_and_unknown_pepper() {
    let pw = Password::new("amber teapot on the landing").unwrap();
    let mut old_ring = PepperRing::new();
    old_ring.rotate_to(Pepper::new(1, [0x11; 32])).unwrap();
    let old = small(64, 1).with_peppers(old_ring);
    let phc = old.hash(&pw, &mut rng()).unwrap();
    assert!(phc.as_str().contains(",keyid=AAAAAQ$"));

    // After rotation: pepper 2 is current, 1 still verifies and asks for a re-pepper.
    let mut ring = PepperRing::new();
    ring.add(Pepper::new(1, [0x11; 32])).unwrap();
    ring.rotate_to(Pepper::new(2, [0x22; 32])).unwrap();
    let rotated = small(64, 1).with_peppers(ring);
    let v = rotated.verify(&pw, phc.as_str()).unwrap();
    assert!(v.needs_repepper() && !v.needs_rehash());
    let fresh = rotated.hash(&pw, &mut rng()).unwrap();
    assert!(fresh.as_str().contains(",keyid=AAAAAg$"));
    assert!(!rotated
        .verify(&pw, fresh.as_str())
        .unwrap()
        .needs_repepper());

    // Without the pepper (or with a different secret under the same id): not verified.
    assert_eq!(
        small(64, 1).verify(&pw, phc.as_str()),
        Err(Error::NotVerified)
    );
    let mut wrong_ring = PepperRing::new();
    wrong_ring.rotate_to(Pepper::new(1, [0x12; 32])).unwrap();
    assert_eq!(
        small(64, 1)
            .with_peppers(wrong_ring)
            .verify(&pw, phc.as_str()),
        Err(Error::NotVerified)
    );
    // An unpeppered hash verified by a peppered hasher asks for a re-pepper.
    let plain = small(64, 1).hash(&pw, &mut rng()).unwrap();
    assert!(rotated
        .verify(&pw, plain.as_str())
        .unwrap()
        .needs_repepper());
}

fn ring_1_then_2() -> PepperRing {
    let mut ring = PepperRing::new();
    ring.add(Pepper::new(1, [0x11; 32])).unwrap();
    ring.rotate_to(Pepper::new(2, [0x22; 32])).unwrap();
    ring
}

/// Someone who can write the hash database plants an unpeppered hash of a password they chose
/// (libargon2 makes one without any secret). With peppers configured it still verifies unless
/// the hasher requires a pepper.
#[test]
fn a_pepper_requirement_refuses_planted_unpeppered_hashes() {
    let chosen = Password::new("the attacker's own passphrase").unwrap();
    let planted = small(64, 1).hash(&chosen, &mut rng()).unwrap();
    assert!(!planted.as_str().contains("keyid"));
    let user = Password::new("amber teapot on the landing").unwrap();
    let mut old_ring = PepperRing::new();
    old_ring.rotate_to(Pepper::new(1, [0x11; 32])).unwrap();
    let on_old = small(64, 1)
        .with_peppers(old_ring)
        .hash(&user, &mut rng())
        .unwrap();
    let on_current = small(64, 1)
        .with_peppers(ring_1_then_2())
        .hash(&user, &mut rng())
        .unwrap();

    // Default (Optional): the planted hash logs the attacker in.
    let optional = small(64, 1).with_peppers(ring_1_then_2());
    assert_eq!(optional.pepper_requirement(), PepperRequirement::Optional);
    assert!(optional.verify(&chosen, planted.as_str()).is_ok());

    // Any: refused before any work; peppered hashes (old or current) still verify.
    let any = small(64, 1)
        .with_peppers(ring_1_then_2())
        .require_pepper(PepperRequirement::Any)
        .unwrap();
    assert_eq!(
        any.verify(&chosen, planted.as_str()),
        Err(Error::PepperRequired)
    );
    let mut memory = vec![Block::new(); 64];
    assert_eq!(
        any.verify_with_memory(&chosen, planted.as_str(), &mut memory),
        Err(Error::PepperRequired)
    );
    assert!(any.verify(&user, on_old.as_str()).unwrap().needs_repepper());
    assert!(any.verify(&user, on_current.as_str()).is_ok());
    // A wrong password against a peppered hash is the usual answer.
    assert_eq!(
        any.verify(&chosen, on_current.as_str()),
        Err(Error::NotVerified)
    );
    // An id the ring does not hold: not verified, as without the requirement.
    let unknown_id = on_current.as_str().replace("keyid=AAAAAg", "keyid=AAAAAw");
    assert_eq!(any.verify(&user, &unknown_id), Err(Error::NotVerified));

    // Current: only the current id verifies.
    let current = small(64, 1)
        .with_peppers(ring_1_then_2())
        .require_pepper(PepperRequirement::Current)
        .unwrap();
    assert_eq!(
        current.verify(&chosen, planted.as_str()),
        Err(Error::PepperRequired)
    );
    assert_eq!(
        current.verify(&user, on_old.as_str()),
        Err(Error::PepperRequired)
    );
    let own = current.hash(&user, &mut rng()).unwrap();
    assert!(current.verify(&user, own.as_str()).is_ok());
    assert!(current.verify(&user, on_current.as_str()).is_ok());
}

#[test]
fn a_pepper_requirement_needs_a_current_pepper() {
    for req in [PepperRequirement::Any, PepperRequirement::Current] {
        assert!(matches!(
            small(64, 1).require_pepper(req),
            Err(Error::Config(_))
        ));
        // A ring with only older peppers has no current one either.
        let mut ring = PepperRing::new();
        ring.add(Pepper::new(1, [0x11; 32])).unwrap();
        assert!(matches!(
            small(64, 1).with_peppers(ring).require_pepper(req),
            Err(Error::Config(_))
        ));
        // Replacing the ring afterwards with an empty one: the hasher refuses to make hashes
        // it would then refuse to verify.
        let h = small(64, 1)
            .with_peppers(ring_1_then_2())
            .require_pepper(req)
            .unwrap()
            .with_peppers(PepperRing::new());
        let pw = Password::new("amber teapot on the landing").unwrap();
        assert!(matches!(h.hash(&pw, &mut rng()), Err(Error::Config(_))));
    }
    assert!(small(64, 1)
        .require_pepper(PepperRequirement::Optional)
        .is_ok());
}

/// Through the login guard, a refused planted hash answers exactly as an unknown user does.
#[test]
fn the_login_guard_answers_a_planted_hash_as_an_unknown_user() {
    let hasher = small(64, 1)
        .with_peppers(ring_1_then_2())
        .require_pepper(PepperRequirement::Any)
        .unwrap();
    let store = MemoryThrottleStore::with_capacity(100).unwrap();
    let guard = LoginGuard::new(&hasher, &store, &mut rng()).unwrap();
    let chosen = Password::new("the attacker's own passphrase").unwrap();
    let planted = small(64, 1).hash(&chosen, &mut rng()).unwrap();
    let keyer = ThrottleKeyer::new([4; 32]);
    let attempt = Attempt {
        account: keyer.account(b"dr.ng"),
        source: None,
        stored_hash: Some(planted.as_str()),
        protects: Protected::PatientData,
    };
    assert_eq!(
        guard.attempt(&attempt, &chosen, 1_000),
        Err(Error::NotVerified)
    );
    let unknown = Attempt {
        account: keyer.account(b"nobody"),
        stored_hash: None,
        ..attempt
    };
    assert_eq!(
        guard.attempt(&unknown, &chosen, 1_000),
        Err(Error::NotVerified)
    );
}

/// A database writer plants a hash whose `keyid` names a pepper the ring does not hold and
/// whose tag was computed with the stand-in secret the verifier uses for such ids (32 zero
/// bytes), so the computed tag matches. It must still be `NotVerified`, under every pepper
/// requirement, through the hasher and through the login guard (docs/credential-format.md
/// section 4). A ring that does hold that id with the zero secret verifies it: the tag is right.
#[test]
fn a_planted_zero_secret_hash_under_an_unknown_keyid_never_verifies() {
    let chosen = Password::new("the attacker's own passphrase").unwrap();
    let params = HashParams::new(64, 1, 1).unwrap();
    let mut zero_ring = PepperRing::new();
    zero_ring.rotate_to(Pepper::new(3, [0; 32])).unwrap();
    let mut memory = vec![Block::new(); params.blocks()];
    let planted = hazmat::hash_with_salt(
        &small(64, 1).with_peppers(zero_ring),
        &chosen,
        b"planted-salt-003",
        &mut memory,
    )
    .unwrap();
    assert!(planted.as_str().contains(",keyid=AAAAAw$"));
    // The tag is the zero-secret tag: a ring holding id 3 with 32 zero bytes verifies it.
    let mut holds_3 = PepperRing::new();
    holds_3.rotate_to(Pepper::new(3, [0; 32])).unwrap();
    assert!(small(64, 1)
        .with_peppers(holds_3)
        .verify(&chosen, planted.as_str())
        .is_ok());
    // Rings without id 3 (empty, or 1 and 2), whatever the requirement: not verified.
    let reqs = [
        PepperRequirement::Optional,
        PepperRequirement::Any,
        PepperRequirement::Current,
    ];
    for req in reqs {
        let hasher = small(64, 1)
            .with_peppers(ring_1_then_2())
            .require_pepper(req)
            .unwrap();
        let expected = if req == PepperRequirement::Current {
            // Not the current id: refused before any work.
            Err(Error::PepperRequired)
        } else {
            Err(Error::NotVerified)
        };
        assert_eq!(
            hasher.verify(&chosen, planted.as_str()),
            expected,
            "{req:?}"
        );
        assert_eq!(
            hasher.verify_with_memory(&chosen, planted.as_str(), &mut memory),
            expected,
            "{req:?}"
        );
        let store = MemoryThrottleStore::with_capacity(100).unwrap();
        let guard = LoginGuard::new(&hasher, &store, &mut rng()).unwrap();
        let attempt = Attempt {
            account: ThrottleKeyer::new([4; 32]).account(b"dr.ng"),
            source: None,
            stored_hash: Some(planted.as_str()),
            protects: Protected::PatientData,
        };
        assert_eq!(
            guard.attempt(&attempt, &chosen, 1_000),
            Err(Error::NotVerified),
            "{req:?}"
        );
    }
    assert_eq!(
        small(64, 1).verify(&chosen, planted.as_str()),
        Err(Error::NotVerified)
    );
}

/// Order of the verify errors: a `Password` exists before verification starts, so
/// `PasswordTooLong` (from `Password::new`) precedes everything; then the stored string is
/// parsed in full (`MalformedHash`, `LimitExceeded`, stage 4 included) before the pepper
/// requirement is looked at (`PepperRequired`), and only then is anything computed.
#[test]
fn verify_errors_come_in_the_documented_order() {
    assert_eq!(
        Password::new(&"x".repeat(4_097)).map(|_| ()),
        Err(Error::PasswordTooLong)
    );
    let any = small(64, 1)
        .with_peppers(ring_1_then_2())
        .require_pepper(PepperRequirement::Any)
        .unwrap();
    let pw = Password::new("amber teapot on the landing").unwrap();
    let good = small(64, 1).hash(&pw, &mut rng()).unwrap();
    assert_eq!(any.verify(&pw, good.as_str()), Err(Error::PepperRequired));
    // Stage 4 (a non-canonical last hash character) before the requirement.
    let mut bad_b64 = good.as_str().to_owned();
    let last = bad_b64.pop().unwrap();
    bad_b64.push(if last == 'B' { 'C' } else { 'B' });
    assert!(PhcHash::parse(&bad_b64, &VerifyLimits::SERVER).is_err());
    assert_eq!(any.verify(&pw, &bad_b64), Err(Error::MalformedHash));
    // Stage 3 too.
    let over = good.as_str().replace("m=64,", "m=65537,");
    assert_eq!(any.verify(&pw, &over), Err(Error::LimitExceeded));
}

#[test]
fn every_single_character_change_and_truncation_fails() {
    let h = small(64, 1);
    let pw = Password::new("amber teapot on the landing").unwrap();
    let phc = h.hash(&pw, &mut rng()).unwrap();
    let s = phc.as_str();
    let alphabet = b"$=,+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut tried = 0;
    for i in 0..s.len() {
        for &c in alphabet {
            if s.as_bytes()[i] == c {
                continue;
            }
            let mut t = s.as_bytes().to_vec();
            t[i] = c;
            let t = String::from_utf8(t).unwrap();
            let r = h.verify(&pw, &t);
            // Raising m or t within the ceilings is a different hash: it verifies no more.
            assert!(r.is_err(), "{t}");
            tried += 1;
        }
    }
    for n in 0..s.len() {
        assert!(h.verify(&pw, &s[..n]).is_err(), "truncated to {n}");
    }
    assert!(tried > 5000);
}

#[test]
fn password_is_hashed_exactly_as_entered_after_nfkc() {
    let h = small(64, 1);
    let phc = h
        .hash(
            &Password::new("Case Sensitive  Spaces ").unwrap(),
            &mut rng(),
        )
        .unwrap();
    for other in [
        "case sensitive  spaces ",
        "Case Sensitive Spaces ",
        "Case Sensitive  Spaces",
    ] {
        assert_eq!(
            h.verify(&Password::new(other).unwrap(), phc.as_str()),
            Err(Error::NotVerified)
        );
    }
    // NFKC-equivalent input verifies: the composed and decomposed "Å" hash alike.
    let phc = h
        .hash(
            &Password::new("\u{00C5}ngstr\u{00F6}m units").unwrap(),
            &mut rng(),
        )
        .unwrap();
    assert!(h
        .verify(
            &Password::new("A\u{030A}ngstro\u{0308}m units").unwrap(),
            phc.as_str()
        )
        .is_ok());
}

proptest! {
    #[test]
    fn phc_round_trip(m in 8u32..=65_536, t in 1u32..=10, p in 1u32..=4,
                      pepper in proptest::option::of(any::<u32>()),
                      salt in prop::collection::vec(any::<u8>(), 8..=64),
                      hash in prop::collection::vec(any::<u8>(), 16..=64)) {
        prop_assume!(m >= 8 * p);
        let params = HashParams::new(m, t, p).unwrap();
        let h = PhcHash::from_parts(params, pepper, &salt, &hash).unwrap();
        let s = h.encode();
        let back = PhcHash::parse(s.as_str(), &VerifyLimits::SERVER).unwrap();
        prop_assert_eq!(back.params(), &params);
        prop_assert_eq!(back.pepper_id(), pepper);
        prop_assert_eq!(back.salt(), &salt[..]);
        prop_assert_eq!(back.hash(), &hash[..]);
        let again = back.encode();
        prop_assert_eq!(again.as_str(), s.as_str());
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,300}") {
        let _ = PhcHash::parse(&s, &VerifyLimits::SERVER);
    }
}
