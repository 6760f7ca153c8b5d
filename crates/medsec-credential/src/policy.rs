//! Password and PIN policies (NIST SP 800-63B rev 4, OWASP ASVS 5.0 V6.2).
//!
//! Length is counted in Unicode code points after NFKC normalisation; there are no composition
//! rules, no truncation and no case folding of what is hashed. A candidate is rejected when it is
//! too short or too long, repetitive or sequential, on the built-in list of common passwords
//! ([`blocklist`]), on a caller-supplied breached-password corpus, or when it contains one of the
//! caller's context words (device serial, clinic name, user name...). The reason comes back as a
//! typed [`Rejection`] that a user interface can show.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::{Error, Password, Result};

pub mod blocklist;
mod patterns;

/// The Unicode version of the tables behind the policy's lowercasing (`str::to_lowercase`) and
/// its letter/digit runs (`char::is_alphanumeric`): normative for policy decisions
/// (docs/credential-format.md section 5.2).
///
/// Those tables are the compiler's core library's, and they change with Rust releases (16.0.0
/// in Rust 1.88 to 1.93, 17.0.0 from Rust 1.94): a letter added in a later version lowercases in one
/// build and not in another, so the same password and context words could be accepted by one
/// build and refused by the next. The crate's `rust-version` (1.94) guarantees at least 17.0.0;
/// the test suite fails on a compiler with any other version (`policy_unicode_version_is_the_
/// compilers`), so CI notices a toolchain move, while an application built with a newer Rust
/// still compiles and differs only for letters added after 17.0.0. Moving to a new version is a
/// deliberate change of this constant, the document and the vectors (`policy_unicode_version`
/// in the vector file).
///
/// The NFKC tables, and with them the hashed bytes, the "unassigned" rule and the combining
/// marks that extend a context word's runs, are separate: [`crate::NFKC_UNICODE_VERSION`].
pub const POLICY_UNICODE_VERSION: (u8, u8, u8) = (17, 0, 0);

/// Most context words one check takes ([`PasswordPolicy::check`], [`PinPolicy::check`]); empty
/// words count. More is [`Error::Config`], before anything else is checked.
pub const MAX_CONTEXT_WORDS: usize = 32;

/// Longest context word, in bytes of UTF-8 as passed (before NFKC). Longer is
/// [`Error::Config`], before anything else is checked.
pub const MAX_CONTEXT_WORD_BYTES: usize = 1_024;

/// Shortest run of a context word that is searched for inside a candidate, in code points; a
/// shorter word rejects only a candidate equal to it.
pub const MIN_CONTEXT_RUN: usize = 4;

/// Why a candidate password or PIN was refused. Safe to show to the user who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Fewer code points (PIN: digits) than the policy minimum.
    TooShort {
        /// Policy minimum.
        min: usize,
        /// Length of the candidate.
        actual: usize,
    },
    /// More code points (PIN: digits) than the policy maximum.
    TooLong {
        /// Policy maximum.
        max: usize,
        /// Length of the candidate.
        actual: usize,
    },
    /// One of the most common passwords (built-in list).
    Common,
    /// Found in the caller's breached-password corpus.
    Breached,
    /// Contains a context word (the product, the clinic, the user name, the device serial...).
    ContextWord,
    /// One character or one short group repeated (`aaaa...`, `abcabc...`, `121212`), or fewer
    /// than three distinct characters.
    Repetitive,
    /// A run of consecutive characters (`abcdef...`, `987654`, `7890123`).
    Sequential,
    /// A PIN may contain only the digits 0-9.
    NotDigits,
    /// Contains a code point that is unassigned (or a noncharacter) in the Unicode version of
    /// the normalisation tables ([`crate::NFKC_UNICODE_VERSION`]): a later Unicode version could
    /// normalise it differently, and the stored hash would stop verifying.
    Unassigned,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min, actual } => {
                write!(f, "too short: {actual} characters, at least {min} needed")
            }
            Self::TooLong { max, actual } => {
                write!(f, "too long: {actual} characters, at most {max} allowed")
            }
            Self::Common => f.write_str("this is one of the most commonly used passwords"),
            Self::Breached => f.write_str("this password has appeared in a data breach"),
            Self::ContextWord => {
                f.write_str("contains a word tied to this service, device or account")
            }
            Self::Repetitive => f.write_str("too repetitive"),
            Self::Sequential => f.write_str("a sequence of consecutive characters"),
            Self::NotDigits => f.write_str("a PIN may contain only digits"),
            Self::Unassigned => {
                f.write_str("contains a character this system does not support yet")
            }
        }
    }
}

