//! `medsec-cli token keygen|mint|verify`: role-scoped access tokens (issue 4).
//!
//! ```text
//! medsec-cli token keygen --out KEY
//! medsec-cli token mint --key KEY --role ROLE --subject S --audience A --ttl SECONDS [--patient P] [--scope resource:action]...
//! medsec-cli token verify --key KEY.pub --audience A        # token on stdin
//! ```
//! Key files are COSE_Key (docs/token-profile.md, "Key files"); `KEY.pub` may also be the
//! 32 raw public key bytes. `mint` writes the token's bytes (COSE_Sign1) to stdout; `verify`
//! reads them (raw, hex or base64url) from stdin, prints the claims as JSON and exits 0, or
//! exits 1 when the token is rejected. Exit 2: usage or I/O error (including a `--leeway`
//! above 600 s). `verify` keeps no first-sight store, so it rejects tokens carrying `exi`
//! (docs/token-profile.md §4 step 10, §13).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::{Args, Subcommand, ValueEnum};
use medsec_token::{
    Action, ClaimsBuilder, Expectations, FixedClock, ProofKey, Role, Scope, ScopeSet, SigningKey,
    SystemClock, TokenKind, UnverifiedToken, VerifiedToken, VerifyingKey,
};
use serde_json::{json, Map, Value};

use crate::io::{self, Failure, Outcome};

/// Issuer written by `mint` and required by `verify` unless `--issuer` says otherwise.
const DEFAULT_ISSUER: &str = "medsec-cli";

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate an Ed25519 signing key: KEY (COSE_Key, private, mode 0600) and KEY.pub.
    Keygen(KeygenArgs),
    /// Mint a COSE_Sign1 token for a role; the token's bytes go to stdout.
    Mint(MintArgs),
    /// Verify a token from stdin; print its claims as JSON (exit 0) or exit 1 if rejected.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the private key; the public key goes to KEY.pub.
    #[arg(long, value_name = "KEY")]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Encoding {
    /// The token's bytes.
    Raw,
    /// Lower-case hex.
    Hex,
    /// base64url without padding.
    Base64url,
}

#[derive(Debug, Args)]
pub struct MintArgs {
    /// Private key file (COSE_Key) from `token keygen`.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// patient, caregiver, clinician, technician or admin.
    #[arg(long, value_name = "ROLE")]
    role: String,
    /// The token's subject (`sub`).
    #[arg(long, value_name = "S")]
    subject: String,
    /// The device id or service that will verify the token (`aud`).
    #[arg(long, value_name = "A")]
    audience: String,
    /// Lifetime in seconds: 1 to 31622400 (366 days).
    #[arg(long, value_name = "SECONDS")]
    ttl: u64,
    /// Bind the token to one patient's data (required for the caregiver role).
    #[arg(long, value_name = "P")]
    patient: Option<String>,
    /// Narrow to these scopes (each within the role's default policy); default: all of the
    /// role's scopes.
    #[arg(long = "scope", value_name = "resource:action")]
    scopes: Vec<String>,
    /// Also valid for this many seconds from the device's first sight (`exi`, at least 1).
    /// For devices that keep a first-sight store: `token verify` has none and rejects such
    /// tokens.
    #[arg(long, value_name = "SECONDS")]
    exi: Option<u64>,
    /// Issuer (`iss`).
    #[arg(long, default_value = DEFAULT_ISSUER)]
    issuer: String,
    /// Output encoding.
    #[arg(long, value_enum, default_value = "raw")]
    format: Encoding,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Public key file (COSE_Key, or 32 raw bytes).
    #[arg(long, value_name = "KEY.pub")]
    key: PathBuf,
    /// This verifier's audience; the token's `aud` must equal it.
    #[arg(long, value_name = "A")]
    audience: String,
    /// Required issuer.
    #[arg(long, default_value = DEFAULT_ISSUER)]
    issuer: String,
    /// Verify as of this Unix time instead of the system clock.
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// Clock-skew leeway in seconds, 0 to 600 (a larger value is a usage error, exit 2).
    #[arg(long, default_value_t = Expectations::DEFAULT_LEEWAY)]
    leeway: u64,
}

