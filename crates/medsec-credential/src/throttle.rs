//! Throttling with backoff: a per-key state machine, persisted before the credential is checked.
//!
//! Each key (an account, or a source such as a phone or an IP address) has a
//! [`ThrottleRecord`]: the number of consecutive failures and the time of the last one. A
//! [`Schedule`] turns a record into an [`Admission`]: the first failures are free, then every
//! further failure doubles the wait (up to a cap), and at the hard limit (never more than 100,
//! NIST SP 800-63B) the key is locked until an out-of-band unlock.
//!
//! [`begin`] makes the decision *and* counts the attempt as a failure in one atomic
//! compare-and-swap on the store, before any hashing: a refused attempt costs nothing, and
//! cutting the power after a wrong guess cannot undo the count. [`clear`] resets a key after a
//! success. Stores: [`FixedThrottleStore`] (no heap, firmware), [`FlashThrottleStore`] (records
//! on flash that survive power loss), `MemoryThrottleStore` (`std`, bounded) and
//! `PgThrottleStore` (`postgres`, shared by server instances).

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, Result};

mod fixed;
pub mod flash;
#[cfg(feature = "std")]
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod table;

pub use fixed::FixedThrottleStore;
pub use flash::{FlashThrottleStore, RecordFlash};
#[cfg(feature = "std")]
pub use memory::MemoryThrottleStore;
#[cfg(feature = "postgres")]
pub use postgres::PgThrottleStore;

/// NIST SP 800-63B: at most 100 consecutive failed attempts on one account.
pub const NIST_MAX_CONSECUTIVE_FAILURES: u32 = 100;

/// How many compare-and-swap rounds [`begin`] and [`clear`] try before giving up (fail closed).
pub const MAX_CAS_ROUNDS: usize = 64;

/// The persisted state of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleRecord {
    /// Consecutive failures (attempts that were admitted and not followed by a success).
    pub failures: u32,
    /// When the last failure was counted (the caller's clock, milliseconds).
    pub last_failure_ms: u64,
}

impl ThrottleRecord {
    /// The state of a key that never failed, or succeeded since. Stores keep no entry for it.
    pub const CLEAR: Self = Self {
        failures: 0,
        last_failure_ms: 0,
    };

    /// True for [`ThrottleRecord::CLEAR`].
    pub fn is_clear(&self) -> bool {
        self.failures == 0
    }
}

/// What a [`Schedule`] says about a new attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The attempt may go ahead.
    Allowed,
    /// Too soon after the last failure: not before `retry_at_ms`.
    Wait {
        /// Earliest time a new attempt is admitted.
        retry_at_ms: u64,
    },
    /// The hard limit was reached: only an out-of-band unlock ([`clear`]) admits attempts again.
    Locked,
}

/// Free failures, growing delays and a hard limit. Times are milliseconds of the caller's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    free_failures: u32,
    base_delay_ms: u64,
    max_delay_ms: u64,
    hard_limit: Option<u32>,
    forget_after_ms: Option<u64>,
}

impl Schedule {
    /// Accounts: 5 free failures, then 1 s doubling to a 15 min cap, locked at 100 consecutive
    /// failures (NIST's maximum). Failures are never forgotten by time alone.
    pub const ACCOUNT: Self = Self {
        free_failures: 5,
        base_delay_ms: 1_000,
        max_delay_ms: 15 * 60 * 1_000,
        hard_limit: Some(NIST_MAX_CONSECUTIVE_FAILURES),
        forget_after_ms: None,
    };
    /// Device PINs: 3 free failures, then 30 s doubling to 30 min, locked after 10 failures
    /// in total.
    pub const DEVICE_PIN: Self = Self {
        free_failures: 3,
        base_delay_ms: 30_000,
        max_delay_ms: 30 * 60 * 1_000,
        hard_limit: Some(10),
        forget_after_ms: None,
    };
    /// Sources (a phone, an IP address): 20 free failures, then 1 s doubling to 15 min; no hard
    /// limit (a shared address must not lock anyone out for good), and failures older than 24 h
    /// are forgotten.
    pub const SOURCE: Self = Self {
        free_failures: 20,
        base_delay_ms: 1_000,
        max_delay_ms: 15 * 60 * 1_000,
        hard_limit: None,
        forget_after_ms: Some(24 * 60 * 60 * 1_000),
    };

