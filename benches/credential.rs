//! Credential benchmarks (issue 3), in one run:
//!
//! - `argon2id-hash/<preset>` and `argon2id-verify/<preset>` (server, app, firmware): medsec's
//!   hasher under criterion.
//! - **libargon2 side by side**: no Rust binding to libargon2 is practical here (the workspace
//!   forbids `unsafe`, so no FFI in our tree), so the same run drives PyPI `argon2-cffi` — the
//!   reference C libargon2, in the venv from `scripts/python-env.sh` — and times
//!   `argon2.low_level.hash_secret_raw` (Argon2id, same m/t/p, 16-byte salt, 32-byte tag) with
//!   `time.perf_counter_ns` after one warm-up. medsec is timed the same way in
//!   this process, alternating with the peer in 4 rounds (median of 20 each), and the ratio medsec/libargon2 is printed
//!   (below 1.0 means medsec is faster). Python call overhead (~1 µs) is negligible at 10+ ms.
//! - `throttle/check-record-1M`: `throttle::begin` (decision + compare-and-swap write, the work
//!   done before any hashing) on the in-memory store holding 1,000,000 tracked accounts, keys
//!   precomputed; `throttle/keyed-check-record-1M` adds the HMAC keying of the name. The store's
//!   table size and the process RSS growth from building it are printed.
//!
//! Run: `cargo bench --bench credential` (set `MEDSEC_PYTHON` or create `.venv` for the peer).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs,
    reason = "benchmark harness: fixed inputs, a failure should stop the run"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use medsec_credential::throttle::{
    self, MemoryThrottleStore, Schedule, ThrottleKey, ThrottleKeyer,
};
use medsec_credential::{HashParams, Password, PasswordHasher};
use rand_chacha::rand_core::SeedableRng;

const PRESETS: [(&str, HashParams); 3] = [
    ("server", HashParams::SERVER),
    ("app", HashParams::APP),
    ("firmware", HashParams::FIRMWARE),
];
const TRACKED: usize = 1_000_000;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, where
/// criterion runs each benchmark once: then the side-by-side table is skipped and the store holds
/// 10,000 accounts, to keep the test suite quick.
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn python() -> Option<PathBuf> {
    std::env::var_os("MEDSEC_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .or_else(|| {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
            p.exists().then_some(p)
        })
}

/// Wall times of `n` Argon2id hashes in libargon2 (argon2-cffi), nanoseconds, after a warm-up.
fn libargon2_times_ns(py: &PathBuf, p: &HashParams, n: usize) -> Option<Vec<f64>> {
    let script = format!(
        "import time, os\n\
         from argon2.low_level import hash_secret_raw, Type\n\
         pw = b'violet kettle under the stairs'\n\
         salt = os.urandom(16)\n\
         hash_secret_raw(pw, salt, {t}, {m}, {p}, 32, Type.ID)\n\
         xs = []\n\
         for _ in range({n}):\n\
         \x20   t0 = time.perf_counter_ns()\n\
         \x20   hash_secret_raw(pw, salt, {t}, {m}, {p}, 32, Type.ID)\n\
         \x20   xs.append(time.perf_counter_ns() - t0)\n\
         print(' '.join(map(str, xs)))\n",
        t = p.t(),
        m = p.m_kib(),
        p = p.p(),
        n = n
    );
    let out = Command::new(py).arg("-c").arg(script).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "argon2-cffi failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|x| x.parse().ok())
        .collect()
}

