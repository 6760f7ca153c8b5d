//! The password newtype: NFKC-normalised, zeroized on drop, never printed.

use alloc::string::String;
use core::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The Unicode version of the NFKC tables (the `unicode-normalization` crate's
/// `UNICODE_VERSION`), and of the "assigned code point" rule of [`Password::is_all_assigned`].
///
/// Stored hashes depend on it: NFKC results are stable across Unicode versions only for code
/// points that were already assigned. `tests/data/credential-vectors.json` records it, so a
/// dependency update that moves it fails the vector test and must be made deliberately
/// (docs/credential-format.md section 1).
pub const NFKC_UNICODE_VERSION: (u8, u8, u8) = unicode_normalization::UNICODE_VERSION;

use crate::{Error, Result};

/// A password, PIN or passphrase as the user typed it, normalised to Unicode NFKC
/// (NIST SP 800-63B rev 4, 3.1.1.2).
///
/// Normalisation is the only change: no trimming, no case folding, no truncation. The bytes
/// hashed by Argon2 are the UTF-8 encoding of the normalised text. The buffer is wiped on drop,
/// and `Debug` prints only the length.
pub struct Password {
    normalized: String,
    code_points: usize,
}

impl Password {
    /// Longest input accepted, in bytes of UTF-8 *before* normalisation. Checked first, so that
    /// an attacker cannot make normalisation or hashing expensive.
    pub const MAX_INPUT_BYTES: usize = 4096;
    /// Longest normalised password, in bytes of UTF-8 (NFKC can expand text).
    pub const MAX_NORMALIZED_BYTES: usize = 4 * Self::MAX_INPUT_BYTES;

    /// Normalises `raw` to NFKC.
    ///
    /// # Errors
    /// [`Error::PasswordTooLong`] when `raw` exceeds [`Password::MAX_INPUT_BYTES`] or its
    /// normalised form exceeds [`Password::MAX_NORMALIZED_BYTES`].
    pub fn new(raw: &str) -> Result<Self> {
        if raw.len() > Self::MAX_INPUT_BYTES {
            return Err(Error::PasswordTooLong);
        }
        // Measure first and allocate once, so no partial copy is left behind by a reallocation.
        let mut bytes = 0usize;
        let mut code_points = 0usize;
        for c in raw.nfkc() {
            bytes = bytes.saturating_add(c.len_utf8());
            code_points = code_points.saturating_add(1);
        }
        if bytes > Self::MAX_NORMALIZED_BYTES {
            return Err(Error::PasswordTooLong);
        }
        let mut normalized = String::with_capacity(bytes);
        normalized.extend(raw.nfkc());
        Ok(Self {
            normalized,
            code_points,
        })
    }

    /// Takes a UTF-8 byte buffer (for example read from a terminal), wiping it.
    ///
    /// # Errors
    /// [`Error::PasswordTooLong`] as for [`Password::new`]; [`Error::Config`] when the bytes are
    /// not UTF-8 (the message never contains them).
    pub fn from_utf8_wiping(raw: &mut [u8]) -> Result<Self> {
        let result = match core::str::from_utf8(raw) {
            Ok(s) => Self::new(s),
            Err(_) => Err(Error::Config("password is not valid UTF-8")),
        };
        raw.zeroize();
        result
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The bytes that are hashed: UTF-8 of the NFKC form.
    pub fn as_bytes(&self) -> &[u8] {
        self.normalized.as_bytes()
    }

    /// Length in Unicode code points after normalisation (what length policies count).
    pub fn code_points(&self) -> usize {
        self.code_points
    }

    /// True when every code point is assigned in [`NFKC_UNICODE_VERSION`]: its General_Category
    /// is not `Cn` (unassigned, which includes the 66 noncharacters). Private-use code points
    /// (`Co`) count as assigned: no Unicode version gives them a decomposition.
    ///
    /// New passwords must pass this (policy [`crate::Rejection::Unassigned`], and
    /// [`crate::PasswordHasher::hash`] refuses otherwise): a code point assigned by a later
    /// Unicode version may get a compatibility decomposition, and a stored hash of it would then
    /// stop verifying after a library upgrade. Verification does not check it, so hashes made
    /// before the rule keep verifying.
    pub fn is_all_assigned(&self) -> bool {
        self.normalized.chars().all(is_assigned)
    }
}

/// Assigned (any General_Category but `Cn`) in [`NFKC_UNICODE_VERSION`].
fn is_assigned(c: char) -> bool {
    unicode_normalization::char::is_public_assigned(c) || is_private_use(c)
}

/// General_Category `Co`: the three private-use ranges (fixed since Unicode 2.0).
fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}')
}

