//! Argon2id password hashing and verification with presets, ceilings and peppers.
//!
//! Hashes are PHC strings of the profile in [`crate::phc`]. Verification parses the stored
//! string, checks its cost against [`VerifyLimits`] *before* allocating anything, recomputes
//! Argon2id (RFC 9106) with the `argon2` crate and compares in constant time.

use alloc::vec::Vec;
use core::fmt;

use argon2::{Algorithm, Argon2, Version};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::phc::{self, PhcHash, PhcString};
use crate::{Error, Password, Result};

/// One Argon2 memory block (1 KiB), for callers that provide the memory (firmware).
pub use argon2::Block;

/// Argon2id cost parameters: memory in KiB, passes, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    m_kib: u32,
    t: u32,
    p: u32,
}

impl HashParams {
    /// Server preset: OWASP's minimum, m = 19 MiB, t = 2, p = 1 (also an ASVS 5.0 Appendix C row).
    pub const SERVER: Self = Self {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };
    /// Phone app preset: m = 46 MiB, t = 1, p = 1 (the OWASP/ASVS one-pass row: phones have
    /// memory to spare and slower cores, so one pass over more memory keeps latency down).
    pub const APP: Self = Self {
        m_kib: 47_104,
        t: 1,
        p: 1,
    };
    /// Firmware preset: m = 12 MiB, t = 3, p = 1, in caller-provided blocks. The least memory of
    /// OWASP's equal-strength settings that ASVS 5.0 Appendix C also lists.
    pub const FIRMWARE: Self = Self {
        m_kib: 12_288,
        t: 3,
        p: 1,
    };

    /// Parameters with Argon2's own bounds: `t >= 1`, `1 <= p <= 2^24 - 1`, `m >= 8p`.
    ///
    /// # Errors
    /// [`Error::Config`] when a bound is violated.
    pub const fn new(m_kib: u32, t: u32, p: u32) -> Result<Self> {
        if t == 0 || p == 0 || p > 0x00FF_FFFF {
            return Err(Error::Config("Argon2 t and p out of range"));
        }
        // m >= 8p without overflow (p < 2^24).
        if (m_kib as u64) < (p as u64).saturating_mul(8) {
            return Err(Error::Config("Argon2 m below 8 blocks per lane"));
        }
        Ok(Self { m_kib, t, p })
    }

    /// Memory in KiB.
    pub const fn m_kib(&self) -> u32 {
        self.m_kib
    }

    /// Number of passes.
    pub const fn t(&self) -> u32 {
        self.t
    }

    /// Number of lanes.
    pub const fn p(&self) -> u32 {
        self.p
    }

    /// Number of 1 KiB blocks Argon2 uses for these parameters (m rounded down to a multiple of
    /// 4p).
    pub fn blocks(&self) -> usize {
        self.argon2_params().map_or(0, |p| p.block_count())
    }

    /// True when these parameters meet ASVS 5.0 Appendix C / OWASP for Argon2id:
    /// t = 1 needs m >= 47104, t = 2 needs m >= 19456, t >= 3 needs m >= 12288.
    pub const fn meets_minimum(&self) -> bool {
        match self.t {
            0 => false,
            1 => self.m_kib >= 47_104,
            2 => self.m_kib >= 19_456,
            _ => self.m_kib >= 12_288,
        }
    }

    /// True when these (stored) parameters are weaker than `policy` in some dimension: less
    /// memory or fewer passes. Lanes do not change the work an attacker does, so `p` is not
    /// compared. Parameters at least as strong in both dimensions are never "weaker", even when
    /// they differ from the policy.
    pub const fn is_weaker_than(&self, policy: &Self) -> bool {
        self.m_kib < policy.m_kib || self.t < policy.t
    }

    fn argon2_params(&self) -> Result<argon2::Params> {
        argon2::Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|_| Error::Config("Argon2 parameters"))
    }
}

/// Ceilings on stored hashes: anything above is refused before memory is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    max_m_kib: u32,
    max_t: u32,
    max_p: u32,
    max_salt_len: usize,
    max_hash_len: usize,
}

