//! Opened plaintext that is wiped when dropped.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

use zeroize::Zeroize;

/// Plaintext returned by [`crate::Opener::open`]. It dereferences to `[u8]`; when dropped the
/// whole allocation (including spare capacity) is wiped before it is freed. `Debug` shows only
/// the length, so PHI never reaches a log through it.
///
/// (`zeroize::Zeroizing<Vec<u8>>` wipes a `Vec` one volatile byte at a time, which costs as
/// much as the decryption itself for large records; wiping the slice uses a barrier-protected
/// fill instead.)
pub struct Plaintext(Vec<u8>);

impl Plaintext {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The plaintext bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Shortens the plaintext; the cut bytes stay in the allocation until it is wiped on drop.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Mutable access, e.g. to parse in place.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Deref for Plaintext {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Plaintext {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plaintext")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}