    /// A custom schedule.
    ///
    /// # Errors
    /// [`Error::Config`] unless `1 <= base_delay_ms <= max_delay_ms`, the hard limit (if any) is
    /// in `1..=100` and above `free_failures`, and `forget_after_ms` (if any) is at least
    /// `max_delay_ms`.
    pub const fn new(
        free_failures: u32,
        base_delay_ms: u64,
        max_delay_ms: u64,
        hard_limit: Option<u32>,
        forget_after_ms: Option<u64>,
    ) -> Result<Self> {
        if base_delay_ms == 0 || base_delay_ms > max_delay_ms {
            return Err(Error::Config("delays: need 1 <= base <= max"));
        }
        if let Some(h) = hard_limit {
            if h == 0 || h > NIST_MAX_CONSECUTIVE_FAILURES || h <= free_failures {
                return Err(Error::Config("hard limit: need free < limit <= 100"));
            }
        }
        if let Some(f) = forget_after_ms {
            if f < max_delay_ms {
                return Err(Error::Config("forget_after shorter than the longest delay"));
            }
        }
        Ok(Self {
            free_failures,
            base_delay_ms,
            max_delay_ms,
            hard_limit,
            forget_after_ms,
        })
    }

    /// Failures admitted without delay.
    pub const fn free_failures(&self) -> u32 {
        self.free_failures
    }

    /// Failures at which the key locks, if any.
    pub const fn hard_limit(&self) -> Option<u32> {
        self.hard_limit
    }

    /// The first delay, after `free_failures + 1` failures (ms).
    pub const fn base_delay_ms(&self) -> u64 {
        self.base_delay_ms
    }

    /// The longest delay (ms).
    pub const fn max_delay_ms(&self) -> u64 {
        self.max_delay_ms
    }

    /// Quiet time after which a key's failures are forgotten (ms), if any.
    pub const fn forget_after_ms(&self) -> Option<u64> {
        self.forget_after_ms
    }

    /// The wait imposed after `failures` consecutive failures: 0 up to the free failures, then
    /// `base * 2^(failures - free - 1)` capped at the maximum.
    pub const fn delay_after(&self, failures: u32) -> u64 {
        if failures <= self.free_failures {
            return 0;
        }
        let doublings = failures
            .saturating_sub(self.free_failures)
            .saturating_sub(1);
        if doublings >= 63 {
            return self.max_delay_ms;
        }
        let factor = 1u64 << doublings;
        match self.base_delay_ms.checked_mul(factor) {
            Some(d) if d < self.max_delay_ms => d,
            _ => self.max_delay_ms,
        }
    }

    /// The record as this schedule sees it at `now_ms` (failures older than `forget_after` are
    /// dropped).
    pub const fn effective(&self, record: &ThrottleRecord, now_ms: u64) -> ThrottleRecord {
        if let Some(forget) = self.forget_after_ms {
            if now_ms >= record.last_failure_ms.saturating_add(forget) {
                return ThrottleRecord::CLEAR;
            }
        }
        *record
    }

    /// Decides whether an attempt at `now_ms` is admitted. A clock that went backwards (a reboot
    /// of a device with only a boot-relative clock) never shortens a wait: the full delay runs
    /// again from `now_ms` ([`begin`] and [`peek`] persist that restart, so a later attempt at
    /// the retry time is admitted).
    pub const fn admit(&self, record: &ThrottleRecord, now_ms: u64) -> Admission {
        let record = self.effective(record, now_ms);
        if let Some(h) = self.hard_limit {
            if record.failures >= h {
                return Admission::Locked;
            }
        }
        let delay = self.delay_after(record.failures);
        if delay == 0 {
            return Admission::Allowed;
        }
        let retry_at_ms = if now_ms < record.last_failure_ms {
            now_ms.saturating_add(delay)
        } else {
            record.last_failure_ms.saturating_add(delay)
        };
        if now_ms < retry_at_ms {
            Admission::Wait { retry_at_ms }
        } else {
            Admission::Allowed
        }
    }

    /// The record after one more failure at `now_ms`.
    pub const fn count_failure(&self, record: &ThrottleRecord, now_ms: u64) -> ThrottleRecord {
        let record = self.effective(record, now_ms);
        ThrottleRecord {
            failures: record.failures.saturating_add(1),
            last_failure_ms: now_ms,
        }
    }
}