impl VerifyLimits {
    /// Server ceilings: m <= 64 MiB, t <= 10, p <= 4, salt and hash <= 64 bytes. Admits
    /// argon2-cffi's default profile, RFC 9106's second recommended option (m = 64 MiB, t = 3,
    /// p = 4).
    pub const SERVER: Self = Self {
        max_m_kib: 65_536,
        max_t: 10,
        max_p: 4,
        max_salt_len: phc::MAX_SALT_LEN,
        max_hash_len: phc::MAX_HASH_LEN,
    };

    /// Custom ceilings: most memory (KiB), passes and lanes, longest salt and hash (bytes).
    ///
    /// # Errors
    /// [`Error::Config`] ("verify ceilings out of range") unless `max_m_kib >= 8`,
    /// `max_t >= 1`, `max_p >= 1`, `8 <= max_salt_len <= 64` and `16 <= max_hash_len <= 64`.
    /// `m`, `t` and `p` have no other upper bound than `u32::MAX`.
    pub const fn new(
        max_m_kib: u32,
        max_t: u32,
        max_p: u32,
        max_salt_len: usize,
        max_hash_len: usize,
    ) -> Result<Self> {
        if max_m_kib < 8
            || max_t == 0
            || max_p == 0
            || max_salt_len < phc::MIN_SALT_LEN
            || max_salt_len > phc::MAX_SALT_LEN
            || max_hash_len < phc::MIN_HASH_LEN
            || max_hash_len > phc::MAX_HASH_LEN
        {
            return Err(Error::Config("verify ceilings out of range"));
        }
        Ok(Self {
            max_m_kib,
            max_t,
            max_p,
            max_salt_len,
            max_hash_len,
        })
    }

    /// Ceilings for a verifier with `blocks` caller-provided memory blocks (firmware): m may not
    /// exceed the memory, t <= 10, p <= 4, salt and hash <= 64 bytes. `max_m` is `blocks`
    /// itself (above `2^32 - 1`, `2^32 - 1`, which admits the same hashes: m is a `u32`), never
    /// rounded, so every stored hash within these ceilings runs in `blocks` blocks
    /// ([`HashParams::blocks`] <= m). Since a hash needs m >= 8p, the lanes that fit are
    /// effectively at most `blocks / 8` (rounded down).
    ///
    /// # Errors
    /// [`Error::Config`] ("verify ceilings out of range") when `blocks` is below 8: no Argon2
    /// hash uses fewer than 8 blocks.
    pub fn for_memory_blocks(blocks: usize) -> Result<Self> {
        let m = u32::try_from(blocks).unwrap_or(u32::MAX);
        Self::new(m, 10, 4, phc::MAX_SALT_LEN, phc::MAX_HASH_LEN)
    }

    /// Most memory, KiB.
    pub const fn max_m_kib(&self) -> u32 {
        self.max_m_kib
    }

    /// Most passes.
    pub const fn max_t(&self) -> u32 {
        self.max_t
    }

    /// Most lanes.
    pub const fn max_p(&self) -> u32 {
        self.max_p
    }

    /// Longest salt, bytes.
    pub const fn max_salt_len(&self) -> usize {
        self.max_salt_len
    }

    /// Longest hash output, bytes.
    pub const fn max_hash_len(&self) -> usize {
        self.max_hash_len
    }

    /// Whether `params` are within the ceilings.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when they are not.
    pub const fn check(&self, params: &HashParams) -> Result<()> {
        if params.m_kib > self.max_m_kib || params.t > self.max_t || params.p > self.max_p {
            return Err(Error::LimitExceeded);
        }
        Ok(())
    }
}

/// A pepper: an Argon2 secret (RFC 9106 "K") kept outside the database, with a key id stored in
/// the PHC string (`keyid=`) so that peppers can rotate.
pub struct Pepper {
    id: u32,
    secret: [u8; Self::LEN],
}

impl Pepper {
    /// Pepper length in bytes.
    pub const LEN: usize = 32;

    /// A pepper from its id and secret bytes.
    pub fn new(id: u32, secret: [u8; Self::LEN]) -> Self {
        Self { id, secret }
    }

