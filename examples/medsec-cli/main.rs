//! `medsec-cli`: the evaluation command-line tool.
//!
//! Exit codes (a contract other tools rely on):
//! - `0` success;
//! - `1` the input did not verify (or a check rejected it);
//! - `2` usage or I/O error.
//!
//! Each command family lives in its own module; `main` only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod envelope_cmd;
mod io;
mod password_cmd;
mod token_cmd;

#[derive(Debug, Parser)]
#[command(name = "medsec-cli", version, about = "medsec evaluation tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage key-encryption-key rings.
    #[command(subcommand)]
    Keyring(envelope_cmd::KeyringCommand),
    /// Password policy check, Argon2id hashing and verification (password on stdin).
    #[command(subcommand)]
    Password(password_cmd::PasswordCommand),
    /// Seal stdin (or --in) into an envelope.
    Seal(envelope_cmd::SealArgs),
    /// Open an envelope from stdin (or --in).
    Open(envelope_cmd::OpenArgs),
    /// Re-wrap an envelope's data key without touching its body: under the keyring's primary,
    /// from a retired public-key recipient to its successor, or for an added recipient.
    Rewrap(envelope_cmd::RewrapArgs),
    /// Manage public-key (HPKE) recipients.
    #[command(subcommand)]
    Recipient(envelope_cmd::RecipientCommand),
    /// Role-scoped access tokens: keygen, mint, verify.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Keyring(cmd) => envelope_cmd::keyring(cmd),
        Command::Password(cmd) => password_cmd::password(cmd),
        Command::Seal(args) => envelope_cmd::seal(args),
        Command::Open(args) => envelope_cmd::open(args),
        Command::Rewrap(args) => envelope_cmd::rewrap(args),
        Command::Recipient(cmd) => envelope_cmd::recipient(cmd),
        Command::Token(cmd) => token_cmd::token(cmd),
    };
    io::exit_code(outcome)
}
