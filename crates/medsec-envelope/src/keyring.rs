//! The in-process keyring: key-encryption keys with ids and states, rotation, destruction, and
//! a documented file format.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::header::Reader;
use crate::keys::{DataKey, Kek, KeyId, KeyState, KEY_LEN};
use crate::wrap::{KeyWrap, UnwrapRequest, WrapRequest, KEK_WRAPPED_LEN};

/// Magic bytes of the keyring file format.
pub const KEYRING_MAGIC: [u8; 4] = *b"MSKR";
/// Keyring file format version.
pub const KEYRING_VERSION: u8 = 1;
/// Most keys (of any state) in one keyring.
pub const MAX_KEYRING_KEYS: usize = 255;

struct Entry {
    id: KeyId,
    state: KeyState,
    // `None` once destroyed; the `Kek` zeroizes itself when dropped. Boxed so that growing
    // `Keyring::entries` moves pointers, never key bytes: a reallocated `Vec` frees its old
    // buffer without wiping it.
    kek: Option<Box<Kek>>,
}

/// Key-encryption keys with ids and states: at most one primary (wraps new data keys), any
/// number decrypt-only (unwrap only), and destroyed tombstones (ids kept so that a destroyed
/// key is reported and never reused; material erased).
///
/// ```
/// use medsec_envelope::{Keyring, Opener, Sealer};
/// let mut rng = medsec_envelope::OsRng::default();
/// let mut keyring = Keyring::generate(&mut rng);
/// let old = Sealer::new().key_wrap(&keyring)?.seal(b"reading", &mut rng)?;
/// keyring.rotate(&mut rng)?;                       // new primary; the old one is decrypt-only
/// assert_eq!(&Opener::new(&keyring).open(&old)?[..], b"reading");
/// let rewrapped = keyring.rewrap(&Opener::new(&keyring), &old, &mut rng)?;
/// let first = keyring.keys().next().map(|(id, _)| id).unwrap();
/// keyring.destroy(&first)?;                        // crypto-shred the old KEK
/// assert!(Opener::new(&keyring).open(&old).is_err());
/// assert_eq!(&Opener::new(&keyring).open(&rewrapped)?[..], b"reading");
/// # Ok::<(), medsec_envelope::Error>(())
/// ```
#[derive(Default)]
pub struct Keyring {
    entries: Vec<Entry>,
}