    /// A fresh random pepper.
    pub fn generate(id: u32, rng: &mut impl CryptoRng) -> Self {
        let mut secret = [0u8; Self::LEN];
        rng.fill_bytes(&mut secret);
        Self { id, secret }
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl Zeroize for Pepper {
    fn zeroize(&mut self) {
        self.secret.zeroize();
    }
}

impl Drop for Pepper {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Pepper {}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Peppers by key id, one of them current (used for new hashes).
#[derive(Debug, Default)]
pub struct PepperRing {
    peppers: Vec<Pepper>,
    current: Option<u32>,
}

impl PepperRing {
    /// An empty ring: hashes are made without a pepper.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `pepper` and makes it current.
    ///
    /// # Errors
    /// [`Error::Config`] when a pepper with the same id is already present.
    pub fn rotate_to(&mut self, pepper: Pepper) -> Result<()> {
        self.add(pepper)?;
        self.current = self.peppers.last().map(Pepper::id);
        Ok(())
    }

    /// Adds an older `pepper` that still verifies existing hashes.
    ///
    /// # Errors
    /// [`Error::Config`] when a pepper with the same id is already present.
    pub fn add(&mut self, pepper: Pepper) -> Result<()> {
        if self.get(pepper.id).is_some() {
            return Err(Error::Config("duplicate pepper id"));
        }
        self.peppers.push(pepper);
        Ok(())
    }

    /// Id of the current pepper.
    pub fn current_id(&self) -> Option<u32> {
        self.current
    }

    fn get(&self, id: u32) -> Option<&Pepper> {
        self.peppers.iter().find(|p| p.id == id)
    }

    fn current(&self) -> Option<&Pepper> {
        self.current.and_then(|id| self.get(id))
    }
}

/// Which stored hashes a [`PasswordHasher`] with peppers agrees to verify
/// ([`PasswordHasher::require_pepper`]).
///
/// A pepper protects against someone who can *read* the hash database. Against someone who can
/// *write* it, it helps only if hashes without it are refused: otherwise they store an
/// unpeppered hash of a password they chose (plain libargon2 makes one) and log in with it.
/// Refusals happen before any Argon2 work and are [`Error::PepperRequired`].
///
/// Not covered by any setting: a peppered hash copied from another account whose password the
/// writer knows still verifies (a hash is not bound to its account); database integrity controls
/// must cover that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PepperRequirement {
    /// Hashes with and without a `keyid` verify (the default; what a migration to peppers
    /// needs while old hashes remain).
    #[default]
    Optional,
    /// Only hashes with a `keyid` verify; any pepper of the ring (an id the ring does not hold
    /// is still [`Error::NotVerified`], as without this setting). Enable once every stored hash
    /// carries a pepper: after the unpeppered ones were re-peppered at login
    /// ([`Verified::needs_repepper`]) and the rest reset.
    Any,
    /// Only hashes with the ring's current `keyid` verify. Enable after every stored hash has
    /// moved to the current pepper, or to force the accounts still on an older pepper through a
    /// reset (their hashes are refused, and logged, rather than verified).
    Current,
}

/// The outcome of a successful verification, with rehash advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Verified {
    needs_rehash: bool,
    needs_repepper: bool,
}

impl Verified {
    /// True only when the stored parameters are weaker than the hasher's policy (see
    /// [`HashParams::is_weaker_than`]), or its salt or output is shorter than we emit: hash the
    /// password again with [`PasswordHasher::rehash`] and store the new string.
    pub fn needs_rehash(&self) -> bool {
        self.needs_rehash
    }

    /// True when the stored hash was made with a pepper other than the current one (or without a
    /// pepper while one is configured): hash the password again with [`PasswordHasher::rehash`]
    /// to move it to the current pepper.
    pub fn needs_repepper(&self) -> bool {
        self.needs_repepper
    }
}

/// Hashes and verifies passwords with one policy, ceilings and optional peppers.
#[derive(Debug)]
pub struct PasswordHasher {
    params: HashParams,
    limits: VerifyLimits,
    peppers: PepperRing,
    pepper_requirement: PepperRequirement,
}

impl PasswordHasher {
    /// A hasher for `params` with [`VerifyLimits::SERVER`] ceilings and no pepper.
    ///
    /// # Errors
    /// [`Error::Config`] when `params` do not meet [`HashParams::meets_minimum`] or exceed the
    /// server ceilings (see [`hazmat::hasher_below_minimum`] for tests and constrained targets).
    pub fn new(params: HashParams) -> Result<Self> {
        if !params.meets_minimum() {
            return Err(Error::Config(
                "Argon2id parameters below the OWASP/ASVS minimum",
            ));
        }
        Self::with_params_unchecked(params)
    }

