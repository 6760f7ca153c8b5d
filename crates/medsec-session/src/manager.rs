//! The lifecycle: typestate session handles and the [`Sessions`] manager that moves them.

use core::fmt;
use core::marker::PhantomData;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use crate::clock::{duration_millis, Clock, Timestamp};
use crate::id::{ChannelBinding, IdHash, SessionId, UserId};
use crate::policy::{CapPolicy, SessionPolicy};
use crate::record::{next_version, SessionMeta, StoredState};
use crate::revocation::{epoch_after, issued_at, SubjectRevocation};
use crate::seal::{DataSecret, MAX_DATA_LEN, NONCE_LEN, SEAL_OVERHEAD};
use crate::store::{DataUpdate, SessionStore};
use crate::{Error, Result};
use medsec_token::Role;

/// Without `alloc`, per-session data is staged on the stack in buffers of this size.
#[cfg(not(feature = "alloc"))]
const STACK_DATA_MAX: usize = 512;

mod sealed {
    pub trait Sealed {
        /// The kind asserts that the session was elevated when the handle was returned.
        const ELEVATED: bool = false;
    }
}

/// Typestate: issued at login, not yet used by the client.
#[derive(Debug)]
pub enum Established {}
/// Typestate: in use.
#[derive(Debug)]
pub enum Active {}
/// Typestate: recently re-authenticated; may perform sensitive actions (raw-data export,
/// therapy settings) until its elevation clock runs out. A handle of this kind is returned
/// (or updated by [`Sessions::set_data`]) only while the session is elevated: rotate and
/// set data through one whose elevation has lapsed fail with [`Error::ElevationRequired`].
/// It does not track the clock afterwards: to authorise a sensitive action, take the handle
/// from [`Sessions::resume_elevated`] in the same request.
#[derive(Debug)]
pub enum Elevated {}

impl sealed::Sealed for Established {}
impl sealed::Sealed for Active {}
impl sealed::Sealed for Elevated {
    const ELEVATED: bool = true;
}

/// Session states that may carry requests ([`Active`] and [`Elevated`]).
pub trait Live: sealed::Sealed {}
impl Live for Active {}
impl Live for Elevated {}

/// A session in state `S`. Holds the bearer id (zeroized on drop, never printed) and a
/// snapshot of the stored record. Not `Clone`: a transition consumes it.
///
/// A handle is a snapshot, not a live view. The manager updates it only when a write made
/// through *this* handle succeeds ([`Sessions::set_data`] in place; elevate, step down and
/// rotate return a new handle with the new id). Every other write to the session (another
/// request's resume, which is a write, or a write through another handle) leaves this handle
/// stale: a write through a stale handle fails with [`Error::Conflict`] (or
/// [`Error::Rejected`] when its id was rotated away or the session ended) and never
/// overwrites the newer state. To continue, resume the id again.
///
/// Illegal transitions do not compile:
/// ```compile_fail
/// # use medsec_session::*;
/// fn f(s: &Sessions<store::MemoryStore, ManualClock>, est: Session<Established>) {
///     let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
///     let _ = s.elevate(&mut rng, est); // Established cannot be elevated
/// }
/// ```
/// ```compile_fail
/// # use medsec_session::*;
/// fn f(s: &Sessions<store::MemoryStore, ManualClock>, est: Session<Established>) {
///     let _ = s.data(&est); // no data access before activation
/// }
/// ```
/// ```compile_fail
/// # use medsec_session::*;
/// fn f(s: &Sessions<store::MemoryStore, ManualClock>, a: Session<Active>) {
///     let ended = s.logout(a).unwrap();
///     let _ = s.logout(ended); // an ended session is not a session
/// }
/// ```
pub struct Session<S> {
    id: SessionId,
    key: IdHash,
    meta: SessionMeta,
    _state: PhantomData<S>,
}

impl<S> Session<S> {
    /// The bearer id to hand to the client (cookie, header). Secret.
    #[must_use]
    pub fn id(&self) -> &SessionId {
        &self.id
    }
    /// The hash the store keys this session by (safe to log via [`IdHash::log_tag`]).
    #[must_use]
    pub fn id_hash(&self) -> &IdHash {
        &self.key
    }
    /// The owner.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.meta.user
    }
    /// The owner's role at login.
    #[must_use]
    pub fn role(&self) -> Role {
        self.meta.role
    }
    /// The issuer time (Unix seconds) the session counts as issued at: revoking the user
    /// with an epoch after it ends the session, exactly as it kills tokens whose `iat` is
    /// before the epoch.
    #[must_use]
    pub fn issued_at(&self) -> u64 {
        issued_at(self.meta.created_at)
    }
    /// The stored record as of this handle's creation (login, resume, elevate, step down,
    /// rotate) or its last successful [`Sessions::set_data`]. Reading data does not refresh
    /// it, and writes made elsewhere are not reflected (see the type's docs).
    #[must_use]
    pub fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    fn retype<T>(self) -> Session<T> {
        Session {
            id: self.id,
            key: self.key,
            meta: self.meta,
            _state: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("state", &core::any::type_name::<S>().rsplit("::").next())
            .field("id_hash", &self.key)
            .field("version", &self.meta.version)
            .finish_non_exhaustive()
    }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The user logged out.
    Logout,
    /// No request within the idle timeout.
    IdleTimeout,
    /// The absolute lifetime ran out.
    AbsoluteTimeout,
    /// The user was revoked or their role changed (revocation epoch advanced).
    Revoked,
    /// Ended to make room under the concurrent-session cap.
    CapReached,
    /// The clock went backwards further than the policy tolerates.
    ClockRegression,
    /// Ended by the user or an administrator from a session list.
    Terminated,
}