/// Wall times of `n` medsec hashes, nanoseconds, after a warm-up.
fn medsec_times_ns(hasher: &PasswordHasher, n: usize) -> Vec<f64> {
    let pw = Password::new("violet kettle under the stairs").unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    black_box(hasher.hash(&pw, &mut rng).unwrap());
    (0..n)
        .map(|_| {
            let t0 = Instant::now();
            black_box(hasher.hash(&pw, &mut rng).unwrap());
            t0.elapsed().as_nanos() as f64
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn argon2_side_by_side(c: &mut Criterion) {
    let py = python();
    if !bench_mode() {
        println!("credential bench in test mode: side-by-side table skipped");
    } else if py.is_none() {
        eprintln!("\n*** libargon2 peer SKIPPED: no Python venv (scripts/python-env.sh) ***\n");
    }
    println!(
        "\nArgon2id hash, same run, 4 alternating rounds of 5 calls each side, median of 20: \
         medsec vs libargon2 (argon2-cffi)"
    );
    for (name, params) in PRESETS.into_iter().filter(|_| bench_mode()) {
        let hasher = PasswordHasher::new(params).unwrap();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..4 {
            ours.extend(medsec_times_ns(&hasher, 5));
            if let Some(t) = py
                .as_ref()
                .and_then(|py| libargon2_times_ns(py, &params, 5))
            {
                theirs.extend(t);
            }
        }
        let ours = median(ours);
        if theirs.is_empty() {
            println!("  {name:<8}: medsec {:>7.2} ms (no peer)", ours / 1e6);
        } else {
            let theirs = median(theirs);
            println!(
                "  {name:<8} m={:<6} t={} p={}: medsec {:>7.2} ms, libargon2 {:>7.2} ms, ratio medsec/libargon2 = {:.3}",
                params.m_kib(),
                params.t(),
                params.p(),
                ours / 1e6,
                theirs / 1e6,
                ours / theirs
            );
        }
    }

    let pw = Password::new("violet kettle under the stairs").unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    let mut g = c.benchmark_group("argon2id-hash");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for (name, params) in PRESETS {
        let hasher = PasswordHasher::new(params).unwrap();
        g.bench_function(BenchmarkId::new("medsec", name), |b| {
            b.iter(|| black_box(hasher.hash(&pw, &mut rng).unwrap()));
        });
    }
    g.finish();
    let mut g = c.benchmark_group("argon2id-verify");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for (name, params) in PRESETS {
        let hasher = PasswordHasher::new(params).unwrap();
        let stored = hasher.hash(&pw, &mut rng).unwrap();
        g.bench_function(BenchmarkId::new("medsec", name), |b| {
            b.iter(|| black_box(hasher.verify(&pw, stored.as_str()).unwrap()));
        });
    }
    g.finish();
}

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn throttle_decisions(c: &mut Criterion) {
    // Every attempt admitted and written: the costliest decision path (load + compare-and-swap).
    let schedule = Schedule::new(u32::MAX - 1, 1_000, 900_000, None, None).unwrap();
    let tracked = if bench_mode() { TRACKED } else { 10_000 };
    let keyer = ThrottleKeyer::new([7; 32]);
    let rss_before = rss_bytes();
    let store = MemoryThrottleStore::with_capacity(tracked).unwrap();
    let keys: Vec<ThrottleKey> = (0..tracked as u64)
        .map(|i| keyer.account(format!("user-{i}@clinic.example").as_bytes()))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        throttle::begin(&store, k, &schedule, i as u64).unwrap();
    }
    let rss_after = rss_bytes();
    let keys_bytes = keys.len() * size_of::<ThrottleKey>();
    println!(
        "\nthrottle memory store: {} tracked accounts, table {:.1} MiB ({} B/account); \
         process RSS grew {:.1} MiB (of which {:.1} MiB is the bench's own key list)",
        store.len(),
        store.memory_bytes() as f64 / 1048576.0,
        store.memory_bytes() / tracked,
        (rss_after.saturating_sub(rss_before)) as f64 / 1048576.0,
        keys_bytes as f64 / 1048576.0
    );
    assert_eq!(store.len(), tracked);

    let mut g = c.benchmark_group("throttle");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    let mut now = 10_000_000u64;
    g.bench_function("check-record-1M", |b| {
        b.iter(|| {
            i = (i + 7919) % tracked;
            now += 1;
            black_box(throttle::begin(&store, &keys[i], &schedule, now).unwrap())
        });
    });
    let names: Vec<String> = (0..4096)
        .map(|i| format!("user-{}@clinic.example", i * 211))
        .collect();
    let mut j = 0usize;
    g.bench_function("keyed-check-record-1M", |b| {
        b.iter(|| {
            j = (j + 1) % names.len();
            now += 1;
            let k = keyer.account(names[j].as_bytes());
            black_box(throttle::begin(&store, &k, &schedule, now).unwrap())
        });
    });
    g.finish();
    assert_eq!(store.len(), tracked);
}

criterion_group!(benches, argon2_side_by_side, throttle_decisions);
criterion_main!(benches);
