//! Shared by the CLI contract tests (`#[path = "support/cli.rs"] mod cli_support;`): builds the
//! `medsec-cli` example beside the test executables (with the test's features and profile), and
//! runs programs with stdin fed from a thread.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of the `medsec-cli` example binary of this build, built (once per test process) from
/// the current sources with this test's features and profile. A binary already at that path
/// is never trusted as it is: a narrower `cargo test` (one `--test`) does not rebuild examples,
/// and a stale binary would test old code.
pub fn cli_path() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_cli).clone()
}

fn build_cli() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps layout");
    let mut features = Vec::new();
    if cfg!(feature = "std") {
        features.push("std");
    }
    if cfg!(feature = "aws-lc") {
        features.push("aws-lc");
    }
    let features = features.join(",");
    let mut args = vec![
        "build",
        "--quiet",
        "--example",
        "medsec-cli",
        "--no-default-features",
    ];
    if !features.is_empty() {
        args.extend(["--features", &features]);
    }
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        args.push("--release");
    }
    let status = Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(workspace())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building medsec-cli failed");
    let path = profile_dir.join("examples").join("medsec-cli");
    assert!(path.exists(), "medsec-cli not found at {}", path.display());
    path
}

/// Runs `program` with `args` in `dir` (or the current directory), feeding `stdin`.
pub fn run_program(program: &Path, args: &[&str], dir: Option<&Path>, stdin: &[u8]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A child that stops before reading stdin (a usage error, an input cap) may close the
        // pipe first; its exit code is what the contracts check.
        if let Err(e) = input.write_all(&data) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    });
    let out = child.wait_with_output().expect("wait for child");
    writer.join().expect("stdin writer");
    out
}

/// The Python interpreter with the cross-check packages (`scripts/python-env.sh`), or `None`
/// after a loud message.
#[allow(dead_code, reason = "not every contract test cross-checks with Python")]
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("MEDSEC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    if candidate.exists() {
        Some(candidate)
    } else {
        eprintln!(
            "\n*** SKIPPING cross-implementation check: no Python venv (run scripts/python-env.sh; \
             scripts/test-all.sh does) ***\n"
        );
        None
    }
}