impl Zeroize for Password {
    fn zeroize(&mut self) {
        self.normalized.zeroize();
        self.code_points = 0;
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Password {}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Password")
            .field("code_points", &self.code_points)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use alloc::format;

    #[test]
    fn nfkc_normalises_and_counts_code_points() {
        // U+FB01 LATIN SMALL LIGATURE FI becomes "fi"; "Å" (A + combining ring) composes to one.
        let p = Password::new("\u{FB01}A\u{030A}").unwrap();
        assert_eq!(p.as_str(), "fi\u{00C5}");
        assert_eq!(p.code_points(), 3);
    }

    #[test]
    fn no_trimming_or_case_folding() {
        let p = Password::new("  MiXeD case  ").unwrap();
        assert_eq!(p.as_str(), "  MiXeD case  ");
    }

    #[test]
    fn too_long_input_is_refused_before_normalising() {
        let long = "a".repeat(Password::MAX_INPUT_BYTES + 1);
        assert_eq!(Password::new(&long).unwrap_err(), Error::PasswordTooLong);
        assert!(Password::new(&long[..Password::MAX_INPUT_BYTES]).is_ok());
    }

    #[test]
    fn unicode_version_is_the_documented_one() {
        // A change here changes which passwords normalise how: update docs/credential-format.md
        // section 1 and the vectors deliberately.
        assert_eq!(NFKC_UNICODE_VERSION, (18, 0, 0));
    }

    #[test]
    fn assigned_code_points() {
        for s in [
            "plain ascii",
            "\u{1E030}", // Unicode 15.0 (MODIFIER LETTER CYRILLIC SMALL A): NFKC U+0430
            "\u{E000}\u{F8FF}", // private use, BMP
            "\u{F0000}\u{10FFFD}", // private use, planes 15 and 16
            "\u{0000}\u{00AD}", // Cc and Cf are assigned
        ] {
            assert!(Password::new(s).unwrap().is_all_assigned(), "{s:?}");
        }
        for s in [
            "a\u{0378}b", // unassigned (Greek block gap)
            "\u{FFFF}",   // noncharacter (Cn)
            "\u{FDD0}",   // noncharacter (Cn)
            "\u{10FFFF}", // noncharacter (Cn)
            "\u{E0080}",  // unassigned (plane 14)
            "\u{FFFFE}",  // noncharacter in plane 15 (not private use)
        ] {
            let p = Password::new(s).unwrap();
            // NFKC leaves an unassigned code point unchanged.
            assert_eq!(p.as_str(), s);
            assert!(!p.is_all_assigned(), "{s:?}");
        }
    }

    #[test]
    fn debug_redacts() {
        let p = Password::new("correct horse battery staple").unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("horse"));
        assert!(shown.contains("code_points"));
    }

    #[test]
    fn from_utf8_wipes_the_source() {
        let mut buf = *b"secret-pin";
        let p = Password::from_utf8_wiping(&mut buf).unwrap();
        assert_eq!(p.as_str(), "secret-pin");
        assert_eq!(buf, [0u8; 10]);
        let mut bad = [0xff, 0xfe];
        assert!(Password::from_utf8_wiping(&mut bad).is_err());
        assert_eq!(bad, [0, 0]);
    }
}