pub fn token(cmd: TokenCommand) -> Outcome {
    match cmd {
        TokenCommand::Keygen(a) => keygen(a),
        TokenCommand::Mint(a) => mint(a),
        TokenCommand::Verify(a) => verify(a),
    }
}

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn keygen(a: KeygenArgs) -> Outcome {
    let key = SigningKey::generate(&mut rng());
    let mut private = zeroize::Zeroizing::new([0u8; SigningKey::COSE_KEY_MAX_LEN]);
    let n = key
        .to_cose_key(private.as_mut())
        .map_err(|e| Failure::usage(format!("encoding key: {e}")))?;
    let mut public = [0u8; VerifyingKey::COSE_KEY_MAX_LEN];
    let m = key
        .verifying_key()
        .to_cose_key(&mut public)
        .map_err(|e| Failure::usage(format!("encoding key: {e}")))?;
    let pub_path = pub_path(&a.out);
    io::write_file_atomically(&a.out, private.get(..n).unwrap_or(&[]), true)?;
    io::write_file_atomically(&pub_path, public.get(..m).unwrap_or(&[]), false)?;
    println!("{}", key.kid());
    Ok(())
}

fn pub_path(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

fn mint(a: MintArgs) -> Outcome {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(&a.key).map_err(|e| Failure::usage(format!("{}: {e}", a.key.display())))?,
    );
    let key = SigningKey::from_cose_key(&bytes).map_err(|_| {
        Failure::usage(format!(
            "{}: not a COSE_Key Ed25519 private key",
            a.key.display()
        ))
    })?;
    let role = Role::from_name(&a.role).map_err(|_| {
        Failure::usage(format!(
            "unknown role {:?} (patient, caregiver, clinician, technician, admin)",
            a.role
        ))
    })?;
    let now = system_now()?;
    let mut builder = ClaimsBuilder::new(&a.issuer, role)
        .subject(&a.subject)
        .audience(&a.audience)
        .issued_at(now)
        .ttl(a.ttl);
    if let Some(p) = &a.patient {
        builder = builder.patient(p);
    }
    if let Some(e) = a.exi {
        builder = builder.exi(e);
    }
    if !a.scopes.is_empty() {
        let mut set = ScopeSet::new();
        for s in &a.scopes {
            let scope = Scope::parse(s)
                .map_err(|_| Failure::usage(format!("bad --scope {s:?}: want resource:action")))?;
            set.add(scope)
                .map_err(|_| Failure::usage("too many --scope resources"))?;
        }
        let allowed = medsec_token::PolicyTable::DEFAULT
            .scope_set(role)
            .map_err(|_| Failure::usage("role has no policy"))?;
        if !set.is_subset_of(&allowed) {
            return Err(Failure::rejected(format!(
                "the requested scopes exceed what the {role} role may have"
            )));
        }
        builder = builder.scopes(set);
    }
    // The builder's refusals, named where the cause is one argument (exit 2).
    if a.exi == Some(0) {
        return Err(Failure::usage(
            "cannot mint: --exi must be at least 1 second",
        ));
    }
    if role == Role::Caregiver && a.patient.is_none() {
        return Err(Failure::usage(
            "cannot mint: a caregiver token needs --patient (a caregiver acts for one patient)",
        ));
    }
    let texts = [
        ("--issuer", Some(&a.issuer)),
        ("--subject", Some(&a.subject)),
        ("--audience", Some(&a.audience)),
        ("--patient", a.patient.as_ref()),
    ];
    for (name, text) in texts {
        if text.is_some_and(|t| t.chars().any(char::is_control)) {
            return Err(Failure::usage(format!(
                "cannot mint: {name} holds a control character"
            )));
        }
    }
    let claims = builder.build(&mut rng()).map_err(|e| {
        Failure::usage(format!(
            "cannot mint: {e} (texts are 1-128 bytes without control characters, --ttl 1 s to \
             366 days, --exi at least 1 s, a caregiver needs --patient)"
        ))
    })?;
    let token = key
        .mint_vec(&claims)
        .map_err(|e| Failure::usage(format!("cannot mint: {e}")))?;
    let out = match a.format {
        Encoding::Raw => token,
        Encoding::Hex => (hex::encode(&token) + "\n").into_bytes(),
        Encoding::Base64url => {
            (base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&token) + "\n").into_bytes()
        }
    };
    io::write_output(None, &out)
}

fn system_now() -> Result<u64, Failure> {
    use medsec_token::Clock as _;
    SystemClock
        .unix_time()
        .ok_or_else(|| Failure::usage("system clock is before 1970"))
}