    fn with_params_unchecked(params: HashParams) -> Result<Self> {
        let limits = VerifyLimits::SERVER;
        limits
            .check(&params)
            .map_err(|_| Error::Config("parameters above the verify ceilings"))?;
        Ok(Self {
            params,
            limits,
            peppers: PepperRing::new(),
            pepper_requirement: PepperRequirement::Optional,
        })
    }

    /// Replaces the verify ceilings.
    ///
    /// # Errors
    /// [`Error::Config`] when the ceilings would refuse this hasher's own hashes.
    pub fn with_limits(mut self, limits: VerifyLimits) -> Result<Self> {
        limits
            .check(&self.params)
            .map_err(|_| Error::Config("ceilings below the hasher's own parameters"))?;
        if limits.max_salt_len < phc::SALT_LEN || limits.max_hash_len < phc::HASH_LEN {
            return Err(Error::Config(
                "ceilings below the emitted salt or hash length",
            ));
        }
        self.limits = limits;
        Ok(self)
    }

    /// Uses `peppers` (the current one for new hashes, all of them for verification).
    pub fn with_peppers(mut self, peppers: PepperRing) -> Self {
        self.peppers = peppers;
        self
    }

    /// Refuses stored hashes without a pepper, or without the current one
    /// ([`PepperRequirement`]; the default is [`PepperRequirement::Optional`]). Call after
    /// [`PasswordHasher::with_peppers`].
    ///
    /// # Errors
    /// [`Error::Config`] when `requirement` is not `Optional` and the ring has no current
    /// pepper (the hasher would refuse its own hashes).
    pub fn require_pepper(mut self, requirement: PepperRequirement) -> Result<Self> {
        if requirement != PepperRequirement::Optional && self.peppers.current().is_none() {
            return Err(Error::Config("a pepper requirement needs a current pepper"));
        }
        self.pepper_requirement = requirement;
        Ok(self)
    }

    /// The pepper requirement for stored hashes.
    pub fn pepper_requirement(&self) -> PepperRequirement {
        self.pepper_requirement
    }

    /// The policy parameters used for new hashes.
    pub fn params(&self) -> &HashParams {
        &self.params
    }

    /// The verify ceilings.
    pub fn limits(&self) -> &VerifyLimits {
        &self.limits
    }

    /// Hashes `password` with a fresh 16-byte salt, allocating the Argon2 memory.
    ///
    /// A password with a code point unassigned in [`crate::NFKC_UNICODE_VERSION`] is refused
    /// ([`Password::is_all_assigned`]): a later Unicode version could normalise it differently
    /// and the new hash would stop verifying after an upgrade. Verification has no such rule,
    /// so hashes made before it keep verifying; to follow [`Verified::needs_rehash`] or
    /// [`Verified::needs_repepper`] for a password that just verified, use
    /// [`PasswordHasher::rehash`], which has no such rule.
    ///
    /// # Errors
    /// [`Error::Rejected`] with [`crate::Rejection::Unassigned`];
    /// [`Error::MemoryTooSmall`] when the memory cannot be allocated.
    pub fn hash(&self, password: &Password, rng: &mut impl CryptoRng) -> Result<PhcString> {
        refuse_unassigned(password)?;
        self.hash_bytes(password.as_bytes(), rng, None)
    }

    /// Hashes again a password that just verified (`verified` is what
    /// [`PasswordHasher::verify`] returned for it), to follow [`Verified::needs_rehash`] or
    /// [`Verified::needs_repepper`]. Pass only the password that produced `verified`.
    ///
    /// Unlike [`PasswordHasher::hash`] it does not refuse code points unassigned in
    /// [`crate::NFKC_UNICODE_VERSION`]: the stored hash already depends on the same normalised
    /// bytes, so the new hash is no less stable, and refusing would pin such users to an old
    /// pepper or weak parameters for good.
    ///
    /// # Errors
    /// [`Error::MemoryTooSmall`] when the memory cannot be allocated.
    pub fn rehash(
        &self,
        password: &Password,
        verified: &Verified,
        rng: &mut impl CryptoRng,
    ) -> Result<PhcString> {
        let _proof_of_verification = verified;
        self.hash_bytes(password.as_bytes(), rng, None)
    }