/// A store of throttle records. Implementations must make [`ThrottleStore::compare_and_swap`]
/// atomic and durable: when it returns `Ok(true)` the new record survives a crash or power loss.
/// [`ThrottleRecord::CLEAR`] means "no entry".
///
/// **Eviction.** A store with a fixed number of cells must never make room for a new key by
/// dropping a record that still counts: a record with failures may give up its cell only once
/// the schedule it was written under has forgotten it (`forget_after` passed since its last
/// failure; never, for a schedule without `forget_after`). When no cell can be freed, the write
/// for the *new* key fails with [`Error::Store`] (its attempt is refused, fail closed); keys that
/// already hold a record keep it and keep working. Otherwise an attacker who can fill the store
/// with records of other names would reset a target's count and get fresh guesses without end
/// (docs/credential-format.md section 8, "Eviction").
pub trait ThrottleStore {
    /// The record of `key` ([`ThrottleRecord::CLEAR`] when there is none).
    ///
    /// # Errors
    /// [`Error::Store`] when the store cannot be read.
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecord>;

    /// Replaces the record of `key` by `new` if it is still `current`; `Ok(false)` when another
    /// writer changed it first.
    ///
    /// # Errors
    /// [`Error::Store`] when the store cannot be written or is full of records it must keep.
    fn compare_and_swap(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
    ) -> Result<bool>;

    /// As [`ThrottleStore::compare_and_swap`], for a record kept under `schedule` ([`begin`]
    /// and [`peek`] write through this). A store that evicts may remember the schedule's
    /// `forget_after` with the record, so that its cell can be given to another key once the
    /// schedule has forgotten it. The default ignores `schedule`: a record written without it
    /// is treated as never forgotten, so it is never evicted while it has failures.
    ///
    /// # Errors
    /// As [`ThrottleStore::compare_and_swap`].
    fn compare_and_swap_scheduled(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
        schedule: &Schedule,
    ) -> Result<bool> {
        let _ = schedule;
        self.compare_and_swap(key, current, new)
    }

    /// Whether this store may hold source keys ([`crate::Attempt::source`]). `true` by
    /// default. [`FlashThrottleStore`] answers `false`: a flash cell is freed only by clearing
    /// its record, which no login does for a source, so every source that ever failed would hold
    /// a cell for good; `LoginGuard` refuses an attempt with a source on such a store
    /// ([`Error::Config`]).
    fn keeps_source_records(&self) -> bool {
        true
    }
}

impl<T: ThrottleStore + ?Sized> ThrottleStore for &T {
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecord> {
        (**self).load(key)
    }
    fn compare_and_swap(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
    ) -> Result<bool> {
        (**self).compare_and_swap(key, current, new)
    }
    fn compare_and_swap_scheduled(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
        schedule: &Schedule,
    ) -> Result<bool> {
        (**self).compare_and_swap_scheduled(key, current, new, schedule)
    }
    fn keeps_source_records(&self) -> bool {
        (**self).keeps_source_records()
    }
}

/// What one counted attempt did to a key's record: returned by [`begin_counted`], and what
/// [`refund`] needs to give the count back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// The record the count replaced, as the schedule saw it at the attempt's time: the clear
    /// record when it had none or had forgotten it ([`Schedule::effective`]).
    pub prior: ThrottleRecord,
    /// The record the count wrote ([`Schedule::count_failure`] of `prior`).
    pub counted: ThrottleRecord,
}

impl Counted {
    /// True when the count added nothing: `prior` already held `u32::MAX` failures (the count
    /// saturates), so there is nothing to give back.
    pub const fn saturated(&self) -> bool {
        self.counted.failures == self.prior.failures
    }
}

