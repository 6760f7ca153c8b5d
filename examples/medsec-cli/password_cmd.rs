//! `medsec-cli password check|hash|verify`: the credential policy and Argon2id hashing.
//!
//! The password is read from stdin (one trailing `\n` or `\r\n` is removed, so `echo` works,
//! and nothing else); it is never taken from the command line, where other users could see it.
//! The PHC argument of `verify` loses one trailing `\n` or `\r\n` too (a string pasted or read
//! from a file with its line ending) and nothing else: any other white space makes it malformed,
//! exactly as the library's parser says (docs/credential-format.md section 3.1).

use getrandom::SysRng;
use medsec_credential::{
    Error, HashParams, Password, PasswordHasher, PasswordPolicy, VerifyLimits,
};
use rand_core::UnwrapErr;
use zeroize::Zeroizing;

use crate::io::{Failure, Outcome};

// In every subcommand the password is read from stdin as UTF-8; one trailing LF or CRLF is
// removed and nothing else (no other trimming), and what remains may be at most 4,096 bytes; it
// is then normalised to NFKC. Each subcommand's long help says so.
#[derive(Debug, clap::Subcommand)]
pub enum PasswordCommand {
    /// Check a new password (stdin) against the single-factor policy: exit 0 acceptable,
    /// 1 rejected (the reason on stderr).
    ///
    /// The password is read from stdin as UTF-8; one trailing LF or CRLF is removed, nothing
    /// else, and what remains may be at most 4,096 bytes. Exit 2 for input that is not UTF-8
    /// or too long.
    Check(CheckArgs),
    /// Hash a password (stdin) with Argon2id; prints the PHC string.
    ///
    /// The password is read from stdin as UTF-8; one trailing LF or CRLF is removed, nothing
    /// else, and what remains may be at most 4,096 bytes. Exit 1 (rejected) for a password with
    /// a code point unassigned in the Unicode version of the normalisation tables; exit 2 for
    /// input that is not UTF-8 or too long.
    Hash(HashArgs),
    /// Verify a password (stdin) against a PHC string: exit 0 match, 1 no match.
    ///
    /// The password is read from stdin as UTF-8; one trailing LF or CRLF is removed, nothing
    /// else, and what remains may be at most 4,096 bytes. A PHC string that is malformed or over
    /// the server cost ceilings does not match (exit 1, reason on stderr). The PHC string is an
    /// argument, so other local users can see it in the process list: it is not the password,
    /// but it is what an offline cracker needs, so run this only where that is acceptable.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A context word the password must not contain (service, clinic, user name, device
    /// serial...); repeatable, at most 32 times, each word at most 1,024 bytes (exit 2
    /// otherwise). A word that begins with '-' must be given as --context=WORD (as a separate
    /// argument it is taken for an option: exit 2).
    #[arg(long = "context", value_name = "WORD")]
    context: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Preset {
    /// m = 19 MiB, t = 2, p = 1 (OWASP minimum).
    Server,
    /// m = 46 MiB, t = 1, p = 1.
    App,
    /// m = 12 MiB, t = 3, p = 1 (caller-provided memory on devices).
    Firmware,
}

#[derive(Debug, clap::Args)]
pub struct HashArgs {
    /// Argon2id cost preset.
    #[arg(long, value_enum, default_value = "server")]
    preset: Preset,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The stored PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`). One trailing LF or
    /// CRLF is removed; any other white space (spaces, tabs, no-break or ideographic spaces,
    /// anywhere) makes it malformed. A string that begins with '-' (never a valid PHC string)
    /// must follow `--` (`password verify -- PHC`), or it is taken for an option: exit 2.
    #[arg(value_name = "PHC")]
    phc: String,
}

pub fn password(cmd: PasswordCommand) -> Outcome {
    match cmd {
        PasswordCommand::Check(args) => check(args),
        PasswordCommand::Hash(args) => hash(args),
        PasswordCommand::Verify(args) => verify(args),
    }
}

fn check(args: CheckArgs) -> Outcome {
    let password = read_password()?;
    let context: Vec<&str> = args.context.iter().map(String::as_str).collect();
    match PasswordPolicy::SINGLE_FACTOR.check(&password, &context) {
        Ok(()) => Ok(()),
        Err(Error::Rejected(reason)) => Err(Failure::rejected(format!("rejected: {reason}"))),
        Err(e) => Err(Failure::usage(e.to_string())),
    }
}

fn hash(args: HashArgs) -> Outcome {
    let password = read_password()?;
    let params = match args.preset {
        Preset::Server => HashParams::SERVER,
        Preset::App => HashParams::APP,
        Preset::Firmware => HashParams::FIRMWARE,
    };
    let hasher = PasswordHasher::new(params).map_err(|e| Failure::usage(e.to_string()))?;
    let phc = hasher
        .hash(&password, &mut UnwrapErr(SysRng))
        .map_err(|e| match e {
            Error::Rejected(reason) => Failure::rejected(format!("rejected: {reason}")),
            e => Failure::usage(e.to_string()),
        })?;
    println!("{phc}");
    Ok(())
}

fn verify(args: VerifyArgs) -> Outcome {
    let password = read_password()?;
    // Any preset's hashes (and libargon2's) verify; the ceilings are the server's.
    let hasher = PasswordHasher::new(HashParams::FIRMWARE)
        .and_then(|h| h.with_limits(VerifyLimits::SERVER))
        .map_err(|e| Failure::usage(e.to_string()))?;
    match hasher.verify(&password, strip_line_ending(&args.phc)) {
        Ok(_) => Ok(()),
        Err(Error::NotVerified) => Err(Failure::rejected("no match")),
        Err(Error::MalformedHash) => Err(Failure::rejected(
            "no match: not a PHC string of our profile",
        )),
        Err(Error::LimitExceeded) => Err(Failure::rejected(
            "no match: the PHC string exceeds the cost ceilings",
        )),
        Err(e) => Err(Failure::usage(e.to_string())),
    }
}

/// `s` without one trailing `\n` or `\r\n`; nothing else is removed.
fn strip_line_ending(s: &str) -> &str {
    s.strip_suffix('\n')
        .map_or(s, |s| s.strip_suffix('\r').unwrap_or(s))
}

/// Reads stdin as the password, removing one trailing line ending.
///
/// The buffer is allocated once at its final size and the read is capped there, so stdin cannot
/// grow it without bound and no reallocation leaves a copy of the password in freed memory.
fn read_password() -> Result<Password, Failure> {
    use std::io::Read as _;
    // The longest password, its line ending, and one byte to tell "too long".
    const CAP: usize = Password::MAX_INPUT_BYTES + 3;
    let mut raw = Zeroizing::new(Vec::with_capacity(CAP));
    std::io::stdin()
        .lock()
        .take(CAP as u64)
        .read_to_end(&mut raw)?;
    if raw.len() == CAP {
        return Err(Failure::usage("password too long"));
    }
    if raw.ends_with(b"\n") {
        raw.pop();
        if raw.ends_with(b"\r") {
            raw.pop();
        }
    }
    Password::from_utf8_wiping(&mut raw).map_err(|e| match e {
        Error::PasswordTooLong => Failure::usage("password too long"),
        _ => Failure::usage("password is not valid UTF-8"),
    })
}
