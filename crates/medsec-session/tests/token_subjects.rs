//! A session's user id is the token's `sub`: every subject `medsec-token` mints and verifies
//! (1..=128 bytes of UTF-8, `docs/token-profile.md` §9) can own sessions under the same text,
//! and revoking that user kills both its sessions and its tokens. One byte more is refused by
//! both crates alike.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use std::sync::{Arc, RwLock};

use medsec_session::store::MemoryStore;
use medsec_session::*;
use medsec_token::{
    ClaimsBuilder, Expectations, FixedClock, KeySet, RevocationList, SigningKey, UnverifiedToken,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const NOW_S: u64 = 1_767_225_600;

#[test]
fn every_token_subject_can_own_sessions_and_revocation_reaches_both() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let issuer_key = SigningKey::generate(&mut rng);
    let mut keys = KeySet::<2>::new();
    keys.insert(issuer_key.verifying_key()).unwrap();
    let issuers = ["clinic.example"];
    let revocation: Arc<RwLock<RevocationList>> = Arc::default();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW_S)));
    let sessions = Sessions::with_revocation(
        MemoryStore::new(),
        clock.clone(),
        revocation.clone(),
        DataSecret::from_bytes([0x42; 32]),
        SessionPolicy::BACKEND_L3,
    )
    .unwrap();

    // 1, 64, 65 and 128 bytes; multi-byte UTF-8 up to exactly 128 bytes.
    let subjects = [
        "p".to_owned(),
        "a".repeat(64),
        "b".repeat(65),
        "c".repeat(128),
        "\u{e9}".repeat(64),
        format!("{}\u{1F489}", "d".repeat(124)),
    ];
    for sub in &subjects {
        assert!(sub.len() <= 128);
        let claims = ClaimsBuilder::new("clinic.example", Role::Clinician)
            .subject(sub)
            .audience("backend")
            .issued_at(NOW_S)
            .ttl(3600)
            .build(&mut rng)
            .unwrap();
        let token = issuer_key.mint_vec(&claims).unwrap();
        let token_clock = FixedClock::at(NOW_S + 1);
        let verify = |list: &RevocationList| {
            let expect = Expectations::new(&issuers, "backend").revocation(list);
            UnverifiedToken::parse(&token)
                .unwrap()
                .verify(&keys, &token_clock, &expect)
                .map(|v| v.claims().subject().to_owned())
        };
        let verified_sub = verify(&revocation.read().unwrap()).unwrap();
        assert_eq!(&verified_sub, sub);

        // The verified subject is the session's user id, byte for byte.
        let user = UserId::new(&verified_sub).unwrap();
        assert_eq!(user.as_str(), sub);
        let e = sessions
            .login(&mut rng, &user, Role::Clinician, None, None)
            .unwrap();
        let id = SessionId::from_bytes(*e.id().as_bytes());
        sessions.resume(&id, None).unwrap();

        // Revoking the user ends the session and kills the token.
        assert_eq!(sessions.revoke_user(&user).unwrap(), 1);
        assert_eq!(sessions.resume(&id, None).unwrap_err(), Error::Rejected);
        assert_eq!(
            verify(&revocation.read().unwrap()).unwrap_err(),
            medsec_token::Error::Rejected,
            "revoking the session user revoked the token's subject"
        );
    }

    // One byte more: refused by the token builder and by the session alike.
    for sub in ["e".repeat(129), format!("{}\u{e9}", "f".repeat(127))] {
        assert_eq!(sub.len(), 129);
        assert!(ClaimsBuilder::new("clinic.example", Role::Clinician)
            .subject(&sub)
            .audience("backend")
            .issued_at(NOW_S)
            .ttl(3600)
            .build(&mut rng)
            .is_err());
        assert_eq!(UserId::new(&sub).unwrap_err(), Error::InvalidInput);
    }
    assert_eq!(UserId::MAX_LEN, 128);
}
