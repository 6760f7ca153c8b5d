//! Shared input/output plumbing and the exit-code contract.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Why a command failed; each maps to one exit code.
#[derive(Debug)]
pub enum Failure {
    /// The input did not verify, or a check rejected it (exit 1).
    Rejected(String),
    /// Bad usage, bad configuration or an I/O error (exit 2).
    Usage(String),
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::Usage(msg.into())
    }
    pub fn rejected(msg: impl Into<String>) -> Self {
        Self::Rejected(msg.into())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Usage(format!("I/O error: {e}"))
    }
}

pub type Outcome = Result<(), Failure>;

/// Prints the failure (never any secret) and maps it to the exit-code contract.
pub fn exit_code(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected(msg)) => {
            eprintln!("medsec-cli: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("medsec-cli: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Reads all of `--in FILE`, or stdin when absent.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        Some(p) => {
            buf = fs::read(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?;
        }
        None => {
            std::io::stdin().lock().read_to_end(&mut buf)?;
        }
    }
    Ok(buf)
}

/// Writes all of `bytes` to `--out FILE` (atomically: temp file, fsync, rename), or stdout.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    match path {
        Some(p) => write_file_atomically(p, bytes, false),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file, never a
/// torn one. `secret` files are created readable by the owner only.
pub fn write_file_atomically(path: &Path, bytes: &[u8], secret: bool) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{}: not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let _ = secret;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}
