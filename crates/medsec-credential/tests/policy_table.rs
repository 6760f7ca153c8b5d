//! Policy table tests (NIST SP 800-63B rev 4; ASVS 6.2.1, 6.2.4, 6.2.5, 6.2.8, 6.2.9, 6.2.11).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use medsec_credential::policy::blocklist;
use medsec_credential::{Error, Password, PasswordPolicy, PinPolicy, Rejection};

const SF: PasswordPolicy = PasswordPolicy::SINGLE_FACTOR;
const MFA: PasswordPolicy = PasswordPolicy::WITH_SECOND_FACTOR;

fn verdict(policy: &PasswordPolicy, s: &str, ctx: &[&str]) -> Result<(), Rejection> {
    match policy.check(&Password::new(s).unwrap(), ctx) {
        Ok(()) => Ok(()),
        Err(Error::Rejected(r)) => Err(r),
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn lengths_are_code_points_after_nfkc() {
    // (policy, candidate, expected) — one row per rule.
    let table: &[(&PasswordPolicy, &str, Result<(), Rejection>)] = &[
        // 14 ASCII characters: one short of single-factor.
        (
            &SF,
            "plum orchard k",
            Err(Rejection::TooShort {
                min: 15,
                actual: 14,
            }),
        ),
        (&SF, "plum orchard kx", Ok(())),
        // Multi-byte characters count once each: 15 code points, 30+ bytes.
        (&SF, "ёжик в тумане ок", Ok(())),
        (
            &SF,
            "日本語のパスフレーズです",
            Err(Rejection::TooShort {
                min: 15,
                actual: 12,
            }),
        ),
        // Emoji: 4 bytes, one code point each.
        (&MFA, "🩺💉🫀 pump 7", Ok(())),
        (
            &MFA,
            "🩺💉🫀 pmp",
            Err(Rejection::TooShort { min: 8, actual: 7 }),
        ),
        // Combining sequence composes under NFKC: "A\u{30A}" is one code point.
        (
            &MFA,
            "A\u{030A}bc def",
            Err(Rejection::TooShort { min: 8, actual: 7 }),
        ),
        (&MFA, "A\u{030A}bc defg", Ok(())),
        // Ligature decomposes under NFKC: "\u{FB03}" (ffi) is three code points.
        (&MFA, "\u{FB03} loaf", Ok(())),
        // Spaces count, and are kept (no trimming).
        (&MFA, "   tea   ", Ok(())),
        // No composition rules: all lowercase letters, all digits (non-sequential) are fine.
        (&SF, "lowercase only words", Ok(())),
        (&MFA, "40915283", Ok(())),
    ];
    for (policy, candidate, expected) in table {
        assert_eq!(&verdict(policy, candidate, &[]), expected, "{candidate:?}");
    }
}

#[test]
fn long_passwords_are_accepted_without_truncation() {
    let sixty_four = "a quiet river runs past the old mill where the heron waits, ok!!";
    assert_eq!(sixty_four.chars().count(), 64);
    assert_eq!(verdict(&SF, sixty_four, &[]), Ok(()));
    let long: String = "violet kettle ".repeat(20).chars().take(256).collect();
    assert_eq!(verdict(&SF, &long, &[]), Ok(()));
    assert_eq!(
        verdict(&SF, &(long.clone() + "z"), &[]),
        Err(Rejection::TooLong {
            max: 256,
            actual: 257
        })
    );
    let bigger = SF.with_max_code_points(1024).unwrap();
    assert_eq!(verdict(&bigger, &(long + "z"), &[]), Ok(()));
}

#[test]
fn common_passwords_are_rejected_case_insensitively() {
    for s in ["1qaz2wsx3edc4rfv", "1QAZ2WSX3EDC4RFV", "123456789987654321"] {
        assert_eq!(verdict(&SF, s, &[]), Err(Rejection::Common), "{s}");
    }
    for s in ["password", "iloveyou", "sunshine", "PassWord1", "football"] {
        assert_eq!(verdict(&MFA, s, &[]), Err(Rejection::Common), "{s}");
    }
    assert_eq!(blocklist::LEN, 5000);
    // At least the 3,000 most common that fit the shortest policy (ASVS 6.2.4).
    let fitting = blocklist::COMMON_PASSWORDS
        .lines()
        .filter(|l| l.chars().count() >= MFA.min_code_points())
        .count();
    assert!(fitting >= 3000);
}

#[test]
fn context_words_are_rejected() {
    let ctx = ["St. Mary Clinic", "alice.w", "SN-PX4471-0932", "InsuPump"];
    for s in [
        "i work at stmary's clinic!",
        "insupump is my favourite",
        "my serial px4471 ha ha ha",
        "ALICE.W forever and ever",
        "clinic clinic clinic clinic!",
    ] {
        assert_eq!(verdict(&SF, s, &ctx), Err(Rejection::ContextWord), "{s}");
    }
    assert_eq!(verdict(&SF, "violet kettle under the stairs", &ctx), Ok(()));
}

#[test]
fn repetitive_and_sequential_patterns_are_rejected() {
    for s in [
        "aaaaaaaaaaaaaaaa",
        "abababababababab",
        "xyzxyzxyzxyzxyzxyz",
        "zzzzzzzzzzzzzzzy",
    ] {
        assert_eq!(verdict(&SF, s, &[]), Err(Rejection::Repetitive), "{s}");
    }
    for s in [
        "abcdefghijklmnopq",
        "9876543210987654",
        "qrstuvwxyz{|}~\u{7f}",
    ] {
        assert_eq!(verdict(&SF, s, &[]), Err(Rejection::Sequential), "{s}");
    }
}

#[test]
fn rejection_reasons_are_typed_and_displayable() {
    let r = verdict(&SF, "short", &[]).unwrap_err();
    assert!(matches!(r, Rejection::TooShort { min: 15, actual: 5 }));
    assert!(!r.to_string().contains("short") || r.to_string().starts_with("too short"));
    assert!(!Rejection::Common.to_string().is_empty());
}

#[test]
fn pin_policy() {
    let pin = PinPolicy::DEFAULT;
    let v = |s: &str, ctx: &[&str]| match pin.check(&Password::new(s).unwrap(), ctx) {
        Ok(()) => Ok(()),
        Err(Error::Rejected(r)) => Err(r),
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(v("482915", &[]), Ok(()));
    // Full-width digits become ASCII under NFKC.
    assert_eq!(v("４８２９１５", &[]), Ok(()));
    assert_eq!(
        v("48291", &[]),
        Err(Rejection::TooShort { min: 6, actual: 5 })
    );
    assert_eq!(
        v("4829154829154", &[]),
        Err(Rejection::TooLong {
            max: 12,
            actual: 13
        })
    );
    assert_eq!(v("48 915", &[]), Err(Rejection::NotDigits));
    assert_eq!(v("48291a", &[]), Err(Rejection::NotDigits));
    for s in ["000000", "121212", "123123", "111112", "900900"] {
        assert_eq!(v(s, &[]), Err(Rejection::Repetitive), "{s}");
    }
    for s in ["123456", "654321", "890123", "3210987"] {
        assert_eq!(v(s, &[]), Err(Rejection::Sequential), "{s}");
    }
    assert_eq!(v("9447103", &["serial 94471"]), Err(Rejection::ContextWord));
    assert!(PinPolicy::new(3, 6).is_err());
    assert!(PinPolicy::new(8, 6).is_err());
    assert_eq!(
        PinPolicy::new(4, 4)
            .unwrap()
            .check(&Password::new("2580").unwrap(), &[]),
        Ok(())
    );
}

#[test]
fn breached_corpus_is_pluggable() {
    struct Corpus;
    impl medsec_credential::policy::BreachedCorpus for Corpus {
        fn contains(&self, p: &Password) -> medsec_credential::Result<bool> {
            Ok(p.as_str() == "violet kettle under the stairs")
        }
    }
    let pw = Password::new("violet kettle under the stairs").unwrap();
    assert_eq!(
        SF.check_with(&pw, &[], &Corpus),
        Err(Error::Rejected(Rejection::Breached))
    );
    let other = Password::new("amber teapot on the landing").unwrap();
    assert_eq!(SF.check_with(&other, &[], &Corpus), Ok(()));
}

/// PINs are passwords too (ASVS 6.2.1): a PIN on the built-in common list is refused.
#[test]
fn pins_on_the_common_list_are_refused() {
    for pin in ["11223344", "00112233", "12344321", "0147258369", "01011980"] {
        assert!(blocklist::contains(pin), "{pin}");
        assert_eq!(
            PinPolicy::DEFAULT.check(&Password::new(pin).unwrap(), &[]),
            Err(Error::Rejected(Rejection::Common)),
            "{pin}"
        );
    }
}

/// Six- and seven-digit PINs are shorter than every list entry; the common shapes people pick
/// when runs and repeats are refused (mirrors, doubled runs) are refused by shape.
#[test]
fn common_pin_shapes_are_refused() {
    for pin in ["123321", "112233", "998877", "445566", "1234321", "1456541"] {
        assert_eq!(
            PinPolicy::DEFAULT.check(&Password::new(pin).unwrap(), &[]),
            Err(Error::Rejected(Rejection::Common)),
            "{pin}"
        );
    }
    for pin in ["480917", "902718", "3719046"] {
        assert_eq!(
            PinPolicy::DEFAULT.check(&Password::new(pin).unwrap(), &[]),
            Ok(()),
            "{pin}"
        );
    }
}
