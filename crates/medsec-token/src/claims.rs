//! The claims set: strict parsing (every claim of the profile has exactly one type; a wrong
//! type, a duplicate or an unknown key is a rejection, never "absent") and deterministic
//! encoding. Claim keys are listed in `docs/token-profile.md`.

use core::fmt;

use rand_core::CryptoRng;

use crate::cbor::{self, Malformed, Parse, Reader, Writer};
use crate::scope::{Actions, PolicyTable, Resource, Role, Scope, ScopeSet};
use crate::{Error, Result, TokenId};

/// CWT claim keys used by the profile (RFC 8392 §4, RFC 8747, RFC 9200, private use).
pub mod key {
    /// `iss` (RFC 8392).
    pub const ISS: i64 = 1;
    /// `sub` (RFC 8392).
    pub const SUB: i64 = 2;
    /// `aud` (RFC 8392).
    pub const AUD: i64 = 3;
    /// `exp` (RFC 8392).
    pub const EXP: i64 = 4;
    /// `nbf` (RFC 8392).
    pub const NBF: i64 = 5;
    /// `iat` (RFC 8392).
    pub const IAT: i64 = 6;
    /// `cti` (RFC 8392).
    pub const CTI: i64 = 7;
    /// `cnf`, proof-of-possession key (RFC 8747).
    pub const CNF: i64 = 8;
    /// `exi`, lifetime from first sight in seconds (RFC 9200).
    pub const EXI: i64 = 40;
    /// medsec scopes (private use): map of resource to action bits.
    pub const SCOPE: i64 = -65537;
    /// medsec role (private use): role code.
    pub const ROLE: i64 = -65538;
    /// medsec patient binding (private use): patient id text.
    pub const PATIENT: i64 = -65539;
    /// medsec parent token id (private use): `cti` of the token this one was narrowed from.
    pub const PARENT: i64 = -65540;
}

/// Longest text claim (`iss`, `sub`, `aud`, patient), in bytes.
pub const MAX_TEXT_LEN: usize = 128;

/// A proof-of-possession key (`cnf`, RFC 8747): the holder must prove it holds this key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofKey<'a> {
    /// An Ed25519 public key (`cnf` = `{1: COSE_Key}`).
    Ed25519([u8; 32]),
    /// A key the parties already share, named by id (`cnf` = `{3: kid}`).
    KeyId(&'a [u8]),
}

/// A token's claims. Obtained from a verified token or built for minting; text borrows from
/// the token bytes (verification allocates nothing).
///
/// `Debug` shows the token id, role, scopes and times, never subject or patient.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Claims<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) expires_at: u64,
    pub(crate) not_before: Option<u64>,
    pub(crate) issued_at: u64,
    pub(crate) token_id: TokenId,
    pub(crate) proof_key: Option<ProofKey<'a>>,
    pub(crate) exi: Option<u64>,
    pub(crate) scopes: ScopeSet<'a>,
    pub(crate) role: Role,
    pub(crate) patient: Option<&'a str>,
    pub(crate) parent: Option<TokenId>,
}