/// Receipt for a session that has ended. Not a [`Session`]: nothing can be done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Why.
    pub reason: EndReason,
    /// Which session (its hash).
    pub id_hash: IdHash,
}

/// One line of a user's session list (ASVS v5.0.0-7.5.2): enough to recognise and end a
/// session, nothing that would let anyone resume it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSummary {
    /// Handle for [`Sessions::terminate`].
    pub id_hash: IdHash,
    /// Login time.
    pub created_at: Timestamp,
    /// Latest request.
    pub last_seen: Timestamp,
    /// When it expires if unused.
    pub expires_at: Timestamp,
    /// Elevation deadline ([`Timestamp::ZERO`] when not elevated).
    pub elevated_until: Timestamp,
    /// Bound to a TLS channel.
    pub channel_bound: bool,
}

/// Decrypted per-session data: zeroized on drop, `Debug` redacted.
#[cfg(feature = "alloc")]
pub struct SessionData(zeroize::Zeroizing<alloc::vec::Vec<u8>>);

#[cfg(feature = "alloc")]
impl SessionData {
    /// The plaintext.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(feature = "alloc")]
impl fmt::Debug for SessionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionData")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "alloc")]
impl zeroize::ZeroizeOnDrop for SessionData {}

/// Why a presented session was refused; internal (logged, never returned).
enum Refusal {
    End(EndReason),
    Deny(&'static str),
}

/// The session manager: the only way to create, resume, elevate, rotate and end sessions.
/// Generic over its store `St`, clock `C` and revocation-epoch source `E`.
pub struct Sessions<St, C, E = crate::revocation::NoRevocation> {
    store: St,
    clock: C,
    revocation: E,
    secret: DataSecret,
    policy: SessionPolicy,
}

impl<St, C, E> fmt::Debug for Sessions<St, C, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<St: SessionStore, C: Clock> Sessions<St, C> {
    /// A manager without token revocation (firmware, single-process tools).
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] when `policy` is inconsistent.
    pub fn new(store: St, clock: C, secret: DataSecret, policy: SessionPolicy) -> Result<Self> {
        Sessions::with_revocation(
            store,
            clock,
            crate::revocation::ReadOnly(medsec_token::NoRevocation),
            secret,
            policy,
        )
    }
}

impl<St: SessionStore, C: Clock, E: SubjectRevocation> Sessions<St, C, E> {
    /// A manager whose sessions honour (and raise) the revocation epochs in `revocation`.
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] when `policy` is inconsistent.
    pub fn with_revocation(
        store: St,
        clock: C,
        revocation: E,
        secret: DataSecret,
        policy: SessionPolicy,
    ) -> Result<Self> {
        policy.validate()?;
        Ok(Self {
            store,
            clock,
            revocation,
            secret,
            policy,
        })
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &St {
        &self.store
    }

    /// Creates a session after the caller has verified the user's credentials or token.
    /// Always issues a fresh id; `previous` (whatever id the client presented before
    /// logging in, if any) is ended, so a planted id can never become an authenticated
    /// one (no fixation). Enforces the concurrent-session cap.
    ///
    /// The fresh id is drawn first, before anything is deleted, and refused (a repeating
    /// random generator: a cloned VM or process state, a fixed seed) when it equals
    /// `previous` or names a stored session: then nothing is deleted, nothing is written and
    /// no second id is tried. Only a row under the fresh id that appears while the login runs
    /// (another instance repeating the same generator at the same moment) is found later, by
    /// the cap's listing or the insert; then the deletions made before stay made, and that
    /// row is still left as it is.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the policy requires channel binding and none is given;
    /// [`Error::CapacityExhausted`] at the cap with [`CapPolicy::Reject`] or when the store
    /// is full; [`Error::Conflict`] when the cap would have to end more than 16 sessions
    /// beyond those the user had when it first listed them (logins racing this one keep
    /// adding sessions; the sessions it ended stay ended; retry); [`Error::Unavailable`] when the store or epoch source fails,
    /// the clock has no trusted time, or the fresh id is refused as above.
    pub fn login<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        user: &UserId,
        role: Role,
        binding: Option<&ChannelBinding>,
        previous: Option<&SessionId>,
    ) -> Result<Session<Established>> {
        if self.policy.require_channel_binding && binding.is_none() {
            return Err(Error::InvalidInput);
        }
        // The fresh id, before anything is deleted: a deletion must never free the key it
        // repeats (the pre-login row, a row the cap ends), or the login would hand out an id
        // someone else already holds.
        let id = SessionId::generate(rng);
        let key = id.id_hash();
        let previous = previous.map(SessionId::id_hash);
        if previous.is_some_and(|k| k == key) {
            return Err(id_collision(&key));
        }
        match self.store.load(&key) {
            Ok(None) => {}
            Ok(Some(_)) | Err(Error::Rejected) => return Err(id_collision(&key)),
            Err(e) => return Err(e),
        }
        if let Some(k) = previous {
            if self.store.remove(&k)? {
                tracing::info!(session = k.log_tag(), "pre-login session ended on login");
            }
        }
        let now = self.trusted_now()?;
        self.enforce_cap(user, now, &key)?;
        let t = &self.policy.timeouts;
        let meta = SessionMeta {
            version: 1,
            user: *user,
            role,
            state: StoredState::Established,
            created_at: now,
            authenticated_at: now,
            last_seen: now,
            idle_timeout_ms: duration_millis(t.idle),
            absolute_deadline: now.saturating_add(t.absolute),
            elevated_until: Timestamp::ZERO,
            binding: binding.map(ChannelBinding::binding_hash),
            data_len: 0,
        };
        let inserted = match self.store.insert(&key, &meta, &[]) {
            Err(Error::CapacityExhausted) => {
                self.store.sweep(now)?;
                self.store.insert(&key, &meta, &[])
            }
            other => other,
        };
        match inserted {
            // A store's insert reports an existing key (and only that) as a conflict.
            Err(Error::Conflict) => return Err(id_collision(&key)),
            other => other?,
        }
        tracing::info!(session = key.log_tag(), "session established");
        Ok(Session {
            id,
            key,
            meta,
            _state: PhantomData,
        })
    }