fn verify(a: VerifyArgs) -> Outcome {
    let key_bytes =
        std::fs::read(&a.key).map_err(|e| Failure::usage(format!("{}: {e}", a.key.display())))?;
    let key = VerifyingKey::from_file_bytes(&key_bytes).map_err(|_| {
        Failure::usage(format!(
            "{}: not an Ed25519 public key file (COSE_Key or 32 raw bytes)",
            a.key.display()
        ))
    })?;
    let issuers = [a.issuer.as_str()];
    // An out-of-range leeway is a usage error (exit 2), never quietly lowered.
    let expectations = Expectations::new(&issuers, &a.audience)
        .leeway(a.leeway)
        .map_err(|_| {
            Failure::usage(format!(
                "--leeway {} is above the profile's maximum of {} seconds",
                a.leeway,
                Expectations::MAX_LEEWAY
            ))
        })?;
    let input = io::read_input(None)?;
    let token = decode_input(&input);
    let key = medsec_token::VerificationKey::from(key);
    let verified = match a.now {
        Some(now) => UnverifiedToken::parse(&token)
            .and_then(|t| t.verify(&key, &FixedClock::at(now), &expectations)),
        None => {
            UnverifiedToken::parse(&token).and_then(|t| t.verify(&key, &SystemClock, &expectations))
        }
    }
    .map_err(|e| Failure::rejected(e.to_string()))?;
    let text = serde_json::to_string_pretty(&claims_json(&verified))
        .map_err(|e| Failure::usage(e.to_string()))?;
    io::write_output(None, (text + "\n").as_bytes())
}

/// Raw token bytes start with a CBOR tag byte (0xd1, 0xd2, or 0xd8 for tag 61); anything else
/// is taken as hex, then base64url, text. Undecodable input is passed on and rejected.
fn decode_input(input: &[u8]) -> Vec<u8> {
    if matches!(input.first(), Some(0xd1 | 0xd2 | 0xd8)) {
        return input.to_vec();
    }
    let text = String::from_utf8_lossy(input);
    let text = text.trim();
    if let Ok(b) = hex::decode(text) {
        return b;
    }
    if let Ok(b) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text) {
        return b;
    }
    input.to_vec()
}

/// The claims as JSON (the shape `tests/data/token-vectors.json` uses for "claims").
fn claims_json(v: &VerifiedToken<'_>) -> Value {
    let c = v.claims();
    let mut scope = Map::new();
    for s in c.scopes().iter() {
        let actions: Vec<Value> = Action::ALL
            .into_iter()
            .filter(|a| s.actions.contains(*a))
            .map(|a| Value::from(a.name()))
            .collect();
        scope.insert(s.resource.name().to_owned(), Value::Array(actions));
    }
    let mut m = Map::new();
    let kind = match v.kind() {
        TokenKind::Sign1 => "sign1",
        TokenKind::Mac0 => "mac0",
        _ => "unknown",
    };
    m.insert("kind".into(), json!(kind));
    m.insert("kid".into(), json!(hex::encode(v.kid())));
    m.insert("iss".into(), json!(c.issuer()));
    m.insert("sub".into(), json!(c.subject()));
    m.insert("aud".into(), json!(c.audience()));
    m.insert("iat".into(), json!(c.issued_at()));
    if let Some(nbf) = c.not_before() {
        m.insert("nbf".into(), json!(nbf));
    }
    m.insert("exp".into(), json!(c.expires_at()));
    m.insert("cti".into(), json!(c.token_id().to_string()));
    m.insert("role".into(), json!(c.role().name()));
    m.insert("scope".into(), Value::Object(scope));
    if let Some(p) = c.patient() {
        m.insert("patient".into(), json!(p));
    }
    if let Some(e) = c.exi() {
        m.insert("exi".into(), json!(e));
    }
    if let Some(p) = c.parent() {
        m.insert("parent".into(), json!(p.to_string()));
    }
    match c.proof_key() {
        Some(ProofKey::Ed25519(x)) => {
            m.insert("cnf".into(), json!({ "ed25519": hex::encode(x) }));
        }
        Some(ProofKey::KeyId(k)) => {
            m.insert("cnf".into(), json!({ "kid": hex::encode(k) }));
        }
        None => {}
    }
    Value::Object(m)
}