impl fmt::Debug for Claims<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("token_id", &self.token_id)
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl<'a> Claims<'a> {
    /// `iss`.
    pub fn issuer(&self) -> &'a str {
        self.issuer
    }
    /// `sub`.
    pub fn subject(&self) -> &'a str {
        self.subject
    }
    /// `aud`.
    pub fn audience(&self) -> &'a str {
        self.audience
    }
    /// `exp`, Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
    /// `nbf`, Unix seconds.
    pub fn not_before(&self) -> Option<u64> {
        self.not_before
    }
    /// `iat`, Unix seconds.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
    /// `cti`.
    pub fn token_id(&self) -> TokenId {
        self.token_id
    }
    /// `cnf`.
    pub fn proof_key(&self) -> Option<ProofKey<'a>> {
        self.proof_key
    }
    /// `exi`, seconds from first sight.
    pub fn exi(&self) -> Option<u64> {
        self.exi
    }
    /// The scopes.
    pub fn scopes(&self) -> &ScopeSet<'a> {
        &self.scopes
    }
    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The patient binding.
    pub fn patient(&self) -> Option<&'a str> {
        self.patient
    }
    /// The token this one was narrowed from.
    pub fn parent(&self) -> Option<TokenId> {
        self.parent
    }
    /// The one patient whose data the token reaches (profile §3.4): its `patient` claim, or,
    /// for a token of role patient without one, its own `sub`. `None`: it reaches no
    /// patient's data.
    pub fn reached_patient(&self) -> Option<&'a str> {
        match (self.patient, self.role) {
            (Some(p), _) => Some(p),
            (None, Role::Patient) => Some(self.subject),
            (None, _) => None,
        }
    }

    /// Parses a claims set strictly (the profile's rules, `docs/token-profile.md`).
    pub(crate) fn parse(payload: &'a [u8]) -> Parse<Self> {
        let mut r = Reader::new(payload);
        let n = r.map()?;
        let mut c = Partial::default();
        for _ in 0..n {
            let k = r.int()?;
            let fresh = match k {
                key::ISS => c.issuer.replace(text(&mut r)?).is_none(),
                key::SUB => c.subject.replace(text(&mut r)?).is_none(),
                key::AUD => c.audience.replace(text(&mut r)?).is_none(),
                key::EXP => c.expires_at.replace(r.uint()?).is_none(),
                key::NBF => c.not_before.replace(r.uint()?).is_none(),
                key::IAT => c.issued_at.replace(r.uint()?).is_none(),
                key::CTI => c
                    .token_id
                    .replace(TokenId::from_slice(r.bstr()?).map_err(|_| Malformed)?)
                    .is_none(),
                key::CNF => c.proof_key.replace(parse_cnf(&mut r)?).is_none(),
                key::EXI => {
                    let exi = r.uint()?;
                    if exi == 0 {
                        return Err(Malformed);
                    }
                    c.exi.replace(exi).is_none()
                }
                key::SCOPE => c.scopes.replace(parse_scopes(&mut r)?).is_none(),
                key::ROLE => c
                    .role
                    .replace(Role::from_code(r.uint()?).map_err(|_| Malformed)?)
                    .is_none(),
                key::PATIENT => c.patient.replace(text(&mut r)?).is_none(),
                key::PARENT => c
                    .parent
                    .replace(TokenId::from_slice(r.bstr()?).map_err(|_| Malformed)?)
                    .is_none(),
                _ => return Err(Malformed),
            };
            if !fresh {
                return Err(Malformed);
            }
        }
        if !r.is_empty() {
            return Err(Malformed);
        }
        let claims = Claims {
            issuer: c.issuer.ok_or(Malformed)?,
            subject: c.subject.ok_or(Malformed)?,
            audience: c.audience.ok_or(Malformed)?,
            expires_at: c.expires_at.ok_or(Malformed)?,
            not_before: c.not_before,
            issued_at: c.issued_at.ok_or(Malformed)?,
            token_id: c.token_id.ok_or(Malformed)?,
            proof_key: c.proof_key,
            exi: c.exi,
            scopes: c.scopes.ok_or(Malformed)?,
            role: c.role.ok_or(Malformed)?,
            patient: c.patient,
            parent: c.parent,
        };
        claims.check_consistent().map_err(|_| Malformed)?;
        Ok(claims)
    }

    /// Rules that hold for every claims set, minted or parsed.
    fn check_consistent(&self) -> Result<()> {
        let times_ok = self.expires_at > self.issued_at
            && self.not_before.is_none_or(|nbf| nbf < self.expires_at);
        let texts_ok = [self.issuer, self.subject, self.audience]
            .into_iter()
            .chain(self.patient)
            .all(|t| !t.is_empty() && t.len() <= MAX_TEXT_LEN);
        // What a caller can build but a verifier would refuse: a custom resource that is
        // malformed or spells a known one, a `cnf` key id outside 1..=16 bytes.
        let scopes_ok = !self.scopes.is_empty()
            && self.scopes.iter().all(|s| match s.resource {
                Resource::Custom(name) => Resource::custom(name).is_ok(),
                _ => true,
            });
        let cnf_ok = match self.proof_key {
            Some(ProofKey::KeyId(kid)) => !kid.is_empty() && kid.len() <= crate::KeyId::MAX_LEN,
            _ => true,
        };
        if times_ok && texts_ok && scopes_ok && cnf_ok && self.exi != Some(0) {
            Ok(())
        } else {
            Err(Error::InvalidInput)
        }
    }

    /// Whether a token carrying these claims is at most [`crate::MAX_TOKEN_LEN`] bytes under
    /// every key: as a COSE_Sign1 (64-byte signature) with a 16-byte kid, the longest form.
    fn fits_any_token(&self) -> bool {
        let mut protected = [0u8; crate::token::MAX_PROTECTED_LEN];
        let mut payload = [0u8; crate::MAX_TOKEN_LEN];
        match (
            crate::token::write_protected(
                crate::token::ALG_EDDSA,
                &[0u8; crate::KeyId::MAX_LEN],
                &mut protected,
            ),
            self.encode(&mut payload),
        ) {
            (Ok(plen), Ok(n)) => {
                cbor::cose_len(plen, n, crate::token::SIGNATURE_LEN) <= crate::MAX_TOKEN_LEN
            }
            _ => false,
        }
    }

    /// Encodes the claims set deterministically (RFC 8949 §4.2.1 key order) into `out`.
    pub(crate) fn encode(&self, out: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(out);
        self.write(&mut w).map_err(|_| Error::BufferTooSmall)?;
        Ok(w.position())
    }

    fn write(&self, w: &mut Writer<'_>) -> cbor::Write {
        let optional = [
            self.not_before.is_some(),
            self.proof_key.is_some(),
            self.exi.is_some(),
            self.patient.is_some(),
            self.parent.is_some(),
        ];
        let entries = optional
            .iter()
            .fold(8usize, |n, present| n.saturating_add(usize::from(*present)));
        w.map(entries)?;
        w.int(key::ISS)?;
        w.tstr(self.issuer)?;
        w.int(key::SUB)?;
        w.tstr(self.subject)?;
        w.int(key::AUD)?;
        w.tstr(self.audience)?;
        w.int(key::EXP)?;
        w.uint(self.expires_at)?;
        if let Some(nbf) = self.not_before {
            w.int(key::NBF)?;
            w.uint(nbf)?;
        }
        w.int(key::IAT)?;
        w.uint(self.issued_at)?;
        w.int(key::CTI)?;
        w.bstr(self.token_id.as_bytes())?;
        if let Some(pk) = &self.proof_key {
            w.int(key::CNF)?;
            w.map(1)?;
            match pk {
                ProofKey::Ed25519(x) => {
                    w.int(1)?;
                    w.map(3)?;
                    w.int(1)?;
                    w.int(1)?; // kty OKP
                    w.int(-1)?;
                    w.int(6)?; // crv Ed25519
                    w.int(-2)?;
                    w.bstr(x)?;
                }
                ProofKey::KeyId(kid) => {
                    w.int(3)?;
                    w.bstr(kid)?;
                }
            }
        }
        if let Some(exi) = self.exi {
            w.int(key::EXI)?;
            w.uint(exi)?;
        }
        w.int(key::SCOPE)?;
        write_scopes(w, &self.scopes)?;
        w.int(key::ROLE)?;
        w.uint(self.role.code())?;
        if let Some(p) = self.patient {
            w.int(key::PATIENT)?;
            w.tstr(p)?;
        }
        if let Some(parent) = &self.parent {
            w.int(key::PARENT)?;
            w.bstr(parent.as_bytes())?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Partial<'a> {
    issuer: Option<&'a str>,
    subject: Option<&'a str>,
    audience: Option<&'a str>,
    expires_at: Option<u64>,
    not_before: Option<u64>,
    issued_at: Option<u64>,
    token_id: Option<TokenId>,
    proof_key: Option<ProofKey<'a>>,
    exi: Option<u64>,
    scopes: Option<ScopeSet<'a>>,
    role: Option<Role>,
    patient: Option<&'a str>,
    parent: Option<TokenId>,
}

fn text<'a>(r: &mut Reader<'a>) -> Parse<&'a str> {
    let t = r.tstr()?;
    if t.is_empty() || t.len() > MAX_TEXT_LEN {
        return Err(Malformed);
    }
    Ok(t)
}

