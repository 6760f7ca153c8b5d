//! The `medsec-cli password` contract from issue 3: `check [--context WORD]...`,
//! `hash [--preset server|app|firmware]`, `verify PHC`; the password always on stdin; exit 0 ok,
//! 1 rejected / no match, 2 usage or I/O.
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

fn run(bin: &std::path::Path, args: &[&str], stdin: &[u8]) -> Output {
    cli_support::run_program(bin, args, None, stdin)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_contract() {
    let Some(bin) = cli() else { return };
    let ok = run(
        &bin,
        &["password", "check"],
        b"violet kettle under the stairs\n",
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    // Too short for the single-factor policy: exit 1, typed reason on stderr.
    let short = run(&bin, &["password", "check"], b"hunter2\n");
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr(&short).contains("too short"), "{}", stderr(&short));
    let common = run(&bin, &["password", "check"], b"1qaz2wsx3edc4rfv");
    assert_eq!(common.status.code(), Some(1));
    assert!(stderr(&common).contains("common"));
    let ctx = run(
        &bin,
        &[
            "password",
            "check",
            "--context",
            "St. Mary Clinic",
            "--context",
            "alice",
        ],
        b"welcome to st mary clinic\r\n",
    );
    assert_eq!(ctx.status.code(), Some(1));
    assert!(stderr(&ctx).contains("word tied to"));
    // The password never appears in the output.
    assert!(!stderr(&ctx).contains("welcome"));
    let not_utf8 = run(&bin, &["password", "check"], &[0xff, 0xfe, 0x00]);
    assert_eq!(not_utf8.status.code(), Some(2));
    // The longest accepted input (4,096 bytes) with its line ending passes the length limit;
    // one byte more is a usage error, as is far more (the read stops at the cap).
    let longest = format!("{}\r\n", "violet kettle ".repeat(293).get(..4096).unwrap());
    let out = run(&bin, &["password", "check"], longest.as_bytes());
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    for n in [4097, 40_000] {
        let out = run(&bin, &["password", "check"], &vec![b'k'; n]);
        assert_eq!(out.status.code(), Some(2), "{n}");
        assert!(stderr(&out).contains("too long"), "{}", stderr(&out));
    }
}

#[test]
fn hash_and_verify_contract() {
    let Some(bin) = cli() else { return };
    for (preset, prefix) in [
        (None, "$argon2id$v=19$m=19456,t=2,p=1$"),
        (Some("server"), "$argon2id$v=19$m=19456,t=2,p=1$"),
        (Some("app"), "$argon2id$v=19$m=47104,t=1,p=1$"),
        (Some("firmware"), "$argon2id$v=19$m=12288,t=3,p=1$"),
    ] {
        let mut args = vec!["password", "hash"];
        if let Some(p) = preset {
            args.extend(["--preset", p]);
        }
        let out = run(&bin, &args, b"violet kettle under the stairs\n");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let phc = String::from_utf8(out.stdout).unwrap();
        assert!(phc.starts_with(prefix), "{phc}");
        let phc = phc.trim_end();
        let good = run(
            &bin,
            &["password", "verify", phc],
            b"violet kettle under the stairs\n",
        );
        assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
        let bad = run(
            &bin,
            &["password", "verify", phc],
            b"violet kettle under the stair\n",
        );
        assert_eq!(bad.status.code(), Some(1));
    }
    // Malformed and over-limit PHC strings do not verify (exit 1), without hashing.
    let over = "$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    assert_eq!(
        run(&bin, &["password", "verify", over], b"x").status.code(),
        Some(1)
    );
    assert_eq!(
        run(&bin, &["password", "verify", "nonsense"], b"x")
            .status
            .code(),
        Some(1)
    );
    // Usage errors: exit 2.
    assert_eq!(
        run(&bin, &["password", "hash", "--preset", "bogus"], b"x")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&bin, &["password", "verify"], b"x").status.code(),
        Some(2)
    );
}

