//! The `medsec-cli` envelope contract, end to end: keyring files, seal/open/rotate/rewrap/
//! destroy, streaming, exit codes, and interoperability with the independent Python
//! implementation in `tests/reference/` (written from `docs/envelope-format.md` alone).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use std::path::Path;
use std::process::{Command, Output};

#[path = "support/cli.rs"]
mod cli_support;
use cli_support::{cli_path, python, run_program as run, workspace};

fn cli(args: &[&str], dir: &Path, stdin: &[u8]) -> Output {
    run(&cli_path(), args, Some(dir), stdin)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

#[test]
fn keyring_seal_open_rotate_rewrap_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = cli(&["keyring", "new", "--out", "kr"], d, b"");
    assert_eq!(code(&o), 0, "{o:?}");
    let first_id = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    // Refuses to overwrite.
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("kr"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "keyring file must not be group/world readable"
        );
    }

    let ctx = [
        "--context",
        "patient=p-7f3a9c",
        "--context",
        "record-kind=cgm",
    ];
    let mut seal_args = vec!["seal", "--keyring", "kr"];
    seal_args.extend(ctx);
    let sealed = cli(&seal_args, d, b"glucose 5.4 mmol/L");
    assert_eq!(code(&sealed), 0);
    let envelope = sealed.stdout;
    assert!(
        !envelope.windows(8).any(|w| w == b"p-7f3a9c"),
        "bound context is not stored"
    );

    let mut open_args = vec!["open", "--keyring", "kr"];
    open_args.extend(ctx);
    let o = cli(&open_args, d, &envelope);
    assert_eq!((code(&o), &o.stdout[..]), (0, &b"glucose 5.4 mmol/L"[..]));

    // Wrong context, tampering and garbage: exit 1, nothing on stdout.
    let o = cli(
        &[
            "open",
            "--keyring",
            "kr",
            "--context",
            "patient=p-other",
            "--context",
            "record-kind=cgm",
        ],
        d,
        &envelope,
    );
    assert_eq!((code(&o), o.stdout.len()), (1, 0));
    let mut t = envelope.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    let o = cli(&open_args, d, &t);
    assert_eq!((code(&o), o.stdout.len()), (1, 0));
    assert_eq!(code(&cli(&open_args, d, b"not an envelope")), 1);
    assert_eq!(code(&cli(&open_args, d, b"")), 1);
    // Usage and I/O errors: exit 2.
    assert_eq!(
        code(&cli(&["open", "--keyring", "missing-file"], d, &envelope)),
        2
    );
    assert_eq!(
        code(&cli(
            &["seal", "--keyring", "kr", "--context", "no-equals"],
            d,
            b"x"
        )),
        2
    );
    assert_eq!(
        code(&cli(
            &["seal", "--keyring", "kr", "--context", "Bad Key=x"],
            d,
            b"x"
        )),
        2
    );
    assert_eq!(code(&cli(&["frobnicate"], d, b"")), 2);

    // Rotate: old envelopes still open; new ones name the new primary.
    let o = cli(&["keyring", "rotate", "--keyring", "kr"], d, b"");
    assert_eq!(code(&o), 0);
    let second_id = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    assert_ne!(first_id, second_id);
    let list =
        String::from_utf8(cli(&["keyring", "list", "--keyring", "kr"], d, b"").stdout).unwrap();
    assert_eq!(
        list,
        format!("{first_id} decrypt-only\n{second_id} primary\n")
    );
    assert_eq!(cli(&open_args, d, &envelope).stdout, b"glucose 5.4 mmol/L");

    // Rewrap: the body is byte-identical; after destroying the old key only the rewrapped
    // envelope opens.
    let mut rewrap_args = vec!["rewrap", "--keyring", "kr"];
    rewrap_args.extend(ctx);
    let o = cli(&rewrap_args, d, &envelope);
    assert_eq!(code(&o), 0);
    let rewrapped = o.stdout;
    let hl = |e: &[u8]| usize::from(u16::from_be_bytes([e[5], e[6]]));
    assert_eq!(&envelope[hl(&envelope)..], &rewrapped[hl(&rewrapped)..]);
    assert_eq!(
        code(&cli(
            &[
                "keyring",
                "destroy",
                "--keyring",
                "kr",
                "--key-id",
                &first_id
            ],
            d,
            b""
        )),
        0
    );
    assert_eq!(code(&cli(&open_args, d, &envelope)), 1);
    assert_eq!(cli(&open_args, d, &rewrapped).stdout, b"glucose 5.4 mmol/L");
}

#[test]
fn streaming_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let data: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(d.join("export.bin"), &data).unwrap();
    let o = cli(
        &[
            "seal",
            "--keyring",
            "kr",
            "--stream",
            "--chunk-size",
            "4096",
            "--in",
            "export.bin",
            "--out",
            "export.env",
        ],
        d,
        b"",
    );
    assert_eq!(code(&o), 0, "{o:?}");
    let o = cli(
        &[
            "open",
            "--keyring",
            "kr",
            "--in",
            "export.env",
            "--out",
            "export.out",
        ],
        d,
        b"",
    );
    assert_eq!(code(&o), 0, "{o:?}");
    assert_eq!(std::fs::read(d.join("export.out")).unwrap(), data);
    // A truncated stream fails, and --out never appears for an incomplete stream.
    let sealed = std::fs::read(d.join("export.env")).unwrap();
    std::fs::write(d.join("cut.env"), &sealed[..sealed.len() - 4096 - 16]).unwrap();
    let o = cli(
        &[
            "open",
            "--keyring",
            "kr",
            "--in",
            "cut.env",
            "--out",
            "cut.out",
        ],
        d,
        b"",
    );
    assert_eq!(code(&o), 1);
    assert!(!d.join("cut.out").exists());
    assert!(std::fs::read_dir(d).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("partial")));
    // Bad chunk size is a usage error.
    assert_eq!(
        code(&cli(
            &["seal", "--keyring", "kr", "--stream", "--chunk-size", "100"],
            d,
            b"x"
        )),
        2
    );
}