    /// [`PasswordHasher::rehash`] in caller-provided memory (no allocation).
    ///
    /// # Errors
    /// [`Error::MemoryTooSmall`] when `memory` has fewer than [`HashParams::blocks`] blocks.
    pub fn rehash_with_memory(
        &self,
        password: &Password,
        verified: &Verified,
        rng: &mut impl CryptoRng,
        memory: &mut [Block],
    ) -> Result<PhcString> {
        let _proof_of_verification = verified;
        self.hash_bytes(password.as_bytes(), rng, Some(memory))
    }

    /// Hashes `password` in caller-provided memory (no allocation).
    ///
    /// # Errors
    /// As [`PasswordHasher::hash`]; [`Error::MemoryTooSmall`] when `memory` has fewer than
    /// [`HashParams::blocks`] blocks.
    pub fn hash_with_memory(
        &self,
        password: &Password,
        rng: &mut impl CryptoRng,
        memory: &mut [Block],
    ) -> Result<PhcString> {
        refuse_unassigned(password)?;
        self.hash_bytes(password.as_bytes(), rng, Some(memory))
    }

    /// Hashes the (already normalised) bytes `password` with a fresh salt, in `memory` or in
    /// memory allocated here.
    pub(crate) fn hash_bytes(
        &self,
        password: &[u8],
        rng: &mut impl CryptoRng,
        memory: Option<&mut [Block]>,
    ) -> Result<PhcString> {
        let mut salt = [0u8; phc::SALT_LEN];
        rng.fill_bytes(&mut salt);
        match memory {
            Some(memory) => self.hash_with_salt(password, &salt, memory),
            None => {
                let mut memory = alloc_blocks(self.params.blocks())?;
                let out = self.hash_with_salt(password, &salt, &mut memory);
                memory.zeroize();
                out
            }
        }
    }

    /// Hashes with a given salt: for known-answer vectors only (a salt must be fresh and random).
    pub(crate) fn hash_with_salt(
        &self,
        password: &[u8],
        salt: &[u8],
        memory: &mut [Block],
    ) -> Result<PhcString> {
        let pepper = self.peppers.current();
        if pepper.is_none() && self.pepper_requirement != PepperRequirement::Optional {
            // `with_peppers` replaced the ring after `require_pepper`: never make a hash this
            // hasher would refuse.
            return Err(Error::Config("a pepper requirement needs a current pepper"));
        }
        let mut out = [0u8; phc::HASH_LEN];
        let result = argon2id(
            &self.params,
            pepper.map(|p| &p.secret[..]),
            password,
            salt,
            &mut out,
            memory,
        );
        let phc = result.and_then(|()| {
            PhcHash::from_parts(self.params, pepper.map(Pepper::id), salt, &out).map(|h| h.encode())
        });
        out.zeroize();
        phc
    }

    /// Verifies `password` against a stored PHC string, allocating the Argon2 memory (after the
    /// ceilings have been checked).
    ///
    /// # Errors
    /// [`Error::NotVerified`] when the password does not match (or the hash names a pepper this
    /// hasher does not hold); [`Error::MalformedHash`] / [`Error::LimitExceeded`] for a stored
    /// string outside the profile or the ceilings, [`Error::PepperRequired`] for one without
    /// the pepper [`PasswordHasher::require_pepper`] asks for (all decided before any
    /// allocation); [`Error::MemoryTooSmall`] when the memory cannot be allocated.
    pub fn verify(&self, password: &Password, stored: &str) -> Result<Verified> {
        let parsed = self.parse_stored(stored)?;
        let mut memory = alloc_blocks(parsed.params().blocks())?;
        let out = self.verify_parsed(password, &parsed, &mut memory);
        memory.zeroize();
        out
    }