    /// Activates a freshly established session (its first request).
    ///
    /// # Errors
    /// As [`Sessions::resume`].
    pub fn activate(
        &self,
        session: Session<Established>,
        binding: Option<&ChannelBinding>,
    ) -> Result<Session<Active>> {
        self.resume(session.id(), binding)
    }

    /// Looks a presented id up and checks, in this order, every clock (an expired session is
    /// ended), the revocation epoch (a revoked session is ended, whatever else is wrong with
    /// the request), the channel binding and the version limit (both refuse, leaving the
    /// session in place), then records the request (touch). This is the per-request entry
    /// point.
    ///
    /// # Errors
    /// [`Error::Rejected`] for any invalid session (unknown, ended, expired, revoked, bound
    /// elsewhere); [`Error::Unavailable`] when the store or epoch source fails or the clock
    /// has no trusted time (deny; nothing is ended); [`Error::Conflict`] when concurrent
    /// requests kept winning the update.
    pub fn resume(
        &self,
        id: &SessionId,
        binding: Option<&ChannelBinding>,
    ) -> Result<Session<Active>> {
        let key = id.id_hash();
        let meta = self.touch(&key, binding)?;
        Ok(Session {
            id: SessionId::from_bytes(*id.as_bytes()),
            key,
            meta,
            _state: PhantomData,
        })
    }

    /// Like [`Sessions::resume`], for requests that need an elevated session.
    ///
    /// # Errors
    /// As [`Sessions::resume`], plus [`Error::ElevationRequired`] when the session is live
    /// but not (or no longer) elevated.
    pub fn resume_elevated(
        &self,
        id: &SessionId,
        binding: Option<&ChannelBinding>,
    ) -> Result<Session<Elevated>> {
        let s = self.resume(id, binding)?;
        if self.elevated_at(&s.meta, s.meta.last_seen) {
            Ok(s.retype())
        } else {
            Err(Error::ElevationRequired)
        }
    }

