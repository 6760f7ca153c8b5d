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
    let mut tmp = TempFile::create(path, secret)?;
    tmp.file()
        .write_all(bytes)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    tmp.commit()
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

/// A new temporary file beside an output path (`DIR/.NAME.partialPID`), renamed over the path
/// by [`TempFile::commit`]. Every `--out` of the CLI goes through one.
///
/// It is created with `create_new`, so the CLI never writes through, and never deletes, a file
/// or link that already has that name (creating fails instead, exit 2). Dropped without a
/// successful commit, it deletes the file it created: on every error path, including a writer
/// that owns it being dropped mid-stream.
pub struct TempFile {
    file: fs::File,
    tmp: PathBuf,
    dest: PathBuf,
    dir: PathBuf,
    renamed: bool,
}

impl TempFile {
    /// Creates the temporary file for `dest`; `secret` ones are readable by the owner only.
    ///
    /// `dest` must be absent or a regular file. Anything else (a device such as `/dev/null`, a
    /// symbolic link, a directory, a FIFO, a socket) is refused before anything is created:
    /// the rename would replace it with a regular file, and run as root that destroys
    /// `/dev/null` for every process on the machine. Write to those through stdout instead.
    pub fn create(dest: &Path, secret: bool) -> Result<Self, Failure> {
        match fs::symlink_metadata(dest) {
            Ok(meta) if !meta.file_type().is_file() => {
                return Err(Failure::usage(format!(
                    "{}: exists and is not a regular file (a device, link, directory or pipe); \
                     --out replaces only regular files: write to it through stdout instead",
                    dest.display()
                )));
            }
            _ => {}
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = dest
            .file_name()
            .ok_or_else(|| Failure::usage(format!("{}: not a file path", dest.display())))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".partial{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let _ = secret;
        let file = options
            .open(&tmp)
            .map_err(|e| Failure::usage(format!("{}: {e}", tmp.display())))?;
        Ok(Self {
            file,
            tmp,
            dest: dest.to_path_buf(),
            dir,
            renamed: false,
        })
    }

    /// The open temporary file, to write the output into.
    pub fn file(&mut self) -> &mut fs::File {
        &mut self.file
    }

    /// Flushes the file to disk and renames it over the destination (and makes the rename
    /// durable). On error the temporary file is deleted when `self` drops.
    pub fn commit(mut self) -> std::io::Result<()> {
        self.file.sync_all()?;
        fs::rename(&self.tmp, &self.dest)?;
        self.renamed = true;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