/// Decides an attempt for `key` and, when it is admitted, counts it as a failure durably —
/// before the caller checks the credential (persist before verify). Returns the counted record.
///
/// A refused attempt writes nothing, except when the clock went back behind the key's last
/// failure (a device reboot with a boot-relative clock): the record's time is then moved back to
/// `now_ms` (see [`Schedule::admit`]), so the wait runs in full from the new clock and ends at
/// the `retry_at_ms` given, instead of lasting until the new clock passes the old one.
///
/// One round: load, [`Schedule::admit`], (restart write), compare-and-swap to
/// [`Schedule::count_failure`]. When either compare-and-swap finds the record changed by another
/// writer, the round starts over from the load; after [`MAX_CAS_ROUNDS`] rounds in all the
/// attempt fails closed.
///
/// # Errors
/// [`Error::Throttled`] or [`Error::LockedOut`] when the schedule refuses the attempt;
/// [`Error::Store`] when the store fails or stays contended, or has no cell for a new key (see
/// [`ThrottleStore`], "Eviction").
pub fn begin<S: ThrottleStore + ?Sized>(
    store: &S,
    key: &ThrottleKey,
    schedule: &Schedule,
    now_ms: u64,
) -> Result<ThrottleRecord> {
    begin_counted(store, key, schedule, now_ms).map(|c| c.counted)
}

/// As [`begin`], returning also the record the count replaced, for a later [`refund`].
///
/// # Errors
/// As [`begin`].
pub fn begin_counted<S: ThrottleStore + ?Sized>(
    store: &S,
    key: &ThrottleKey,
    schedule: &Schedule,
    now_ms: u64,
) -> Result<Counted> {
    for _ in 0..MAX_CAS_ROUNDS {
        let Some(current) = decide(store, key, schedule, now_ms)? else {
            continue;
        };
        let prior = schedule.effective(&current, now_ms);
        let counted = schedule.count_failure(&current, now_ms);
        if store.compare_and_swap_scheduled(key, &current, &counted, schedule)? {
            return Ok(Counted { prior, counted });
        }
    }
    Err(Error::Store)
}

/// Checks an attempt for `key` without counting it: a [`begin`] round without the final
/// count. It loads the record and applies [`Schedule::admit`]; when the answer is a wait and the
/// clock went back behind the record's last failure, it writes the restart exactly as [`begin`]
/// does (its only write). A lost compare-and-swap starts over, at most [`MAX_CAS_ROUNDS`] rounds.
/// `Ok(())` means "would be admitted now"; nothing is reserved, so a later [`begin`] decides
/// again.
///
/// # Errors
/// As [`begin`].
pub fn peek<S: ThrottleStore + ?Sized>(
    store: &S,
    key: &ThrottleKey,
    schedule: &Schedule,
    now_ms: u64,
) -> Result<()> {
    for _ in 0..MAX_CAS_ROUNDS {
        if decide(store, key, schedule, now_ms)?.is_some() {
            return Ok(());
        }
    }
    Err(Error::Store)
}

/// Loads `key` and applies the schedule: `Ok(Some(record))` when admitted, the refusal as an
/// error, `Ok(None)` when a concurrent writer changed the record (try again).
fn decide<S: ThrottleStore + ?Sized>(
    store: &S,
    key: &ThrottleKey,
    schedule: &Schedule,
    now_ms: u64,
) -> Result<Option<ThrottleRecord>> {
    let current = store.load(key)?;
    let admission = schedule.admit(&current, now_ms);
    if let Admission::Wait { .. } = admission {
        if now_ms < current.last_failure_ms {
            // The clock went back: persist the restart of the wait, or the next attempt (at the
            // retry time we are about to give) would be told to wait again.
            let restarted = ThrottleRecord {
                last_failure_ms: now_ms,
                ..current
            };
            if !store.compare_and_swap_scheduled(key, &current, &restarted, schedule)? {
                return Ok(None);
            }
        }
    }
    refuse_unless_admitted(admission)?;
    Ok(Some(current))
}

/// Resets `key` after a success, or as the out-of-band unlock of a locked key.
///
/// # Errors
/// [`Error::Store`] when the store fails or stays contended.
pub fn clear<S: ThrottleStore + ?Sized>(store: &S, key: &ThrottleKey) -> Result<()> {
    for _ in 0..MAX_CAS_ROUNDS {
        let current = store.load(key)?;
        if current.is_clear() || store.compare_and_swap(key, &current, &ThrottleRecord::CLEAR)? {
            return Ok(());
        }
    }
    Err(Error::Store)
}

