//! The slice of libtest's command line that `cargo test` and `cargo nextest` use, for the
//! `harness = false` tests (allocation counting needs one thread): `--list [--format terse]
//! [--ignored]` prints `NAME: test` lines, `--exact NAME` runs one test, a bare word filters by
//! substring, other flags are accepted and ignored.

/// Runs the selected `tests` in order on the calling thread, printing libtest-style lines.
pub fn run(tests: &[(&str, fn())]) {
    let mut list = false;
    let mut ignored = false;
    let mut exact = false;
    let mut filter: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--ignored" => ignored = true,
            "--exact" => exact = true,
            // Flags that take a value: skip the value.
            "--format" | "--test-threads" | "--skip" | "--color" | "--logfile" | "-Z" => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => filter = Some(a.to_owned()),
        }
    }
    let selected = tests.iter().filter(|(name, _)| match &filter {
        None => true,
        Some(f) if exact => name == f,
        Some(f) => name.contains(f.as_str()),
    });
    if list {
        // No test here is #[ignore]d.
        if !ignored {
            for (name, _) in selected {
                println!("{name}: test");
            }
        }
        return;
    }
    for (name, check) in selected {
        check();
        println!("test {name} ... ok");
    }
}
