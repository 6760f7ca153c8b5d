//! Session benchmarks, side by side in one run with `tower-sessions`' `MemoryStore`
//! (crates `tower-sessions-memory-store` / `tower-sessions-core` 0.15).
//!
//! - In memory, with 1,000,000 live sessions on each side: create, lookup+touch, rotate,
//!   end. Ours: `Sessions<MemoryStore>` (`login`, `resume` — SHA-256 of the presented id
//!   included — `rotate`, `logout`). Theirs: `create`, `load`+`save`, `load`+`delete`+
//!   `create` (what `Session::cycle_id` does), `delete`.
//! - Resident bytes per live session: each side fills 1,000,000 sessions in a fresh child
//!   process and reports its RSS growth. Each session holds what an app needs to know who is
//!   asking: ours the user id and role (typed fields); theirs the same two values in its data
//!   map (`{"user": .., "role": ..}`), as a tower-sessions app stores them.
//! - SQLite (a file) and PostgreSQL (a throwaway server) lookups per second (`load`) and
//!   lookup+touch (`resume`), 10,000 live sessions.
//!
//! Targets: lookup+touch >= 1.5x tower-sessions' load+save; bytes per live session <= 0.7x.
//! `cargo bench --bench session`; under `cargo test` every case runs once on 10,000 sessions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    missing_docs,
    reason = "bench: fixed inputs, panics are failures"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use medsec_session::store::{MemoryStore, PostgresStore, SqliteStore};
use medsec_session::{
    DataSecret, RecordKey, Role, SessionId, SessionPolicy, SessionStore, Sessions, SystemClock,
    UserId,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::SessionStore as _;
use tower_sessions_memory_store::MemoryStore as TowerMemoryStore;

type Ours = Sessions<MemoryStore, SystemClock>;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn live_sessions() -> usize {
    if full_run() {
        1_000_000
    } else {
        10_000
    }
}

fn rng() -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    ChaCha20Rng::from_seed(seed)
}

fn policy() -> SessionPolicy {
    SessionPolicy::BACKEND_L3
}

fn user(i: usize) -> UserId {
    UserId::new(&format!("patient-{i:07}")).unwrap()
}

fn ours_with(n: usize) -> (Ours, Vec<SessionId>) {
    let sessions = Sessions::new(
        // A bound well above what the create/rotate/end groups add in a full run.
        MemoryStore::with_max_sessions(16 * n + 1_000_000),
        SystemClock,
        DataSecret::from_bytes([7; 32]),
        policy(),
    )
    .unwrap();
    let mut rng = rng();
    let ids = (0..n)
        .map(|i| {
            let s = sessions
                .login(&mut rng, &user(i), Role::Patient, None, None)
                .unwrap();
            SessionId::from_bytes(*s.id().as_bytes())
        })
        .collect();
    (sessions, ids)
}

fn tower_record(i: usize) -> Record {
    let mut data = HashMap::new();
    data.insert(
        "user".to_owned(),
        serde_json::Value::String(format!("patient-{i:07}")),
    );
    data.insert(
        "role".to_owned(),
        serde_json::Value::String("patient".to_owned()),
    );
    Record {
        id: Id::default(),
        data,
        expiry_date: OffsetDateTime::now_utc() + time::Duration::minutes(15),
    }
}

fn tower_with(rt: &tokio::runtime::Runtime, n: usize) -> (TowerMemoryStore, Vec<Id>) {
    let store = TowerMemoryStore::default();
    let ids = rt.block_on(async {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let mut r = tower_record(i);
            store.create(&mut r).await.unwrap();
            ids.push(r.id);
        }
        ids
    });
    (store, ids)
}

/// Visits indices in a scattered order (a stride coprime with n), like real traffic.
fn scattered(i: u64, n: usize) -> usize {
    ((i.wrapping_mul(2_654_435_761)) % n as u64) as usize
}