/// `{ resource => actions }`: resource a known code (uint) or custom text; actions 1..=7.
fn parse_scopes<'a>(r: &mut Reader<'a>) -> Parse<ScopeSet<'a>> {
    let n = r.map()?;
    if n == 0 || n > ScopeSet::MAX {
        return Err(Malformed);
    }
    let mut set = ScopeSet::new();
    for _ in 0..n {
        let resource = match r.peek_major() {
            Some(cbor::MAJOR_UINT) => Resource::from_code(r.uint()?).map_err(|_| Malformed)?,
            Some(cbor::MAJOR_TSTR) => Resource::custom(r.tstr()?).map_err(|_| Malformed)?,
            _ => return Err(Malformed),
        };
        let actions = Actions::from_bits(r.uint()?).map_err(|_| Malformed)?;
        set.add_new(Scope::new(resource, actions))
            .map_err(|_| Malformed)?;
    }
    Ok(set)
}

fn write_scopes(w: &mut Writer<'_>, set: &ScopeSet<'_>) -> cbor::Write {
    // Deterministic order: known codes ascending, then custom names by (length, bytes) — the
    // bytewise order of their encodings.
    let mut sorted: [Option<&Scope<'_>>; ScopeSet::MAX] = [None; ScopeSet::MAX];
    for (slot, s) in sorted.iter_mut().zip(set.iter()) {
        *slot = Some(s);
    }
    let n = set.len();
    let live = sorted.get_mut(..n).ok_or(cbor::Full)?;
    live.sort_unstable_by_key(|s| {
        s.map(|s| match s.resource.code() {
            Some(c) => (0u8, c, s.resource.name()),
            None => (1u8, s.resource.name().len() as u64, s.resource.name()),
        })
    });
    w.map(n)?;
    for s in live.iter().flatten() {
        match s.resource.code() {
            Some(c) => w.uint(c)?,
            None => w.tstr(s.resource.name())?,
        }
        w.uint(u64::from(s.actions.bits()))?;
    }
    Ok(())
}

/// `{1: COSE_Key}` (OKP Ed25519 public key: exactly kty 1, crv 6, x) or `{3: kid}`.
fn parse_cnf<'a>(r: &mut Reader<'a>) -> Parse<ProofKey<'a>> {
    if r.map()? != 1 {
        return Err(Malformed);
    }
    match r.int()? {
        1 => {
            if r.map()? != 3 {
                return Err(Malformed);
            }
            let (mut kty, mut crv, mut x) = (None, None, None);
            for _ in 0..3 {
                let fresh = match r.int()? {
                    1 => kty.replace(r.int()?).is_none(),
                    -1 => crv.replace(r.int()?).is_none(),
                    -2 => x
                        .replace(<[u8; 32]>::try_from(r.bstr()?).map_err(|_| Malformed)?)
                        .is_none(),
                    _ => return Err(Malformed),
                };
                if !fresh {
                    return Err(Malformed);
                }
            }
            if kty != Some(1) || crv != Some(6) {
                return Err(Malformed);
            }
            Ok(ProofKey::Ed25519(x.ok_or(Malformed)?))
        }
        3 => {
            let kid = r.bstr()?;
            if kid.is_empty() || kid.len() > crate::KeyId::MAX_LEN {
                return Err(Malformed);
            }
            Ok(ProofKey::KeyId(kid))
        }
        _ => Err(Malformed),
    }
}