    /// Verifies in caller-provided memory (no allocation).
    ///
    /// # Errors
    /// As [`PasswordHasher::verify`]; [`Error::MemoryTooSmall`] when `memory` is too small for the
    /// stored parameters.
    pub fn verify_with_memory(
        &self,
        password: &Password,
        stored: &str,
        memory: &mut [Block],
    ) -> Result<Verified> {
        let parsed = self.parse_stored(stored)?;
        self.verify_parsed(password, &parsed, memory)
    }

    /// Parses a stored hash within the ceilings and checks the pepper requirement: everything
    /// decided before any work.
    fn parse_stored(&self, stored: &str) -> Result<PhcHash> {
        let parsed = PhcHash::parse(stored, &self.limits)?;
        let refused = match self.pepper_requirement {
            PepperRequirement::Optional => false,
            PepperRequirement::Any => parsed.pepper_id().is_none(),
            PepperRequirement::Current => {
                parsed.pepper_id().is_none() || parsed.pepper_id() != self.peppers.current_id()
            }
        };
        if refused {
            return Err(Error::PepperRequired);
        }
        Ok(parsed)
    }

    /// True when `stored` parses within the ceilings and names a pepper id (`keyid`) this
    /// hasher's ring does not hold: such a hash can only answer [`Error::NotVerified`], and
    /// `LoginGuard` logs it as `stored_hash_rejected` (a planted hash, or a pepper removed too
    /// early). Parsing only, no Argon2 work.
    pub(crate) fn names_unknown_pepper(&self, stored: &str) -> bool {
        PhcHash::parse(stored, &self.limits)
            .ok()
            .and_then(|p| p.pepper_id())
            .is_some_and(|id| self.peppers.get(id).is_none())
    }

    /// Whether a stored hash is weaker than this hasher's policy (without verifying it).
    ///
    /// # Errors
    /// [`Error::MalformedHash`] / [`Error::LimitExceeded`] as for [`PasswordHasher::verify`].
    pub fn needs_rehash(&self, stored: &str) -> Result<bool> {
        let parsed = PhcHash::parse(stored, &self.limits)?;
        Ok(self.is_weaker(&parsed))
    }

    fn is_weaker(&self, parsed: &PhcHash) -> bool {
        parsed.params().is_weaker_than(&self.params)
            || parsed.salt().len() < phc::SALT_LEN
            || parsed.hash().len() < phc::HASH_LEN
    }

    pub(crate) fn verify_parsed(
        &self,
        password: &Password,
        parsed: &PhcHash,
        memory: &mut [Block],
    ) -> Result<Verified> {
        // An unknown pepper id still costs a full hash, with a stand-in secret, so the answer's
        // timing does not tell which ids exist.
        let stand_in = [0u8; Pepper::LEN];
        let (secret, pepper_known) = match parsed.pepper_id() {
            None => (None, true),
            Some(id) => match self.peppers.get(id) {
                Some(p) => (Some(&p.secret[..]), true),
                None => (Some(&stand_in[..]), false),
            },
        };
        let mut out = [0u8; phc::MAX_HASH_LEN];
        let out_len = parsed.hash().len();
        let computed = out.get_mut(..out_len).ok_or(Error::MalformedHash)?;
        argon2id(
            parsed.params(),
            secret,
            password.as_bytes(),
            parsed.salt(),
            computed,
            memory,
        )?;
        let matches = parsed.hash_matches(computed) & pepper_known;
        out.zeroize();
        if !matches {
            return Err(Error::NotVerified);
        }
        Ok(Verified {
            needs_rehash: self.is_weaker(parsed),
            needs_repepper: parsed.pepper_id() != self.peppers.current_id(),
        })
    }
}

/// Argon2id v1.3 into `out`, in `memory` (which is wiped afterwards).
fn argon2id(
    params: &HashParams,
    secret: Option<&[u8]>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
) -> Result<()> {
    let argon_params = params.argon2_params()?;
    let needed = argon_params.block_count();
    let memory = memory.get_mut(..needed).ok_or(Error::MemoryTooSmall)?;
    let ctx = match secret {
        Some(k) => Argon2::new_with_secret(k, Algorithm::Argon2id, Version::V0x13, argon_params)
            .map_err(|_| Error::Config("pepper"))?,
        None => Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params),
    };
    let result = ctx
        .hash_password_into_with_memory(password, salt, out, &mut *memory)
        .map_err(|_| Error::Config("Argon2 inputs"));
    memory.iter_mut().for_each(Zeroize::zeroize);
    result
}

