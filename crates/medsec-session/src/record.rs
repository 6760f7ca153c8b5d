//! The stored session: its fields ([`SessionMeta`]) and the byte format persistent stores
//! write (`docs/session-format.md`, "Stored record").

use crate::clock::Timestamp;
use crate::id::{IdHash, UserId, MAX_USER_ID_LEN};
use crate::seal::{RecordKey, MAX_SEALED_LEN, SEAL_OVERHEAD};
use crate::{Error, Result};
use medsec_token::Role;

/// Record magic, "MSSR".
pub const RECORD_MAGIC: [u8; 4] = *b"MSSR";
/// Format version written and accepted.
pub const RECORD_FORMAT_VERSION: u8 = 1;
/// Bytes of the HMAC-SHA256 tag at the end of a record.
pub const RECORD_MAC_LEN: usize = 32;
/// Bytes before the user id (magic .. binding hash, plus the user length byte).
const FIXED_PREFIX_LEN: usize = 98;
/// Smallest well-formed record: 1-byte user id, no data.
pub const MIN_RECORD_LEN: usize = FIXED_PREFIX_LEN + 1 + 4 + RECORD_MAC_LEN;
/// Largest well-formed record (128-byte user id, 16,412-byte sealed data): 16,674 bytes.
pub const MAX_RECORD_LEN: usize =
    FIXED_PREFIX_LEN + MAX_USER_ID_LEN + 4 + MAX_SEALED_LEN + RECORD_MAC_LEN;
/// Largest compare-and-swap version, `2^63 - 1`: the SQL stores keep the version in a signed
/// 64-bit column as well, so a session whose version reaches this takes no further write.
pub const MAX_VERSION: u64 = i64::MAX as u64;
/// Smallest non-empty sealed data blob: a sealed plaintext of at least one byte. Empty data
/// has exactly one encoding, `data_len = 0`; a sealed empty plaintext (28 bytes) is refused.
pub const MIN_SEALED_LEN: usize = SEAL_OVERHEAD + 1;

/// The version after `version`, or `None` when `version` is already [`MAX_VERSION`].
#[must_use]
pub fn next_version(version: u64) -> Option<u64> {
    version.checked_add(1).filter(|v| *v <= MAX_VERSION)
}

/// Whether a sealed data blob has a length the format allows: 0 (no data) or
/// [`MIN_SEALED_LEN`]`..=16,412`.
fn sealed_len_ok(len: usize) -> bool {
    len == 0 || (MIN_SEALED_LEN..=MAX_SEALED_LEN).contains(&len)
}

/// The lifecycle state a store keeps. (Elevation is a deadline, `elevated_until`, not a
/// state: it lapses on its own clock.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StoredState {
    /// Issued at login; the client has not used it yet.
    Established = 0,
    /// In use.
    Active = 1,
}

/// Everything a store keeps about a session except its sealed data. Plain values, no
/// secrets (the id itself is never here, only its hash, which is the store's key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionMeta {
    /// Compare-and-swap version: 1 at creation, +1 on every write.
    pub version: u64,
    /// The owner.
    pub user: UserId,
    /// The owner's role at login.
    pub role: Role,
    /// Lifecycle state.
    pub state: StoredState,
    /// Login time.
    pub created_at: Timestamp,
    /// Time of the last full authentication (login or re-authentication).
    pub authenticated_at: Timestamp,
    /// Latest request time seen (never moves backwards).
    pub last_seen: Timestamp,
    /// Idle timeout in force for this session, milliseconds.
    pub idle_timeout_ms: u64,
    /// `created_at + absolute lifetime`.
    pub absolute_deadline: Timestamp,
    /// End of the current elevation; [`Timestamp::ZERO`] when not elevated.
    pub elevated_until: Timestamp,
    /// Hash of the RFC 9266 channel binding, when bound.
    pub binding: Option<[u8; 32]>,
    /// Length of the sealed data blob (0 = no data).
    pub data_len: u32,
}

impl SessionMeta {
    /// When the session expires if nothing touches it: the earlier of the idle and the
    /// absolute deadline. Stores index this for sweeping.
    #[must_use]
    pub fn expires_at(&self) -> Timestamp {
        let idle = self.last_seen.saturating_add_millis(self.idle_timeout_ms);
        if idle < self.absolute_deadline {
            idle
        } else {
            self.absolute_deadline
        }
    }

