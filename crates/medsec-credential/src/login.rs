//! The login path: throttle, persist, verify, reset — the same for known and unknown users.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::hash::Block;
use crate::throttle::{self, Schedule, ThrottleKey, ThrottleStore};
use crate::{Error, Password, PasswordHasher, PhcString, Result, Verified};

/// What a [`LoginGuard`] protects. Lockout gates *only* this.
///
/// There is deliberately no variant for therapy delivery or alarms: those must never wait for a
/// login or be blocked by a lockout, so a device's therapy and alarm paths must not call the
/// guard at all. What the crate locks is only what the caller asks it to guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protected {
    /// Reading or exporting patient data.
    PatientData,
    /// Changing device or account settings.
    Settings,
    /// Account and key administration.
    Administration,
    /// Service functions: device health, logs, firmware update.
    Service,
}

/// Called when an account reaches its hard limit of consecutive failures (for example the device
/// PIN's optional wipe), and again for every attempt later refused because the account is locked.
///
/// The repeat is deliberate: the failure that reaches the limit is persisted *before* the
/// password is checked, so a power cut during that check would otherwise skip the hook for good.
/// Make the hook idempotent. It may erase data and credentials of `protected`; it must never stop
/// therapy or silence alarms.
pub trait LockoutHook {
    /// The account `account` just locked while guarding `protected`.
    fn locked_out(&self, account: &ThrottleKey, protected: Protected);
}

/// One login attempt. `Debug` omits the stored hash (its salt and tag are what a cracker needs).
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    /// The account's throttle key (from [`throttle::ThrottleKeyer::account`] of the name as
    /// typed, whether or not the account exists).
    pub account: ThrottleKey,
    /// Optional source key (phone, IP address) with its own schedule. Not on a store that keeps
    /// no source records (the flash store): such an attempt is [`Error::Config`].
    pub source: Option<ThrottleKey>,
    /// The account's stored PHC string, or `None` for an unknown user name.
    pub stored_hash: Option<&'a str>,
    /// What a success unlocks.
    pub protects: Protected,
}

/// Runs login attempts: the throttle decision before any hashing, the failure counted durably
/// before the password is checked, one answer for unknown users and wrong passwords.
///
/// An attempt's source (if any) is counted like its account, before the password is checked;
/// after a verified password the account is cleared and the source gets back exactly the one
/// count this attempt added ([`throttle::refund`]), so a source's counter holds its failures
/// only: many users behind one address who log in correctly never put it into backoff.
///
/// Unknown users go through the same steps as known ones: their name's throttle record is
/// consulted and counted, and a dummy hash with the hasher's parameters and pepper is verified.
/// So the answer — [`Error::NotVerified`], [`Error::Throttled`] or [`Error::LockedOut`] — and
/// its timing depend only on the history of the name, never on whether the account exists. A
/// stored hash that is malformed or over the ceilings is treated as an unknown user's. One
/// residual: a stored hash whose cost parameters differ from the hasher's (legacy, imported)
/// takes *its* time; rehash such hashes to the policy (see docs/credential-rate-limits.md).
pub struct LoginGuard<'a, S: ThrottleStore + ?Sized> {
    hasher: &'a PasswordHasher,
    store: &'a S,
    account_schedule: Schedule,
    source_schedule: Schedule,
    dummy: PhcString,
    hook: Option<&'a dyn LockoutHook>,
}

impl<'a, S: ThrottleStore + ?Sized> LoginGuard<'a, S> {
    /// A guard with [`Schedule::ACCOUNT`] and [`Schedule::SOURCE`]. Computes one dummy hash
    /// (with a random password) to verify unknown users against.
    ///
    /// # Errors
    /// As [`PasswordHasher::hash`].
    pub fn new(hasher: &'a PasswordHasher, store: &'a S, rng: &mut impl CryptoRng) -> Result<Self> {
        let mut random = dummy_password(rng);
        let dummy = hasher.hash_bytes(&random, rng, None);
        random.zeroize();
        Ok(Self::with_dummy(hasher, store, dummy?))
    }