#[test]
fn public_key_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        code(&cli(
            &[
                "recipient",
                "keygen",
                "--out",
                "backend",
                "--id",
                "backend-1"
            ],
            d,
            b""
        )),
        0
    );
    assert_eq!(
        code(&cli(
            &["recipient", "keygen", "--out", "breakglass", "--id", "bg"],
            d,
            b""
        )),
        0
    );
    // The device seals to two public keys and holds nothing that opens.
    let o = cli(
        &[
            "seal",
            "--recipient",
            "backend.pub",
            "--recipient",
            "breakglass.pub",
            "--context",
            "device=pump-1",
        ],
        d,
        b"alarm log",
    );
    assert_eq!(code(&o), 0);
    let env = o.stdout;
    for key in ["backend", "breakglass"] {
        let o = cli(
            &["open", "--recipient-key", key, "--context", "device=pump-1"],
            d,
            &env,
        );
        assert_eq!((code(&o), &o.stdout[..]), (0, &b"alarm log"[..]));
    }
    // A public key file is not a secret key file.
    assert_eq!(
        code(&cli(&["open", "--recipient-key", "backend.pub"], d, &env)),
        2
    );

    // The backend rotates its key pair: `rewrap --to-recipient --retire` moves the slot to
    // the successor without touching the body; the retired key no longer opens.
    assert_eq!(
        code(&cli(
            &[
                "recipient",
                "keygen",
                "--out",
                "backend2",
                "--id",
                "backend-2"
            ],
            d,
            b""
        )),
        0
    );
    let rotate = |args: &[&str], input: &[u8]| {
        let mut all = vec!["rewrap", "--context", "device=pump-1"];
        all.extend_from_slice(args);
        cli(&all, d, input)
    };
    let o = rotate(
        &[
            "--recipient-key",
            "backend",
            "--to-recipient",
            "backend2.pub",
            "--retire",
            "backend-1",
        ],
        &env,
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let rotated = o.stdout;
    let body_len = 9 + 16;
    assert_eq!(
        &env[env.len() - body_len..],
        &rotated[rotated.len() - body_len..]
    );
    for (key, expected) in [("backend2", 0), ("breakglass", 0), ("backend", 1)] {
        let o = cli(
            &["open", "--recipient-key", key, "--context", "device=pump-1"],
            d,
            &rotated,
        );
        assert_eq!(code(&o), expected, "{key}");
        if expected == 0 {
            assert_eq!(&o.stdout[..], b"alarm log");
        }
    }
    // The independent Python implementation (written from the format document) opens the
    // rotated envelope with the successor's key.
    if let Some(py) = python() {
        let reference = workspace().join("tests/reference/envelope_reference.py");
        let o = run(
            &py,
            &[
                reference.to_str().unwrap(),
                "open",
                "--recipient-key",
                "backend2",
                "--context",
                "device=pump-1",
            ],
            Some(d),
            &rotated,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(&o.stdout[..], b"alarm log");
    }
    // Wrong context or a tampered header: did not verify (1).
    let args = [
        "--recipient-key",
        "breakglass",
        "--to-recipient",
        "backend2.pub",
        "--retire",
        "backend-1",
    ];
    let o = cli(
        &[
            "rewrap",
            "--context",
            "device=pump-2",
            args[0],
            args[1],
            args[2],
            args[3],
            args[4],
            args[5],
        ],
        d,
        &env,
    );
    assert_eq!(code(&o), 1);
    let mut tampered = env.clone();
    tampered[20] ^= 1;
    assert_eq!(code(&rotate(&args, &tampered)), 1);
    // No public-key slot for the retired id (key ids are in the clear header): a usage
    // error (2) that says so, not "no usable key" while a working key was supplied.
    let o = rotate(&args, &rotated);
    assert_eq!(code(&o), 2, "backend-1 has no slot any more");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("no public-key recipient slot with that key id"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A public key file with a non-canonical encoding (bit 255 set) is refused (2): an
    // envelope sealed to it could never be opened.
    let public = std::fs::read_to_string(d.join("backend.pub")).unwrap();
    let (head, hex_key) = public.trim_end().rsplit_once(' ').unwrap();
    let mut key = hex::decode(hex_key).unwrap();
    key[31] |= 0x80;
    std::fs::write(
        d.join("noncanonical.pub"),
        format!("{head} {}\n", hex::encode(&key)),
    )
    .unwrap();
    let o = cli(&["seal", "--recipient", "noncanonical.pub"], d, b"x");
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
    // Usage errors (2): --to-recipient without --retire, or without any unwrapping key.
    assert_eq!(
        code(&rotate(
            &[
                "--recipient-key",
                "backend",
                "--to-recipient",
                "backend2.pub"
            ],
            &env
        )),
        2
    );
    assert_eq!(
        code(&rotate(
            &["--to-recipient", "backend2.pub", "--retire", "backend-1"],
            &env
        )),
        2
    );
    assert_eq!(code(&rotate(&[], &env)), 2);

    // A recipient added later: the new custodian opens; adding it twice is a usage error (2).
    assert_eq!(
        code(&cli(
            &[
                "recipient",
                "keygen",
                "--out",
                "custodian",
                "--id",
                "custodian"
            ],
            d,
            b""
        )),
        0
    );
    let o = rotate(
        &[
            "--recipient-key",
            "backend2",
            "--add-recipient",
            "custodian.pub",
        ],
        &rotated,
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let added = o.stdout;
    for key in ["custodian", "backend2", "breakglass"] {
        let o = cli(
            &["open", "--recipient-key", key, "--context", "device=pump-1"],
            d,
            &added,
        );
        assert_eq!((code(&o), &o.stdout[..]), (0, &b"alarm log"[..]), "{key}");
    }
    assert_eq!(
        code(&rotate(
            &[
                "--recipient-key",
                "backend2",
                "--add-recipient",
                "custodian.pub"
            ],
            &added
        )),
        2
    );
    assert_eq!(
        code(&rotate(&["--add-recipient", "custodian.pub"], &rotated)),
        2,
        "no unwrapping key"
    );
}

#[test]
fn independent_python_implementation_agrees() {
    let Some(py) = python() else { return };
    let reference = workspace().join("tests/reference/envelope_reference.py");
    let vectors = workspace().join("tests/data/envelope-vectors.json");
    let o = Command::new(&py)
        .arg(&reference)
        .arg("vectors")
        .arg(&vectors)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let refd = |args: &[&str], stdin: &[u8]| {
        let mut full = vec![reference.to_str().unwrap()];
        full.extend_from_slice(args);
        run(&py, &full, Some(d), stdin)
    };
    for (suite, stream) in [
        ("aes-256-gcm-siv", false),
        ("aes-256-gcm", false),
        ("aes-256-gcm-siv", true),
        ("aes-256-gcm", true),
    ] {
        let pt: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        // Rust seals, Python opens.
        let mut args = vec![
            "seal",
            "--keyring",
            "kr",
            "--suite",
            suite,
            "--context",
            "patient=p1",
            "--stored-context",
            "record-kind=cgm",
        ];
        if stream {
            args.extend(["--stream", "--chunk-size", "4096"]);
        }
        let sealed = cli(&args, d, &pt);
        assert_eq!(code(&sealed), 0);
        let o = refd(
            &[
                "open",
                "--keyring",
                "kr",
                "--context",
                "patient=p1",
                "--context",
                "record-kind=cgm",
            ],
            &sealed.stdout,
        );
        assert!(
            o.status.success(),
            "python open {suite} {stream}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.stdout, pt);
        let o = refd(
            &[
                "open",
                "--keyring",
                "kr",
                "--context",
                "patient=p2",
                "--context",
                "record-kind=cgm",
            ],
            &sealed.stdout,
        );
        assert_eq!(o.status.code(), Some(1));
        // Python seals, Rust opens.
        let chunk = if stream { "4096" } else { "0" };
        let o = refd(
            &[
                "seal",
                "--keyring",
                "kr",
                "--suite",
                suite,
                "--chunk-size",
                chunk,
                "--context",
                "patient=p1",
            ],
            &pt,
        );
        assert!(o.status.success());
        let opened = cli(
            &["open", "--keyring", "kr", "--context", "patient=p1"],
            d,
            &o.stdout,
        );
        assert_eq!(
            (code(&opened), &opened.stdout[..]),
            (0, &pt[..]),
            "rust open {suite} {stream}"
        );
    }
}

/// `open` reads an untrusted envelope from stdin: it must stop reading once the input exceeds
/// the one-shot limit (256 MiB) instead of buffering whatever arrives, and report "did not
/// verify" (exit 1).
#[test]
fn open_stops_reading_an_oversized_envelope() {
    use std::io::Write as _;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let sealed = cli(&["seal", "--keyring", "kr"], d, b"small");
    assert_eq!(code(&sealed), 0);
    let mut child = Command::new(cli_path())
        .args(["open", "--keyring", "kr"])
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let header = sealed.stdout.clone();
    // A genuine header followed by far more body than the one-shot limit allows.
    const OFFERED: u64 = 768 << 20;
    let writer = std::thread::spawn(move || {
        let block = vec![0u8; 1 << 20];
        let mut written = 0u64;
        if stdin.write_all(&header).is_err() {
            return written;
        }
        while written < OFFERED {
            if stdin.write_all(&block).is_err() {
                break;
            }
            written += block.len() as u64;
        }
        written
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(
        written < OFFERED,
        "the CLI consumed all {written} bytes instead of stopping at the limit"
    );
}

/// Decrypted data written with `--out` is readable by the owner only, whether the envelope was
/// one-shot or streamed; `rewrap` handles a streamed envelope from stdin (copying the body
/// through) and the Python reference opens the result.
#[test]
fn plaintext_files_are_private_and_streams_rewrap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let one_shot = cli(
        &["seal", "--keyring", "kr", "--context", "patient=p1"],
        d,
        &data,
    );
    assert_eq!(code(&one_shot), 0);
    let streamed = cli(
        &[
            "seal",
            "--keyring",
            "kr",
            "--context",
            "patient=p1",
            "--stream",
            "--chunk-size",
            "4096",
        ],
        d,
        &data,
    );
    assert_eq!(code(&streamed), 0);
    for (name, envelope) in [
        ("one-shot", &one_shot.stdout),
        ("streamed", &streamed.stdout),
    ] {
        let out = format!("{name}.out");
        let o = cli(
            &[
                "open",
                "--keyring",
                "kr",
                "--context",
                "patient=p1",
                "--out",
                &out,
            ],
            d,
            envelope,
        );
        assert_eq!(code(&o), 0, "{o:?}");
        assert_eq!(std::fs::read(d.join(&out)).unwrap(), data);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(&out))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "{name}: decrypted file is group/world readable"
            );
        }
    }
    // Re-wrap the streamed envelope after a rotation, from stdin, then shred the old key.
    let list = |d: &Path| {
        String::from_utf8(cli(&["keyring", "list", "--keyring", "kr"], d, b"").stdout).unwrap()
    };
    let first = list(d).split_whitespace().next().unwrap().to_owned();
    assert_eq!(
        code(&cli(&["keyring", "rotate", "--keyring", "kr"], d, b"")),
        0
    );
    let o = cli(
        &["rewrap", "--keyring", "kr", "--context", "patient=p1"],
        d,
        &streamed.stdout,
    );
    assert_eq!(code(&o), 0, "{o:?}");
    let rewrapped = o.stdout;
    let hl = |e: &[u8]| usize::from(u16::from_be_bytes([e[5], e[6]]));
    assert_eq!(
        &streamed.stdout[hl(&streamed.stdout)..],
        &rewrapped[hl(&rewrapped)..]
    );
    let destroy = ["keyring", "destroy", "--keyring", "kr", "--key-id", &first];
    assert_eq!(code(&cli(&destroy, d, b"")), 0);
    let open = ["open", "--keyring", "kr", "--context", "patient=p1"];
    assert_eq!(code(&cli(&open, d, &streamed.stdout)), 1);
    let o = cli(&open, d, &rewrapped);
    assert_eq!((code(&o), &o.stdout[..]), (0, &data[..]));
    // Re-wrapping with the wrong context, or a cut header, is "did not verify".
    let wrong = ["rewrap", "--keyring", "kr", "--context", "patient=p2"];
    assert_eq!(code(&cli(&wrong, d, &rewrapped)), 1);
    let rewrap = ["rewrap", "--keyring", "kr", "--context", "patient=p1"];
    assert_eq!(code(&cli(&rewrap, d, &rewrapped[..hl(&rewrapped) - 1])), 1);
    if let Some(py) = python() {
        let reference = workspace().join("tests/reference/envelope_reference.py");
        let o = run(
            &py,
            &[
                reference.to_str().unwrap(),
                "open",
                "--keyring",
                "kr",
                "--context",
                "patient=p1",
            ],
            Some(d),
            &rewrapped,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, data);
    }
}

/// A streamed envelope with no slot for the reader's keys says so, as a one-shot one does
/// (exit 1 either way); a keyring re-wrap may unwrap the data key with a recipient key (here:
/// the keyring's old KEK was destroyed, so only the backend's key can unwrap).
#[test]
fn streamed_no_matching_key_and_keyring_rewrap_unwrapped_by_a_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["keyring", "new", "--out", "kr"][..],
        &["keyring", "new", "--out", "other"][..],
        &[
            "recipient",
            "keygen",
            "--out",
            "backend",
            "--id",
            "backend-1",
        ][..],
    ] {
        assert_eq!(code(&cli(args, d, b"")), 0);
    }
    let old_id = String::from_utf8(cli(&["keyring", "list", "--keyring", "kr"], d, b"").stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let data = vec![7u8; 10_000];
    let mut sealed = Vec::new();
    for stream in [true, false] {
        let mut args = vec!["seal", "--keyring", "kr", "--recipient", "backend.pub"];
        if stream {
            args.extend(["--stream", "--chunk-size", "4096"]);
        }
        let o = cli(&args, d, &data);
        assert_eq!(code(&o), 0, "{o:?}");
        let o = cli(&["open", "--keyring", "other"], d, &o.stdout);
        assert_eq!(code(&o), 1, "stream {stream}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("no usable key"),
            "stream {stream}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        sealed.push((stream, cli(&args, d, &data).stdout));
    }
    // The KEK the envelopes were sealed under is rotated out and destroyed.
    assert_eq!(
        code(&cli(&["keyring", "rotate", "--keyring", "kr"], d, b"")),
        0
    );
    let destroy = ["keyring", "destroy", "--keyring", "kr", "--key-id", &old_id];
    assert_eq!(code(&cli(&destroy, d, b"")), 0);
    for (stream, env) in sealed {
        // The keyring alone can no longer unwrap.
        let o = cli(&["rewrap", "--keyring", "kr"], d, &env);
        assert_eq!(code(&o), 1, "stream {stream}");
        // The backend's key unwraps; the destroyed KEK's slot is replaced by the new primary's.
        let o = cli(
            &["rewrap", "--keyring", "kr", "--recipient-key", "backend"],
            d,
            &env,
        );
        assert_eq!(
            code(&o),
            0,
            "stream {stream}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let rewrapped = o.stdout;
        for key in [
            &["--keyring", "kr"][..],
            &["--recipient-key", "backend"][..],
        ] {
            let mut args = vec!["open"];
            args.extend(key);
            let o = cli(&args, d, &rewrapped);
            assert_eq!((code(&o), &o.stdout[..]), (0, &data[..]), "stream {stream}");
        }
    }
}

/// The checked-in envelope vectors (`tests/data/envelope-vectors.json`).
fn envelope_vectors() -> serde_json::Value {
    let text =
        std::fs::read_to_string(workspace().join("tests/data/envelope-vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A vector's expected context as `(key, value bytes)` entries.
fn vector_context(v: &serde_json::Value) -> Vec<(String, Vec<u8>)> {
    v["context"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_owned(),
                hex::decode(e["value"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

/// Key files for a vector's `open_with` key objects (section 11 of the format document), written
/// into `d`; returns the `open` arguments that name them.
fn write_key_files(open_with: &serde_json::Value, d: &Path) -> Vec<String> {
    use medsec_envelope::{Kek, KeyId, KeyState, Keyring};
    let mut keyring = Keyring::new();
    let mut args = Vec::new();
    for (i, key) in open_with.as_array().unwrap().iter().enumerate() {
        let id = hex::decode(key["id"].as_str().unwrap()).unwrap();
        match key["kind"].as_str().unwrap() {
            "kek" => {
                let kek: [u8; 32] = hex::decode(key["key"].as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap();
                let state = if keyring.primary_id().is_none() {
                    KeyState::Primary
                } else {
                    KeyState::DecryptOnly
                };
                keyring
                    .insert(Kek::from_bytes(KeyId::new(&id).unwrap(), kek), state)
                    .unwrap();
            }
            "hpke" => {
                let file = format!("recipient-{i}");
                let line = format!(
                    "medsec-recipient-secret-v1 {} {}\n",
                    hex::encode(&id),
                    key["secret_key"].as_str().unwrap()
                );
                std::fs::write(d.join(&file), line).unwrap();
                args.extend(["--recipient-key".to_owned(), file]);
            }
            other => panic!("unknown key kind {other}"),
        }
    }
    if keyring.keys().next().is_some() {
        std::fs::write(d.join("keyring"), &keyring.to_bytes()[..]).unwrap();
        args.extend(["--keyring".to_owned(), "keyring".to_owned()]);
    }
    args
}

fn cli_owned(args: &[String], dir: &Path, stdin: &[u8]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cli(&args, dir, stdin)
}

/// `--context=KEY=VALUE` arguments (the one-argument form, so that a key may start with `-`).
fn plain_context(entries: &[(String, Vec<u8>)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, v)| format!("--context={k}={}", std::str::from_utf8(v).unwrap()))
        .collect()
}

/// `--context-hex=KEY=HEX` arguments.
fn hex_context(entries: &[(String, Vec<u8>)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, v)| format!("--context-hex={k}={}", hex::encode(v)))
        .collect()
}

/// Every `must_open` vector opens through the CLI with its keys and expected context. Values
/// that `--context` cannot carry (the 12,270-byte header's stored values hold NUL and
/// non-UTF-8 bytes; argv cannot carry NUL) go through `--context-hex`; the others both ways.
/// A changed or missing entry does not open (exit 1).
#[test]
fn must_open_vectors_open_through_the_cli() {
    let json = envelope_vectors();
    let vectors = json["must_open"].as_array().unwrap();
    assert!(!vectors.is_empty());
    let mut opened_only_with_hex = Vec::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let keys = write_key_files(&v["open_with"], d);
        let envelope = hex::decode(v["envelope"].as_str().unwrap()).unwrap();
        let plaintext = hex::decode(v["plaintext"].as_str().unwrap()).unwrap();
        let entries = vector_context(v);
        let open = |context: Vec<String>| {
            let mut args = vec!["open".to_owned()];
            args.extend(keys.iter().cloned());
            args.extend(context);
            cli_owned(&args, d, &envelope)
        };

        let o = open(hex_context(&entries));
        assert_eq!(
            (code(&o), &o.stdout[..]),
            (0, &plaintext[..]),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let argv_can_carry = entries
            .iter()
            .all(|(_, v)| !v.contains(&0) && std::str::from_utf8(v).is_ok());
        if argv_can_carry {
            let o = open(plain_context(&entries));
            assert_eq!((code(&o), &o.stdout[..]), (0, &plaintext[..]), "{name}");
        } else {
            assert!(entries.iter().any(|(_, v)| v.contains(&0)), "{name}");
            opened_only_with_hex.push(name.to_owned());
        }
        if let Some((last, rest)) = entries.split_last() {
            let o = open(hex_context(rest));
            assert_eq!((code(&o), o.stdout.len()), (1, 0), "{name}: entry missing");
            let mut changed = rest.to_vec();
            let mut value = last.1.clone();
            match value.first_mut() {
                Some(b) => *b ^= 1,
                None => value.push(0),
            }
            changed.push((last.0.clone(), value));
            let o = open(hex_context(&changed));
            assert_eq!((code(&o), o.stdout.len()), (1, 0), "{name}: value changed");
        }
    }
    assert!(
        !opened_only_with_hex.is_empty(),
        "a must_open vector has a context value with a NUL byte"
    );
}

/// `--context-hex` (and `--stored-context-hex` on `seal`) refuses malformed input as a usage
/// error (exit 2, nothing written, the value not echoed): odd length, non-hex digits, no `=`,
/// an empty or malformed key, a value over 255 bytes, and a key given twice across the forms.
#[test]
fn context_hex_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let sealed = cli(&["seal", "--keyring", "kr", "--context", "k=x"], d, b"data");
    assert_eq!(code(&sealed), 0);
    let envelope = sealed.stdout;
    // The well-formed counterparts pass, so each refusal below is the malformed part's.
    for command in ["open", "rewrap"] {
        let o = cli(
            &[command, "--keyring", "kr", "--context-hex", "k=78"],
            d,
            &envelope,
        );
        assert_eq!(code(&o), 0, "{command}");
    }
    for good in [
        &["--context-hex", "k=78"][..],
        &["--context-hex", &format!("k={}", "61".repeat(255))][..],
        &["--context", "k=x", "--context-hex", "l=78"][..],
        &["--context", "k=x", "--stored-context-hex", "l=78"][..],
    ] {
        let mut args = vec!["seal", "--keyring", "kr"];
        args.extend_from_slice(good);
        assert_eq!(code(&cli(&args, d, b"data")), 0, "seal {good:?}");
    }
    let over_long = format!("k={}", "61".repeat(256));
    let malformed: [&[&str]; 14] = [
        &["--context-hex", "k=7"],
        &["--context-hex", "k=7a7"],
        &["--context-hex", "k=zz"],
        &["--context-hex", "k=7g"],
        &["--context-hex", "k=0x78"],
        &["--context-hex", "k= 78"],
        &["--context-hex", "=78"],
        &["--context-hex", "k78"],
        // no '=': the whole argument may be a value, and none of it is echoed
        &["--context-hex", "7a7b7c"],
        &["--context", "patient-7a7"],
        &["--context-hex", "K=78"],
        &["--context-hex", &over_long],
        &["--context", "k=x", "--context-hex", "k=78"],
        &["--context-hex", "k=78", "--context-hex", "k=79"],
    ];
    for command in ["seal", "open", "rewrap"] {
        for bad in malformed {
            let mut args = vec![command, "--keyring", "kr"];
            args.extend_from_slice(bad);
            let stdin: &[u8] = if command == "seal" {
                b"data"
            } else {
                &envelope
            };
            let o = cli(&args, d, stdin);
            assert_eq!((code(&o), o.stdout.len()), (2, 0), "{command} {bad:?}");
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(!stderr.contains("7a7"), "{command} {bad:?}: {stderr}");
        }
    }
    for bad in [
        &["--stored-context-hex", "k=7"][..],
        &["--stored-context-hex", "k=zz"][..],
        &["--stored-context-hex", "=78"][..],
        &["--context", "k=x", "--stored-context-hex", "k=78"][..],
        &["--context-hex", "k=78", "--stored-context", "k=x"][..],
        &["--stored-context", "k=x", "--stored-context-hex", "k=78"][..],
    ] {
        let mut args = vec!["seal", "--keyring", "kr"];
        args.extend_from_slice(bad);
        let o = cli(&args, d, b"data");
        assert_eq!((code(&o), o.stdout.len()), (2, 0), "seal {bad:?}");
    }
    // `open` and `rewrap` take the expected context only: no stored forms.
    for command in ["open", "rewrap"] {
        let o = cli(
            &[command, "--keyring", "kr", "--stored-context-hex", "k=78"],
            d,
            &envelope,
        );
        assert_eq!(code(&o), 2, "{command}");
    }
}

/// A hex value equal to the UTF-8 of a plain value behaves exactly as `--context`: envelopes
/// sealed with either form open with either form or a mix, stored entries are the same bytes,
/// and `rewrap` accepts either. Covers what `--context` can carry: an empty value, `=` inside a
/// value (the first `=` ends the key, which cannot hold one), a 255-byte value, and a key that
/// starts with `-` (one-argument form only). Bytes argv cannot carry go through `--context-hex`.
#[test]
fn context_hex_is_the_same_as_context() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let bound: Vec<(String, Vec<u8>)> = [
        ("patient", "p-7f3a9c".as_bytes().to_vec()),
        ("note", Vec::new()),
        ("eq", b"a=b".to_vec()),
        ("-k", b"-v".to_vec()),
        ("long", vec![b'a'; 255]),
        ("text", "é ü\n".as_bytes().to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let stored = ("record-kind", "cgm");
    let plaintext = b"glucose 5.4 mmol/L";

    let mut plain_seal = vec!["seal".to_owned(), "--keyring".into(), "kr".into()];
    plain_seal.extend(plain_context(&bound));
    plain_seal.push(format!("--stored-context={}={}", stored.0, stored.1));
    let mut hex_seal = vec!["seal".to_owned(), "--keyring".into(), "kr".into()];
    hex_seal.extend(hex_context(&bound));
    // Upper-case digits are accepted too.
    hex_seal.push(format!(
        "--stored-context-hex={}={}",
        stored.0,
        hex::encode_upper(stored.1)
    ));
    let envelopes: Vec<Vec<u8>> = [plain_seal, hex_seal]
        .iter()
        .map(|args| {
            let o = cli_owned(args, d, plaintext);
            assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
            o.stdout
        })
        .collect();
    // The stored entry is the same bytes (stored_count at offset 76, then the entry).
    let entry = 77..77 + 2 + stored.0.len() + stored.1.len();
    assert_eq!(envelopes[0][76], 1);
    assert_eq!(envelopes[0][entry.clone()], envelopes[1][entry]);

    let mut all = bound.clone();
    all.push((stored.0.to_owned(), stored.1.as_bytes().to_vec()));
    let mixed: Vec<String> = all
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            let one = std::slice::from_ref(e);
            if i % 2 == 0 {
                plain_context(one)
            } else {
                hex_context(one)
            }
        })
        .collect();
    let mut changed = all.clone();
    changed[0].1 = b"p-7f3a9d".to_vec();
    for envelope in &envelopes {
        for (context, expected) in [
            (plain_context(&all), 0),
            (hex_context(&all), 0),
            (mixed.clone(), 0),
            (plain_context(&changed), 1),
            (hex_context(&changed), 1),
        ] {
            let mut args = vec!["open".to_owned(), "--keyring".into(), "kr".into()];
            args.extend(context.iter().cloned());
            let o = cli_owned(&args, d, envelope);
            let out: &[u8] = if expected == 0 { plaintext } else { b"" };
            assert_eq!((code(&o), &o.stdout[..]), (expected, out), "{context:?}");

            let mut args = vec!["rewrap".to_owned(), "--keyring".into(), "kr".into()];
            args.extend(context.iter().cloned());
            let o = cli_owned(&args, d, envelope);
            assert_eq!(code(&o), expected, "rewrap {context:?}");
            if expected == 0 {
                let mut args = vec!["open".to_owned(), "--keyring".into(), "kr".into()];
                args.extend(hex_context(&all));
                let opened = cli_owned(&args, d, &o.stdout);
                assert_eq!((code(&opened), &opened.stdout[..]), (0, &plaintext[..]));
            }
        }
    }

    // A key that starts with '-' in the two-argument form is taken for an option: exit 2.
    for form in ["--context", "--context-hex"] {
        let o = cli(&["seal", "--keyring", "kr", form, "-k=76"], d, b"x");
        assert_eq!((code(&o), o.stdout.len()), (2, 0), "{form}");
    }

    // NUL and non-UTF-8 bytes: only --context-hex carries them.
    let o = cli(
        &["seal", "--keyring", "kr", "--context-hex", "v=00ff80"],
        d,
        plaintext,
    );
    assert_eq!(code(&o), 0);
    let envelope = o.stdout;
    for (value, expected) in [("00ff80", 0), ("00FF80", 0), ("00ff", 1), ("", 1)] {
        let entry = format!("v={value}");
        let o = cli(
            &["open", "--keyring", "kr", "--context-hex", &entry],
            d,
            &envelope,
        );
        assert_eq!(code(&o), expected, "{value}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let o = Command::new(cli_path())
            .args(["open", "--keyring", "kr", "--context"])
            .arg(std::ffi::OsStr::from_bytes(b"v=\xff\x80"))
            .current_dir(d)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!((code(&o), o.stdout.len()), (2, 0), "non-UTF-8 argv");
    }
}

/// Whether `entries` is a context section 4 allows (the CLI refuses any other as a usage error).
fn context_is_valid(entries: &[(String, Vec<u8>)]) -> bool {
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len() == entries.len()
        && entries.len() <= 16
        && entries.iter().all(|(k, v)| {
            (1..=32).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
                && v.len() <= 255
        })
}

fn suite_policy_arg(policy: &serde_json::Value) -> &'static str {
    let names: Vec<&str> = policy
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    match names.as_slice() {
        [_, _] => "all",
        ["aes-256-gcm"] => "approved",
        ["aes-256-gcm-siv"] => "gcm-siv",
        other => panic!("policy {other:?}"),
    }
}

/// Every `must_fail` vector (section 11.5) is refused by `medsec-cli open` with its class: exit 1
/// and "did not verify", or exit 1 and "no usable key" for `no_matching_key`; where the expected
/// context itself breaks section 4 the CLI refuses the context (exit 2). No `--out` file appears.
/// The vectors whose stored entries disagree with the expected context are refused through
/// `--context-file` too, and by `rewrap`.
#[test]
fn must_fail_vectors_fail_through_the_cli() {
    let json = envelope_vectors();
    let vectors = json["must_fail"].as_array().unwrap();
    let mut stored_rule = 0;
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let keys = write_key_files(&v["open_with"], d);
        let envelope = hex::decode(v["envelope"].as_str().unwrap()).unwrap();
        let entries = vector_context(v);
        let mut args = vec!["open".to_owned()];
        args.extend(keys.iter().cloned());
        args.extend(hex_context(&entries));
        args.push(format!("--suite-policy={}", suite_policy_arg(&v["policy"])));
        // With --out, not even a verified prefix of a failed stream is written.
        args.extend(["--out".to_owned(), "plain".to_owned()]);
        let o = cli_owned(&args, d, &envelope);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.stdout.is_empty(), "{name}: plaintext written");
        assert!(!d.join("plain").exists(), "{name}: plaintext written");
        if !context_is_valid(&entries) {
            assert_eq!(code(&o), 2, "{name}: {stderr}");
            continue;
        }
        assert_eq!(code(&o), 1, "{name}: {stderr}");
        let message = match v["expected"].as_str().unwrap() {
            "no_matching_key" => "no usable key",
            _ => "did not verify",
        };
        assert!(stderr.contains(message), "{name}: {stderr}");

        if name.starts_with("stored-") && name.contains("expected-context") {
            stored_rule += 1;
            let lines: String = entries
                .iter()
                .map(|(k, v)| format!("{k}:{}\n", hex::encode(v)))
                .collect();
            std::fs::write(d.join("expected"), lines).unwrap();
            let mut args = vec!["open".to_owned()];
            args.extend(keys.iter().cloned());
            args.extend(["--context-file".to_owned(), "expected".to_owned()]);
            let o = cli_owned(&args, d, &envelope);
            assert_eq!((code(&o), o.stdout.len()), (1, 0), "{name}: --context-file");
            args[0] = "rewrap".to_owned();
            let o = cli_owned(&args, d, &envelope);
            assert_eq!((code(&o), o.stdout.len()), (1, 0), "{name}: rewrap");
        }
    }
    assert!(stored_rule >= 3, "the stored-entry vectors are present");
}

/// `--context-file` (open, rewrap, seal) and `--stored-context-file` (seal): one entry per line,
/// `KEY=VALUE` (UTF-8 text to the end of the line) or `KEY:HEX`; empty lines skipped; the last
/// line may lack its LF; nothing trimmed. The entries are the same as the argument forms give,
/// combine with them, and are refused on the same rules; a malformed line is a usage error
/// (exit 2) that names the line number and repeats none of it.
#[test]
fn context_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    let plaintext = b"glucose 5.4 mmol/L";
    // Text values may hold '=', ':', spaces and any UTF-8; a hex line carries NUL and LF.
    write(
        "bound",
        "patient=p-7f3a9c\n\neq=a=b:c\nspaced= v \ntext=é ü\nbin:000a0dff\nempty=\nempty-hex:"
            .as_bytes(),
    );
    write("stored", b"record-kind=cgm\n");
    let argv_form: [&str; 16] = [
        "--context",
        "patient=p-7f3a9c",
        "--context",
        "eq=a=b:c",
        "--context",
        "spaced= v ",
        "--context",
        "text=é ü",
        "--context-hex",
        "bin=000a0dff",
        "--context",
        "empty=",
        "--context-hex",
        "empty-hex=",
        "--context",
        "record-kind=cgm",
    ];
    let sealed = cli(
        &[
            "seal",
            "--keyring",
            "kr",
            "--context-file",
            "bound",
            "--stored-context-file",
            "stored",
        ],
        d,
        plaintext,
    );
    assert_eq!(
        code(&sealed),
        0,
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let envelope = sealed.stdout;
    // The stored entry is in the header, the bound ones are not.
    assert_eq!(envelope[76], 1);
    assert_eq!(&envelope[77..77 + 16], b"\x0brecord-kind\x03cgm");
    assert!(!envelope.windows(8).any(|w| w == b"p-7f3a9c"));

    let open = |args: &[&str], env: &[u8]| {
        let mut all = vec!["open", "--keyring", "kr"];
        all.extend_from_slice(args);
        cli(&all, d, env)
    };
    write("stored-only", b"record-kind:63676d");
    write(
        "all",
        &[
            &std::fs::read(d.join("bound")).unwrap()[..],
            b"\nrecord-kind=cgm\n",
        ]
        .concat(),
    );
    for args in [
        &argv_form[..],
        &["--context-file", "all"][..],
        &["--context-file", "bound", "--context-file", "stored-only"][..],
        &["--context-file", "bound", "--context", "record-kind=cgm"][..],
    ] {
        let o = open(args, &envelope);
        assert_eq!((code(&o), &o.stdout[..]), (0, &plaintext[..]), "{args:?}");
        let mut rewrap = vec!["rewrap", "--keyring", "kr"];
        rewrap.extend_from_slice(args);
        let o = cli(&rewrap, d, &envelope);
        assert_eq!(code(&o), 0, "rewrap {args:?}");
        assert_eq!(code(&open(args, &o.stdout)), 0, "rewrapped {args:?}");
    }
    // An envelope sealed with the argument forms opens with the files.
    let mut seal_args = vec!["seal", "--keyring", "kr"];
    seal_args.extend_from_slice(&argv_form[..14]);
    seal_args.extend(["--stored-context", "record-kind=cgm"]);
    let o = cli(&seal_args, d, plaintext);
    assert_eq!(code(&o), 0);
    let o = open(&["--context-file", "all"], &o.stdout);
    assert_eq!((code(&o), &o.stdout[..]), (0, &plaintext[..]));
    // A missing or changed entry: did not verify.
    let o = open(&["--context-file", "bound"], &envelope);
    assert_eq!((code(&o), o.stdout.len()), (1, 0));
    write("changed", b"record-kind=cgm\npatient=p-7f3a9d\n");
    let o = open(&["--context-file", "changed"], &envelope);
    assert_eq!((code(&o), o.stdout.len()), (1, 0));

    // Usage errors: exit 2, nothing written, the line (here holding "7a7") never echoed.
    let long = format!("patient={}\n", "7a7".repeat(86));
    let cases: [(&str, &[u8]); 13] = [
        ("no-separator", b"record-kind=cgm\np-7a7\n"),
        ("crlf", b"record-kind=cgm\r\npatient=p-7a7\r\n"),
        ("cr-inside", b"patient=p-7a7\rx\n"),
        ("not-utf8", b"patient=p-7a7\xff\n"),
        ("odd-hex", b"patient:7a7\n"),
        ("bad-hex", b"patient:7a7g\n"),
        ("hex-prefix", b"patient:0x7a7a\n"),
        ("key-space", b"patient =p-7a7\n"),
        ("key-upper", b"Patient=p-7a7\n"),
        ("key-empty", b"=p-7a7\n"),
        ("duplicate", b"patient=p-7a7\npatient:7a7a\n"),
        ("long", long.as_bytes()),
        ("bom", b"\xef\xbb\xbfpatient=p-7a7\n"),
    ];
    for (name, bytes) in cases {
        write(name, bytes);
        for command in ["seal", "open", "rewrap"] {
            let stdin: &[u8] = if command == "seal" {
                b"data"
            } else {
                &envelope
            };
            for option in ["--context-file", "--stored-context-file"] {
                if command != "seal" && option == "--stored-context-file" {
                    continue;
                }
                let o = cli(&[command, "--keyring", "kr", option, name], d, stdin);
                let stderr = String::from_utf8_lossy(&o.stderr);
                assert_eq!(
                    (code(&o), o.stdout.len()),
                    (2, 0),
                    "{command} {option} {name}"
                );
                assert!(!stderr.contains("7a7"), "{command} {name}: {stderr}");
            }
        }
    }
    let o = cli(
        &["open", "--keyring", "kr", "--context-file", "no-separator"],
        d,
        &envelope,
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A key given twice across a file and another form, or across the bound and stored files.
    for args in [
        &["--context-file", "stored", "--context", "record-kind=x"][..],
        &[
            "--context-file",
            "stored",
            "--stored-context-file",
            "stored",
        ][..],
        &["--context-file", "stored", "--context-file", "stored"][..],
    ] {
        let mut all = vec!["seal", "--keyring", "kr"];
        all.extend_from_slice(args);
        let o = cli(&all, d, b"data");
        assert_eq!((code(&o), o.stdout.len()), (2, 0), "{args:?}");
    }
    // Size: 65,536 bytes are read (mostly empty lines), one more is refused; a missing file.
    let mut big = vec![b'\n'; 65_536 - 16];
    big.extend_from_slice(b"record-kind=cgm\n");
    write("big", &big);
    let o = open(
        &["--context-file", "big", "--context-file", "bound"],
        &envelope,
    );
    assert_eq!((code(&o), &o.stdout[..]), (0, &plaintext[..]));
    big.insert(0, b'\n');
    write("big", &big);
    let o = open(
        &["--context-file", "big", "--context-file", "bound"],
        &envelope,
    );
    assert_eq!((code(&o), o.stdout.len()), (2, 0));
    let o = open(&["--context-file", "no-such-file"], &envelope);
    assert_eq!((code(&o), o.stdout.len()), (2, 0));
    // `open` and `rewrap` take no stored form.
    for command in ["open", "rewrap"] {
        let o = cli(
            &[
                command,
                "--keyring",
                "kr",
                "--stored-context-file",
                "stored",
            ],
            d,
            &envelope,
        );
        assert_eq!(code(&o), 2, "{command}");
    }
}

/// `seal`: `--chunk-size` is refused without `--stream` (exit 2, nothing written); `--stream`
/// without it writes 16,384-byte chunks; one-shot input over 256 MiB is refused (exit 2).
#[test]
fn seal_chunk_size_and_one_shot_limit() {
    use std::io::Write as _;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    for chunk in ["4096", "16384", "100"] {
        let o = cli(
            &["seal", "--keyring", "kr", "--chunk-size", chunk],
            d,
            b"data",
        );
        assert_eq!((code(&o), o.stdout.len()), (2, 0), "--chunk-size {chunk}");
    }
    let chunk_field = |args: &[&str]| {
        let o = cli(args, d, b"data");
        assert_eq!(code(&o), 0);
        u32::from_be_bytes(o.stdout[8..12].try_into().unwrap())
    };
    assert_eq!(chunk_field(&["seal", "--keyring", "kr"]), 0);
    assert_eq!(
        chunk_field(&["seal", "--keyring", "kr", "--stream"]),
        16_384
    );
    assert_eq!(
        chunk_field(&[
            "seal",
            "--keyring",
            "kr",
            "--stream",
            "--chunk-size",
            "65536"
        ]),
        65_536
    );

    // One-shot: 256 MiB + 1 bytes of input is refused, and the message points to --stream.
    let mut child = Command::new(cli_path())
        .args(["seal", "--keyring", "kr"])
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let block = vec![0u8; 1 << 20];
        for _ in 0..256 {
            if stdin.write_all(&block).is_err() {
                return;
            }
        }
        let _ = stdin.write_all(&[0]);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!((code(&out), out.stdout.len()), (2, 0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--stream"));
}

/// `rewrap --retire-hex` names the retired key by its id's bytes in hex, so that an id that is
/// not UTF-8 text (allowed by section 6, writable in a key file) can be retired; `--retire`
/// takes the id's UTF-8 text. Exactly one of them goes with `--to-recipient`. Key files are
/// loaded before the slot list is checked for the retired id.
#[test]
fn rewrap_retire_hex() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        code(&cli(
            &["recipient", "keygen", "--out", "next", "--id", "next-1"],
            d,
            b""
        )),
        0
    );
    // A recipient whose key id (00 ff 80) is not UTF-8: written by hand from a fresh key pair.
    assert_eq!(
        code(&cli(
            &["recipient", "keygen", "--out", "gen", "--id", "x"],
            d,
            b""
        )),
        0
    );
    let retarget = |file: &str, out: &str| {
        let text = std::fs::read_to_string(d.join(file)).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        std::fs::write(d.join(out), format!("{} 00ff80 {}\n", fields[0], fields[2])).unwrap();
    };
    retarget("gen", "odd");
    retarget("gen.pub", "odd.pub");
    let o = cli(&["seal", "--recipient", "odd.pub"], d, b"reading");
    assert_eq!(code(&o), 0);
    let envelope = o.stdout;
    let rotate = |args: &[&str]| {
        let mut all = vec![
            "rewrap",
            "--recipient-key",
            "odd",
            "--to-recipient",
            "next.pub",
        ];
        all.extend_from_slice(args);
        cli(&all, d, &envelope)
    };
    for id in ["00ff80", "00FF80"] {
        let o = rotate(&["--retire-hex", id]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let opened = cli(&["open", "--recipient-key", "next"], d, &o.stdout);
        assert_eq!((code(&opened), &opened.stdout[..]), (0, &b"reading"[..]));
        let old = cli(&["open", "--recipient-key", "odd"], d, &o.stdout);
        assert_eq!(code(&old), 1, "the retired key has no slot");
    }
    // The text form of these bytes does not exist; other ids have no slot: usage errors.
    for args in [
        &["--retire", "00ff80"][..],
        &["--retire-hex", "00ff81"][..],
        &["--retire-hex", "00ff8"][..],
        &["--retire-hex", ""][..],
        &["--retire-hex", &"6b".repeat(33)][..],
        &["--retire", "x", "--retire-hex", "00ff80"][..],
        &[][..],
    ] {
        let o = rotate(args);
        assert_eq!((code(&o), o.stdout.len()), (2, 0), "{args:?}");
    }
    // The text and hex forms name the same UTF-8 id.
    let o = cli(&["seal", "--recipient", "next.pub"], d, b"reading");
    let by_text = {
        let mut e = o.stdout.clone();
        let o = cli(
            &[
                "rewrap",
                "--recipient-key",
                "next",
                "--to-recipient",
                "odd.pub",
                "--retire",
                "next-1",
            ],
            d,
            &e,
        );
        assert_eq!(code(&o), 0);
        e = o.stdout;
        e
    };
    let o = cli(
        &[
            "rewrap",
            "--recipient-key",
            "next",
            "--to-recipient",
            "odd.pub",
            "--retire-hex",
            &hex::encode("next-1"),
        ],
        d,
        &o.stdout,
    );
    assert_eq!(code(&o), 0);
    for env in [&by_text, &o.stdout] {
        let opened = cli(&["open", "--recipient-key", "odd"], d, env);
        assert_eq!((code(&opened), &opened.stdout[..]), (0, &b"reading"[..]));
    }
    // Key files are read first: a missing successor file is reported, not the unknown id.
    let o = cli(
        &[
            "rewrap",
            "--recipient-key",
            "odd",
            "--to-recipient",
            "missing.pub",
            "--retire-hex",
            "00ff81",
        ],
        d,
        &envelope,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 2);
    assert!(stderr.contains("missing.pub"), "{stderr}");
}

/// `open` without `--out` writes a streamed envelope's chunks to stdout as each verifies: when a
/// later chunk fails, the exit code is 1 and stdout holds the verified prefix (whole chunks, in
/// order). A one-shot envelope writes nothing unless it verified. With `--out` nothing appears.
#[test]
fn open_without_out_writes_verified_chunks_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let data: Vec<u8> = (0..3 * 4096 + 10).map(|i| (i % 251) as u8).collect();
    let o = cli(
        &[
            "seal",
            "--keyring",
            "kr",
            "--stream",
            "--chunk-size",
            "4096",
        ],
        d,
        &data,
    );
    assert_eq!(code(&o), 0);
    let mut sealed = o.stdout;
    let last = sealed.len() - 1;
    sealed[last] ^= 1; // the last chunk's tag
    let o = cli(&["open", "--keyring", "kr"], d, &sealed);
    assert_eq!(code(&o), 1);
    assert_eq!(
        o.stdout,
        data[..3 * 4096],
        "the three verified middle chunks"
    );
    let o = cli(&["open", "--keyring", "kr", "--out", "out"], d, &sealed);
    assert_eq!((code(&o), o.stdout.len()), (1, 0));
    assert!(!d.join("out").exists());
    let o = cli(&["seal", "--keyring", "kr"], d, &data);
    let mut one_shot = o.stdout;
    let last = one_shot.len() - 1;
    one_shot[last] ^= 1;
    let o = cli(&["open", "--keyring", "kr"], d, &one_shot);
    assert_eq!((code(&o), o.stdout.len()), (1, 0));
}

/// A command that fails after creating its temporary `--out` file leaves nothing behind: a
/// streamed seal whose input cannot be read (a directory) exits 2 with no `.OUT.partial*` file,
/// and so do an open and a one-shot seal that fail the same way.
#[test]
fn failed_commands_leave_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    std::fs::create_dir(d.join("unreadable")).unwrap();
    let attempts: [&[&str]; 3] = [
        &[
            "seal",
            "--keyring",
            "kr",
            "--stream",
            "--in",
            "unreadable",
            "--out",
            "x",
        ],
        &[
            "seal",
            "--keyring",
            "kr",
            "--in",
            "unreadable",
            "--out",
            "x",
        ],
        &[
            "open",
            "--keyring",
            "kr",
            "--in",
            "unreadable",
            "--out",
            "x",
        ],
    ];
    for args in attempts {
        let o = cli(args, d, b"");
        assert_eq!(
            code(&o),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["kr", "unreadable"], "{args:?} left files behind");
    }
}

/// The CLI never deletes or writes through a file it did not create: when the temporary name
/// beside `--out` (`.NAME.partialPID`) is already taken, the command fails (exit 2) and leaves
/// that file as it was, for one-shot and streamed seals and for open. (`exec` keeps the shell's
/// PID, so the test can take the name first.)
#[cfg(unix)]
#[test]
fn a_taken_temporary_name_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    let sealed = cli(&["seal", "--keyring", "kr"], d, b"data");
    assert_eq!(code(&sealed), 0);
    std::fs::write(d.join("env"), &sealed.stdout).unwrap();
    let cli_bin = cli_path();
    let commands = [
        "seal --keyring kr --in env --out out",
        "seal --keyring kr --stream --in env --out out",
        "open --keyring kr --in env --out out",
    ];
    for command in commands {
        let script = format!(
            "printf squatter > .out.partial$$ && exec '{}' {command}",
            cli_bin.display()
        );
        let o = run(Path::new("/bin/sh"), &["-c", &script], Some(d), b"");
        assert_eq!(
            code(&o),
            2,
            "{command}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let squatted: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".out.partial"))
            .collect();
        assert_eq!(squatted.len(), 1, "{command}");
        assert_eq!(
            std::fs::read(&squatted[0]).unwrap(),
            b"squatter",
            "{command}"
        );
        assert!(!d.join("out").exists(), "{command}");
        std::fs::remove_file(&squatted[0]).unwrap();
    }
}

/// `--out` replaces only a regular file: a symbolic link, a directory or a FIFO at that path is
/// refused (exit 2) and left as it was, with no temporary file behind. (Run as root, replacing
/// `/dev/null` with a regular file breaks every process on the machine; a link or directory
/// stands in for it here.)
#[cfg(unix)]
#[test]
fn out_replaces_only_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&cli(&["keyring", "new", "--out", "kr"], d, b"")), 0);
    std::fs::write(d.join("target"), b"keep").unwrap();
    std::os::unix::fs::symlink("target", d.join("link")).unwrap();
    std::fs::create_dir(d.join("folder")).unwrap();
    let fifo = run(Path::new("mkfifo"), &["pipe"], Some(d), b"");
    assert!(fifo.status.success());
    let sealed = cli(&["seal", "--keyring", "kr"], d, b"data");
    std::fs::write(d.join("env"), &sealed.stdout).unwrap();
    for out in ["link", "folder", "pipe"] {
        for args in [
            vec!["seal", "--keyring", "kr", "--in", "env", "--out", out],
            vec![
                "seal",
                "--keyring",
                "kr",
                "--stream",
                "--in",
                "env",
                "--out",
                out,
            ],
            vec!["open", "--keyring", "kr", "--in", "env", "--out", out],
            vec!["keyring", "new", "--out", out],
        ] {
            let o = cli(&args, d, b"");
            assert_eq!(
                code(&o),
                2,
                "{args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    assert!(std::fs::symlink_metadata(d.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(d.join("target")).unwrap(), b"keep");
    assert!(d.join("folder").is_dir());
    let left = std::fs::read_dir(d)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial")
        })
        .count();
    assert_eq!(left, 0);
    // A regular file is replaced as before.
    let o = cli(
        &["open", "--keyring", "kr", "--in", "env", "--out", "target"],
        d,
        b"",
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(d.join("target")).unwrap(), b"data");
}