/// Gives back the one failure that an attempt's [`begin_counted`] counted for `key`, after the
/// credential verified: `LoginGuard` calls it for the attempt's source, so that a source's
/// counter throttles failed logins and not successful ones.
///
/// Each round loads the stored record and swaps in the refunded one:
/// - stored record equal to `counted.counted` (no other attempt changed it since): it becomes
///   `counted.prior`, time included (the clear record when `prior` is clear). The key is left
///   as if the attempt had never been made: a verified login neither restarts a wait nor
///   postpones the forgetting.
/// - any other stored record `(f, last)` (other attempts were counted or refunded since):
///   `(f - 1, last)`, or the clear record when `f = 1`; a clear record stays clear (nothing is
///   written). `last_failure_ms` is kept: it is the time of the latest count, which may be
///   another attempt's failure, and the failures' individual times are not stored.
///
/// When the count added nothing (`counted.saturated()`, `u32::MAX` failures) the refund does
/// nothing. The record is never cleared as a whole: the failures of other attempts stay, so an
/// attacker who owns an account cannot use it to reset a counter between guesses. Call it at
/// most once per counted attempt, with that attempt's [`Counted`], and only for a verified
/// credential. A lost compare-and-swap starts over, at most [`MAX_CAS_ROUNDS`] rounds.
///
/// # Errors
/// [`Error::Store`] when the store fails or stays contended.
pub fn refund<S: ThrottleStore + ?Sized>(
    store: &S,
    key: &ThrottleKey,
    schedule: &Schedule,
    counted: &Counted,
) -> Result<()> {
    if counted.saturated() {
        return Ok(());
    }
    for _ in 0..MAX_CAS_ROUNDS {
        let current = store.load(key)?;
        let refunded = if current == counted.counted {
            if counted.prior.is_clear() {
                ThrottleRecord::CLEAR
            } else {
                counted.prior
            }
        } else {
            match current.failures {
                0 => return Ok(()),
                1 => ThrottleRecord::CLEAR,
                f => ThrottleRecord {
                    failures: f.saturating_sub(1),
                    ..current
                },
            }
        };
        if store.compare_and_swap_scheduled(key, &current, &refunded, schedule)? {
            return Ok(());
        }
    }
    Err(Error::Store)
}

fn refuse_unless_admitted(admission: Admission) -> Result<()> {
    match admission {
        Admission::Allowed => Ok(()),
        Admission::Wait { retry_at_ms } => Err(Error::Throttled { retry_at_ms }),
        Admission::Locked => Err(Error::LockedOut),
    }
}

/// The 16-byte key a throttle record is stored under: a keyed hash of the account name or source
/// id, so that stores never hold user names and an attacker cannot aim at a table slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleKey([u8; ThrottleKey::LEN]);

impl ThrottleKey {
    /// Length in bytes.
    pub const LEN: usize = 16;

    /// A key from its bytes (as stored).
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// Two independent 64-bit values for table placement (the key is a keyed hash, so both are
    /// uniform and unknown to an attacker).
    pub(crate) fn spreads(&self) -> (u64, u64) {
        let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = self.0;
        (
            u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            u64::from_le_bytes([i, j, k, l, m, n, o, p]),
        )
    }
}

