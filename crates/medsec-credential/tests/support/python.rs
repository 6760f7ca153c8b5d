//! Finds the Python interpreter of the cross-implementation venv and runs scripts in it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `$MEDSEC_PYTHON`, else `<workspace>/.venv/bin/python`, else `None` after a loud message.
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEDSEC_PYTHON").map(PathBuf::from) {
        if p.exists() {
            return Some(p);
        }
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    eprintln!(
        "\n*** SKIPPING cross-implementation test: no Python venv (run scripts/python-env.sh \
         or set MEDSEC_PYTHON; scripts/test-all.sh does) ***\n"
    );
    None
}

/// Runs `script` with `input` on stdin and parses its stdout as JSON.
pub fn run_json(python: &PathBuf, script: &str, input: &serde_json::Value) -> serde_json::Value {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write to python");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}