    /// As [`LoginGuard::new`], computing the dummy hash in caller-provided memory (firmware: no
    /// heap is used here or by [`LoginGuard::attempt_with_memory`]).
    ///
    /// # Errors
    /// As [`PasswordHasher::hash_with_memory`].
    pub fn new_with_memory(
        hasher: &'a PasswordHasher,
        store: &'a S,
        rng: &mut impl CryptoRng,
        memory: &mut [Block],
    ) -> Result<Self> {
        let mut random = dummy_password(rng);
        let dummy = hasher.hash_bytes(&random, rng, Some(memory));
        random.zeroize();
        Ok(Self::with_dummy(hasher, store, dummy?))
    }

    fn with_dummy(hasher: &'a PasswordHasher, store: &'a S, dummy: PhcString) -> Self {
        Self {
            hasher,
            store,
            account_schedule: Schedule::ACCOUNT,
            source_schedule: Schedule::SOURCE,
            dummy,
            hook: None,
        }
    }

    /// Uses `schedule` for accounts (for example [`Schedule::DEVICE_PIN`]).
    pub fn with_account_schedule(mut self, schedule: Schedule) -> Self {
        self.account_schedule = schedule;
        self
    }

    /// Uses `schedule` for sources.
    pub fn with_source_schedule(mut self, schedule: Schedule) -> Self {
        self.source_schedule = schedule;
        self
    }