fn in_memory(c: &mut Criterion) {
    let n = live_sessions();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    eprintln!("filling {n} live sessions on each side...");
    let (ours, ids) = ours_with(n);
    let (tower, tower_ids) = tower_with(&rt, n);
    let mut rng = rng();
    // Requests arrive with their id in hand (from the network): each side reads its request
    // ids in sequence, while the sessions they name are scattered over the store.
    let req: Vec<SessionId> = (0..n)
        .map(|k| SessionId::from_bytes(*ids[scattered(k as u64, n)].as_bytes()))
        .collect();
    let tower_req: Vec<Id> = (0..n).map(|k| tower_ids[scattered(k as u64, n)]).collect();

    let mut g = c.benchmark_group("session-memory/lookup+touch");
    g.bench_function("medsec", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(ours.resume(&req[i], None).unwrap());
        })
    });
    g.bench_function("tower-sessions", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    let id = tower_req[(i as usize + 1) % n];
                    let mut rec = tower.load(&id).await.unwrap().unwrap();
                    rec.expiry_date = OffsetDateTime::now_utc() + time::Duration::minutes(15);
                    tower.save(&rec).await.unwrap();
                    black_box(&rec);
                }
                start.elapsed()
            })
        })
    });
    g.finish();

    interleaved_lookup_touch(&ours, &req, &tower, &tower_req, &rt);

    // Where the medsec lookup+touch time goes: hashing the presented id (SHA-256).
    let mut g = c.benchmark_group("session-components");
    g.bench_function("id-hash (SHA-256)", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(req[i].id_hash())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("session-memory/create");
    // A new user logging in each time (no cap eviction); user ids made outside the timing,
    // as the peer's records are.
    let mut next_user = 2 * n;
    g.bench_function("medsec", |b| {
        b.iter_batched(
            || {
                next_user += 1;
                user(next_user)
            },
            |u| black_box(ours.login(&mut rng, &u, Role::Patient, None, None).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("tower-sessions", |b| {
        b.iter_custom(|iters| {
            let records: Vec<Record> = (0..iters as usize).map(tower_record).collect();
            rt.block_on(async {
                let start = Instant::now();
                for mut r in records {
                    tower.create(&mut r).await.unwrap();
                    black_box(&r);
                }
                start.elapsed()
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("session-memory/rotate");
    let mut k = 0usize;
    let mut rotate_rng = self::rng();
    g.bench_function("medsec", |b| {
        b.iter_batched(
            || {
                k += 1;
                let s = ours
                    .login(&mut rng, &user(n + k), Role::Patient, None, None)
                    .unwrap();
                let id = SessionId::from_bytes(*s.id().as_bytes());
                ours.resume(&id, None).unwrap()
            },
            |s| black_box(ours.rotate(&mut rotate_rng, s).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("tower-sessions", |b| {
        b.iter_custom(|iters| {
            let records: Vec<Record> = (0..iters as usize).map(tower_record).collect();
            rt.block_on(async {
                let mut ids = Vec::with_capacity(records.len());
                for mut r in records {
                    tower.create(&mut r).await.unwrap();
                    ids.push(r.id);
                }
                let start = Instant::now();
                for id in ids {
                    // Session::cycle_id: delete the old id, create under a new one.
                    let mut rec = tower.load(&id).await.unwrap().unwrap();
                    tower.delete(&id).await.unwrap();
                    rec.id = Id::default();
                    tower.create(&mut rec).await.unwrap();
                    black_box(&rec);
                }
                start.elapsed()
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("session-memory/end");
    g.bench_function("medsec", |b| {
        b.iter_batched(
            || {
                k += 1;
                ours.login(&mut rng, &user(n + k), Role::Patient, None, None)
                    .unwrap()
            },
            |s| black_box(ours.logout(s).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("tower-sessions", |b| {
        b.iter_custom(|iters| {
            let records: Vec<Record> = (0..iters as usize).map(tower_record).collect();
            rt.block_on(async {
                let mut ids = Vec::with_capacity(records.len());
                for mut r in records {
                    tower.create(&mut r).await.unwrap();
                    ids.push(r.id);
                }
                let start = Instant::now();
                for id in ids {
                    tower.delete(&id).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

/// The machine is shared, so load changes while criterion measures one side and then the
/// other. This alternates short runs of both sides, round after round, and reports the
/// ratio of the fastest rounds (least disturbed) and the median of per-round ratios. Both
/// sides serve the same positions of their request sequences.
fn interleaved_lookup_touch(
    ours: &Ours,
    ids: &[SessionId],
    tower: &TowerMemoryStore,
    tower_ids: &[Id],
    rt: &tokio::runtime::Runtime,
) {
    let n = ids.len();
    let (rounds, per_round) = if full_run() {
        (40u64, 20_000u64)
    } else {
        (2, 100)
    };
    let mut ours_t = Vec::new();
    let mut tower_t = Vec::new();
    let mut i = 0usize;
    for _ in 0..rounds {
        let base = i;
        let start = Instant::now();
        for _ in 0..per_round {
            i = (i + 1) % n;
            black_box(ours.resume(&ids[i], None).unwrap());
        }
        ours_t.push(start.elapsed().as_secs_f64() / per_round as f64);
        let t = rt.block_on(async {
            let start = Instant::now();
            for j in 0..per_round as usize {
                let id = tower_ids[(base + j + 1) % n];
                let mut rec = tower.load(&id).await.unwrap().unwrap();
                rec.expiry_date = OffsetDateTime::now_utc() + time::Duration::minutes(15);
                tower.save(&rec).await.unwrap();
                black_box(&rec);
            }
            start.elapsed()
        });
        tower_t.push(t.as_secs_f64() / per_round as f64);
    }
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let mut ratios: Vec<f64> = tower_t.iter().zip(&ours_t).map(|(t, o)| t / o).collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!("\nlookup+touch, interleaved ({rounds} rounds x {per_round} ops each side, {n} live sessions):");
    println!(
        "  medsec-session fastest round : {:8.1} ns/op",
        min(&ours_t) * 1e9
    );
    println!(
        "  tower-sessions fastest round : {:8.1} ns/op",
        min(&tower_t) * 1e9
    );
    println!(
        "  speed ratio (fastest rounds) : {:8.3}x  (target >= 1.5)",
        min(&tower_t) / min(&ours_t)
    );
    println!("  speed ratio (median round)   : {:8.3}x\n", median);
}

fn databases(c: &mut Criterion) {
    let n = if full_run() { 10_000 } else { 200 };
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        SqliteStore::open(dir.path().join("bench.db"), RecordKey::from_bytes([3; 32])).unwrap();
    db_group(c, "sqlite", sqlite, n);
    match medsec_testkit::PgCluster::start() {
        Some(cluster) => {
            let pg = PostgresStore::connect_local(
                &cluster.connection_string(),
                RecordKey::from_bytes([3; 32]),
            )
            .unwrap();
            db_group(c, "postgres", pg, n);
        }
        None => eprintln!("*** SKIPPING PostgreSQL bench: server binaries not installed ***"),
    }
}

fn db_group<S: SessionStore>(c: &mut Criterion, name: &str, store: S, n: usize) {
    let sessions = Sessions::new(
        store,
        SystemClock,
        DataSecret::from_bytes([7; 32]),
        policy(),
    )
    .unwrap();
    let mut rng = rng();
    let ids: Vec<SessionId> = (0..n)
        .map(|i| {
            let s = sessions
                .login(&mut rng, &user(i), Role::Patient, None, None)
                .unwrap();
            SessionId::from_bytes(*s.id().as_bytes())
        })
        .collect();
    let hashes: Vec<_> = ids.iter().map(SessionId::id_hash).collect();
    let mut g = c.benchmark_group(format!("session-{name}"));
    g.bench_function("lookup", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(
                sessions
                    .store()
                    .load(&hashes[scattered(i, n)])
                    .unwrap()
                    .unwrap(),
            );
        })
    });
    g.bench_function("lookup+touch", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(sessions.resume(&ids[scattered(i, n)], None).unwrap());
        })
    });
    g.finish();
}

// ---- resident bytes per live session, each side in a fresh process ----

const MEM_CHILD: &str = "MEDSEC_SESSION_BENCH_MEM";

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn memory_child(side: &str, n: usize) {
    let before = rss_bytes();
    match side {
        "medsec" => {
            let (ours, ids) = ours_with(n);
            let ids_bytes = (ids.capacity() * size_of::<SessionId>()) as u64;
            let after = rss_bytes();
            println!("RSS {} {}", after - before - ids_bytes, ours.store().len());
        }
        _ => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let before = rss_bytes().max(before);
            let (store, ids) = tower_with(&rt, n);
            let ids_bytes = (ids.capacity() * size_of::<Id>()) as u64;
            let after = rss_bytes();
            println!("RSS {} {}", after - before - ids_bytes, ids.len());
            drop(store);
        }
    }
}

fn bytes_per_session(side: &str, n: usize) -> f64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(MEM_CHILD, side)
        .env("MEDSEC_SESSION_BENCH_N", n.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("RSS "))
        .unwrap_or_else(|| panic!("child said: {text}"));
    let mut parts = line.split_whitespace().skip(1);
    let bytes: f64 = parts.next().unwrap().parse().unwrap();
    let live: f64 = parts.next().unwrap().parse().unwrap();
    bytes / live
}

fn report_memory() {
    let n = live_sessions();
    let ours = bytes_per_session("medsec", n);
    let theirs = bytes_per_session("tower", n);
    println!("\nresident bytes per live session ({n} live, user id + role each):");
    println!("  medsec-session MemoryStore : {ours:8.1}");
    println!("  tower-sessions MemoryStore : {theirs:8.1}");
    println!(
        "  ratio medsec / tower       : {:8.3}  (target <= 0.7)\n",
        ours / theirs
    );
}

fn main() {
    if let Ok(side) = std::env::var(MEM_CHILD) {
        let n = std::env::var("MEDSEC_SESSION_BENCH_N")
            .unwrap()
            .parse()
            .unwrap();
        memory_child(&side, n);
        return;
    }
    report_memory();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    in_memory(&mut c);
    databases(&mut c);
    c.final_summary();
}
