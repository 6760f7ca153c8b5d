//! Property tests: any claims the builder accepts round-trip through mint and verify (Sign1
//! and Mac0) unchanged; arbitrary bytes and arbitrary single-byte edits never panic and never
//! verify.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "tests"
)]

use medsec_token::{
    Action, ClaimsBuilder, Expectations, FixedClock, KeyId, KeySet, MacKey, PolicyTable, Role,
    ScopeSet, SigningKey, UnverifiedToken,
};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng as _;

fn keys() -> (SigningKey, MacKey, KeySet<2>) {
    let sk = SigningKey::from_seed(&[1; 32], None);
    let mac = MacKey::new(KeyId::from_slice(b"k").unwrap(), &[2; 32]);
    let mut set = KeySet::new();
    set.insert(sk.verifying_key()).unwrap();
    set.insert(mac.clone()).unwrap();
    (sk, mac, set)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn builder_output_round_trips(
        role_ix in 0usize..5,
        subject in "[a-zA-Z0-9:@._-]{1,128}",
        audience in "[a-z0-9-]{1,64}",
        iat in 0u64..4_000_000_000,
        ttl in 1u64..=86_400 * 30,
        mask in 1u32..(1 << 8),
        patient in proptest::option::of("[a-z0-9-]{1,40}"),
        exi in proptest::option::of(1u64..100_000),
        seed in any::<u64>(),
    ) {
        let (sk, mac, set) = keys();
        let role = Role::ALL[role_ix];
        let table = PolicyTable::DEFAULT.scope_set(role).unwrap();
        // A random non-empty subset of the role's scopes.
        let mut scopes = ScopeSet::new();
        for (i, s) in table.iter().enumerate() {
            if mask & (1 << i) != 0 {
                scopes.add(*s).unwrap();
            }
        }
        if scopes.is_empty() {
            scopes = table;
        }
        let mut b = ClaimsBuilder::new("issuer", role)
            .subject(&subject)
            .audience(&audience)
            .issued_at(iat)
            .ttl(ttl)
            .scopes(scopes);
        if let Some(p) = &patient {
            b = b.patient(p);
        }
        if let Some(e) = exi {
            b = b.exi(e);
        }
        // A caregiver token needs a patient: the builder refuses one without.
        let built = b.build(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed));
        if role == Role::Caregiver && patient.is_none() {
            prop_assert_eq!(built.err(), Some(medsec_token::Error::InvalidInput));
            return Ok(());
        }
        let claims = built.unwrap();
        let first_sight = medsec_token::FixedFirstSight::<2>::new();
        let issuers = ["issuer"];
        let exp = Expectations::new(&issuers, &audience).first_sight(&first_sight);
        let clock = FixedClock {
            unix: Some(iat),
            monotonic: Some(medsec_token::MonotonicTime { boot: 0, seconds: 0 }),
        };
        for token in [sk.mint_vec(&claims).unwrap(), mac.mint_vec(&claims).unwrap()] {
            prop_assert!(token.len() <= medsec_token::MAX_TOKEN_LEN);
            let v = UnverifiedToken::parse(&token).unwrap().verify(&set, &clock, &exp).unwrap();
            prop_assert_eq!(*v.claims(), claims);
            for s in scopes.iter() {
                for a in Action::ALL {
                    prop_assert_eq!(v.allows(&s.resource, a), s.actions.contains(a));
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
        let (_, _, set) = keys();
        let issuers = ["issuer"];
        let exp = Expectations::new(&issuers, "aud");
        let r = UnverifiedToken::parse(&bytes).and_then(|t| t.verify(&set, &FixedClock::at(0), &exp));
        prop_assert!(r.is_err());
    }

    #[test]
    fn any_single_byte_edit_is_rejected(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let (sk, _, set) = keys();
        let claims = ClaimsBuilder::new("issuer", Role::Clinician)
            .subject("dr")
            .audience("aud")
            .issued_at(10)
            .ttl(100)
            .build(&mut rand_chacha::ChaCha20Rng::seed_from_u64(0))
            .unwrap();
        let mut token = sk.mint_vec(&claims).unwrap();
        let i = pos.index(token.len());
        token[i] = token[i].wrapping_add(delta);
        let issuers = ["issuer"];
        let exp = Expectations::new(&issuers, "aud");
        let r = UnverifiedToken::parse(&token).and_then(|t| t.verify(&set, &FixedClock::at(20), &exp));
        prop_assert!(r.is_err());
    }
}