    /// The value of the clear `expires_at` column the SQL stores keep next to the record:
    /// [`SessionMeta::expires_at`] clamped to `2^63 - 1` for the signed 64-bit column.
    /// Readers refuse a row whose column differs from this (`docs/session-format.md` §5.2).
    #[must_use]
    pub fn expires_at_column(&self) -> i64 {
        i64::try_from(self.expires_at().as_millis()).unwrap_or(i64::MAX)
    }

    /// The encoded length of a record with this metadata.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        // At most 98 + 64 + 4 + u32::MAX + 32: no overflow on 64-bit; saturate elsewhere.
        [
            self.user.as_bytes().len(),
            4,
            self.data_len as usize,
            RECORD_MAC_LEN,
        ]
        .iter()
        .fold(FIXED_PREFIX_LEN, |a, &b| a.saturating_add(b))
    }
}

/// Encodes a record: header, user id, sealed data, then the HMAC-SHA256 tag over
/// `"medsec-session/v1/record\0" || id_hash || everything before the tag`.
///
/// # Errors
/// [`Error::InvalidInput`] when `data.len()` disagrees with `meta.data_len`, `out` has
/// the wrong length ([`SessionMeta::encoded_len`]), or a field is outside its range (version
/// `1..=`[`MAX_VERSION`], idle timeout at least 1): nothing is written that readers would
/// refuse; [`Error::TooLarge`] for a sealed data length other than 0 or
/// [`MIN_SEALED_LEN`]`..=16,412`.
pub fn encode_into(
    key: &RecordKey,
    id_hash: &IdHash,
    meta: &SessionMeta,
    data: &[u8],
    out: &mut [u8],
) -> Result<()> {
    if data.len() != meta.data_len as usize {
        return Err(Error::InvalidInput);
    }
    if !sealed_len_ok(data.len()) {
        return Err(Error::TooLarge);
    }
    if meta.version == 0 || meta.version > MAX_VERSION || meta.idle_timeout_ms == 0 {
        return Err(Error::InvalidInput);
    }
    if out.len() != meta.encoded_len() {
        return Err(Error::InvalidInput);
    }
    let user = meta.user.as_bytes();
    let mut w = Writer { buf: out, pos: 0 };
    w.put(&RECORD_MAGIC)?;
    w.put(&[RECORD_FORMAT_VERSION, meta.state as u8])?;
    let role = u16::try_from(meta.role.code()).map_err(|_| Error::InvalidInput)?;
    w.put(&role.to_be_bytes())?;
    for v in [
        meta.version,
        meta.created_at.as_millis(),
        meta.authenticated_at.as_millis(),
        meta.last_seen.as_millis(),
        meta.idle_timeout_ms,
        meta.absolute_deadline.as_millis(),
        meta.elevated_until.as_millis(),
    ] {
        w.put(&v.to_be_bytes())?;
    }
    match &meta.binding {
        Some(b) => {
            w.put(&[1])?;
            w.put(b)?;
        }
        None => {
            w.put(&[0])?;
            w.put(&[0u8; 32])?;
        }
    }
    w.put(&[u8::try_from(user.len()).map_err(|_| Error::InvalidInput)?])?;
    w.put(user)?;
    w.put(&meta.data_len.to_be_bytes())?;
    w.put(data)?;
    let body_len = w.pos;
    let (body, tag) = out.split_at_mut(body_len);
    tag.copy_from_slice(&key.mac(id_hash, body));
    Ok(())
}

/// Encodes a record into a new vector (see [`encode_into`]).
///
/// # Errors
/// As [`encode_into`].
#[cfg(feature = "alloc")]
pub fn encode(
    key: &RecordKey,
    id_hash: &IdHash,
    meta: &SessionMeta,
    data: &[u8],
) -> Result<alloc::vec::Vec<u8>> {
    let mut out = alloc::vec![0u8; meta.encoded_len()];
    encode_into(key, id_hash, meta, data, &mut out)?;
    Ok(out)
}

/// Verifies and decodes a stored record filed under `id_hash`. The MAC is checked (in
/// constant time) before any field is trusted; then every field is checked for its
/// canonical form. Returns the metadata and the sealed data blob.
///
/// # Errors
/// [`Error::Rejected`] for anything that is not a well-formed, authentic record: one
/// opaque error.
pub fn decode<'a>(
    key: &RecordKey,
    id_hash: &IdHash,
    bytes: &'a [u8],
) -> Result<(SessionMeta, &'a [u8])> {
    if bytes.len() < MIN_RECORD_LEN || bytes.len() > MAX_RECORD_LEN {
        return Err(Error::Rejected);
    }
    let body_len = bytes.len().saturating_sub(RECORD_MAC_LEN);
    let (body, tag) = bytes.split_at(body_len);
    if !key.verify(id_hash, body, tag) {
        return Err(Error::Rejected);
    }
    decode_body(body).ok_or(Error::Rejected)
}

