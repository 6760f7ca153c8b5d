//! Throttle records on flash, surviving power loss at any point (firmware).
//!
//! The flash is seen through [`RecordFlash`]: numbered slots of [`RECORD_LEN`] bytes, each write
//! durable when it returns. Slots pair into cells (slots `2i` and `2i + 1`); a key's record is
//! the valid slot of its cell with the higher sequence number, and every update goes to the
//! *other* slot. A write torn by power loss fails its tag check, so the previous record stays in
//! force: the count can only be the old or the new value, never lost. The tag covers the slot
//! number, so an image copied to another slot or cell is invalid there. The record layout and
//! every rule here are specified in docs/credential-format.md ("Persisted throttle record").

use core::cell::RefCell;
use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::{ThrottleKey, ThrottleRecord, ThrottleStore};
use crate::{Error, Result};

/// Bytes per record slot.
pub const RECORD_LEN: usize = 48;
/// Bytes of the truncated HMAC-SHA-256 tag at the end of a record.
pub const TAG_LEN: usize = 12;
const MAGIC: [u8; 2] = *b"MT";
/// Format version 2: the tag covers the slot number (version 1 did not; its records are not
/// read).
const VERSION: u8 = 2;
const BODY_LEN: usize = RECORD_LEN - TAG_LEN;

/// A flash write or read failed (or the device is losing power).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashError;

/// Numbered slots of [`RECORD_LEN`] bytes on non-volatile memory.
pub trait RecordFlash {
    /// Number of slots (an even number; two per cell).
    fn slot_count(&self) -> u32;

    /// Reads slot `slot`.
    ///
    /// # Errors
    /// [`FlashError`] when the read fails.
    fn read_slot(
        &mut self,
        slot: u32,
        out: &mut [u8; RECORD_LEN],
    ) -> core::result::Result<(), FlashError>;

    /// Replaces slot `slot` (erasing as the part needs). Returns only once the bytes are durable.
    ///
    /// # Errors
    /// [`FlashError`] when the write fails; the slot may then hold any mix of old and new bytes.
    fn write_slot(
        &mut self,
        slot: u32,
        data: &[u8; RECORD_LEN],
    ) -> core::result::Result<(), FlashError>;
}

/// A persisted throttle record, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRecord {
    /// Write sequence within the cell (higher is newer).
    pub sequence: u32,
    /// The key the record belongs to.
    pub key: ThrottleKey,
    /// The record (failures zero: the cell is free).
    pub record: ThrottleRecord,
}

/// Encodes and authenticates records with `HMAC-SHA-256(record_key, BE32(slot) || body)[..12]`:
/// an image is valid only in the slot it was written for.
pub struct RecordCodec {
    record_key: [u8; 32],
}

impl RecordCodec {
    /// A codec with the device's record key (32 secret bytes, kept with the device's keys).
    pub fn new(record_key: [u8; 32]) -> Self {
        Self { record_key }
    }

    /// The 48-byte image of `rec` for slot number `slot`.
    pub fn encode(&self, slot: u32, rec: &SlotRecord) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        let (body, tag) = out.split_at_mut(BODY_LEN);
        let fields: [&[u8]; 6] = [
            &MAGIC,
            &[VERSION, 0],
            &rec.sequence.to_be_bytes(),
            rec.key.as_bytes(),
            &rec.record.failures.to_be_bytes(),
            &rec.record.last_failure_ms.to_be_bytes(),
        ];
        let mut at = 0usize;
        for f in fields {
            if let Some(dst) = body.get_mut(at..at.saturating_add(f.len())) {
                dst.copy_from_slice(f);
            }
            at = at.saturating_add(f.len());
        }
        let full = self.tag(slot, body);
        for (t, f) in tag.iter_mut().zip(full.iter()) {
            *t = *f;
        }
        out
    }

    /// Decodes the image read from slot number `slot`; `None` for an erased, torn, foreign or
    /// forged slot, or an image written for another slot.
    pub fn decode(&self, slot: u32, bytes: &[u8; RECORD_LEN]) -> Option<SlotRecord> {
        let (body, tag) = bytes.split_at(BODY_LEN);
        let expected = self.tag(slot, body);
        if !bool::from(expected.get(..TAG_LEN)?.ct_eq(tag)) {
            return None;
        }
        if body.get(0..2)? != MAGIC || body.get(2..4)? != [VERSION, 0] {
            return None;
        }
        let sequence = u32::from_be_bytes(body.get(4..8)?.try_into().ok()?);
        let key = ThrottleKey::from_bytes(body.get(8..24)?.try_into().ok()?);
        let failures = u32::from_be_bytes(body.get(24..28)?.try_into().ok()?);
        let last_failure_ms = u64::from_be_bytes(body.get(28..36)?.try_into().ok()?);
        Some(SlotRecord {
            sequence,
            key,
            record: ThrottleRecord {
                failures,
                last_failure_ms,
            },
        })
    }

    fn tag(&self, slot: u32, body: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.record_key) {
            mac.update(&slot.to_be_bytes());
            mac.update(body);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }
}

