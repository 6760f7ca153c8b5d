//! Algorithm suites and the policy that says which ones a caller accepts.

use crate::error::{Error, Result};

/// An envelope's algorithm suite: the AEAD used for the body and for keyring wraps, always with
/// 256-bit keys derived per message (see `docs/envelope-format.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// AES-256-GCM-SIV (RFC 8452): nonce-misuse resistant. The default, for devices whose
    /// randomness may be weak. Not on the ASVS 5.0 / NIST approved lists (see the crypto
    /// inventory for the rationale).
    Aes256GcmSiv,
    /// AES-256-GCM (NIST SP 800-38D): on the approved lists. Each derived key encrypts exactly
    /// one chunk sequence with unique nonces, so nonces never repeat under a key.
    Aes256Gcm,
}

impl Suite {
    /// The suite used when the caller does not choose.
    pub const DEFAULT: Self = Self::Aes256GcmSiv;

    /// The suite's one-byte id in the envelope header.
    pub const fn id(self) -> u8 {
        match self {
            Self::Aes256GcmSiv => 0x01,
            Self::Aes256Gcm => 0x02,
        }
    }

    /// Looks a suite up by its header id.
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] for an unknown id (header ids are untrusted input).
    pub const fn from_id(id: u8) -> Result<Self> {
        match id {
            0x01 => Ok(Self::Aes256GcmSiv),
            0x02 => Ok(Self::Aes256Gcm),
            _ => Err(Error::DidNotVerify),
        }
    }

    /// Stable lower-case name, as used by the CLI and the docs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes256GcmSiv => "aes-256-gcm-siv",
            Self::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// Parses [`Suite::name`].
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "aes-256-gcm-siv" => Ok(Self::Aes256GcmSiv),
            "aes-256-gcm" => Ok(Self::Aes256Gcm),
            _ => Err(Error::InvalidConfiguration("unknown suite name")),
        }
    }
}

impl Default for Suite {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which suites a caller accepts when opening (and may use when sealing).
///
/// An envelope whose header names a suite outside the policy does not verify; since the suite id
/// is also bound into the key derivation and the authenticated data, rewriting it in a header
/// (a downgrade) fails verification under any policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuitePolicy {
    gcm_siv: bool,
    gcm: bool,
}

impl SuitePolicy {
    /// Accepts both suites.
    pub const ALL: Self = Self {
        gcm_siv: true,
        gcm: true,
    };
    /// Accepts only suites on the NIST / ASVS 5.0 approved lists (AES-256-GCM).
    pub const APPROVED_ONLY: Self = Self {
        gcm_siv: false,
        gcm: true,
    };
    /// Accepts only AES-256-GCM-SIV.
    pub const GCM_SIV_ONLY: Self = Self {
        gcm_siv: true,
        gcm: false,
    };

    /// Whether `suite` is accepted.
    pub const fn allows(self, suite: Suite) -> bool {
        match suite {
            Suite::Aes256GcmSiv => self.gcm_siv,
            Suite::Aes256Gcm => self.gcm,
        }
    }
}

impl Default for SuitePolicy {
    fn default() -> Self {
        Self::ALL
    }
}