    /// Elevates after the caller has re-authenticated the user (password, passkey, second
    /// factor). Rotates the id: the pre-elevation id stops working.
    ///
    /// # Errors
    /// As [`Sessions::rotate`].
    pub fn elevate<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        session: Session<Active>,
    ) -> Result<Session<Elevated>> {
        let now = self.live_now(&session)?;
        let until = now.saturating_add(self.policy.timeouts.elevation);
        let until = until.min(self.absolute_deadline(&session.meta));
        let mut meta = session.meta;
        meta.elevated_until = until;
        meta.authenticated_at = now;
        meta.last_seen = now;
        Ok(self.rotate_to(rng, session, meta)?.retype())
    }

    /// Gives up elevation early (the sensitive task is done). Rotates the id.
    ///
    /// # Errors
    /// As [`Sessions::rotate`].
    pub fn step_down<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        session: Session<Elevated>,
    ) -> Result<Session<Active>> {
        let now = self.live_now(&session)?;
        let mut meta = session.meta;
        meta.elevated_until = Timestamp::ZERO;
        meta.last_seen = now;
        Ok(self.rotate_to(rng, session, meta)?.retype())
    }

    /// Issues a new id for the same session (same user, clocks and data) and kills the old
    /// one in the same atomic store operation. Data is re-sealed under the new id's key.
    ///
    /// # Errors
    /// [`Error::Rejected`] when the session is no longer live or its version reached
    /// [`crate::record::MAX_VERSION`]; [`Error::Conflict`] when it changed since this handle
    /// was read; [`Error::ElevationRequired`] when `session` is [`Elevated`] and its
    /// elevation has lapsed (an elevated handle is only ever returned while the session is
    /// elevated: [`Sessions::step_down`] it, or resume the id); [`Error::Unavailable`] when
    /// the store fails or the new id is already in use or equals the current one (a
    /// repeating random generator). On any error nothing was written and the old id still
    /// works (the handle is consumed; resume the id to continue), except when the session was
    /// found over or revoked: then it was ended.
    pub fn rotate<R: CryptoRng + ?Sized, S: Live>(
        &self,
        rng: &mut R,
        session: Session<S>,
    ) -> Result<Session<S>> {
        let now = self.live_now(&session)?;
        self.check_still_elevated(&session, now)?;
        let mut meta = session.meta;
        meta.last_seen = now;
        Ok(self.rotate_to(rng, session, meta)?.retype())
    }

    /// Logs out: the session is deleted server-side and its data wiped. Deletes by the
    /// handle's id hash whatever the stored version, so a stale handle logs out too (a
    /// handle whose id was rotated away deletes nothing).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be reached (the client should still
    /// drop its id; the session will also expire).
    pub fn logout<S>(&self, session: Session<S>) -> Result<Ended> {
        self.store.remove(&session.key)?;
        tracing::info!(session = session.key.log_tag(), "session ended: logout");
        Ok(Ended {
            reason: EndReason::Logout,
            id_hash: session.key,
        })
    }

    /// Ends every session of `user` (logout everywhere; ASVS v5.0.0-7.4.3, 7.4.5).
    /// Returns how many ended.
    ///
    /// # Errors
    /// [`Error::Unavailable`].
    pub fn logout_everywhere(&self, user: &UserId) -> Result<usize> {
        let n = self.store.remove_user(user)?;
        tracing::info!(count = n, "user's sessions ended: logout everywhere");
        Ok(n)
    }

    /// Ends every session of the user except `current` (ASVS v5.0.0-7.4.3: after a password
    /// or factor change, offer this). Returns how many ended.
    ///
    /// Uses only the handle's user and id hash: no clock, revocation or version check. If
    /// `current`'s id was rotated through another handle meanwhile, the session now lives
    /// under another id hash and is ended with the others (fail safe).
    ///
    /// Works in batches of up to 8, listing before each, and runs at most
    /// `max(16, ceil(2 × max_sessions_per_user / 8))` batches (at most 256: the cap is at
    /// most [`SessionPolicy::MAX_SESSIONS_PER_USER`]): when the listing after the
    /// last of them still shows another session (logins racing this call on other instances
    /// keep adding sessions), it returns [`Error::Conflict`] instead of looping for ever,
    /// without ending those; the sessions it ended stay ended, and the caller should retry
    /// (or use [`Sessions::logout_everywhere`], which needs no listing).
    ///
    /// # Errors
    /// [`Error::Unavailable`]; [`Error::Conflict`] when sessions kept appearing.
    pub fn end_other_sessions<S: Live>(&self, current: &Session<S>) -> Result<usize> {
        let mut others = [None; 8];
        let mut n = 0usize;
        let cap = usize::try_from(self.policy.max_sessions_per_user).unwrap_or(usize::MAX);
        let max_batches = cap.saturating_mul(2).div_ceil(others.len()).max(16);
        let mut batches = 0usize;
        loop {
            // In batches, so this needs no heap on firmware.
            let mut found = 0usize;
            self.store
                .for_each_of_user(&current.meta.user, &mut |k, _| {
                    if *k != current.key {
                        if let Some(slot) = others.get_mut(found) {
                            *slot = Some(*k);
                            found = found.saturating_add(1);
                        }
                    }
                })?;
            if found == 0 {
                break;
            }
            if batches >= max_batches {
                // The listing after the last allowed batch still shows another session.
                tracing::warn!(
                    count = n,
                    "user's other sessions: still appearing, stopped (retry)"
                );
                return Err(Error::Conflict);
            }
            batches = batches.saturating_add(1);
            for k in others.iter_mut().filter_map(Option::take) {
                if self.store.remove(&k)? {
                    n = n.saturating_add(1);
                }
            }
        }
        tracing::info!(count = n, "user's other sessions ended");
        Ok(n)
    }

    /// Revokes a user (account disabled or deleted, credentials compromised): raises the
    /// user's revocation epoch past now (`medsec-token`'s subject epoch), which kills every
    /// token issued to them so far, then ends all their sessions. A session created
    /// concurrently on another instance before the epoch is refused at its next request.
    /// Granularity is the issuer's second: a login in the same second as the revocation is
    /// refused too. Returns how many sessions ended.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the epoch cannot be advanced or the store fails; the
    /// caller must retry: revocation is not complete.
    pub fn revoke_user(&self, user: &UserId) -> Result<usize> {
        let now = self.clock.now();
        if now == Timestamp::UNTRUSTED {
            // Without trusted time no epoch can be set safely (a far-future one would kill
            // the user's tokens for good): end the sessions, report the revocation incomplete.
            let n = self.store.remove_user(user)?;
            tracing::error!(
                count = n,
                "user's sessions ended, tokens NOT revoked: no trusted time"
            );
            return Err(Error::Unavailable);
        }
        let epoch = epoch_after(now);
        self.revocation.raise(user, epoch)?;
        let n = self.store.remove_user(user)?;
        tracing::warn!(
            count = n,
            epoch = epoch.unix_seconds(),
            "user revoked: sessions ended, tokens revoked"
        );
        Ok(n)
    }

    /// A user's role changed (typically lowered): their sessions and derived tokens carry
    /// the old role, so all are ended exactly as by [`Sessions::revoke_user`]. The user
    /// logs in again under the new role.
    ///
    /// # Errors
    /// As [`Sessions::revoke_user`].
    pub fn role_changed(&self, user: &UserId) -> Result<usize> {
        self.revoke_user(user)
    }

    /// Ends one of `user`'s sessions picked from [`Sessions::list`] (self-service "sign out
    /// that device", or an administrator). `false` when it does not exist or belongs to
    /// someone else.
    ///
    /// # Errors
    /// [`Error::Unavailable`].
    pub fn terminate(&self, user: &UserId, id_hash: &IdHash) -> Result<bool> {
        match self.store.load(id_hash)? {
            Some(m) if m.user == *user => {
                let gone = self.store.remove(id_hash)?;
                tracing::info!(session = id_hash.log_tag(), "session ended: terminated");
                Ok(gone)
            }
            _ => Ok(false),
        }
    }

    /// Calls `f` with a summary of each live session of `user`: stored sessions whose
    /// clocks have not run out and which the user's revocation epoch does not revoke.
    /// Nothing is touched or ended. Rows a persistent store refuses (tampered, foreign) are
    /// skipped.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store or epoch source fails, or the clock has no
    /// trusted time.
    pub fn for_each_session(&self, user: &UserId, mut f: impl FnMut(SessionSummary)) -> Result<()> {
        let now = self.trusted_now()?;
        let epoch = self.revocation.epoch_for(user)?;
        self.store.for_each_of_user(user, &mut |k, m| {
            if self.check_times(m, now).is_ok() && !epoch.revokes(issued_at(m.created_at)) {
                f(summary(k, m));
            }
        })
    }

    /// The live sessions of `user` (ASVS v5.0.0-7.5.2), as [`Sessions::for_each_session`].
    ///
    /// # Errors
    /// As [`Sessions::for_each_session`].
    #[cfg(feature = "alloc")]
    pub fn list(&self, user: &UserId) -> Result<alloc::vec::Vec<SessionSummary>> {
        let mut v = alloc::vec::Vec::new();
        self.for_each_session(user, |s| v.push(s))?;
        Ok(v)
    }

    /// Removes expired sessions from the store. Call it periodically (a login that finds
    /// the memory or fixed store full also sweeps). Returns how many were removed.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store fails, or when the clock has no trusted time:
    /// then nothing is removed (a far-future reading would otherwise empty the store).
    pub fn sweep(&self) -> Result<usize> {
        self.store.sweep(self.trusted_now()?)
    }

    /// Stores `plaintext` as this session's data, sealed under a key only this session's
    /// id can derive. Replaces earlier data. On success `session` holds the record written
    /// (new version, `last_seen`, data length); on any error it is left unchanged.
    ///
    /// # Errors
    /// [`Error::TooLarge`] beyond [`MAX_DATA_LEN`]; [`Error::Rejected`] when the session is
    /// no longer live or its version reached [`crate::record::MAX_VERSION`];
    /// [`Error::Conflict`] when it changed since this handle was read (resume and retry);
    /// [`Error::ElevationRequired`] when `session` is [`Elevated`] and its elevation has
    /// lapsed (nothing written: the handle would otherwise go on claiming an elevation the
    /// session no longer has; resume the id and write through that handle);
    /// [`Error::Unavailable`].
    pub fn set_data<R: CryptoRng + ?Sized, S: Live>(
        &self,
        rng: &mut R,
        session: &mut Session<S>,
        plaintext: &[u8],
    ) -> Result<()> {
        if plaintext.len() > MAX_DATA_LEN {
            return Err(Error::TooLarge);
        }
        let now = self.live_now(session)?;
        self.check_still_elevated(session, now)?;
        let sealed_len = if plaintext.is_empty() {
            0
        } else {
            plaintext.len().saturating_add(SEAL_OVERHEAD)
        };
        let mut meta = session.meta;
        meta.version = next_version(meta.version).ok_or_else(version_exhausted)?;
        meta.last_seen = now;
        meta.data_len = u32::try_from(sealed_len).map_err(|_| Error::TooLarge)?;
        with_buffer(sealed_len, |buf| {
            if !plaintext.is_empty() {
                let mut nonce = [0u8; NONCE_LEN];
                rng.fill_bytes(&mut nonce);
                self.secret
                    .seal(&session.id, &session.key, nonce, plaintext, buf)?;
            }
            self.store.update(
                &session.key,
                session.meta.version,
                &meta,
                DataUpdate::Replace(buf),
            )
        })?;
        session.meta = meta;
        Ok(())
    }

    /// This session's data, decrypted (`None` when none was set). Another session's data
    /// can never come back here: the key is derived from this session's id. The session's
    /// clocks and revocation epoch are checked first (without touching it): a handle kept
    /// past the end of its session reads nothing, and the session is ended.
    ///
    /// # Errors
    /// [`Error::Rejected`] when the session is gone, expired or revoked, or the stored data
    /// does not verify;
    /// [`Error::Conflict`] when the data changed concurrently; [`Error::Unavailable`].
    #[cfg(feature = "alloc")]
    pub fn data<S: Live>(&self, session: &Session<S>) -> Result<Option<SessionData>> {
        let (meta, _) = self.live_stored(&session.key, None)?;
        if meta.data_len == 0 {
            return Ok(None);
        }
        let sealed_len = meta.data_len as usize;
        let mut sealed = zeroize::Zeroizing::new(alloc::vec![0u8; sealed_len]);
        self.store.read_data(&session.key, &mut sealed)?;
        let mut out =
            zeroize::Zeroizing::new(alloc::vec![0u8; sealed_len.saturating_sub(SEAL_OVERHEAD)]);
        self.secret
            .open(&session.id, &session.key, &sealed, &mut out)?;
        Ok(Some(SessionData(out)))
    }

    /// Like [`Sessions::data`] without a heap: decrypts into `out` and returns the length.
    ///
    /// # Errors
    /// As [`Sessions::data`], plus [`Error::TooLarge`] when `out` is too small.
    pub fn read_data_into<S: Live>(&self, session: &Session<S>, out: &mut [u8]) -> Result<usize> {
        let (meta, _) = self.live_stored(&session.key, None)?;
        let sealed_len = meta.data_len as usize;
        if sealed_len == 0 {
            return Ok(0);
        }
        let plain_len = sealed_len.saturating_sub(SEAL_OVERHEAD);
        let dst = out.get_mut(..plain_len).ok_or(Error::TooLarge)?;
        with_buffer(sealed_len, |sealed| {
            self.store.read_data(&session.key, sealed)?;
            self.secret.open(&session.id, &session.key, sealed, dst)
        })?;
        Ok(plain_len)
    }

    // ---- internals ----

    fn is_revoked(&self, meta: &SessionMeta) -> Result<bool> {
        Ok(self
            .revocation
            .epoch_for(&meta.user)?
            .revokes(issued_at(meta.created_at)))
    }

    fn absolute_deadline(&self, meta: &SessionMeta) -> Timestamp {
        // A policy tightened after login applies to existing sessions at once.
        meta.absolute_deadline.min(
            meta.created_at
                .saturating_add(self.policy.timeouts.absolute),
        )
    }

    fn idle_ms(&self, meta: &SessionMeta) -> u64 {
        meta.idle_timeout_ms
            .min(duration_millis(self.policy.timeouts.idle))
    }

    /// The effective time for `meta` (never before its `last_seen`), or why it is over.
    fn check_times(
        &self,
        meta: &SessionMeta,
        now: Timestamp,
    ) -> core::result::Result<Timestamp, Refusal> {
        let tolerance = duration_millis(self.policy.max_clock_regression);
        if now.saturating_add_millis(tolerance) < meta.last_seen {
            return Err(Refusal::End(EndReason::ClockRegression));
        }
        // A clock that went backwards (within tolerance) freezes the session's clocks; it
        // never moves a deadline later.
        let now = now.max(meta.last_seen);
        if now >= self.absolute_deadline(meta) {
            return Err(Refusal::End(EndReason::AbsoluteTimeout));
        }
        if now >= meta.last_seen.saturating_add_millis(self.idle_ms(meta)) {
            return Err(Refusal::End(EndReason::IdleTimeout));
        }
        Ok(now)
    }

    /// The clock's reading, or [`Error::Unavailable`] when it has no trusted time
    /// ([`Timestamp::UNTRUSTED`]): the request is refused and nothing is ended, touched or
    /// swept on the strength of that reading.
    fn trusted_now(&self) -> Result<Timestamp> {
        let now = self.clock.now();
        if now == Timestamp::UNTRUSTED {
            tracing::error!("session request refused: no trusted time");
            return Err(Error::Unavailable);
        }
        Ok(now)
    }

    /// The checks every read of a stored session starts with, in this order: the clocks
    /// (ended when over), then the revocation epoch (ended when revoked). Both resume and
    /// the operations through a handle run these first, so a revoked session is ended at
    /// its next read whatever else is wrong with the request. `Err` only when the epoch
    /// cannot be read.
    fn check_live(
        &self,
        meta: &SessionMeta,
        now: Timestamp,
    ) -> Result<core::result::Result<Timestamp, Refusal>> {
        let t = match self.check_times(meta, now) {
            Ok(t) => t,
            Err(r) => return Ok(Err(r)),
        };
        if self.is_revoked(meta)? {
            return Ok(Err(Refusal::End(EndReason::Revoked)));
        }
        Ok(Ok(t))
    }

    /// What a request to a live session must also meet: the channel binding.
    fn check_binding(
        &self,
        meta: &SessionMeta,
        binding: Option<&ChannelBinding>,
    ) -> core::result::Result<(), Refusal> {
        match (&meta.binding, binding) {
            (Some(stored), Some(presented)) => {
                if !bool::from(stored.ct_eq(&presented.binding_hash())) {
                    return Err(Refusal::Deny("channel binding mismatch"));
                }
            }
            (Some(_), None) => return Err(Refusal::Deny("channel binding missing")),
            (None, _) if self.policy.require_channel_binding => {
                return Err(Refusal::Deny("unbound session where binding is required"))
            }
            (None, _) => {}
        }
        Ok(())
    }

    fn refuse(&self, key: &IdHash, refusal: Refusal) -> Error {
        match refusal {
            Refusal::End(reason) => {
                tracing::info!(session = key.log_tag(), ?reason, "session ended");
                if let Err(e) = self.store.remove(key) {
                    tracing::warn!(session = key.log_tag(), error = %e, "could not delete ended session");
                    return e;
                }
                Error::Rejected
            }
            Refusal::Deny(why) => {
                tracing::warn!(session = key.log_tag(), why, "session refused");
                Error::Rejected
            }
        }
    }

    fn touch(&self, key: &IdHash, binding: Option<&ChannelBinding>) -> Result<SessionMeta> {
        let now = self.trusted_now()?;
        let mut refusal = None;
        let mut failure = None;
        // Every check runs inside the store's read-modify-write, on the record it is about
        // to replace (the memory store holds its lock meanwhile, so the revocation source
        // is read under it: keep `SubjectRevocation::epoch_for` fast). A lost
        // compare-and-swap re-runs all of them on the newer record.
        let written = self.store.modify(key, &mut |meta| {
            refusal = None;
            failure = None;
            let checked = match self.check_live(meta, now) {
                Ok(Ok(t)) => self.check_binding(meta, binding).map(|()| t),
                Ok(Err(r)) => Err(r),
                Err(e) => {
                    failure = Some(e);
                    return None;
                }
            };
            let t = match checked {
                Ok(t) => t,
                Err(r) => {
                    refusal = Some(r);
                    return None;
                }
            };
            let Some(version) = next_version(meta.version) else {
                refusal = Some(Refusal::Deny("version counter exhausted"));
                return None;
            };
            let mut next = *meta;
            next.version = version;
            next.last_seen = t;
            next.state = StoredState::Active;
            Some(next)
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(r) = refusal {
            return Err(self.refuse(key, r));
        }
        written.ok_or_else(|| {
            tracing::debug!(session = key.log_tag(), "unknown session id");
            Error::Rejected
        })
    }

    /// Whether `meta` is elevated at the effective time `t` (exclusive deadline). A policy
    /// shortened after the elevation applies at once.
    fn elevated_at(&self, meta: &SessionMeta, t: Timestamp) -> bool {
        let until = meta.elevated_until.min(
            meta.authenticated_at
                .saturating_add(self.policy.timeouts.elevation),
        );
        t < until
    }

    /// For an operation that returns (or keeps) a handle of `session`'s kind: an
    /// [`Elevated`] handle must still be elevated at the operation's effective time `t`
    /// (after [`Self::live_now`], which matched the stored version, so the handle's record
    /// is the stored one), or the operation fails with [`Error::ElevationRequired`] before
    /// it writes anything. Other kinds pass.
    fn check_still_elevated<S: Live>(&self, session: &Session<S>, t: Timestamp) -> Result<()> {
        if S::ELEVATED && !self.elevated_at(&session.meta, t) {
            tracing::info!(
                session = session.key.log_tag(),
                "elevated handle refused: elevation lapsed"
            );
            return Err(Error::ElevationRequired);
        }
        Ok(())
    }

    /// Re-checks a handle's session against the store's current version and the clocks;
    /// returns the effective now. Used before every write through a handle.
    fn live_now<S>(&self, session: &Session<S>) -> Result<Timestamp> {
        self.live_stored(&session.key, Some(session.meta.version))
            .map(|(_, t)| t)
    }

    /// Loads the stored session and checks that it is still live (clocks, then revocation
    /// epoch: [`Self::check_live`], the same checks in the same order as a resume), ending
    /// it if not; with `version`, then also that no one changed it since. Used before every
    /// read or write through a handle, so a handle held past the end of its session gives
    /// nothing.
    fn live_stored(&self, key: &IdHash, version: Option<u64>) -> Result<(SessionMeta, Timestamp)> {
        let now = self.trusted_now()?;
        let stored = self.store.load(key)?.ok_or(Error::Rejected)?;
        match self.check_live(&stored, now)? {
            Ok(t) => {
                if version.is_some_and(|v| v != stored.version) {
                    return Err(Error::Conflict);
                }
                Ok((stored, t))
            }
            Err(r) => Err(self.refuse(key, r)),
        }
    }

    fn rotate_to<R: CryptoRng + ?Sized, S>(
        &self,
        rng: &mut R,
        session: Session<S>,
        mut meta: SessionMeta,
    ) -> Result<Session<S>> {
        let new_id = SessionId::generate(rng);
        let new_key = new_id.id_hash();
        if new_key == session.key {
            // Some stores would "move" the row onto its own key and succeed: the old id
            // would keep working and rotation would protect nothing.
            return Err(id_collision(&new_key));
        }
        meta.version = next_version(session.meta.version).ok_or_else(version_exhausted)?;
        let sealed_len = session.meta.data_len as usize;
        with_buffer(sealed_len, |old_sealed| {
            with_buffer(sealed_len.saturating_sub(SEAL_OVERHEAD), |plain| {
                with_buffer(sealed_len, |new_sealed| {
                    if sealed_len > 0 {
                        self.store.read_data(&session.key, old_sealed)?;
                        self.secret
                            .open(&session.id, &session.key, old_sealed, plain)?;
                        let mut nonce = [0u8; NONCE_LEN];
                        rng.fill_bytes(&mut nonce);
                        self.secret
                            .seal(&new_id, &new_key, nonce, plain, new_sealed)?;
                    }
                    match self.store.rotate(
                        &session.key,
                        session.meta.version,
                        &new_key,
                        &meta,
                        new_sealed,
                    ) {
                        // A lost compare-and-swap, or the new key exists: tell them apart.
                        Err(Error::Conflict) => match self.store.load(&new_key) {
                            Ok(Some(_)) | Err(Error::Rejected) => Err(id_collision(&new_key)),
                            Ok(None) => Err(Error::Conflict),
                            Err(e) => Err(e),
                        },
                        other => other,
                    }
                })
            })
        })?;
        tracing::info!(
            old = session.key.log_tag(),
            new = new_key.log_tag(),
            "session id rotated"
        );
        Ok(Session {
            id: new_id,
            key: new_key,
            meta,
            _state: PhantomData,
        })
    }

    /// The per-user cap, before a login inserts its session under `new_key`. Lists the
    /// user's sessions; deletes every one that is not live (clocks over, or revoked by the
    /// user's epoch), one at a time, re-listing after each; then, at the cap, ends the oldest
    /// live one (smallest `created_at`, ties broken by the smallest id hash, bytewise) and
    /// re-lists, or refuses with [`CapPolicy::Reject`].
    ///
    /// A listing that shows a row under `new_key` refuses the login (a repeating generator)
    /// before that round deletes anything. At most `n + CAP_EXTRA_DELETIONS` rows are
    /// deleted, `n` being the number of rows the first listing showed: a listing that calls
    /// for one more fails with [`Error::Conflict`] (racing logins keep adding sessions).
    fn enforce_cap(&self, user: &UserId, now: Timestamp, new_key: &IdHash) -> Result<()> {
        let cap = self.policy.max_sessions_per_user as usize;
        let epoch = self.revocation.epoch_for(user)?;
        let mut budget: Option<usize> = None;
        let mut deleted = 0usize;
        loop {
            let mut rows = 0usize;
            let mut live = 0usize;
            let mut oldest: Option<(Timestamp, IdHash)> = None;
            let mut dead: Option<IdHash> = None;
            let mut repeated = false;
            self.store.for_each_of_user(user, &mut |k, m| {
                rows = rows.saturating_add(1);
                repeated |= k == new_key;
                if self.check_times(m, now).is_ok() && !epoch.revokes(issued_at(m.created_at)) {
                    live = live.saturating_add(1);
                    let older = oldest
                        .is_none_or(|(t, o)| (m.created_at, k.as_bytes()) < (t, o.as_bytes()));
                    if older {
                        oldest = Some((m.created_at, *k));
                    }
                } else {
                    dead = Some(*k);
                }
            })?;
            if repeated {
                return Err(id_collision(new_key));
            }
            let budget = *budget.get_or_insert(rows.saturating_add(CAP_EXTRA_DELETIONS));
            let (victim, why) = match (dead, self.policy.on_cap, oldest) {
                (Some(k), _, _) => (k, "expired or revoked session ended at login"),
                (None, _, _) if live < cap => return Ok(()),
                (None, CapPolicy::EndOldest, Some((_, k))) => {
                    (k, "session ended: concurrent-session cap")
                }
                (None, _, _) => return Err(Error::CapacityExhausted),
            };
            if deleted >= budget {
                tracing::warn!(
                    count = deleted,
                    "concurrent-session cap: sessions still appearing, login stopped (retry)"
                );
                return Err(Error::Conflict);
            }
            self.store.remove(&victim)?;
            deleted = deleted.saturating_add(1);
            tracing::info!(session = victim.log_tag(), "{why}");
        }
    }
}

/// How many more sessions than its first listing showed the cap may end during one login.
const CAP_EXTRA_DELETIONS: usize = 16;

/// A session whose version reached [`crate::record::MAX_VERSION`] takes no further write
/// (the SQL stores' version column is a signed 64-bit integer): it is refused.
fn version_exhausted() -> Error {
    tracing::warn!("session refused: version counter exhausted");
    Error::Rejected
}

/// A freshly generated 256-bit id is already in use: the random generator repeats (a cloned
/// VM or process state, a fixed seed). Never retried and never overwritten: the session under
/// that key belongs to someone else.
fn id_collision(key: &IdHash) -> Error {
    tracing::error!(
        session = key.log_tag(),
        "new session id already in use: the random generator is repeating; refused"
    );
    Error::Unavailable
}

fn summary(k: &IdHash, m: &SessionMeta) -> SessionSummary {
    SessionSummary {
        id_hash: *k,
        created_at: m.created_at,
        last_seen: m.last_seen,
        expires_at: m.expires_at(),
        elevated_until: m.elevated_until,
        channel_bound: m.binding.is_some(),
    }
}

/// Runs `f` with a zeroed scratch buffer of `len` bytes, wiped afterwards.
fn with_buffer<T>(len: usize, f: impl FnOnce(&mut [u8]) -> Result<T>) -> Result<T> {
    #[cfg(feature = "alloc")]
    {
        let mut buf = zeroize::Zeroizing::new(alloc::vec![0u8; len]);
        f(&mut buf)
    }
    #[cfg(not(feature = "alloc"))]
    {
        let mut buf = zeroize::Zeroizing::new([0u8; STACK_DATA_MAX]);
        let slice = buf.get_mut(..len).ok_or(Error::TooLarge)?;
        f(slice)
    }
}