impl Drop for RecordCodec {
    fn drop(&mut self) {
        self.record_key.zeroize();
    }
}

impl fmt::Debug for RecordCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordCodec").finish_non_exhaustive()
    }
}

/// A [`ThrottleStore`] over [`RecordFlash`]: one cell (two slots) per tracked key.
///
/// **No eviction.** The 48-byte record does not say which schedule it was written under, so this
/// store cannot tell a forgotten record from one that still counts and never reuses the cell of
/// a record with failures (see [`ThrottleStore`], "Eviction"). A cell is free when it is empty
/// or its record was cleared (a success, or the out-of-band unlock). When every cell holds a
/// record with failures, the write for a new key fails with [`Error::Store`] (its attempt is
/// refused) and keys that have a cell keep working. Give the flash a cell for every key that can
/// fail: the device's accounts or PIN, and any unknown names tried on it until a success or an
/// unlock clears them (docs/credential-format.md section 8).
///
/// **No source keys.** `LoginGuard` refuses an attempt with a source on this store
/// ([`Error::Config`], see [`ThrottleStore::keeps_source_records`]): no login ever clears a
/// source, so each source that failed once would keep a cell for good.
pub struct FlashThrottleStore<F: RecordFlash> {
    flash: RefCell<F>,
    codec: RecordCodec,
}

impl<F: RecordFlash> FlashThrottleStore<F> {
    /// A store over `flash`.
    ///
    /// # Errors
    /// [`Error::Config`] when the flash has fewer than two slots or an odd number of slots.
    pub fn new(flash: F, codec: RecordCodec) -> Result<Self> {
        let n = flash.slot_count();
        if n < 2 || !n.is_multiple_of(2) {
            return Err(Error::Config(
                "flash needs an even number of slots, at least two",
            ));
        }
        Ok(Self {
            flash: RefCell::new(flash),
            codec,
        })
    }

    /// Gives the flash back (for example to simulate a reboot in tests).
    pub fn into_flash(self) -> F {
        self.flash.into_inner()
    }

    /// The newest valid record of `cell` and the slot that holds it. On equal sequences (which
    /// this store never writes) the even slot wins.
    fn newest(&self, flash: &mut F, cell: u32) -> Result<Option<(u32, SlotRecord)>> {
        let mut best: Option<(u32, SlotRecord)> = None;
        for slot in [
            cell.saturating_mul(2),
            cell.saturating_mul(2).saturating_add(1),
        ] {
            let mut buf = [0u8; RECORD_LEN];
            flash.read_slot(slot, &mut buf).map_err(|_| Error::Store)?;
            if let Some(rec) = self.codec.decode(slot, &buf) {
                if best.is_none_or(|(_, b)| rec.sequence > b.sequence) {
                    best = Some((slot, rec));
                }
            }
        }
        Ok(best)
    }

    fn cells(flash: &F) -> u32 {
        flash.slot_count() / 2
    }
}

impl<F: RecordFlash> ThrottleStore for FlashThrottleStore<F> {
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecord> {
        let mut flash = self.flash.try_borrow_mut().map_err(|_| Error::Store)?;
        for cell in 0..Self::cells(&flash) {
            if let Some((_, rec)) = self.newest(&mut flash, cell)? {
                if rec.key == *key && !rec.record.is_clear() {
                    return Ok(rec.record);
                }
            }
        }
        Ok(ThrottleRecord::CLEAR)
    }