    /// Calls `hook` when an account locks.
    pub fn with_lockout_hook(mut self, hook: &'a dyn LockoutHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Runs one attempt at `now_ms`, allocating Argon2 memory.
    ///
    /// # Errors
    /// [`Error::NotVerified`] (wrong user or password), [`Error::Throttled`],
    /// [`Error::LockedOut`]; [`Error::Store`] when the failure could not be counted (the password
    /// is then not checked), or a verified password's account could not be cleared or its
    /// source count refunded; [`Error::Config`] for an attempt with a source on a store that
    /// keeps no source records ([`ThrottleStore::keeps_source_records`], the flash store),
    /// before anything is read, counted or hashed. A stored hash outside the profile or the ceilings is answered with
    /// `NotVerified` after verifying the dummy hash, exactly as for an unknown user (so neither
    /// the answer nor its timing tells that the account exists); the guard logs it as a
    /// `stored_hash_rejected` event. So is a stored hash without the pepper the hasher requires
    /// ([`crate::PepperRequirement`]). A stored hash naming a pepper id the ring does not hold
    /// is verified as it stands (full Argon2 work) and answered `NotVerified`, like a wrong
    /// password, and is logged as `stored_hash_rejected` too (a planted hash raises an alert).
    pub fn attempt(
        &self,
        attempt: &Attempt<'_>,
        password: &Password,
        now_ms: u64,
    ) -> Result<Verified> {
        self.run(attempt, now_ms, |stored| {
            self.hasher.verify(password, stored)
        })
    }

    /// As [`LoginGuard::attempt`], hashing in caller-provided memory (no allocation).
    ///
    /// # Errors
    /// As [`LoginGuard::attempt`]; [`Error::MemoryTooSmall`].
    pub fn attempt_with_memory(
        &self,
        attempt: &Attempt<'_>,
        password: &Password,
        now_ms: u64,
        memory: &mut [Block],
    ) -> Result<Verified> {
        self.run(attempt, now_ms, |stored| {
            self.hasher
                .verify_with_memory(password, stored, &mut *memory)
        })
    }

    /// Changes a password (ASVS 6.2.2, 6.2.3): the current password goes through the full,
    /// throttled attempt for `attempt`; only then is the new one checked against `policy` and
    /// `context` and hashed. Returns the new PHC string to store.
    ///
    /// # Errors
    /// Any error of [`LoginGuard::attempt`] for the current password; [`Error::Rejected`] when
    /// the new password fails the policy; errors of [`PasswordHasher::hash`].
    #[allow(
        clippy::too_many_arguments,
        reason = "each input is required and distinct"
    )]
    pub fn change_password(
        &self,
        attempt: &Attempt<'_>,
        current: &Password,
        new: &Password,
        policy: &crate::PasswordPolicy,
        context: &[&str],
        now_ms: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<PhcString> {
        let _verified = self.attempt(attempt, current, now_ms)?;
        policy.check(new, context)?;
        self.hasher.hash(new, rng)
    }

    /// Out-of-band unlock (after identity is re-established another way).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn unlock(&self, account: &ThrottleKey) -> Result<()> {
        throttle::clear(self.store, account)
    }

    fn run(
        &self,
        attempt: &Attempt<'_>,
        now_ms: u64,
        verify: impl FnMut(&str) -> Result<Verified>,
    ) -> Result<Verified> {
        let mut stored_hash_rejected = false;
        let outcome = self.run_inner(attempt, now_ms, verify, &mut stored_hash_rejected);
        let label = outcome_label(&outcome, stored_hash_rejected);
        // ASVS 16.3.1: every attempt is an event. The key is a keyed hash, not the name.
        tracing::info!(
            target: "medsec_credential::login",
            account = ?attempt.account,
            protects = ?attempt.protects,
            outcome = label,
            "login attempt"
        );
        outcome
    }

    fn run_inner(
        &self,
        attempt: &Attempt<'_>,
        now_ms: u64,
        mut verify: impl FnMut(&str) -> Result<Verified>,
        stored_hash_rejected: &mut bool,
    ) -> Result<Verified> {
        // 0. A store that cannot free a source's record (flash) never receives one.
        if attempt.source.is_some() && !self.store.keeps_source_records() {
            return Err(Error::Config("this throttle store keeps no source records"));
        }
        // 1. Decide before hashing: a refused attempt costs the server almost nothing.
        if let Some(source) = &attempt.source {
            throttle::peek(self.store, source, &self.source_schedule, now_ms)?;
        }
        // 2. Count the failure durably *before* checking the password.
        let counted =
            match throttle::begin(self.store, &attempt.account, &self.account_schedule, now_ms) {
                Err(Error::LockedOut) => {
                    // Again on every locked refusal: see `LockoutHook`.
                    self.locked_out(attempt);
                    return Err(Error::LockedOut);
                }
                other => other?,
            };
        let source_counted = match &attempt.source {
            Some(source) => Some(throttle::begin_counted(
                self.store,
                source,
                &self.source_schedule,
                now_ms,
            )?),
            None => None,
        };
        // 3. Verify; an unknown user verifies the dummy hash and always fails.
        let known = attempt.stored_hash.is_some();
        let stored = attempt.stored_hash.unwrap_or(self.dummy.as_str());
        // Parsed for every attempt, known or not (the dummy names the current pepper or none),
        // so the check costs the same whatever the answer.
        let unknown_pepper = self.hasher.names_unknown_pepper(stored);
        let mut result = verify(stored);
        if known && unknown_pepper && matches!(result, Err(Error::NotVerified)) {
            // A hash under a pepper id the ring does not hold cannot verify (section 4): planted
            // by someone who can write the hash database, or left behind by a pepper removed
            // too early. Same answer and same Argon2 work as a wrong password; logged as
            // rejected so that it raises an alert.
            *stored_hash_rejected = true;
        }
        if known
            && matches!(
                result,
                Err(Error::MalformedHash | Error::LimitExceeded | Error::PepperRequired)
            )
        {
            // A broken stored hash (or one without the required pepper) was refused before any
            // work: do the unknown user's work and give its answer, so the account's existence
            // shows neither in the answer nor in the time taken. Its own cost parameters were
            // never trusted.
            *stored_hash_rejected = true;
            result = verify(self.dummy.as_str()).and(Err(Error::NotVerified));
        }
        match result {
            Ok(v) if known => {
                // 4. Success resets the account. The source gets back only the one count this
                //    attempt added: it throttles failures, not logins, and is never cleared (one
                //    good account must not launder a spraying source).
                //    The refund restores the source's record as it was before this attempt when no
                //    other attempt changed it since. A failed clear returns before the refund.
                throttle::clear(self.store, &attempt.account)?;
                if let (Some(source), Some(counted)) = (&attempt.source, &source_counted) {
                    throttle::refund(self.store, source, &self.source_schedule, counted)?;
                }
                Ok(v)
            }
            Ok(_) | Err(Error::NotVerified) => {
                if self.account_schedule.hard_limit() == Some(counted.failures) {
                    self.locked_out(attempt);
                }
                Err(Error::NotVerified)
            }
            Err(e) => Err(e),
        }
    }

    fn locked_out(&self, attempt: &Attempt<'_>) {
        if let Some(hook) = self.hook {
            hook.locked_out(&attempt.account, attempt.protects);
        }
    }
}