/// Builds the claims of a new token. Ends in a validating [`ClaimsBuilder::build`].
///
/// `Debug` shows neither subject nor patient (as [`Claims`]).
#[derive(Clone)]
pub struct ClaimsBuilder<'a> {
    policy: PolicyTable<'a>,
    issuer: &'a str,
    role: Role,
    subject: Option<&'a str>,
    audience: Option<&'a str>,
    issued_at: Option<u64>,
    ttl: Option<u64>,
    not_before: Option<u64>,
    scopes: Option<ScopeSet<'a>>,
    patient: Option<&'a str>,
    exi: Option<u64>,
    proof_key: Option<ProofKey<'a>>,
    token_id: Option<TokenId>,
}

impl fmt::Debug for ClaimsBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsBuilder")
            .field("issuer", &self.issuer)
            .field("role", &self.role)
            .field("audience", &self.audience)
            .field("issued_at", &self.issued_at)
            .field("ttl", &self.ttl)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl<'a> ClaimsBuilder<'a> {
    /// Longest lifetime a builder accepts (`ttl`): 366 days (31,622,400 s). Deployments choose
    /// much shorter.
    pub const MAX_TTL: u64 = 366 * 24 * 3600;

    /// Claims for a token from `issuer` to someone in `role`, scoped by the default policy
    /// table unless [`ClaimsBuilder::policy`] or [`ClaimsBuilder::scopes`] say otherwise.
    pub fn new(issuer: &'a str, role: Role) -> Self {
        Self {
            policy: PolicyTable::DEFAULT,
            issuer,
            role,
            subject: None,
            audience: None,
            issued_at: None,
            ttl: None,
            not_before: None,
            scopes: None,
            patient: None,
            exi: None,
            proof_key: None,
            token_id: None,
        }
    }

    /// Use this policy table instead of the default.
    #[must_use]
    pub fn policy(mut self, table: PolicyTable<'a>) -> Self {
        self.policy = table;
        self
    }
    /// `sub` (required).
    #[must_use]
    pub fn subject(mut self, subject: &'a str) -> Self {
        self.subject = Some(subject);
        self
    }
    /// `aud` (required): the device id or service that will verify the token.
    #[must_use]
    pub fn audience(mut self, audience: &'a str) -> Self {
        self.audience = Some(audience);
        self
    }
    /// `iat` (required), Unix seconds: the issuer's current time.
    #[must_use]
    pub fn issued_at(mut self, unix: u64) -> Self {
        self.issued_at = Some(unix);
        self
    }
    /// Lifetime in seconds (required): `exp` = `iat` + `ttl`.
    #[must_use]
    pub fn ttl(mut self, seconds: u64) -> Self {
        self.ttl = Some(seconds);
        self
    }
    /// `nbf`, Unix seconds (optional; omitted means "from `iat`").
    #[must_use]
    pub fn not_before(mut self, unix: u64) -> Self {
        self.not_before = Some(unix);
        self
    }
    /// Scopes (optional): must be a subset of the role's scopes in the policy table.
    /// Omitted means all of the role's scopes.
    #[must_use]
    pub fn scopes(mut self, scopes: ScopeSet<'a>) -> Self {
        self.scopes = Some(scopes);
        self
    }
    /// Binds the token to one patient's data.
    #[must_use]
    pub fn patient(mut self, patient: &'a str) -> Self {
        self.patient = Some(patient);
        self
    }
    /// `exi`: also valid for this many seconds from the device's first sight of the token
    /// (devices without a wall clock need it).
    #[must_use]
    pub fn exi(mut self, seconds: u64) -> Self {
        self.exi = Some(seconds);
        self
    }
    /// `cnf`: a key the holder must prove possession of.
    #[must_use]
    pub fn proof_key(mut self, key: ProofKey<'a>) -> Self {
        self.proof_key = Some(key);
        self
    }
    /// A fixed `cti` (test vectors); normally [`ClaimsBuilder::build`] draws a random one.
    #[must_use]
    pub fn token_id(mut self, id: TokenId) -> Self {
        self.token_id = Some(id);
        self
    }

    /// Checks and returns the claims.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when subject, audience, issued-at or ttl is missing; a text
    /// (issuer, subject, audience, patient) is empty, longer than [`MAX_TEXT_LEN`] bytes or
    /// holds a control character (Unicode general category Cc); ttl is 0 or above [`ClaimsBuilder::MAX_TTL`];
    /// `nbf` is not before `exp`; `exi` is 0; the role is caregiver and no patient is set;
    /// the scopes are empty or exceed the role's policy (or the table does not list the
    /// role); [`Error::CapacityExceeded`] when the table lists more than
    /// [`ScopeSet::MAX`] resources for the role.
    pub fn build<R: CryptoRng + ?Sized>(self, rng: &mut R) -> Result<Claims<'a>> {
        let issued_at = self.issued_at.ok_or(Error::InvalidInput)?;
        let ttl = self.ttl.ok_or(Error::InvalidInput)?;
        if ttl == 0 || ttl > Self::MAX_TTL {
            return Err(Error::InvalidInput);
        }
        // A caregiver acts for one patient (ARCHITECTURE.md roles); narrowing has the same
        // rule (profile §7).
        if self.role == Role::Caregiver && self.patient.is_none() {
            return Err(Error::InvalidInput);
        }
        // No control character (Cc) in any text the builder writes: a NUL or a line break in
        // an identifier truncates or splits it in C strings, logs and SQL text columns.
        // Narrowing has the same rule for `sub` and `patient` (profile §7); a verifier still
        // accepts such texts from other minters (§3).
        let texts = [Some(self.issuer), self.subject, self.audience, self.patient];
        if texts
            .into_iter()
            .flatten()
            .any(|t| t.chars().any(char::is_control))
        {
            return Err(Error::InvalidInput);
        }
        let allowed = self.policy.scope_set(self.role)?;
        let scopes = self.scopes.unwrap_or(allowed);
        if !scopes.is_subset_of(&allowed) {
            return Err(Error::InvalidInput);
        }
        let claims = Claims {
            issuer: self.issuer,
            subject: self.subject.ok_or(Error::InvalidInput)?,
            audience: self.audience.ok_or(Error::InvalidInput)?,
            expires_at: issued_at.checked_add(ttl).ok_or(Error::InvalidInput)?,
            not_before: self.not_before,
            issued_at,
            token_id: self.token_id.unwrap_or_else(|| TokenId::random(rng)),
            proof_key: self.proof_key,
            exi: self.exi,
            scopes,
            role: self.role,
            patient: self.patient,
            parent: None,
        };
        claims.check_consistent()?;
        Ok(claims)
    }
}