/// The PHC argument loses one trailing LF or CRLF (a string read from a file) and nothing else;
/// any other white space, anywhere, makes it malformed (exit 1), as the library's parser says
/// (docs/credential-format.md section 3.1). The password on stdin likewise loses one LF or CRLF.
#[test]
fn verify_whitespace_is_deliberate() {
    let Some(bin) = cli() else { return };
    let pw = b"violet kettle under the stairs";
    let out = run(&bin, &["password", "hash", "--preset", "app"], pw);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    // The CLI prints the PHC string with one LF.
    let phc = printed.strip_suffix('\n').unwrap();
    assert!(!phc.contains(char::is_whitespace));

    let verify = |arg: &str, stdin: &[u8]| run(&bin, &["password", "verify", arg], stdin);
    for arg in [phc.to_owned(), printed.clone(), format!("{phc}\r\n")] {
        let out = verify(&arg, pw);
        assert_eq!(out.status.code(), Some(0), "{arg:?}: {}", stderr(&out));
    }
    for arg in [
        format!(" {phc}"),
        format!("{phc} "),
        format!("\t{phc}"),
        format!("{phc}\t"),
        format!("{phc}\n\n"),
        format!("{phc}\r"),
        format!("\n{phc}"),
        format!("\u{A0}{phc}"),
        format!("{phc}\u{A0}"),
        format!("\u{3000}{phc}"),
        format!("{phc}\u{3000}"),
    ] {
        let out = verify(&arg, pw);
        assert_eq!(out.status.code(), Some(1), "{arg:?}");
        assert!(
            stderr(&out).contains("not a PHC string"),
            "{arg:?}: {}",
            stderr(&out)
        );
    }
    // stdin: one LF or CRLF goes, nothing else.
    for stdin in [
        &b"violet kettle under the stairs\n"[..],
        b"violet kettle under the stairs\r\n",
    ] {
        assert_eq!(verify(phc, stdin).status.code(), Some(0));
    }
    for stdin in [
        &b"violet kettle under the stairs\n\n"[..],
        b"violet kettle under the stairs\r",
        b"violet kettle under the stairs ",
        b" violet kettle under the stairs",
        b"violet kettle under the stairs\xe3\x80\x80",
    ] {
        let out = verify(phc, stdin);
        assert_eq!(out.status.code(), Some(1), "{stdin:?}");
        assert!(stderr(&out).contains("no match"), "{}", stderr(&out));
    }
    // --help says so.
    for sub in ["verify", "hash", "check"] {
        let help = run(&bin, &["password", sub, "--help"], b"");
        assert_eq!(help.status.code(), Some(0));
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(
            text.contains("one trailing LF or CRLF"),
            "{sub} --help: {text}"
        );
        // The limit applies to what remains after the line ending is removed (4,096 bytes and
        // an LF are accepted): the help says it in that order.
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("one trailing LF or CRLF is removed, nothing else, and what remains may be at most 4,096 bytes"),
            "{sub} --help: {text}"
        );
    }
}

/// New hashes refuse a code point unassigned in the Unicode version of the normalisation tables
/// (exit 1, rejected), and `check` rejects it; a hash made before that rule still verifies.
#[test]
fn unassigned_code_points_are_refused_for_new_passwords_only() {
    use medsec_credential::hash::{hazmat, Block};
    use medsec_credential::{HashParams, Password};

    let Some(bin) = cli() else { return };
    let pw = "legacy \u{0378} passphrase ok";
    let out = run(&bin, &["password", "hash"], pw.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("rejected"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = run(&bin, &["password", "check"], pw.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not support"),
        "{}",
        stderr(&out)
    );

    let params = HashParams::new(64, 1, 1).unwrap();
    let hasher = hazmat::hasher_below_minimum(params).unwrap();
    let mut memory = vec![Block::new(); params.blocks()];
    let legacy = hazmat::hash_with_salt(
        &hasher,
        &Password::new(pw).unwrap(),
        b"legacy-salt-0001",
        &mut memory,
    )
    .unwrap();
    let out = run(
        &bin,
        &["password", "verify", legacy.as_str()],
        pw.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A Unicode 15 compatibility character is assigned: hashed (as its NFKC form).
    let out = run(
        &bin,
        &["password", "hash"],
        "\u{1E030}nna's pump diary 15".as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Values that begin with '-': a context word must be given as `--context=WORD` and a PHC
/// argument after `--`; as a separate argument clap takes them for options (exit 2). `--help`
/// says so. The password is read (and its length checked) before any other argument is looked
/// at, so an over-long password is reported before 33 context words.
#[test]
fn values_starting_with_a_dash_and_the_order_of_usage_errors() {
    let Some(bin) = cli() else { return };
    let pw = b"my serial is -sn-4829-7731 ok\n";
    let joined = run(&bin, &["password", "check", "--context=-SN-4829-7731"], pw);
    assert_eq!(joined.status.code(), Some(1), "{}", stderr(&joined));
    assert!(
        stderr(&joined).contains("word tied to"),
        "{}",
        stderr(&joined)
    );
    let separate = run(
        &bin,
        &["password", "check", "--context", "-SN-4829-7731"],
        pw,
    );
    assert_eq!(separate.status.code(), Some(2), "{}", stderr(&separate));
    let dash_phc = "-$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA";
    let after = run(&bin, &["password", "verify", "--", dash_phc], pw);
    assert_eq!(after.status.code(), Some(1), "{}", stderr(&after));
    assert!(
        stderr(&after).contains("not a PHC string"),
        "{}",
        stderr(&after)
    );
    let bare = run(&bin, &["password", "verify", dash_phc], pw);
    assert_eq!(bare.status.code(), Some(2), "{}", stderr(&bare));
    for (sub, phrase) in [
        ("check", "must be given as --context=WORD"),
        ("verify", "must follow `--`"),
    ] {
        let help = run(&bin, &["password", sub, "--help"], b"");
        let text = String::from_utf8_lossy(&help.stdout);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(phrase), "{sub} --help: {text}");
    }
    // Password first: too long wins over 33 context words (both exit 2).
    let mut args = vec!["password", "check"];
    for _ in 0..33 {
        args.extend(["--context", "x"]);
    }
    let out = run(&bin, &args, &vec![b'k'; 4_097]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("password too long"),
        "{}",
        stderr(&out)
    );
    let out = run(&bin, &args, b"violet kettle under the stairs\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("more than 32 context words"),
        "{}",
        stderr(&out)
    );
    // verify: password first, then the PHC string.
    let out = run(
        &bin,
        &["password", "verify", "not-a-phc"],
        &vec![b'k'; 4_097],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("password too long"),
        "{}",
        stderr(&out)
    );
}