/// A caller-supplied corpus of breached passwords (ASVS 6.2.12), for example a local copy of a
/// k-anonymity range service.
pub trait BreachedCorpus {
    /// True when `password` is known to be compromised.
    ///
    /// # Errors
    /// Any error the corpus meets; the check then fails closed.
    fn contains(&self, password: &Password) -> Result<bool>;
}

/// Policy for passwords and passphrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_code_points: usize,
    max_code_points: usize,
}

impl PasswordPolicy {
    /// Default maximum length, in code points. Policies never go below
    /// [`PasswordPolicy::MIN_MAX_CODE_POINTS`].
    pub const DEFAULT_MAX_CODE_POINTS: usize = 256;
    /// Every policy accepts at least this many code points (NIST: at least 64; ASVS 6.2.9).
    pub const MIN_MAX_CODE_POINTS: usize = 64;
    /// Password as the only factor: at least 15 code points (NIST SP 800-63B rev 4).
    pub const SINGLE_FACTOR: Self = Self {
        min_code_points: 15,
        max_code_points: Self::DEFAULT_MAX_CODE_POINTS,
    };
    /// Password used together with a second factor: at least 8 code points.
    pub const WITH_SECOND_FACTOR: Self = Self {
        min_code_points: 8,
        max_code_points: Self::DEFAULT_MAX_CODE_POINTS,
    };

    /// A policy with a larger maximum length.
    ///
    /// # Errors
    /// [`Error::Config`] when `max` is below [`PasswordPolicy::MIN_MAX_CODE_POINTS`], below
    /// the minimum, or longer than a [`Password`] can be.
    pub fn with_max_code_points(self, max: usize) -> Result<Self> {
        if max < Self::MIN_MAX_CODE_POINTS || max < self.min_code_points {
            return Err(Error::Config(
                "maximum password length below 64 code points",
            ));
        }
        if max > Password::MAX_INPUT_BYTES {
            return Err(Error::Config(
                "maximum password length above the input limit",
            ));
        }
        Ok(Self {
            max_code_points: max,
            ..self
        })
    }

    /// Minimum length in code points.
    pub fn min_code_points(&self) -> usize {
        self.min_code_points
    }

    /// Maximum length in code points.
    pub fn max_code_points(&self) -> usize {
        self.max_code_points
    }

    /// Checks a new password against the policy, the built-in list and `context` words, in
    /// this order: unassigned code points, length, repetitive, sequential, common, context word
    /// (docs/credential-format.md section 5).
    ///
    /// # Errors
    /// [`Error::Config`] when `context` has more than [`MAX_CONTEXT_WORDS`] words or a word
    /// longer than [`MAX_CONTEXT_WORD_BYTES`] (checked first); [`Error::Rejected`] with the
    /// first reason that applies.
    pub fn check(&self, password: &Password, context: &[&str]) -> Result<()> {
        self.check_inner(password, context, None)
    }

    /// As [`PasswordPolicy::check`], and also against a breached-password corpus.
    ///
    /// # Errors
    /// [`Error::Config`] for `context` out of range, as [`PasswordPolicy::check`];
    /// [`Error::Rejected`] with the first reason that applies; any error of the corpus.
    pub fn check_with(
        &self,
        password: &Password,
        context: &[&str],
        corpus: &dyn BreachedCorpus,
    ) -> Result<()> {
        self.check_inner(password, context, Some(corpus))
    }