impl fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A keyed hash, not a name: safe to log, and enough to correlate events.
        f.write_str("ThrottleKey(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Derives [`ThrottleKey`]s: `HMAC-SHA-256(key, scope || input)[..16]`, scope `0x01` for
/// accounts, `0x02` for sources given as bytes, `0x03` for an account on an authenticated device
/// (whose input is length-prefixed, so that no two (name, device) pairs share a key), `0x04` for
/// client IP addresses (4 bytes for IPv4, the 8-byte /64 prefix for IPv6). Instances behind one
/// shared store must use the same key.
pub struct ThrottleKeyer {
    key: [u8; 32],
}

impl ThrottleKeyer {
    const ACCOUNT: u8 = 0x01;
    const SOURCE: u8 = 0x02;
    const ACCOUNT_ON_DEVICE: u8 = 0x03;
    const SOURCE_IP: u8 = 0x04;

    /// A keyer from 32 secret bytes.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A keyer with a fresh random key (for a single process with a memory store).
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Self { key }
    }

    /// The key of an account name (compared byte for byte: normalise names before).
    pub fn account(&self, name: &[u8]) -> ThrottleKey {
        self.derive(Self::ACCOUNT, &[name])
    }

    /// The key of a source identified by bytes: a phone or device id, a client certificate
    /// fingerprint... For IP addresses use [`ThrottleKeyer::source_ip`], which encodes them one
    /// way only.
    pub fn source(&self, id: &[u8]) -> ThrottleKey {
        self.derive(Self::SOURCE, &[id])
    }

    /// The key of a client IP address, scope `0x04`: an IPv4 address, or an IPv4-mapped IPv6
    /// address (`::ffff:a.b.c.d`, as dual-stack sockets report IPv4 clients), is its 4 bytes,
    /// so both forms of one client share a counter; any other IPv6 address is its first
    /// 8 bytes, the /64 prefix, because one subscriber usually holds a whole /64 and could
    /// otherwise take a fresh counter per address. The two lengths keep the forms apart.
    ///
    /// The input is the binary address, as `SocketAddr::ip()` of the peer gives it: there is
    /// no text form, and port, flow label and zone (`SocketAddrV6::scope_id`) are not part of
    /// it, so every link-local address (any interface) shares the key of `fe80::/64`. Only
    /// `::ffff:0:0/96` is mapped to IPv4; NAT64, 6to4, Teredo and IPv4-compatible addresses are
    /// ordinary IPv6 (docs/credential-format.md section 6).
    pub fn source_ip(&self, ip: core::net::IpAddr) -> ThrottleKey {
        use core::net::IpAddr;
        match ip {
            IpAddr::V4(v4) => self.derive(Self::SOURCE_IP, &[&v4.octets()]),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.derive(Self::SOURCE_IP, &[&v4.octets()]),
                None => {
                    let [a, b, c, d, e, f, g, h, ..] = v6.octets();
                    self.derive(Self::SOURCE_IP, &[&[a, b, c, d, e, f, g, h]])
                }
            },
        }
    }

    /// The key of account `name` on a device the service already knows (OWASP "device
    /// cookies"): failures from other devices land on other counters, so an attacker guessing
    /// elsewhere cannot lock the user's own device out.
    ///
    /// `device_id` **must be authenticated** (a valid device cookie, or a signature by a key the
    /// device registered): with an unauthenticated id an attacker gets a fresh counter for
    /// every id they invent. Requests without an authenticated device use
    /// [`ThrottleKeyer::account`]. Input: `0x03 || BE64(len(name)) || name ||
    /// BE64(len(device_id)) || device_id`, so `("ab", "c")` and `("a", "bc")`, or `(name, "")`
    /// and the bare account, never share a key (concatenating name and device id into
    /// [`ThrottleKeyer::account`] would).
    pub fn account_on_device(&self, name: &[u8], device_id: &[u8]) -> ThrottleKey {
        self.derive(
            Self::ACCOUNT_ON_DEVICE,
            &[&be64_len(name), name, &be64_len(device_id), device_id],
        )
    }

    fn derive(&self, scope: u8, parts: &[&[u8]]) -> ThrottleKey {
        let mut out = [0u8; ThrottleKey::LEN];
        // HMAC accepts keys of any length, so this cannot fail.
        if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) {
            mac.update(&[scope]);
            for part in parts {
                mac.update(part);
            }
            let tag = mac.finalize().into_bytes();
            for (o, t) in out.iter_mut().zip(tag.iter()) {
                *o = *t;
            }
        }
        ThrottleKey(out)
    }
}

fn be64_len(bytes: &[u8]) -> [u8; 8] {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes()
}

impl Zeroize for ThrottleKeyer {
    fn zeroize(&mut self) {
        self.key.zeroize();
    }
}

