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
    /// Seal stdin (or --in) into an envelope.
    Seal(envelope_cmd::SealArgs),
    /// Open an envelope from stdin (or --in).
    Open(envelope_cmd::OpenArgs),
    /// Re-wrap an envelope's data key under the keyring's current primary.
    Rewrap(envelope_cmd::RewrapArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Keyring(cmd) => envelope_cmd::keyring(cmd),
        Command::Seal(args) => envelope_cmd::seal(args),
        Command::Open(args) => envelope_cmd::open(args),
        Command::Rewrap(args) => envelope_cmd::rewrap(args),
    };
    io::exit_code(outcome)
}