impl Keyring {
    /// An empty keyring (cannot seal until a primary is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// A keyring with one fresh primary KEK.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = Self::new();
        // An empty keyring always has room, and a fresh random id cannot collide.
        let _ = k.insert(Kek::generate(rng), KeyState::Primary);
        k
    }

    /// Adds a fresh primary KEK; the previous primary becomes decrypt-only. Returns the new id.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when the keyring is full.
    pub fn rotate<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Result<KeyId> {
        let kek = Kek::generate(rng);
        let id = kek.id();
        self.insert(kek, KeyState::Primary)?;
        Ok(id)
    }

    /// Adds an existing KEK (for example one imported from a backup) in `state`. Adding a
    /// primary demotes the current primary to decrypt-only.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] for a duplicate id, a destroyed state, or a full keyring.
    pub fn insert(&mut self, kek: Kek, state: KeyState) -> Result<()> {
        if state == KeyState::Destroyed {
            return Err(Error::InvalidConfiguration("cannot insert a destroyed key"));
        }
        if self.entries.len() >= MAX_KEYRING_KEYS {
            return Err(Error::InvalidConfiguration("keyring is full"));
        }
        if self.find(kek.id().as_bytes()).is_some() {
            return Err(Error::InvalidConfiguration("duplicate key id"));
        }
        if state == KeyState::Primary {
            for e in &mut self.entries {
                if e.state == KeyState::Primary {
                    e.state = KeyState::DecryptOnly;
                }
            }
        }
        self.entries.push(Entry {
            id: kek.id(),
            state,
            kek: Some(Box::new(kek)),
        });
        Ok(())
    }

    /// Demotes a key to decrypt-only.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] for an unknown or destroyed key.
    pub fn retire(&mut self, id: &KeyId) -> Result<()> {
        let e = self.find_mut(id.as_bytes())?;
        if e.state == KeyState::Destroyed {
            return Err(Error::InvalidConfiguration("key is destroyed"));
        }
        e.state = KeyState::DecryptOnly;
        Ok(())
    }

    /// Destroys a key: its material is zeroized and dropped, and every data key wrapped only
    /// under it becomes unrecoverable. The id stays as a tombstone.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] for an unknown key.
    pub fn destroy(&mut self, id: &KeyId) -> Result<()> {
        let e = self.find_mut(id.as_bytes())?;
        e.state = KeyState::Destroyed;
        e.kek = None;
        Ok(())
    }

    /// The primary's id, if there is a primary.
    pub fn primary_id(&self) -> Option<KeyId> {
        self.primary().map(Kek::id)
    }

    /// Every key's id and state, oldest first.
    pub fn keys(&self) -> impl Iterator<Item = (KeyId, KeyState)> + '_ {
        self.entries.iter().map(|e| (e.id, e.state))
    }

    /// Whether `id` names a key of this keyring in any state (destroyed included).
    pub fn contains(&self, id: &[u8]) -> bool {
        self.find(id).is_some()
    }

    /// Serializes the keyring (see `docs/envelope-format.md`, "Keyring file"). The result holds
    /// secret key material: protect it as you would the keys.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        // Allocated once at its final size: a growing `Vec` would leave copies of the keys in
        // the buffers it frees.
        let len = self.entries.iter().fold(4 + 1 + 1 + 32, |n: usize, e| {
            let kek = if e.kek.is_some() { KEY_LEN } else { 0 };
            n.saturating_add(2)
                .saturating_add(e.id.as_bytes().len())
                .saturating_add(kek)
        });
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        out.extend_from_slice(&KEYRING_MAGIC);
        out.push(KEYRING_VERSION);
        // The count is capped at 255 by `insert`.
        out.push(u8::try_from(self.entries.len()).unwrap_or(u8::MAX));
        for e in &self.entries {
            out.push(e.state.code());
            let id = e.id.as_bytes();
            out.push(u8::try_from(id.len()).unwrap_or(0));
            out.extend_from_slice(id);
            if let Some(kek) = &e.kek {
                out.extend_from_slice(kek.secret());
            }
        }
        let checksum = Sha256::digest(&out[..]);
        out.extend_from_slice(&checksum);
        out
    }

    /// Parses [`Keyring::to_bytes`] output.
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] for a corrupt file (bad checksum, malformed entries, duplicate
    /// ids, more than one primary).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body_len = bytes.len().checked_sub(32).ok_or(Error::DidNotVerify)?;
        let (body, checksum) = bytes.split_at(body_len);
        if !bool::from(Sha256::digest(body).as_slice().ct_eq(checksum)) {
            return Err(Error::DidNotVerify);
        }
        let mut r = Reader::new(body);
        if r.take(4)? != KEYRING_MAGIC || r.u8()? != KEYRING_VERSION {
            return Err(Error::DidNotVerify);
        }
        let count = r.u8()?;
        let mut keyring = Self {
            entries: Vec::with_capacity(usize::from(count)),
        };
        let mut primaries = 0u8;
        for _ in 0..count {
            let state = KeyState::from_code(r.u8()?)?;
            let id = KeyId::new(r.take_u8_prefixed()?).map_err(|_| Error::DidNotVerify)?;
            if keyring.contains(id.as_bytes()) {
                return Err(Error::DidNotVerify);
            }
            let kek = if state == KeyState::Destroyed {
                None
            } else {
                let mut key = [0u8; KEY_LEN];
                key.copy_from_slice(r.take(KEY_LEN)?);
                let kek = Box::new(Kek::from_bytes(id, key));
                key.zeroize();
                Some(kek)
            };
            if state == KeyState::Primary {
                primaries = primaries.saturating_add(1);
            }
            keyring.entries.push(Entry { id, state, kek });
        }
        if primaries > 1 || !r.remaining().is_empty() {
            return Err(Error::DidNotVerify);
        }
        Ok(keyring)
    }

    fn primary(&self) -> Option<&Kek> {
        self.entries
            .iter()
            .find(|e| e.state == KeyState::Primary)
            .and_then(|e| e.kek.as_deref())
    }

    fn find(&self, id: &[u8]) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == *id)
    }

    fn find_mut(&mut self, id: &[u8]) -> Result<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.id == *id)
            .ok_or(Error::InvalidConfiguration("unknown key id"))
    }
}

impl KeyWrap for Keyring {
    fn wrapping_key_id(&self) -> Result<KeyId> {
        self.primary_id()
            .ok_or(Error::InvalidConfiguration("keyring has no primary key"))
    }

    fn wrapped_len(&self) -> usize {
        KEK_WRAPPED_LEN
    }

    // Each key is a `Kek`; the keyring only chooses which one.
    fn wrap(&self, request: &WrapRequest<'_>, data_key: &DataKey, out: &mut [u8]) -> Result<()> {
        self.primary()
            .ok_or(Error::InvalidConfiguration("keyring has no primary key"))?
            .wrap(request, data_key, out)
    }

    fn unwrap(
        &self,
        request: &UnwrapRequest<'_>,
        key_id: &[u8],
        wrapped: &[u8],
    ) -> Result<Option<DataKey>> {
        match self.find(key_id).and_then(|e| e.kek.as_deref()) {
            Some(kek) => kek.unwrap(request, key_id, wrapped),
            None => Ok(None),
        }
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| (e.id, e.state)))
            .finish()
    }
}
