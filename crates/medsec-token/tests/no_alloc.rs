//! The verify path allocates nothing: parse + verify (Sign1 and Mac0, with revocation and a
//! first-sight store) run under a counting global allocator and must not touch the heap.
//! (The thumbv7em build without `alloc` in scripts/nostd-check.sh proves the same at compile
//! time: the crate links no allocator there at all.)
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use medsec_token::{
    ClaimsBuilder, Expectations, FixedClock, FixedFirstSight, FixedRevocationList, KeyId, KeySet,
    MacKey, MonotonicTime, Role, SigningKey, UnverifiedToken,
};
use rand_chacha::rand_core::SeedableRng as _;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[test]
fn verify_does_not_allocate() {
    let sk = SigningKey::from_seed(&[3; 32], None);
    let mac = MacKey::new(KeyId::from_slice(b"m").unwrap(), &[4; 32]);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let claims = ClaimsBuilder::new("iss", Role::Technician)
        .subject("tech")
        .audience("pump")
        .issued_at(1_000)
        .ttl(600)
        .exi(300)
        .build(&mut rng)
        .unwrap();
    let sign1 = sk.mint_vec(&claims).unwrap();
    let mac0 = mac.mint_vec(&claims).unwrap();
    let mut keys = KeySet::<2>::new();
    keys.insert(sk.verifying_key()).unwrap();
    keys.insert(mac).unwrap();
    let revoked = FixedRevocationList::<8>::new();
    let seen = FixedFirstSight::<8>::new();
    let issuers = ["iss"];
    let exp = Expectations::new(&issuers, "pump")
        .revocation(&revoked)
        .first_sight(&seen);
    let clock = FixedClock {
        unix: Some(1_100),
        monotonic: Some(MonotonicTime {
            boot: 1,
            seconds: 7,
        }),
    };

    // Tampered copies (made before measuring): a rejection takes the same heap-free path.
    let mut bad = [sign1.clone(), mac0.clone()];
    for b in &mut bad {
        b[5] ^= 1;
    }

    let region = Region::new(GLOBAL);
    let mut ok = 0;
    for (token, bad) in [&sign1, &mac0].into_iter().zip(&bad) {
        let v = UnverifiedToken::parse(token)
            .unwrap()
            .verify(&keys, &clock, &exp);
        ok += usize::from(v.is_ok_and(|v| {
            v.allows(
                &medsec_token::Resource::DeviceLogs,
                medsec_token::Action::Read,
            )
        }));
        let rejected = UnverifiedToken::parse(bad).and_then(|t| t.verify(&keys, &clock, &exp));
        assert!(rejected.is_err());
    }
    let stats = region.change();
    assert_eq!(ok, 2);
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
}