    fn check_inner(
        &self,
        password: &Password,
        context: &[&str],
        corpus: Option<&dyn BreachedCorpus>,
    ) -> Result<()> {
        // A caller error, decided before anything depends on the password.
        check_context(context)?;
        // First, so that every later check sees only code points of a known Unicode version.
        if !password.is_all_assigned() {
            return reject(Rejection::Unassigned);
        }
        let actual = password.code_points();
        if actual < self.min_code_points {
            return reject(Rejection::TooShort {
                min: self.min_code_points,
                actual,
            });
        }
        if actual > self.max_code_points {
            return reject(Rejection::TooLong {
                max: self.max_code_points,
                actual,
            });
        }
        let chars: Zeroizing<Vec<char>> = Zeroizing::new(password.as_str().chars().collect());
        if patterns::is_repetitive(&chars) {
            return reject(Rejection::Repetitive);
        }
        if patterns::is_sequential(&chars) {
            return reject(Rejection::Sequential);
        }
        let folded = Zeroizing::new(password.as_str().to_lowercase());
        if blocklist::contains(&folded) {
            return reject(Rejection::Common);
        }
        if contains_context_word(&folded, context) {
            return reject(Rejection::ContextWord);
        }
        if let Some(corpus) = corpus {
            if corpus.contains(password)? {
                return reject(Rejection::Breached);
            }
        }
        Ok(())
    }
}

/// Policy for device PINs: digits only, with a configurable number of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinPolicy {
    min_digits: usize,
    max_digits: usize,
}

impl PinPolicy {
    /// Shortest PIN any policy may allow.
    pub const MIN_DIGITS: usize = 4;
    /// Longest PIN any policy may allow.
    pub const MAX_DIGITS: usize = 64;
    /// Default device PIN: 6 to 12 digits.
    pub const DEFAULT: Self = Self {
        min_digits: 6,
        max_digits: 12,
    };

    /// A PIN policy of `min..=max` digits.
    ///
    /// # Errors
    /// [`Error::Config`] unless `MIN_DIGITS <= min <= max <= MAX_DIGITS`.
    pub fn new(min: usize, max: usize) -> Result<Self> {
        if min < Self::MIN_DIGITS || max < min || max > Self::MAX_DIGITS {
            return Err(Error::Config("PIN length out of range"));
        }
        Ok(Self {
            min_digits: min,
            max_digits: max,
        })
    }

    /// Fewest digits.
    pub fn min_digits(&self) -> usize {
        self.min_digits
    }

    /// Most digits.
    pub fn max_digits(&self) -> usize {
        self.max_digits
    }

    /// Checks a new PIN: digits only, length, not repetitive, not sequential, not a common PIN
    /// shape (a mirror such as `123321`, a doubled run such as `112233`), not on the
    /// built-in common list (its all-digit entries, 8 digits or more), no context word (a device
    /// serial's digits, for example).
    ///
    /// # Errors
    /// [`Error::Config`] when `context` is out of range, as for [`PasswordPolicy::check`]
    /// (checked first); [`Error::Rejected`] with the first reason that applies.
    pub fn check(&self, pin: &Password, context: &[&str]) -> Result<()> {
        check_context(context)?;
        if !pin.as_str().chars().all(|c| c.is_ascii_digit()) {
            return reject(Rejection::NotDigits);
        }
        let actual = pin.code_points();
        if actual < self.min_digits {
            return reject(Rejection::TooShort {
                min: self.min_digits,
                actual,
            });
        }
        if actual > self.max_digits {
            return reject(Rejection::TooLong {
                max: self.max_digits,
                actual,
            });
        }
        let chars: Zeroizing<Vec<char>> = Zeroizing::new(pin.as_str().chars().collect());
        if patterns::is_repetitive(&chars) {
            return reject(Rejection::Repetitive);
        }
        if patterns::is_sequential(&chars) {
            return reject(Rejection::Sequential);
        }
        if patterns::is_pin_shape(&chars) {
            return reject(Rejection::Common);
        }
        // ASVS counts PINs as passwords: the list's all-digit entries (8 digits or more) apply.
        if blocklist::contains(pin.as_str()) {
            return reject(Rejection::Common);
        }
        if contains_context_word(pin.as_str(), context) {
            return reject(Rejection::ContextWord);
        }
        Ok(())
    }
}