fn decode_body(body: &[u8]) -> Option<(SessionMeta, &[u8])> {
    let mut r = Reader { buf: body, pos: 0 };
    if r.take(4)? != RECORD_MAGIC || r.u8()? != RECORD_FORMAT_VERSION {
        return None;
    }
    let state = match r.u8()? {
        0 => StoredState::Established,
        1 => StoredState::Active,
        _ => return None,
    };
    let role = Role::from_code(u64::from(u16::from_be_bytes(r.array()?))).ok()?;
    let version = r.u64()?;
    let created_at = Timestamp::from_millis(r.u64()?);
    let authenticated_at = Timestamp::from_millis(r.u64()?);
    let last_seen = Timestamp::from_millis(r.u64()?);
    let idle_timeout_ms = r.u64()?;
    let absolute_deadline = Timestamp::from_millis(r.u64()?);
    let elevated_until = Timestamp::from_millis(r.u64()?);
    let flag = r.u8()?;
    let hash: [u8; 32] = r.array()?;
    let binding = match flag {
        0 if hash == [0u8; 32] => None,
        1 => Some(hash),
        _ => return None,
    };
    let user_len = usize::from(r.u8()?);
    let user = UserId::from_utf8(r.take(user_len)?).ok()?;
    let data_len = u32::from_be_bytes(r.array()?);
    let data = r.take(data_len as usize)?;
    if version == 0
        || version > MAX_VERSION
        || idle_timeout_ms == 0
        || !sealed_len_ok(data.len())
        || r.pos != body.len()
    {
        return None;
    }
    let meta = SessionMeta {
        version,
        user,
        role,
        state,
        created_at,
        authenticated_at,
        last_seen,
        idle_timeout_ms,
        absolute_deadline,
        elevated_until,
        binding,
        data_len,
    };
    Some((meta, data))
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(Error::InvalidInput)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(Error::InvalidInput)?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "test code"
    )]
    use super::*;

    fn sample() -> SessionMeta {
        SessionMeta {
            version: 3,
            user: UserId::new("clinician-42").unwrap(),
            role: Role::Clinician,
            state: StoredState::Active,
            created_at: Timestamp::from_millis(1_700_000_000_000),
            authenticated_at: Timestamp::from_millis(1_700_000_000_000),
            last_seen: Timestamp::from_millis(1_700_000_060_000),
            idle_timeout_ms: 900_000,
            absolute_deadline: Timestamp::from_millis(1_700_043_200_000),
            elevated_until: Timestamp::ZERO,
            binding: Some([0x5a; 32]),
            data_len: 30,
        }
    }

    #[test]
    fn round_trip_and_every_bit_flip_rejected() {
        let key = RecordKey::from_bytes([4; 32]);
        let h = IdHash::from_bytes([8; 32]);
        let meta = sample();
        let data = [0xC3u8; 30];
        let enc = encode(&key, &h, &meta, &data).unwrap();
        assert_eq!(enc.len(), meta.encoded_len());
        let (back, d) = decode(&key, &h, &enc).unwrap();
        assert_eq!(back, meta);
        assert_eq!(d, &data);
        for i in 0..enc.len() * 8 {
            let mut t = enc.clone();
            t[i / 8] ^= 1 << (i % 8);
            assert_eq!(
                decode(&key, &h, &t).map(|_| ()),
                Err(Error::Rejected),
                "bit {i}"
            );
        }
        for n in 0..enc.len() {
            assert!(decode(&key, &h, &enc[..n]).is_err());
        }
        // Filed under another key (row swap) or checked with another record key.
        assert!(decode(&key, &IdHash::from_bytes([9; 32]), &enc).is_err());
        assert!(decode(&RecordKey::from_bytes([5; 32]), &h, &enc).is_err());
    }

    /// A record body with an authentic MAC, so that only the field rules can refuse it.
    fn authentic(key: &RecordKey, h: &IdHash, body: &[u8]) -> std::vec::Vec<u8> {
        let mut rec = body.to_vec();
        rec.extend_from_slice(&key.mac(h, body));
        rec
    }

    /// The body of `meta` with `user` and `data` spliced in as raw bytes.
    fn raw_body(meta: &SessionMeta, user: &[u8], data: &[u8]) -> std::vec::Vec<u8> {
        let key = RecordKey::from_bytes([0; 32]);
        let h = IdHash::from_bytes([0; 32]);
        let mut m = *meta;
        m.user = UserId::new("u").unwrap();
        m.data_len = 0;
        let enc = encode(&key, &h, &m, &[]).unwrap();
        let mut body = enc[..FIXED_PREFIX_LEN - 1].to_vec();
        body.push(u8::try_from(user.len()).unwrap());
        body.extend_from_slice(user);
        body.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        body.extend_from_slice(data);
        body
    }

    #[test]
    fn field_boundaries_behind_an_authentic_mac() {
        let key = RecordKey::from_bytes([4; 32]);
        let h = IdHash::from_bytes([8; 32]);
        let mut meta = sample();
        meta.data_len = 0;
        let ok = |body: &[u8]| decode(&key, &h, &authentic(&key, &h, body)).is_ok();
        // User id: 1..=128 bytes of well-formed UTF-8.
        assert!(ok(&raw_body(&meta, &[b'a'; 128], &[])));
        assert!(ok(&raw_body(&meta, "\u{e9}".repeat(64).as_bytes(), &[])));
        assert!(!ok(&raw_body(&meta, &[b'a'; 129], &[])));
        assert!(!ok(&raw_body(&meta, &[], &[])));
        for bad in [
            &b"\x80"[..],
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"ab\xc3",
        ] {
            assert!(!ok(&raw_body(&meta, bad, &[])), "{bad:?}");
        }
        // Sealed data: 0, or 29..=16,412 bytes; a sealed empty plaintext (28) is refused.
        for (len, accepted) in [
            (0, true),
            (1, false),
            (27, false),
            (28, false),
            (29, true),
            (MAX_SEALED_LEN, true),
            (MAX_SEALED_LEN + 1, false),
        ] {
            let body = raw_body(&meta, b"u", &std::vec![0x5a; len]);
            assert_eq!(ok(&body), accepted, "data_len {len}");
        }
        // The largest record is exactly MAX_RECORD_LEN bytes.
        let body = raw_body(&meta, &[b'a'; MAX_USER_ID_LEN], &[0x5a; MAX_SEALED_LEN]);
        assert_eq!(body.len() + RECORD_MAC_LEN, MAX_RECORD_LEN);
        assert_eq!(MAX_RECORD_LEN, 16_674);
        assert!(ok(&body));
        // Version: 1..=2^63 - 1 (the signed column's range); idle timeout at least 1.
        for (version, accepted) in [
            (0, false),
            (1, true),
            (MAX_VERSION, true),
            (MAX_VERSION + 1, false),
            (u64::MAX, false),
        ] {
            let mut body = raw_body(&meta, b"u", &[]);
            body[8..16].copy_from_slice(&u64::to_be_bytes(version));
            assert_eq!(ok(&body), accepted, "version {version}");
            let mut m = meta;
            m.version = version;
            let written = encode(&key, &h, &m, &[]);
            assert_eq!(written.is_ok(), accepted, "encode version {version}");
        }
        let mut body = raw_body(&meta, b"u", &[]);
        body[40..48].copy_from_slice(&0u64.to_be_bytes());
        assert!(!ok(&body));
        // Bound with an all-zero hash is a well-formed (if unusable) binding.
        let mut body = raw_body(&meta, b"u", &[]);
        body[64] = 1;
        body[65..97].fill(0);
        let (m, _) = decode(&key, &h, &authentic(&key, &h, &body)).unwrap();
        assert_eq!(m.binding, Some([0; 32]));
        assert_eq!(next_version(MAX_VERSION - 1), Some(MAX_VERSION));
        assert_eq!(next_version(MAX_VERSION), None);
        assert_eq!(next_version(u64::MAX), None);
    }

    #[test]
    fn mismatched_lengths_are_refused() {
        let key = RecordKey::from_bytes([4; 32]);
        let h = IdHash::from_bytes([8; 32]);
        let meta = sample();
        assert_eq!(encode(&key, &h, &meta, &[0; 29]), Err(Error::InvalidInput));
        let mut m = meta;
        m.data_len = 5;
        assert_eq!(encode(&key, &h, &m, &[0; 5]), Err(Error::TooLarge));
        m.data_len = 28;
        assert_eq!(encode(&key, &h, &m, &[0; 28]), Err(Error::TooLarge));
    }
}
