//! A compact open-addressing index from id hashes to slab slots: one `u64` per bucket
//! (32 bits of the id hash, 32-bit slot), linear probing, so a lookup reads one cache line
//! of the index before going to the slab. The id hash is SHA-256 output that clients cannot
//! choose, so its bits are uniform and need no further hashing.

use std::vec;
use std::vec::Vec;

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = u64::MAX;
const MIN_BUCKETS: usize = 64;

pub(super) struct SlotIndex {
    buckets: Vec<u64>,
    live: usize,
    tombstones: usize,
}

/// The 32 hash bits an entry keeps; never 0 or `u32::MAX` so that no entry equals `EMPTY`
/// or `TOMBSTONE`.
pub(super) fn tag_of(hash_bytes: &[u8; 32]) -> u32 {
    let [a, b, c, d, ..] = *hash_bytes;
    u32::from_le_bytes([a, b, c, d]).clamp(1, u32::MAX - 1)
}

fn pack(tag: u32, slot: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(slot)
}

fn tag(e: u64) -> u32 {
    (e >> 32) as u32
}

fn slot(e: u64) -> u32 {
    (e & 0xffff_ffff) as u32
}

impl SlotIndex {
    pub(super) fn new() -> Self {
        Self {
            buckets: vec![EMPTY; MIN_BUCKETS],
            live: 0,
            tombstones: 0,
        }
    }

    fn mask(&self) -> usize {
        self.buckets.len().saturating_sub(1)
    }

    /// The slot whose entry `is_key` accepts, among those filed under `tag`.
    pub(super) fn find(&self, tag_bits: u32, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let mask = self.mask();
        let mut pos = tag_bits as usize & mask;
        for _ in 0..self.buckets.len() {
            let e = *self.buckets.get(pos)?;
            if e == EMPTY {
                return None;
            }
            if e != TOMBSTONE && tag(e) == tag_bits && is_key(slot(e)) {
                return Some(slot(e));
            }
            pos = (pos.wrapping_add(1)) & mask;
        }
        None
    }

    /// Files `slot` under `tag` (the caller guarantees the key is not present).
    pub(super) fn insert(&mut self, tag_bits: u32, slot_no: u32) {
        // Keep live + tombstones at most 3/4 of the buckets.
        let used = self.live.saturating_add(self.tombstones).saturating_add(1);
        if used.saturating_mul(4) > self.buckets.len().saturating_mul(3) {
            let want = if self.live.saturating_add(1).saturating_mul(2) > self.buckets.len() {
                self.buckets.len().saturating_mul(2)
            } else {
                self.buckets.len() // mostly tombstones: rebuild at the same size
            };
            self.rebuild(want);
        }
        self.place(pack(tag_bits, slot_no));
        self.live = self.live.saturating_add(1);
    }

    fn place(&mut self, e: u64) {
        let mask = self.mask();
        let mut pos = tag(e) as usize & mask;
        for _ in 0..self.buckets.len() {
            match self.buckets.get_mut(pos) {
                Some(b) if *b == EMPTY || *b == TOMBSTONE => {
                    if *b == TOMBSTONE {
                        self.tombstones = self.tombstones.saturating_sub(1);
                    }
                    *b = e;
                    return;
                }
                _ => pos = (pos.wrapping_add(1)) & mask,
            }
        }
    }

    fn rebuild(&mut self, buckets: usize) {
        let old = core::mem::replace(&mut self.buckets, vec![EMPTY; buckets.max(MIN_BUCKETS)]);
        self.tombstones = 0;
        for e in old {
            if e != EMPTY && e != TOMBSTONE {
                self.place(e);
            }
        }
    }

    /// Removes the entry for `slot_no` filed under `tag`; `true` if it was there.
    pub(super) fn remove(&mut self, tag_bits: u32, slot_no: u32) -> bool {
        let mask = self.mask();
        let mut pos = tag_bits as usize & mask;
        let target = pack(tag_bits, slot_no);
        for _ in 0..self.buckets.len() {
            let Some(b) = self.buckets.get_mut(pos) else {
                return false;
            };
            if *b == EMPTY {
                return false;
            }
            if *b == target {
                *b = TOMBSTONE;
                self.live = self.live.saturating_sub(1);
                self.tombstones = self.tombstones.saturating_add(1);
                return true;
            }
            pos = (pos.wrapping_add(1)) & mask;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        reason = "test code"
    )]
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn behaves_like_a_map_under_churn() {
        // Deliberately colliding tags (few distinct values) and many deletions.
        let mut idx = SlotIndex::new();
        let mut model: HashMap<u32, u32> = HashMap::new(); // slot -> tag
        let mut x = 0x9e37_79b9u32;
        for step in 0..60_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let slot_no = x % 5000;
            let tag_bits = (x % 1021).clamp(1, u32::MAX - 1);
            if let Some(&t) = model.get(&slot_no) {
                if step % 3 == 0 {
                    assert!(idx.remove(t, slot_no));
                    model.remove(&slot_no);
                    assert!(!idx.remove(t, slot_no));
                } else {
                    assert_eq!(idx.find(t, |s| s == slot_no), Some(slot_no));
                }
            } else {
                assert_eq!(idx.find(tag_bits, |s| s == slot_no), None);
                idx.insert(tag_bits, slot_no);
                model.insert(slot_no, tag_bits);
            }
        }
        for (&s, &t) in &model {
            assert_eq!(idx.find(t, |c| c == s), Some(s));
        }
        assert_eq!(idx.live, model.len());
        assert!(idx.buckets.len() <= 4 * 8192);
    }
}
