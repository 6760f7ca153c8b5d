//! The encryption context: who and what the data is about, bound into every envelope.
//!
//! Each entry is a key (a short label) and a value. All entries are bound into the
//! authenticated data of the payload and of every key wrap; `open` takes the *expected*
//! context and fails unless it equals the sealed one exactly. An entry is either only
//! *bound* (its value never appears in the envelope, so a patient pseudonym need not sit in
//! clear next to the data) or *stored* in the clear header as well (useful for routing, such as
//! a record kind or schema version).

use core::fmt;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Most entries in one context.
pub const MAX_CONTEXT_ENTRIES: usize = 16;
/// Longest context key.
pub const MAX_CONTEXT_KEY_LEN: usize = 32;
/// Longest context value.
pub const MAX_CONTEXT_VALUE_LEN: usize = 255;

/// Well-known context keys. Using them keeps envelopes from different products comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextField {
    /// The patient's pseudonym (`patient`). Bind it; do not store it.
    Patient,
    /// The kind of record (`record-kind`), e.g. `cgm-readings`.
    RecordKind,
    /// The device id (`device`).
    Device,
    /// The schema version of the plaintext (`schema-version`).
    SchemaVersion,
    /// The tenant, e.g. the clinic (`tenant`).
    Tenant,
}

impl ContextField {
    /// The field's key as it is encoded.
    pub const fn key(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::RecordKind => "record-kind",
            Self::Device => "device",
            Self::SchemaVersion => "schema-version",
            Self::Tenant => "tenant",
        }
    }
}

/// Whether an entry's value is written into the clear header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Bound into the authenticated data only; the value is not in the envelope.
    BoundOnly,
    /// Bound and also written into the clear header.
    Stored,
}

/// One context entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ContextEntry<'a> {
    key: &'a str,
    value: &'a [u8],
    disclosure: Disclosure,
}

impl<'a> ContextEntry<'a> {
    /// The entry's key.
    pub fn key(&self) -> &'a str {
        self.key
    }
    /// The entry's value.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }
    /// Whether the value is stored in the header.
    pub fn disclosure(&self) -> Disclosure {
        self.disclosure
    }
}

impl fmt::Debug for ContextEntry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may identify a patient: never print them.
        f.debug_struct("ContextEntry")
            .field("key", &self.key)
            .field("disclosure", &self.disclosure)
            .finish_non_exhaustive()
    }
}

/// An encryption context: up to [`MAX_CONTEXT_ENTRIES`] entries with distinct keys, kept sorted.
/// Borrowing, fixed capacity, no allocation.
///
/// ```
/// use medsec_envelope::{Context, ContextField};
/// let ctx = Context::new()
///     .with(ContextField::Patient, b"p-7f3a9c")?
///     .with_stored(ContextField::RecordKind, b"cgm-readings")?
///     .with_custom("clinic", b"north")?;
/// assert_eq!(ctx.len(), 3);
/// # Ok::<(), medsec_envelope::Error>(())
/// ```
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    entries: [Option<ContextEntry<'a>>; MAX_CONTEXT_ENTRIES],
    len: usize,
}

impl<'a> Context<'a> {
    /// The empty context.
    pub const fn new() -> Self {
        Self {
            entries: [None; MAX_CONTEXT_ENTRIES],
            len: 0,
        }
    }