/// Derives a narrower token from a verified one (see
/// [`VerifiedToken::narrow`](crate::VerifiedToken::narrow)): a subset of the scopes, a
/// shorter lifetime, the same patient. The result records the parent's `cti`, so revoking
/// the parent revokes every token narrowed from it; for that reason a narrowed token is not
/// narrowed again, and the child's own `cti` differs from the parent's. The child keeps the
/// parent's `nbf` (if still ahead), the patient the parent reaches (the binding, or a
/// patient's own `sub`) and its proof-of-possession key unless another key is named for the
/// new holder; no request can remove that key. Narrowing never widens patient reach: the
/// child reaches exactly the patient the parent reaches, or none when the parent reaches
/// none (binding a token to a patient is issuing, not narrowing). A caregiver child is
/// read-only and bound to one patient. The child's `sub` and `patient` are 1 to
/// [`MAX_TEXT_LEN`] bytes without control characters; its lifetime is at most
/// [`ClaimsBuilder::MAX_TTL`]. A parent carrying `exi` is not narrowed (a child's
/// first-sight window would start afresh), and a child must fit in a token under any key
/// (profile §7).
///
/// `Debug` shows neither subject nor patient (as [`Claims`]).
#[derive(Clone)]
pub struct Narrowing<'a> {
    parent: Claims<'a>,
    subject: Option<&'a str>,
    role: Option<Role>,
    scopes: Option<ScopeSet<'a>>,
    patient: Option<&'a str>,
    proof_key: Option<ProofKey<'a>>,
    ttl: Option<u64>,
    issued_at: Option<u64>,
    token_id: Option<TokenId>,
}

