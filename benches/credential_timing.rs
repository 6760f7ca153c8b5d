//! dudect-style timing check (a bench, not a test): is an *unknown user* distinguishable from a
//! *wrong password* by the time `LoginGuard::attempt` takes?
//!
//! Class Left = unknown user name (no stored hash: the guard verifies its dummy hash); class
//! Right = existing account, wrong password. Both classes go through the same store (a fresh
//! name per sample, so the throttle path does the same insert), with inputs interleaved at
//! random. dudect-bencher reports Welch's t statistic over cropped percentiles; |t| below 4.5 is
//! the dudect convention for "no leak detected" (t grows with sample count if a leak exists).
//!
//! Two runs: `login_small_params` (Argon2id m = 64 KiB, t = 1: about 100 µs per attempt, so the
//! code-path difference is not buried under Argon2's own jitter; 100,000 samples) and
//! `login_server_preset` (the real m = 19 MiB, t = 2; 1,000 samples). Two more,
//! `login_broken_hash_small_params` and `login_broken_hash_server_preset`, put an existing account
//! whose stored hash is malformed or over the ceilings (the guard then verifies the dummy hash) in
//! class Right instead. That path does one PHC parse more than an unknown user's (the stored
//! string's, which fails); at the small parameters 100,000 samples resolve that difference (tens
//! of nanoseconds), at the server preset it is lost in Argon2's own jitter.
//!
//! Run: `cargo bench --bench credential_timing` (optionally `-- small` or `-- server` to pick one).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    reason = "benchmark harness"
)]

use dudect_bencher::ctbench::{run_benches_console, BenchMetadata, BenchName, BenchOpts};
use dudect_bencher::rand::Rng;
use dudect_bencher::{BenchRng, Class, CtRunner};
use medsec_credential::hash::hazmat;
use medsec_credential::throttle::{MemoryThrottleStore, ThrottleKeyer};
use medsec_credential::{
    Attempt, Error, HashParams, LoginGuard, Password, PasswordHasher, Protected,
};
use rand_chacha::rand_core::SeedableRng;

fn run(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    hasher: &PasswordHasher,
    samples: usize,
    broken: bool,
) {
    let mut seed = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let store = MemoryThrottleStore::with_capacity(2 * samples + 16).unwrap();
    let keyer = ThrottleKeyer::new([9; 32]);
    let guard = LoginGuard::new(hasher, &store, &mut seed).unwrap();
    let stored = hasher
        .hash(
            &Password::new("the real password of the account").unwrap(),
            &mut seed,
        )
        .unwrap();
    let wrong = Password::new("a wrong guess at the password").unwrap();
    // Malformed (no hash field) and over the memory ceiling, alternately.
    let broken_hashes = [
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA".to_owned(),
        stored.as_str().replacen("m=", "m=99999", 1),
    ];
    let names: Vec<String> = (0..samples).map(|i| format!("user-{i}")).collect();
    let classes: Vec<Class> = (0..samples)
        .map(|_| {
            if rng.next_u32() & 1 == 0 {
                Class::Left
            } else {
                Class::Right
            }
        })
        .collect();
    for (i, class) in classes.into_iter().enumerate() {
        let attempt = Attempt {
            account: keyer.account(names[i].as_bytes()),
            source: None,
            stored_hash: match class {
                Class::Left => None,
                Class::Right if broken => Some(broken_hashes[i % 2].as_str()),
                Class::Right => Some(stored.as_str()),
            },
            protects: Protected::PatientData,
        };
        runner.run_one(class, || {
            assert_eq!(
                guard.attempt(&attempt, &wrong, 1_000),
                Err(Error::NotVerified)
            );
        });
    }
}

fn login_small_params(runner: &mut CtRunner, rng: &mut BenchRng) {
    let hasher = hazmat::hasher_below_minimum(HashParams::new(64, 1, 1).unwrap()).unwrap();
    run(runner, rng, &hasher, 100_000, false);
}

fn login_broken_hash_small_params(runner: &mut CtRunner, rng: &mut BenchRng) {
    let hasher = hazmat::hasher_below_minimum(HashParams::new(64, 1, 1).unwrap()).unwrap();
    run(runner, rng, &hasher, 100_000, true);
}

fn login_broken_hash_server_preset(runner: &mut CtRunner, rng: &mut BenchRng) {
    let hasher = PasswordHasher::new(HashParams::SERVER).unwrap();
    run(runner, rng, &hasher, 1_000, true);
}

fn login_server_preset(runner: &mut CtRunner, rng: &mut BenchRng) {
    let hasher = PasswordHasher::new(HashParams::SERVER).unwrap();
    run(runner, rng, &hasher, 1_000, false);
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench binaries without it, and
/// a dudect run takes minutes, so without `--bench` this only says it was skipped. Filter with
/// `cargo bench --bench credential_timing -- small` (a substring of the bench name).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("credential_timing: dudect check skipped outside `cargo bench`");
        return;
    }
    let filter = args.iter().find(|a| !a.starts_with("--")).cloned();
    let benches = vec![
        BenchMetadata {
            name: BenchName("login_small_params"),
            seed: None,
            benchfn: login_small_params,
        },
        BenchMetadata {
            name: BenchName("login_broken_hash_small_params"),
            seed: None,
            benchfn: login_broken_hash_small_params,
        },
        BenchMetadata {
            name: BenchName("login_broken_hash_server_preset"),
            seed: None,
            benchfn: login_broken_hash_server_preset,
        },
        BenchMetadata {
            name: BenchName("login_server_preset"),
            seed: None,
            benchfn: login_server_preset,
        },
    ];
    let opts = BenchOpts {
        continuous: false,
        filter,
        file_out: None,
    };
    run_benches_console(opts, benches).unwrap();
}