/// The `outcome` field of the login event.
fn outcome_label(outcome: &Result<Verified>, stored_hash_rejected: bool) -> &'static str {
    match outcome {
        Ok(_) => "verified",
        Err(Error::NotVerified) if stored_hash_rejected => "stored_hash_rejected",
        Err(Error::NotVerified) => "not_verified",
        Err(Error::Throttled { .. }) => "throttled",
        Err(Error::LockedOut) => "locked_out",
        Err(Error::Store) => "store_failure",
        Err(_) => "error",
    }
}

/// 48 random letters (192 bits): the password of the dummy hash, never known to anyone.
fn dummy_password(rng: &mut impl CryptoRng) -> [u8; 48] {
    let mut random = [0u8; 24];
    rng.fill_bytes(&mut random);
    let mut text = [0u8; 48];
    const LETTERS: &[u8; 16] = b"abcdefghijklmnop";
    for (pair, b) in text.chunks_exact_mut(2).zip(random.iter()) {
        for (out, nibble) in pair.iter_mut().zip([b >> 4, b & 0x0f]) {
            *out = LETTERS.get(usize::from(nibble)).copied().unwrap_or(b'a');
        }
    }
    random.zeroize();
    text
}

impl fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("account", &self.account)
            .field("source", &self.source)
            .field("protects", &self.protects)
            .finish_non_exhaustive()
    }
}

impl<S: ThrottleStore + ?Sized> fmt::Debug for LoginGuard<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginGuard")
            .field("account_schedule", &self.account_schedule)
            .field("source_schedule", &self.source_schedule)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::hash::hazmat::hasher_below_minimum;
    use crate::throttle::FixedThrottleStore;
    use crate::{HashParams, Pepper, PepperRing};
    use rand_chacha::rand_core::SeedableRng;

    fn hasher(pepper_id: u8) -> PasswordHasher {
        let mut ring = PepperRing::new();
        ring.rotate_to(Pepper::new(u32::from(pepper_id), [pepper_id; Pepper::LEN]))
            .unwrap();
        hasher_below_minimum(HashParams::new(64, 1, 1).unwrap())
            .unwrap()
            .with_peppers(ring)
    }

    /// Runs one attempt through `run_inner` and returns its answer and event label.
    fn classify(
        guard_hasher: &PasswordHasher,
        stored: Option<&str>,
        pw: &str,
    ) -> (Result<Verified>, &'static str) {
        let store = FixedThrottleStore::<8>::new();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let guard = LoginGuard::new(guard_hasher, &store, &mut rng).unwrap();
        let attempt = Attempt {
            account: ThrottleKey::from_bytes([1; 16]),
            source: None,
            stored_hash: stored,
            protects: Protected::PatientData,
        };
        let password = Password::new(pw).unwrap();
        let mut rejected = false;
        let out = guard.run_inner(
            &attempt,
            1_000,
            |s| guard_hasher.verify(&password, s),
            &mut rejected,
        );
        let label = outcome_label(&out, rejected);
        (out, label)
    }

    /// A hash planted under a pepper id the ring does not hold (section 4) is answered
    /// `NotVerified` like a wrong password, and logged as `stored_hash_rejected`.
    #[test]
    fn planted_hash_under_an_unknown_keyid_is_logged_as_rejected() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let ours = hasher(1);
        let pw = Password::new("correct horse battery").unwrap();
        let good = ours.hash(&pw, &mut rng).unwrap();
        // The attacker's hash: the right password under keyid 9, which our ring lacks.
        let planted = hasher(9).hash(&pw, &mut rng).unwrap();
        assert!(planted.as_str().contains("keyid="));
        let (out, label) = classify(&ours, Some(planted.as_str()), "correct horse battery");
        assert_eq!(out.unwrap_err(), Error::NotVerified);
        assert_eq!(label, "stored_hash_rejected");
        // Unchanged: a wrong password on a good hash, an unknown user, a correct login.
        let (out, label) = classify(&ours, Some(good.as_str()), "wrong horse battery");
        assert_eq!(out.unwrap_err(), Error::NotVerified);
        assert_eq!(label, "not_verified");
        let (out, label) = classify(&ours, None, "correct horse battery");
        assert_eq!(out.unwrap_err(), Error::NotVerified);
        assert_eq!(label, "not_verified");
        let (out, label) = classify(&ours, Some(good.as_str()), "correct horse battery");
        assert!(out.is_ok());
        assert_eq!(label, "verified");
    }
}