impl fmt::Debug for Narrowing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Narrowing")
            .field("parent", &self.parent)
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("ttl", &self.ttl)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

impl<'a> Narrowing<'a> {
    pub(crate) fn new(parent: Claims<'a>) -> Self {
        Self {
            parent,
            subject: None,
            role: None,
            scopes: None,
            patient: None,
            proof_key: None,
            ttl: None,
            issued_at: None,
            token_id: None,
        }
    }
    /// Hand the token to someone else (default: the parent's subject).
    #[must_use]
    pub fn subject(mut self, subject: &'a str) -> Self {
        self.subject = Some(subject);
        self
    }
    /// The holder's role (default: the parent's).
    #[must_use]
    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }
    /// A subset of the parent's scopes (default: all of them).
    #[must_use]
    pub fn scopes(mut self, scopes: ScopeSet<'a>) -> Self {
        self.scopes = Some(scopes);
        self
    }
    /// The child's patient: it must be the one the parent reaches (its binding, or a patient
    /// token's own `sub`); naming one is only a check, since the child keeps that patient
    /// anyway. A parent that reaches no patient cannot yield a bound child.
    #[must_use]
    pub fn patient(mut self, patient: &'a str) -> Self {
        self.patient = Some(patient);
        self
    }
    /// The new holder's proof-of-possession key (default: the parent's, if it has one). It
    /// replaces the parent's key; nothing removes it. An Ed25519 key must be one a key set
    /// would load (canonical, on the curve, not of small order).
    #[must_use]
    pub fn proof_key(mut self, key: ProofKey<'a>) -> Self {
        self.proof_key = Some(key);
        self
    }
    /// Lifetime from now: 1 to [`ClaimsBuilder::MAX_TTL`] seconds, clamped to the parent's
    /// expiry (default: until the parent's expiry, at most [`ClaimsBuilder::MAX_TTL`]).
    #[must_use]
    pub fn ttl(mut self, seconds: u64) -> Self {
        self.ttl = Some(seconds);
        self
    }
    /// The issuer's current time, Unix seconds (required).
    #[must_use]
    pub fn issued_at(mut self, unix: u64) -> Self {
        self.issued_at = Some(unix);
        self
    }
    /// A fixed `cti` (test vectors); it must differ from the parent's. Normally
    /// [`Narrowing::build`] draws a random one.
    #[must_use]
    pub fn token_id(mut self, id: TokenId) -> Self {
        self.token_id = Some(id);
        self
    }

    /// Checks and returns the narrowed claims (sign them with the issuer's key).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when issued-at is missing or before the parent's, the parent
    /// has expired by then, the parent is itself narrowed, the child's `cti` (fixed or
    /// drawn) equals the parent's, the requested lifetime is 0 or above
    /// [`ClaimsBuilder::MAX_TTL`], the scopes are not a subset of the parent's, a caregiver
    /// would get more than read access, the child would reach another patient than the
    /// parent (a named patient that differs from the one the parent reaches, any named
    /// patient when the parent reaches none, or a caregiver or patient-role child of a
    /// parent that reaches none), the child's subject or patient is empty, longer than
    /// [`MAX_TEXT_LEN`] bytes or holds a control character, or its Ed25519 proof key is one
    /// a key set would refuse, the parent carries `exi` (a child's first-sight window would
    /// start fresh, so it could outlast the parent's on a device without a wall clock), or the
    /// child would not fit in [`MAX_TOKEN_LEN`](crate::MAX_TOKEN_LEN) bytes as a COSE_Sign1
    /// with a 16-byte kid (so that every key of the issuer can mint it).
    pub fn build<R: CryptoRng + ?Sized>(self, rng: &mut R) -> Result<Claims<'a>> {
        let p = &self.parent;
        let now = self.issued_at.ok_or(Error::InvalidInput)?;
        if now < p.issued_at || now >= p.expires_at {
            return Err(Error::InvalidInput);
        }
        // One level only: a token names only its own parent, so revoking a root could not
        // reach a grandchild. No `exi` parent: the issuer cannot know when a device first saw
        // the parent, so any child `exi` window would start fresh at the child's first sight
        // and could outlast the parent's on a device without a wall clock.
        if p.parent.is_some() || p.exi.is_some() {
            return Err(Error::InvalidInput);
        }
        // Revocation and first-sight records are keyed by `cti` alone: a child sharing its
        // parent's id would be revoked with it, and share its `exi` window.
        let token_id = self.token_id.unwrap_or_else(|| TokenId::random(rng));
        if token_id == p.token_id {
            return Err(Error::InvalidInput);
        }
        let scopes = self.scopes.unwrap_or(p.scopes);
        if !scopes.is_subset_of(&p.scopes) {
            return Err(Error::InvalidInput);
        }
        // Caregivers act for a patient read-only (ARCHITECTURE.md roles): a delegated token
        // never carries write or export.
        let role = self.role.unwrap_or(p.role);
        if role == Role::Caregiver
            && scopes
                .iter()
                .any(|s| !s.actions.is_subset_of(Actions::READ))
        {
            return Err(Error::InvalidInput);
        }
        // Narrowing never widens patient reach (§3.4): the child reaches exactly the patient
        // the parent reaches (its binding, or a patient's own subject), carried as the
        // child's `patient` claim, or none. Binding an unbound token to a patient is issuing,
        // not narrowing, so a named patient is only ever a check.
        let patient = match (p.reached_patient(), self.patient) {
            (Some(reached), Some(asked)) if reached != asked => return Err(Error::InvalidInput),
            (None, Some(_)) => return Err(Error::InvalidInput),
            (reached, _) => reached,
        };
        // Without a `patient` claim a patient-role child would reach its own subject, and a
        // caregiver acts for one patient (ARCHITECTURE.md roles): both need a parent that
        // reaches one.
        if patient.is_none() && matches!(role, Role::Caregiver | Role::Patient) {
            return Err(Error::InvalidInput);
        }
        let subject = self.subject.unwrap_or(p.subject);
        if !delegable_text(subject) || !patient.is_none_or(delegable_text) {
            return Err(Error::InvalidInput);
        }
        // A proof-of-possession parent never yields a bearer child, and a small-order or
        // non-canonical key would let a lax possession check pass for anyone.
        let proof_key = self.proof_key.or(p.proof_key);
        if let Some(ProofKey::Ed25519(x)) = &proof_key {
            crate::VerifyingKey::from_bytes(x, None).map_err(|_| Error::InvalidInput)?;
        }
        // The minting cap applies to children too: a requested lifetime above it is refused;
        // the default (the parent's remaining lifetime, which another minter may have made
        // longer) is capped to it.
        let remaining = p.expires_at.saturating_sub(now);
        let ttl = match self.ttl {
            Some(t) if t > ClaimsBuilder::MAX_TTL => return Err(Error::InvalidInput),
            Some(t) => t.min(remaining),
            None => remaining.min(ClaimsBuilder::MAX_TTL),
        };
        let claims = Claims {
            issuer: p.issuer,
            subject,
            audience: p.audience,
            expires_at: now.checked_add(ttl).ok_or(Error::InvalidInput)?,
            // Never valid before the parent is.
            not_before: p.not_before.filter(|nbf| *nbf > now),
            issued_at: now,
            token_id,
            proof_key,
            exi: None,
            scopes,
            role,
            patient,
            parent: Some(p.token_id),
        };
        claims.check_consistent()?;
        // The child must be mintable under any key of the issuer: as a COSE_Sign1 (the
        // longer tag) with a 16-byte kid (the longest), at most MAX_TOKEN_LEN bytes, computed
        // as minting computes it.
        if !claims.fits_any_token() {
            return Err(Error::InvalidInput);
        }
        Ok(claims)
    }
}

/// Text a narrowing may write into a child's `sub` or `patient`: 1 to [`MAX_TEXT_LEN`] bytes
/// with no control character (Unicode general category Cc: U+0000–U+001F, U+007F–U+009F).
/// These texts come from whoever asks for the delegation; a NUL or a line break in an
/// identifier truncates or splits it in C strings, logs and SQL text columns downstream.
fn delegable_text(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_TEXT_LEN && !text.chars().any(char::is_control)
}