    fn compare_and_swap(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
    ) -> Result<bool> {
        let mut flash = self.flash.try_borrow_mut().map_err(|_| Error::Store)?;
        // (cell, newest slot, newest record) of the key, and the first free cell.
        let mut found = None;
        let mut free = None;
        for cell in 0..Self::cells(&flash) {
            let newest = self.newest(&mut flash, cell)?;
            match newest {
                Some((_, rec)) if rec.key == *key && !rec.record.is_clear() => {
                    found = Some((cell, newest));
                    break;
                }
                // Another key's record that still counts, as far as this store can tell.
                Some((_, rec)) if !rec.record.is_clear() => {}
                _ => free = free.or(Some((cell, newest))),
            }
        }
        let stored = found
            .and_then(|(_, n)| n)
            .map_or(ThrottleRecord::CLEAR, |(_, r)| r.record);
        if stored != *current {
            return Ok(false);
        }
        let (cell, newest) = match (found, new.is_clear()) {
            (Some(f), _) => f,
            (None, true) => return Ok(true),
            // Every cell holds a record with failures: refuse the new key rather than reset
            // another key's count.
            (None, false) => free.ok_or(Error::Store)?,
        };
        let base = cell.saturating_mul(2);
        let record = SlotRecord {
            sequence: 1,
            key: *key,
            record: *new,
        };
        match newest {
            None => self.write_verified(&mut flash, base, &record)?,
            Some((slot, rec)) => {
                let other = if slot == base {
                    base.saturating_add(1)
                } else {
                    base
                };
                match rec.sequence.checked_add(1) {
                    Some(sequence) => {
                        self.write_verified(&mut flash, other, &SlotRecord { sequence, ..record })?;
                    }
                    None => {
                        // Sequence wrap (2^32 - 1 writes: beyond any flash endurance, but
                        // defined). The new record goes to the other slot with sequence 1, where
                        // it still loses to the old one, then over the old slot with sequence 2.
                        // A cut before the second write leaves the old record (not yet
                        // acknowledged); a torn second write leaves sequence 1, the new record.
                        self.write_verified(&mut flash, other, &record)?;
                        self.write_verified(
                            &mut flash,
                            slot,
                            &SlotRecord {
                                sequence: 2,
                                ..record
                            },
                        )?;
                    }
                }
            }
        }
        Ok(true)
    }

    /// `false`: source keys are refused on flash. A cell is freed only when its record is
    /// cleared, and no login clears a source (a success refunds only its own count), so every
    /// source that ever failed once would hold a cell for good; nor can the 48-byte record say
    /// that its schedule forgets. On a device, throttle by account or PIN, with
    /// `account_on_device` for authenticated devices (docs/credential-format.md section 8).
    fn keeps_source_records(&self) -> bool {
        false
    }
}

impl<F: RecordFlash> FlashThrottleStore<F> {
    /// Writes `rec` to `slot` and reads it back: a write the part silently dropped must not
    /// count as durable.
    fn write_verified(&self, flash: &mut F, slot: u32, rec: &SlotRecord) -> Result<()> {
        let image = self.codec.encode(slot, rec);
        flash.write_slot(slot, &image).map_err(|_| Error::Store)?;
        let mut check = [0u8; RECORD_LEN];
        flash
            .read_slot(slot, &mut check)
            .map_err(|_| Error::Store)?;
        if check != image {
            return Err(Error::Store);
        }
        Ok(())
    }
}

impl<F: RecordFlash> fmt::Debug for FlashThrottleStore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashThrottleStore").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    #[test]
    fn codec_round_trip_and_tamper() {
        let codec = RecordCodec::new([9; 32]);
        let rec = SlotRecord {
            sequence: 7,
            key: ThrottleKey::from_bytes([3; 16]),
            record: ThrottleRecord {
                failures: 4,
                last_failure_ms: 123_456,
            },
        };
        let img = codec.encode(5, &rec);
        assert_eq!(codec.decode(5, &img), Some(rec));
        for byte in 0..RECORD_LEN {
            for bit in 0..8 {
                let mut t = img;
                t[byte] ^= 1 << bit;
                assert_eq!(codec.decode(5, &t), None, "byte {byte} bit {bit}");
            }
        }
        assert_eq!(codec.decode(5, &[0xFF; RECORD_LEN]), None);
        assert_eq!(RecordCodec::new([8; 32]).decode(5, &img), None);
        // Bound to its slot: invalid in the sibling slot, in any other cell.
        for slot in [0, 1, 4, 6, 7, u32::MAX] {
            assert_eq!(codec.decode(slot, &img), None, "slot {slot}");
        }
    }
}