fn refuse_unassigned(password: &Password) -> Result<()> {
    if password.is_all_assigned() {
        Ok(())
    } else {
        Err(Error::Rejected(crate::Rejection::Unassigned))
    }
}

fn alloc_blocks(n: usize) -> Result<Vec<Block>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::MemoryTooSmall)?;
    v.resize(n, Block::new());
    Ok(v)
}

pub mod hazmat {
    //! ⚠️ **Hazardous**: hashers whose parameters are below the OWASP/ASVS minimum.
    //!
    //! For tests that must run many hashes quickly, and for devices that cannot afford the
    //! minimum and accept the weaker protection knowingly. Never use for production passwords on
    //! a server.

    use super::{Block, HashParams, PasswordHasher};
    use crate::{Password, PhcString, Result};

    /// A hasher for any valid Argon2id parameters, however weak.
    ///
    /// # Errors
    /// [`crate::Error::Config`] when `params` exceed the server ceilings.
    pub fn hasher_below_minimum(params: HashParams) -> Result<PasswordHasher> {
        PasswordHasher::with_params_unchecked(params)
    }

    /// Hashes with a caller-chosen salt, for known-answer vectors. A real salt must be fresh
    /// and random for every hash: never use this for stored passwords. Unlike
    /// [`PasswordHasher::hash`] it does not refuse unassigned code points, so tests can make
    /// hashes as earlier versions of the crate did.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for a salt outside 8..=64 bytes; [`crate::Error::MemoryTooSmall`].
    pub fn hash_with_salt(
        hasher: &PasswordHasher,
        password: &Password,
        salt: &[u8],
        memory: &mut [Block],
    ) -> Result<PhcString> {
        hasher.hash_with_salt(password.as_bytes(), salt, memory)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn presets_meet_the_minimum() {
        for p in [HashParams::SERVER, HashParams::APP, HashParams::FIRMWARE] {
            assert!(p.meets_minimum(), "{p:?}");
            assert!(PasswordHasher::new(p).is_ok());
        }
        assert!(!HashParams::new(7168, 5, 1).unwrap().meets_minimum());
        assert!(!HashParams::new(47_103, 1, 1).unwrap().meets_minimum());
        assert!(PasswordHasher::new(HashParams::new(8, 1, 1).unwrap()).is_err());
    }

    #[test]
    fn weaker_is_componentwise() {
        let policy = HashParams::SERVER;
        assert!(HashParams::new(19_455, 2, 1)
            .unwrap()
            .is_weaker_than(&policy));
        assert!(HashParams::new(65_536, 1, 1)
            .unwrap()
            .is_weaker_than(&policy));
        assert!(!HashParams::new(19_456, 2, 4)
            .unwrap()
            .is_weaker_than(&policy));
        assert!(!HashParams::new(65_536, 3, 1)
            .unwrap()
            .is_weaker_than(&policy));
    }

    #[test]
    fn argon2_param_bounds() {
        assert!(HashParams::new(8, 0, 1).is_err());
        assert!(HashParams::new(8, 1, 0).is_err());
        assert!(HashParams::new(15, 1, 2).is_err());
        assert!(HashParams::new(u32::MAX, 1, 0x00FF_FFFF).is_ok());
        assert!(HashParams::new(u32::MAX, 1, 0x0100_0000).is_err());
    }

    /// docs/credential-format.md section 3.2: `for_memory_blocks(n)` refuses n < 8 with
    /// `Config` (no hash can use fewer than 8 blocks: m >= 8p), never panics or rounds; for
    /// n >= 8 every stored hash within the ceilings runs in n blocks.
    #[test]
    fn ceilings_for_memory_blocks() {
        for n in 0..8 {
            assert_eq!(
                VerifyLimits::for_memory_blocks(n),
                Err(Error::Config("verify ceilings out of range")),
                "{n}"
            );
            let m = u32::try_from(n).unwrap();
            assert!(VerifyLimits::new(m, 10, 4, 64, 64).is_err());
        }
        let smallest = VerifyLimits::for_memory_blocks(8).unwrap();
        assert_eq!(smallest, VerifyLimits::new(8, 10, 4, 64, 64).unwrap());
        #[cfg(target_pointer_width = "64")]
        assert_eq!(
            VerifyLimits::for_memory_blocks(usize::MAX)
                .unwrap()
                .max_m_kib(),
            u32::MAX
        );
        for n in 8..=160usize {
            let limits = VerifyLimits::for_memory_blocks(n).unwrap();
            assert_eq!(limits.max_m_kib() as usize, n);
            for p in 1..=5u32 {
                for m in 8 * p..=u32::try_from(n).unwrap() + 1 {
                    let params = HashParams::new(m, 1, p).unwrap();
                    match limits.check(&params) {
                        Ok(()) => assert!(params.blocks() <= n, "n {n} m {m} p {p}"),
                        Err(e) => {
                            assert_eq!(e, Error::LimitExceeded);
                            assert!(m as usize > n || p > 4);
                        }
                    }
                }
            }
        }
        // A hash at the smallest ceiling verifies in exactly 8 caller-provided blocks.
        let hasher = hazmat::hasher_below_minimum(HashParams::new(8, 1, 1).unwrap())
            .unwrap()
            .with_limits(smallest)
            .unwrap();
        let pw = Password::new("violet kettle under the stairs").unwrap();
        let mut memory = [Block::new(); 8];
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let stored = hasher.hash_with_memory(&pw, &mut rng, &mut memory).unwrap();
        assert!(hasher
            .verify_with_memory(&pw, stored.as_str(), &mut memory)
            .is_ok());
        let mut seven = [Block::new(); 7];
        assert_eq!(
            hasher.verify_with_memory(&pw, stored.as_str(), &mut seven),
            Err(Error::MemoryTooSmall)
        );
    }

    #[test]
    fn new_hashes_refuse_unassigned_code_points_but_old_hashes_still_verify() {
        let hasher = hazmat::hasher_below_minimum(HashParams::new(64, 1, 1).unwrap()).unwrap();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let pw = Password::new("legacy \u{0378} passphrase").unwrap();
        assert_eq!(
            hasher.hash(&pw, &mut rng).unwrap_err(),
            Error::Rejected(crate::Rejection::Unassigned)
        );
        let mut memory = alloc::vec![Block::new(); 64];
        assert_eq!(
            hasher
                .hash_with_memory(&pw, &mut rng, &mut memory)
                .unwrap_err(),
            Error::Rejected(crate::Rejection::Unassigned)
        );
        // A hash made before the rule (as the crate used to, and as libargon2 does).
        let old = hazmat::hash_with_salt(&hasher, &pw, b"legacy-salt-0001", &mut memory).unwrap();
        let verified = hasher.verify(&pw, old.as_str()).unwrap();
        // A password that just verified can be hashed again (new parameters, a new pepper):
        // its stored hash already depends on the same normalised bytes.
        let again = hasher.rehash(&pw, &verified, &mut rng).unwrap();
        assert_ne!(again.as_str(), old.as_str());
        assert!(hasher.verify(&pw, again.as_str()).is_ok());
        let again = hasher
            .rehash_with_memory(&pw, &verified, &mut rng, &mut memory)
            .unwrap();
        assert!(hasher.verify(&pw, again.as_str()).is_ok());
        let other = Password::new("legacy \u{0379} passphrase").unwrap();
        assert_eq!(
            hasher.verify(&other, old.as_str()).unwrap_err(),
            Error::NotVerified
        );
        // Assigned code points of any script, and private use, hash as before.
        let fine = Password::new("\u{1E030}\u{E000} ok").unwrap();
        assert!(hasher.hash(&fine, &mut rng).is_ok());
    }

    #[test]
    fn pepper_debug_redacts_and_ring_refuses_duplicates() {
        let p = Pepper::new(3, [0x55; 32]);
        assert_eq!(alloc::format!("{p:?}"), "Pepper { id: 3, .. }");
        let mut ring = PepperRing::new();
        ring.rotate_to(p).unwrap();
        assert!(ring.add(Pepper::new(3, [1; 32])).is_err());
        assert_eq!(ring.current_id(), Some(3));
    }
}
