//! The `medsec-cli token` contract from issue 4: names, arguments, exit codes (0 ok,
//! 1 rejected, 2 usage or I/O), claims JSON on stdout.
//!
//! Runs the example binary that `cargo test` builds beside the test executables.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::PathBuf;
use std::process::Output;

#[path = "support/cli.rs"]
mod cli_support;

fn cli() -> Option<PathBuf> {
    Some(cli_support::cli_path())
}

fn run(bin: &std::path::Path, args: &[&str], stdin: &[u8], dir: &std::path::Path) -> Output {
    cli_support::run_program(bin, args, Some(dir), stdin)
}

#[test]
fn keygen_mint_verify_contract() {
    let Some(bin) = cli() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(&bin, &["token", "keygen", "--out", "KEY"], b"", d);
    assert_eq!(out.status.code(), Some(0));
    assert!(d.join("KEY").exists() && d.join("KEY.pub").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("KEY"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others");
    }
    // The key files are the documented COSE_Key form.
    let public = std::fs::read(d.join("KEY.pub")).unwrap();
    let vk = medsec_token::VerifyingKey::from_file_bytes(&public).unwrap();
    let private = std::fs::read(d.join("KEY")).unwrap();
    assert_eq!(
        medsec_token::SigningKey::from_cose_key(&private)
            .unwrap()
            .verifying_key(),
        vk
    );

    let mint = |extra: &[&str]| {
        let mut args = vec![
            "token",
            "mint",
            "--key",
            "KEY",
            "--role",
            "caregiver",
            "--subject",
            "cg-7",
            "--audience",
            "pump-SN1",
            "--ttl",
            "600",
        ];
        args.extend_from_slice(extra);
        run(&bin, &args, b"", d)
    };
    let token = mint(&["--patient", "patient-1", "--scope", "alarms:read"]);
    assert_eq!(
        token.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let verify = |stdin: &[u8], aud: &str| {
        run(
            &bin,
            &["token", "verify", "--key", "KEY.pub", "--audience", aud],
            stdin,
            d,
        )
    };
    let ok = verify(&token.stdout, "pump-SN1");
    assert_eq!(ok.status.code(), Some(0));
    let claims: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(claims["role"], "caregiver");
    assert_eq!(claims["sub"], "cg-7");
    assert_eq!(claims["patient"], "patient-1");
    assert_eq!(claims["scope"], serde_json::json!({"alarms": ["read"]}));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );

    // Rejections exit 1.
    assert_eq!(verify(&token.stdout, "pump-SN2").status.code(), Some(1));
    let mut tampered = token.stdout.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(verify(&tampered, "pump-SN1").status.code(), Some(1));
    assert_eq!(verify(b"", "pump-SN1").status.code(), Some(1));
    // A scope beyond the role's policy is refused (1); unknown role and bad usage are 2.
    assert_eq!(
        mint(&["--scope", "readings/raw:read"]).status.code(),
        Some(1)
    );
    let bad_role = run(
        &bin,
        &[
            "token",
            "mint",
            "--key",
            "KEY",
            "--role",
            "nurse",
            "--subject",
            "s",
            "--audience",
            "a",
            "--ttl",
            "1",
        ],
        b"",
        d,
    );
    assert_eq!(bad_role.status.code(), Some(2));
    assert_eq!(mint(&["--scope", "alarms"]).status.code(), Some(2));
    assert_eq!(
        run(&bin, &["token", "verify", "--audience", "a"], b"", d)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(
            &bin,
            &["token", "verify", "--key", "missing.pub", "--audience", "a"],
            b"",
            d
        )
        .status
        .code(),
        Some(2)
    );
    // The leeway is applied as given up to the profile's 600 s; above that it is a usage
    // error (2), never quietly lowered to 600.
    let verify_at = |now: u64, leeway: &str| {
        let now = now.to_string();
        run(
            &bin,
            &[
                "token",
                "verify",
                "--key",
                "KEY.pub",
                "--audience",
                "pump-SN1",
                "--now",
                &now,
                "--leeway",
                leeway,
            ],
            &token.stdout,
            d,
        )
        .status
        .code()
    };
    let exp = claims["exp"].as_u64().unwrap();
    assert_eq!(verify_at(exp + 599, "600"), Some(0));
    assert_eq!(verify_at(exp + 600, "600"), Some(1));
    assert_eq!(verify_at(exp, "0"), Some(1));
    assert_eq!(verify_at(exp - 1, "0"), Some(0));
    assert_eq!(verify_at(exp + 599, "601"), Some(2));
    assert_eq!(verify_at(exp, "100000"), Some(2));
    // The lifetime bound is 366 days, and the refusal says so.
    let mint_ttl = |ttl: &str| {
        run(
            &bin,
            &[
                "token",
                "mint",
                "--key",
                "KEY",
                "--role",
                "patient",
                "--subject",
                "p-1",
                "--audience",
                "pump-SN1",
                "--ttl",
                ttl,
            ],
            b"",
            d,
        )
    };
    assert_eq!(mint_ttl("31622400").status.code(), Some(0), "366 days");
    let too_long = mint_ttl("31622401");
    assert_eq!(too_long.status.code(), Some(2));
    let message = String::from_utf8_lossy(&too_long.stderr);
    assert!(message.contains("366 days"), "{message}");
    assert_eq!(mint_ttl("0").status.code(), Some(2));
    // A caregiver token needs a patient, and exi is at least 1 s: each refusal (2) names
    // its argument.
    let unbound = mint(&[]);
    assert_eq!(unbound.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unbound.stderr);
    assert!(message.contains("--patient"), "{message}");
    let exi_zero = mint(&["--patient", "patient-1", "--exi", "0"]);
    assert_eq!(exi_zero.status.code(), Some(2));
    let message = String::from_utf8_lossy(&exi_zero.stderr);
    assert!(message.contains("--exi"), "{message}");
    assert_eq!(
        mint(&["--patient", "patient-1", "--exi", "1"])
            .status
            .code(),
        Some(0)
    );
    // Control characters (Cc) in a text are refused (2) and the argument is named; other
    // characters pass. The refusal order (profile §13): --exi 0 before a missing caregiver
    // patient, that before a control character, that before the other builder rules.
    let minted = |args: &[&str]| {
        let mut all = vec!["token", "mint", "--key", "KEY"];
        all.extend_from_slice(args);
        run(&bin, &all, b"", d)
    };
    let refusal = |args: &[&str]| {
        let out = minted(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let clinician = |sub: &str, aud: &str, ttl: &str, extra: &[&str]| {
        let mut args = vec![
            "--role",
            "clinician",
            "--subject",
            sub,
            "--audience",
            aud,
            "--ttl",
            ttl,
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let cases: [(Vec<String>, &str); 4] = [
        (
            clinician("dr", "pump-SN1", "600", &["--patient", "patient\n1"]),
            "--patient holds a control character",
        ),
        (
            clinician("dr\t7", "pump-SN1", "600", &[]),
            "--subject holds a control character",
        ),
        (
            clinician("dr", "pump\u{7f}", "600", &[]),
            "--audience holds a control character",
        ),
        (
            clinician("dr", "pump-SN1", "600", &["--issuer", "iss\u{85}"]),
            "--issuer holds a control character",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let m = refusal(&args);
        assert!(m.contains(want), "{m}");
    }
    let ok = clinician("dr\u{a0}7", "pump-SN1", "600", &["--patient", "p\u{200b}1"]);
    let ok: Vec<&str> = ok.iter().map(String::as_str).collect();
    assert_eq!(minted(&ok).status.code(), Some(0));
    let m = refusal(&[
        "--role",
        "caregiver",
        "--subject",
        "cg\n",
        "--audience",
        "a",
        "--ttl",
        "0",
        "--exi",
        "0",
    ]);
    assert!(m.contains("--exi"), "{m}");
    let m = refusal(&[
        "--role",
        "caregiver",
        "--subject",
        "cg\n",
        "--audience",
        "a",
        "--ttl",
        "0",
    ]);
    assert!(m.contains("needs --patient"), "{m}");
    let args = clinician("dr\n", "a", "0", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let m = refusal(&args);
    assert!(m.contains("--subject holds a control character"), "{m}");
    let args = clinician("dr", "a", "0", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let m = refusal(&args);
    assert!(m.contains("366 days"), "{m}");
    // A private key where the public key belongs is a usage error, not silently accepted.
    assert_eq!(
        run(
            &bin,
            &["token", "verify", "--key", "KEY", "--audience", "a"],
            &token.stdout,
            d
        )
        .status
        .code(),
        Some(2)
    );
}

/// Profile §13, smaller points (clean-room round 6): a custom `--scope` is read, then refused
/// as outside every role's default policy (1); `--ttl -1` and an argument that is not UTF-8
/// fail at step 1 (2); `Alarms:read` is a malformed scope (2); an empty `--patient` passes step
/// 6 and fails at step 8; and no token the CLI can mint is over 1,024 bytes (step 9): the
/// largest, every text 128 bytes, `--exi` 2^64 − 1 and the longest default scopes, is 684.
#[test]
fn mint_section_13_small_points() {
    let Some(bin) = cli() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        run(&bin, &["token", "keygen", "--out", "KEY"], b"", d)
            .status
            .code(),
        Some(0)
    );
    let mint = |role: &str, extra: &[&str]| {
        let mut args = vec![
            "token",
            "mint",
            "--key",
            "KEY",
            "--role",
            role,
            "--subject",
            "s",
            "--audience",
            "a",
            "--ttl",
            "600",
        ];
        args.extend_from_slice(extra);
        run(&bin, &args, b"", d)
    };
    // A well-formed custom resource: no role's default policy has one, so exit 1.
    let custom = mint("technician", &["--scope", "pump/motor:read"]);
    assert_eq!(custom.status.code(), Some(1));
    // Resource names compare byte-wise: `Alarms` is neither known nor a custom name.
    assert_eq!(
        mint("patient", &["--scope", "Alarms:read"]).status.code(),
        Some(2)
    );
    // Step 1: the arguments as a whole.
    let negative = mint("patient", &["--ttl", "-1"]);
    assert_eq!(negative.status.code(), Some(2));
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let out = std::process::Command::new(&bin)
            .current_dir(d)
            .args(["token", "mint", "--key", "KEY", "--role", "patient"])
            .arg("--subject")
            .arg(std::ffi::OsStr::from_bytes(b"s\xff"))
            .args(["--audience", "a", "--ttl", "600"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let m = String::from_utf8_lossy(&out.stderr);
        assert!(!m.contains("cannot mint"), "{m}");
    }
    // An empty --patient is given (step 6 passes) and fails the builder's rules (step 8).
    let empty = mint("caregiver", &["--patient", ""]);
    assert_eq!(empty.status.code(), Some(2));
    let m = String::from_utf8_lossy(&empty.stderr);
    assert!(!m.contains("a caregiver token needs --patient"), "{m}");
    assert!(m.contains("1-128 bytes without control characters"), "{m}");

    // The largest token each role can mint.
    let text = "t".repeat(128);
    let largest = ["patient", "caregiver", "clinician", "technician", "admin"]
        .into_iter()
        .map(|role| {
            let out = run(
                &bin,
                &[
                    "token",
                    "mint",
                    "--key",
                    "KEY",
                    "--role",
                    role,
                    "--subject",
                    &text,
                    "--audience",
                    &text,
                    "--issuer",
                    &text,
                    "--patient",
                    &text,
                    "--ttl",
                    "31622400",
                    "--exi",
                    "18446744073709551615",
                ],
                b"",
                d,
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{role}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout.len()
        })
        .max()
        .unwrap();
    assert_eq!(largest, 684);
}