impl Drop for ThrottleKeyer {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for ThrottleKeyer {}

impl fmt::Debug for ThrottleKeyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThrottleKeyer").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn schedule_bounds() {
        assert!(Schedule::new(5, 1000, 900_000, Some(101), None).is_err());
        assert!(Schedule::new(5, 1000, 900_000, Some(5), None).is_err());
        assert!(Schedule::new(5, 0, 900_000, Some(100), None).is_err());
        assert!(Schedule::new(5, 2000, 1000, Some(100), None).is_err());
        assert!(Schedule::new(5, 1000, 900_000, None, Some(1000)).is_err());
        assert!(Schedule::new(5, 1000, 900_000, Some(100), None).is_ok());
    }

    #[test]
    fn delays_double_to_the_cap() {
        let s = Schedule::ACCOUNT;
        let d: alloc::vec::Vec<u64> = (0..=12).map(|f| s.delay_after(f)).collect();
        assert_eq!(
            d,
            [0, 0, 0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000]
        );
        assert_eq!(s.delay_after(16), 900_000);
        assert_eq!(s.delay_after(u32::MAX), 900_000);
    }

    #[test]
    fn device_counters_do_not_collide() {
        let k = ThrottleKeyer::new([7; 32]);
        // The old recipe, account(name || device_id), put these pairs on one counter.
        let concat = |name: &[u8], dev: &[u8]| k.account(&[name, dev].concat());
        assert_eq!(concat(b"ab", b"c"), concat(b"a", b"bc"));
        assert_eq!(concat(b"alice", b""), k.account(b"alice"));
        assert_eq!(concat(b"", b"alice"), k.account(b"alice"));
        // Length-prefixed, they are all distinct (and distinct from bare accounts and sources).
        let keys = [
            k.account_on_device(b"ab", b"c"),
            k.account_on_device(b"a", b"bc"),
            k.account_on_device(b"alice", b""),
            k.account_on_device(b"", b"alice"),
            k.account_on_device(b"abc", b""),
            k.account(b"alice"),
            k.account(b"abc"),
            k.source(b"alice"),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in keys.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            k.account_on_device(b"ab", b"c"),
            k.account_on_device(b"ab", b"c")
        );
    }

    #[test]
    fn one_client_address_one_source_key() {
        use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let k = ThrottleKeyer::new([7; 32]);
        let v4 = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
        let mapped = IpAddr::V6(Ipv4Addr::new(203, 0, 113, 7).to_ipv6_mapped());
        // A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d: the same counter.
        assert_eq!(k.source_ip(v4), k.source_ip(mapped));
        // IPv6: one counter per /64.
        let a: Ipv6Addr = "2001:db8:aa:bb::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:aa:bb:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:aa:bc::1".parse().unwrap();
        assert_eq!(k.source_ip(IpAddr::V6(a)), k.source_ip(IpAddr::V6(b)));
        assert_ne!(k.source_ip(IpAddr::V6(a)), k.source_ip(IpAddr::V6(c)));
        // Its own scope: never the key of the same bytes given as a source id.
        assert_ne!(k.source_ip(v4), k.source(&[203, 0, 113, 7]));
        assert_ne!(k.source_ip(v4), k.account(&[203, 0, 113, 7]));
    }

    /// The key is taken from `SocketAddr::ip()` of the peer: port, flow label and zone
    /// (`scope_id`) are not part of it, so a client cannot get another counter through them
    /// (docs/credential-format.md section 6).
    #[test]
    fn port_flow_and_zone_do_not_change_the_source_key() {
        use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
        let k = ThrottleKeyer::new([7; 32]);
        let peer = |a: SocketAddr| k.source_ip(a.ip());
        let link_local: Ipv6Addr = "fe80::1".parse().unwrap();
        let other_host: Ipv6Addr = "fe80::2".parse().unwrap();
        let base = peer(SocketAddr::V6(SocketAddrV6::new(link_local, 443, 0, 1)));
        for (ip, port, flow, zone) in [
            (link_local, 443, 0, 2),
            (link_local, 50_000, 0xF_FFFF, 0),
            (other_host, 443, 0, 7),
        ] {
            assert_eq!(
                peer(SocketAddr::V6(SocketAddrV6::new(ip, port, flow, zone))),
                base
            );
        }
        // An IPv4 client on an IPv4 socket and on a dual-stack IPv6 socket.
        let v4 = Ipv4Addr::new(203, 0, 113, 7);
        assert_eq!(
            peer(SocketAddr::V4(SocketAddrV4::new(v4, 1))),
            peer(SocketAddr::V6(SocketAddrV6::new(
                v4.to_ipv6_mapped(),
                2,
                3,
                4
            )))
        );
    }

    #[test]
    fn keyer_separates_scopes() {
        let k = ThrottleKeyer::new([7; 32]);
        assert_ne!(k.account(b"alice"), k.source(b"alice"));
        assert_eq!(k.account(b"alice"), k.account(b"alice"));
        assert_ne!(
            k.account(b"alice"),
            ThrottleKeyer::new([8; 32]).account(b"alice")
        );
    }
}