fn reject(r: Rejection) -> Result<()> {
    Err(Error::Rejected(r))
}

/// Refuses context words out of range, before any other work (docs/credential-format.md
/// section 5.2): the limits bound the work one check can cost.
fn check_context(context: &[&str]) -> Result<()> {
    if context.len() > MAX_CONTEXT_WORDS {
        return Err(Error::Config("more than 32 context words"));
    }
    if context.iter().any(|w| w.len() > MAX_CONTEXT_WORD_BYTES) {
        return Err(Error::Config("context word longer than 1,024 bytes"));
    }
    Ok(())
}

/// True when `c` belongs to a run of a context word: alphanumeric (Alphabetic or N*, Unicode
/// [`POLICY_UNICODE_VERSION`]), a combining mark (General_Category M, Unicode
/// [`crate::NFKC_UNICODE_VERSION`]), ZWNJ or ZWJ. Marks and the two joiners sit inside words
/// (a virama, a Thai tone mark, a Persian ZWNJ) and must not split a name into fragments too
/// short to be searched for.
fn is_run_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || c == '\u{200C}' || c == '\u{200D}'
}

/// True when `folded` (NFKC, lowercase) contains a context word: the whole word, or any run of
/// word code points in it of at least four code points, compared after NFKC and lowercasing.
fn contains_context_word(folded: &str, context: &[&str]) -> bool {
    context.iter().any(|word| {
        let word: String = word.nfkc().collect::<String>().to_lowercase();
        let whole = word.trim();
        if whole.is_empty() {
            return false;
        }
        if folded == whole {
            return true;
        }
        if whole.chars().count() >= MIN_CONTEXT_RUN && folded.contains(whole) {
            return true;
        }
        whole
            .split(|c: char| !is_run_char(c))
            .filter(|t| t.chars().count() >= MIN_CONTEXT_RUN)
            .any(|t| folded.contains(t))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
    use super::*;

    /// The sanity code points of docs/credential-format.md section 5.6, checked against the
    /// tables this build uses: an implementation that gets the same answers has tables of the
    /// right versions (policy: Unicode 17.0.0; NFKC and "unassigned": 18.0.0).
    #[test]
    fn unicode_sanity_code_points_of_section_5_6() {
        // Policy lowercase (17.0.0): BERIA ERFE, new in 17.0; older tables leave it unchanged.
        assert_eq!('\u{16EA0}'.to_lowercase().collect::<String>(), "\u{16EBB}");
        assert_eq!("\u{16EA0}".to_lowercase(), "\u{16EBB}");
        assert!('\u{16EA0}'.is_alphabetic());
        // Unconditional SpecialCasing, and KELVIN SIGN's simple mapping.
        assert_eq!("\u{0130}".to_lowercase(), "i\u{0307}");
        assert_eq!("\u{212A}".to_lowercase(), "k");
        // NFKC (18.0.0): KELVIN SIGN becomes K before anything else sees it.
        assert_eq!(pw("\u{212A}").as_str(), "K");
        // "Unassigned" (18.0.0): U+05C8 is assigned (it is Cn in 17.0), U+0378 and the
        // noncharacter U+2FFFF are not; private use is assigned.
        for (c, assigned) in [
            ('\u{05C8}', true),
            ('\u{0378}', false),
            ('\u{2FFFF}', false),
            ('\u{E000}', true),
        ] {
            let mut buf = [0u8; 4];
            let p = Password::new(c.encode_utf8(&mut buf)).unwrap();
            assert_eq!(p.is_all_assigned(), assigned, "U+{:04X}", u32::from(c));
        }
    }

    /// Section 5.5: `kkkkkkkk` has a form with U+212A KELVIN SIGN (which lowercases to `k`)
    /// that would not be repetitive as typed (three distinct code points), but NFKC turns
    /// U+212A into `K` first, so every form the policy sees is still repetitive.
    #[test]
    fn kelvin_sign_does_not_reach_the_list() {
        let policy = PasswordPolicy::WITH_SECOND_FACTOR;
        let kelvin = pw("kkkkkK\u{212A}k");
        assert_eq!(kelvin.as_str(), "kkkkkKKk");
        assert_eq!(kelvin.as_str().to_lowercase(), "kkkkkkkk");
        assert!(blocklist::COMMON_PASSWORDS.lines().any(|l| l == "kkkkkkkk"));
        assert_eq!(
            policy.check(&kelvin, &[]),
            Err(Error::Rejected(Rejection::Repetitive))
        );
    }

    /// The policy's case and letter tables are the compiler's: the pinned version must be the
    /// one this build uses (a toolchain move must update the constant, the doc and vectors).
    #[test]
    fn policy_unicode_version_is_the_compilers() {
        assert_eq!(
            char::UNICODE_VERSION,
            POLICY_UNICODE_VERSION,
            "update POLICY_UNICODE_VERSION, docs/credential-format.md section 5.2 and the vectors"
        );
    }

    fn pw(s: &str) -> Password {
        Password::new(s).unwrap()
    }

    fn why(policy: &PasswordPolicy, s: &str, ctx: &[&str]) -> Option<Rejection> {
        match policy.check(&pw(s), ctx) {
            Ok(()) => None,
            Err(Error::Rejected(r)) => Some(r),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn max_length_cannot_go_below_64() {
        assert!(PasswordPolicy::SINGLE_FACTOR
            .with_max_code_points(63)
            .is_err());
        assert!(PasswordPolicy::SINGLE_FACTOR
            .with_max_code_points(64)
            .is_ok());
    }

    #[test]
    fn context_word_tokens() {
        assert!(contains_context_word(
            "mystmaryclinicpass",
            &["St. Mary Clinic"]
        ));
        assert!(contains_context_word("xx-sn12345678-yy", &["SN12345678"]));
        assert!(!contains_context_word(
            "completely unrelated words",
            &["bob", "", "  "]
        ));
        assert!(contains_context_word("bob", &["Bob"]));
    }

    /// Combining marks and the joiners stay inside a run (docs/credential-format.md section
    /// 5.2). A virama (U+094D) or a Thai tone mark (U+0E49) is not Alphabetic: splitting there
    /// broke `कृष्ण` into `कृष` and `ण` and `แก้ว` into `แก` and `ว`, all shorter than four code
    /// points, so the name inside a longer context word was never searched for.
    #[test]
    fn marks_do_not_split_context_runs() {
        assert!(contains_context_word("मेरा नाम कृष्ण है, पंप 42", &["SN-कृष्ण-7"]));
        assert!(contains_context_word("ชื่อแก้ว ปั๊ม 42 อัน", &["SN-แก้ว-7"]));
        assert!(contains_context_word(
            "note x\u{301}yzw in the pump log",
            &["ID-x\u{301}yzw-9"]
        ));
        assert!(contains_context_word(
            "note ab\u{200C}cd in the pump log",
            &["ID-ab\u{200C}cd-9"]
        ));
        // The run keeps its marks: the name without them is another string.
        assert!(!contains_context_word(
            "मेरा नाम कृषण है, पंप 42",
            &["SN-कृष्ण-7"]
        ));
        assert!(!contains_context_word(
            "note xyzw in the pump log",
            &["ID-x\u{301}yzw-9"]
        ));
        // Other_Alphabetic marks were already part of runs.
        assert!(contains_context_word(
            "note ab\u{345}cd in the pump log",
            &["ID-ab\u{345}cd-9"]
        ));
        assert!(!contains_context_word(
            "note abcd in the pump log",
            &["ID-ab\u{345}cd-9"]
        ));
    }

    #[test]
    fn context_words_out_of_range_are_a_caller_error() {
        let policy = PasswordPolicy::SINGLE_FACTOR;
        let pin = PinPolicy::DEFAULT;
        let good = pw("violet kettle under the stairs");
        let digits = pw("480917");
        let many = [""; MAX_CONTEXT_WORDS + 1];
        let most = [""; MAX_CONTEXT_WORDS];
        let long = "x".repeat(MAX_CONTEXT_WORD_BYTES + 1);
        let longest = "x".repeat(MAX_CONTEXT_WORD_BYTES);
        let too_many = Err(Error::Config("more than 32 context words"));
        let too_long = Err(Error::Config("context word longer than 1,024 bytes"));
        assert_eq!(policy.check(&good, &many), too_many);
        assert_eq!(pin.check(&digits, &many), too_many);
        assert_eq!(policy.check(&good, &[long.as_str()]), too_long);
        assert_eq!(pin.check(&digits, &[long.as_str()]), too_long);
        assert_eq!(policy.check(&good, &most), Ok(()));
        assert_eq!(policy.check(&good, &[longest.as_str()]), Ok(()));
        assert_eq!(pin.check(&digits, &[longest.as_str()]), Ok(()));
        // Before every other check: a password that would be rejected gets the caller error.
        assert_eq!(policy.check(&pw("short"), &many), too_many);
        assert_eq!(pin.check(&pw("12a"), &[long.as_str()]), too_long);
        // Bytes as passed, before NFKC: U+FDFA is 3 bytes and 33 after NFKC.
        let expands = "\u{FDFA}".repeat(341) + "x";
        assert_eq!(expands.len(), MAX_CONTEXT_WORD_BYTES);
        assert_eq!(policy.check(&good, &[expands.as_str()]), Ok(()));
    }

    /// The figures of docs/credential-format.md section 5.5. The list is searched with the
    /// lowercased candidate while the repetitive and sequential rules see its case, so an entry
    /// refused as it stands can still be reached through capitals (`Testtest`): only an entry
    /// every case form of which is repetitive or sequential can never answer `Common`.
    #[test]
    fn built_in_list_figures_are_the_documented_ones() {
        let mfa = PasswordPolicy::WITH_SECOND_FACTOR;
        let sf = PasswordPolicy::SINGLE_FACTOR;
        let decide = |p: &PasswordPolicy, s: &str| match p.check(&pw(s), &[]) {
            Ok(()) => None,
            Err(Error::Rejected(r)) => Some(r),
            Err(e) => panic!("{e:?}"),
        };
        // The entry with one code point uppercased (each position in turn, where the uppercase
        // is one other code point).
        let capitalised = |e: &str| -> Vec<String> {
            let chars: Vec<char> = e.chars().collect();
            (0..chars.len())
                .filter_map(|i| {
                    let c = *chars.get(i)?;
                    let mut upper = c.to_uppercase();
                    let (Some(u), None) = (upper.next(), upper.next()) else {
                        return None;
                    };
                    let mut v = chars.clone();
                    *v.get_mut(i)? = u;
                    (u != c).then(|| v.into_iter().collect())
                })
                .collect()
        };
        let (mut as_typed, mut repetitive, mut sequential, mut capitals) = (0, 0, 0, 0);
        let (mut never, mut never_digits) = (0, 0);
        let (mut long, mut long_reachable) = (0, 0);
        for entry in blocklist::COMMON_PASSWORDS.lines() {
            let reachable = match decide(&mfa, entry) {
                Some(Rejection::Common) => {
                    as_typed += 1;
                    Some(String::from(entry))
                }
                other => {
                    match other {
                        Some(Rejection::Repetitive) => repetitive += 1,
                        Some(Rejection::Sequential) => sequential += 1,
                        other => panic!("{entry}: {other:?}"),
                    }
                    capitalised(entry)
                        .into_iter()
                        .find(|c| decide(&mfa, c) == Some(Rejection::Common))
                }
            };
            if let Some(candidate) = &reachable {
                assert_eq!(pw(candidate).as_str().to_lowercase(), entry);
                if candidate != entry {
                    capitals += 1;
                }
            } else {
                // Proof that no case form helps: count the distinct code points a case form
                // can have (a cased letter seen twice can give two). Fewer than 3: repetitive.
                never += 1;
                let chars: Vec<char> = entry.chars().collect();
                let cased = |c: char| c.to_uppercase().ne(core::iter::once(c));
                if chars.iter().all(|c| !cased(*c)) {
                    never_digits += usize::from(chars.iter().all(char::is_ascii_digit));
                } else {
                    let mut distinct: Vec<char> = chars.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    let most: usize = distinct
                        .iter()
                        .map(|d| {
                            let seen = chars.iter().filter(|c| *c == d).count();
                            if cased(*d) {
                                seen.min(2)
                            } else {
                                1
                            }
                        })
                        .sum();
                    assert!(most < 3, "{entry}");
                }
            }
            if entry.chars().count() >= 15 {
                long += 1;
                if reachable.is_some_and(|c| decide(&sf, &c) == Some(Rejection::Common)) {
                    long_reachable += 1;
                }
            }
        }
        assert_eq!((as_typed, repetitive, sequential), (4_746, 237, 17));
        assert_eq!((capitals, never, never_digits), (80, 174, 148));
        assert_eq!((long, long_reachable), (24, 23));
        // The seven mojibake lines are reachable through a capital.
        assert_eq!(decide(&mfa, "Пїѕпїѕпїѕпїѕ"), Some(Rejection::Common));
        assert_eq!(decide(&mfa, "пїѕпїѕпїѕпїѕ"), Some(Rejection::Repetitive));

        // PINs: the 260 all-digit entries, under the widest policy (4 to 64 digits) and the
        // default (6 to 12): how many get past steps 2 to 5 to the list (step 6).
        let digits: Vec<&str> = blocklist::COMMON_PASSWORDS
            .lines()
            .filter(|e| e.chars().all(|c| c.is_ascii_digit()))
            .collect();
        assert_eq!(digits.len(), 260);
        for (policy, expected) in [
            (PinPolicy::new(4, 64).unwrap(), [0, 134, 14, 14, 98]),
            (PinPolicy::DEFAULT, [4, 133, 14, 12, 97]),
        ] {
            let mut got = [0usize; 5];
            for d in &digits {
                let chars: Vec<char> = d.chars().collect();
                let step = match policy.check(&pw(d), &[]) {
                    Err(Error::Rejected(Rejection::TooLong { .. })) => 0,
                    Err(Error::Rejected(Rejection::Repetitive)) => 1,
                    Err(Error::Rejected(Rejection::Sequential)) => 2,
                    Err(Error::Rejected(Rejection::Common)) if patterns::is_pin_shape(&chars) => 3,
                    Err(Error::Rejected(Rejection::Common)) => 4,
                    other => panic!("{d}: {other:?}"),
                };
                if let Some(n) = got.get_mut(step) {
                    *n += 1;
                }
            }
            assert_eq!(got, expected, "{policy:?}");
        }
    }

    /// Final_Sigma sees the context word before it is trimmed, and trimming first would give the
    /// same result: no White_Space code point is Cased or Case_Ignorable, so a space next to
    /// `Σ` acts as "no cased letter" whether or not it is still there.
    #[test]
    fn final_sigma_is_the_same_before_and_after_trimming() {
        for ws in (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
        {
            let word = alloc::format!("{ws}ΑΣ{ws}");
            assert_eq!(word.to_lowercase().trim(), "ας", "U+{:04X}", u32::from(ws));
            assert_eq!(word.trim().to_lowercase(), "ας");
            // Not Case_Ignorable: a cased letter beyond it does not make the sigma medial.
            assert_eq!(
                alloc::format!("ΑΣ{ws}Β").to_lowercase(),
                alloc::format!("ας{ws}β")
            );
            assert_eq!(
                alloc::format!("Α{ws}Σ").to_lowercase(),
                alloc::format!("α{ws}σ")
            );
        }
    }

    #[test]
    fn rejections_display_without_the_password() {
        let r = why(&PasswordPolicy::SINGLE_FACTOR, "short", &[]).unwrap();
        assert_eq!(
            alloc::format!("{r}"),
            "too short: 5 characters, at least 15 needed"
        );
    }
}