    /// Adds a well-known field, bound only (not stored in the header).
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] for a duplicate key, an over-long value or a full context.
    pub fn with(self, field: ContextField, value: &'a [u8]) -> Result<Self> {
        self.insert(field.key(), value, Disclosure::BoundOnly)
    }

    /// Adds a well-known field that is also stored in the clear header.
    ///
    /// # Errors
    /// As [`Context::with`].
    pub fn with_stored(self, field: ContextField, value: &'a [u8]) -> Result<Self> {
        self.insert(field.key(), value, Disclosure::Stored)
    }

    /// Adds a custom entry, bound only. Keys are 1 to 32 bytes of `a-z 0-9 - . _`.
    ///
    /// # Errors
    /// As [`Context::with`], and for a malformed key.
    pub fn with_custom(self, key: &'a str, value: &'a [u8]) -> Result<Self> {
        self.insert(key, value, Disclosure::BoundOnly)
    }

    /// Adds a custom entry that is also stored in the clear header.
    ///
    /// # Errors
    /// As [`Context::with_custom`].
    pub fn with_custom_stored(self, key: &'a str, value: &'a [u8]) -> Result<Self> {
        self.insert(key, value, Disclosure::Stored)
    }

    /// Adds an entry with an explicit disclosure.
    ///
    /// # Errors
    /// As [`Context::with_custom`].
    pub fn insert(mut self, key: &'a str, value: &'a [u8], disclosure: Disclosure) -> Result<Self> {
        check_key(key.as_bytes())?;
        if value.len() > MAX_CONTEXT_VALUE_LEN {
            return Err(Error::InvalidConfiguration(
                "context value longer than 255 bytes",
            ));
        }
        if self.len >= MAX_CONTEXT_ENTRIES {
            return Err(Error::InvalidConfiguration("too many context entries"));
        }
        // Keep entries sorted by key bytes; find the insertion point.
        let mut at = self.len;
        for (i, slot) in self.entries.iter().enumerate().take(self.len) {
            if let Some(e) = slot {
                match e.key.as_bytes().cmp(key.as_bytes()) {
                    core::cmp::Ordering::Less => {}
                    core::cmp::Ordering::Equal => {
                        return Err(Error::InvalidConfiguration("duplicate context key"))
                    }
                    core::cmp::Ordering::Greater => {
                        at = i;
                        break;
                    }
                }
            }
        }
        let used = self
            .entries
            .get_mut(at..=self.len)
            .ok_or(Error::InvalidConfiguration("too many context entries"))?;
        used.rotate_right(1);
        if let Some(first) = used.first_mut() {
            *first = Some(ContextEntry {
                key,
                value,
                disclosure,
            });
        }
        self.len = self.len.saturating_add(1);
        Ok(self)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the context has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries in canonical (sorted) order.
    pub fn entries(&self) -> impl Iterator<Item = &ContextEntry<'a>> + '_ {
        self.entries.iter().take(self.len).flatten()
    }

    /// The value of the entry with `key`, if there is one.
    pub(crate) fn value_of(&self, key: &str) -> Option<&'a [u8]> {
        self.entries()
            .find(|e| e.key.as_bytes() == key.as_bytes())
            .map(|e| e.value)
    }

    /// The entries written into the clear header.
    pub(crate) fn stored(&self) -> impl Iterator<Item = &ContextEntry<'a>> + '_ {
        self.entries()
            .filter(|e| e.disclosure == Disclosure::Stored)
    }

    /// SHA-256 of the canonical encoding of all entries (see `docs/envelope-format.md`).
    pub(crate) fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(CONTEXT_DIGEST_LABEL);
        h.update([len_u8(self.len)]);
        for e in self.entries() {
            h.update([len_u8(e.key.len())]);
            h.update(e.key.as_bytes());
            h.update([len_u8(e.value.len())]);
            h.update(e.value);
        }
        h.finalize().into()
    }
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}

/// Domain label prefixed to the canonical context encoding before hashing.
pub(crate) const CONTEXT_DIGEST_LABEL: &[u8] = b"medsec-envelope-v1/context";

/// Validates a context key: 1 to 32 bytes of `a-z 0-9 - . _`.
pub(crate) fn check_key(key: &[u8]) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= MAX_CONTEXT_KEY_LEN
        && key.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfiguration(
            "context key must be 1 to 32 bytes of a-z 0-9 - . _",
        ))
    }
}

// Lengths here are bounded by the checks above (<= 255); saturate rather than panic.
fn len_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_sorted_and_unique() {
        let c = Context::new()
            .with_custom("zeta", b"1")
            .unwrap()
            .with_custom("alpha", b"2")
            .unwrap()
            .with_custom("mid", b"3")
            .unwrap();
        let keys: [&str; 3] = {
            let mut it = c.entries().map(|e| e.key());
            [it.next().unwrap(), it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(keys, ["alpha", "mid", "zeta"]);
        assert!(c.with_custom("mid", b"x").is_err());
    }

    #[test]
    fn order_of_insertion_does_not_change_digest() {
        let a = Context::new()
            .with_custom("a", b"1")
            .unwrap()
            .with_custom("b", b"2")
            .unwrap();
        let b = Context::new()
            .with_custom("b", b"2")
            .unwrap()
            .with_custom("a", b"1")
            .unwrap();
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn key_rules() {
        assert!(check_key(b"").is_err());
        assert!(check_key(&[b'a'; 33]).is_err());
        assert!(check_key(&[b'a'; 32]).is_ok());
        assert!(check_key(b"Upper").is_err());
        assert!(check_key(b"with space").is_err());
        assert!(check_key(b"ok-1.2_x").is_ok());
        assert!(Context::new().with_custom("k", &[0; 256]).is_err());
        assert!(Context::new().with_custom("k", &[0; 255]).is_ok());
    }

    #[test]
    fn capacity_is_enforced() {
        let names: [&str; 17] = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
        ];
        let mut c = Context::new();
        for n in &names[..16] {
            c = c.with_custom(n, b"").unwrap();
        }
        assert!(c.with_custom(names[16], b"").is_err());
    }
}
