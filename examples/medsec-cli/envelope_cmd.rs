//! placeholder, replaced in this change
use crate::io::Outcome;
#[derive(Debug, clap::Subcommand)]
pub enum KeyringCommand { New }
#[derive(Debug, clap::Args)]
pub struct SealArgs {}
#[derive(Debug, clap::Args)]
pub struct OpenArgs {}
#[derive(Debug, clap::Args)]
pub struct RewrapArgs {}
pub fn keyring(_: KeyringCommand) -> Outcome { Ok(()) }
pub fn seal(_: SealArgs) -> Outcome { Ok(()) }
pub fn open(_: OpenArgs) -> Outcome { Ok(()) }
pub fn rewrap(_: RewrapArgs) -> Outcome { Ok(()) }
