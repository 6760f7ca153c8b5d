//! Fuzz the throttle state machine: random attempts, successes, refunds, unlocks and clock jumps on
//! several keys, run at once against the fixed-capacity store, the flash store (with power cuts)
//! and an independent reference model. Outcomes must agree and the invariants hold.
//!
//! Two tiny stores (a fixed table of 4 slots, a flash of 2 cells) hold fewer cells than there
//! are keys, so they fill up: a key that has a record must never lose it to another key unless
//! its schedule has forgotten it (the table may then reuse the slot; the flash never does), and
//! a new key finding no room is refused with `Store` without any record changing.
#![no_main]

use std::cell::Cell;
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use medsec_credential::throttle::flash::{FlashError, RecordCodec, RECORD_LEN};
use medsec_credential::throttle::{
    self, Counted, FixedThrottleStore, FlashThrottleStore, RecordFlash, Schedule, ThrottleKey,
    ThrottleRecord, ThrottleStore,
};
use medsec_credential::Error;

struct Flash {
    slots: Vec<[u8; RECORD_LEN]>,
    fail_next_write: Rc<Cell<bool>>,
}

impl RecordFlash for Flash {
    fn slot_count(&self) -> u32 {
        self.slots.len() as u32
    }
    fn read_slot(&mut self, slot: u32, out: &mut [u8; RECORD_LEN]) -> Result<(), FlashError> {
        *out = *self.slots.get(slot as usize).ok_or(FlashError)?;
        Ok(())
    }
    fn write_slot(&mut self, slot: u32, data: &[u8; RECORD_LEN]) -> Result<(), FlashError> {
        let s = self.slots.get_mut(slot as usize).ok_or(FlashError)?;
        if self.fail_next_write.replace(false) {
            // Torn: half of the new bytes over the old ones.
            s[..RECORD_LEN / 2].copy_from_slice(&data[..RECORD_LEN / 2]);
            return Err(FlashError);
        }
        *s = *data;
        Ok(())
    }
}

/// Independent model of the schedule (written from docs/credential-format.md).
struct Model {
    free: u32,
    base: u64,
    max: u64,
    hard: Option<u32>,
    forget: Option<u64>,
}

impl Model {
    fn forgotten(&self, rec: &ThrottleRecord, now: u64) -> bool {
        self.forget
            .is_some_and(|f| now >= rec.last_failure_ms.saturating_add(f))
    }

    /// When the fixed table may reuse the slot: `forget_after` rounded up to whole seconds.
    fn reusable(&self, rec: &ThrottleRecord, now: u64) -> bool {
        match self.forget {
            Some(f) => {
                let secs = f.div_ceil(1_000);
                secs < u64::from(u32::MAX)
                    && now >= rec.last_failure_ms.saturating_add(secs * 1_000)
            }
            None => false,
        }
    }

    fn delay(&self, failures: u32) -> u64 {
        if failures <= self.free {
            return 0;
        }
        let mut d = self.base;
        for _ in 0..(failures - self.free - 1) {
            d = d.saturating_mul(2);
            if d >= self.max {
                return self.max;
            }
        }
        d.min(self.max)
    }

    /// One count given back (docs/credential-format.md section 7): nothing when the count added
    /// nothing (saturated); the record the attempt replaced when the store still holds the one
    /// it wrote; otherwise `(f, last)` becomes `(f - 1, last)`, one failure the clear record,
    /// and a clear record stays clear.
    fn refund(rec: &mut ThrottleRecord, c: &Counted) {
        if c.counted.failures == c.prior.failures {
            return;
        }
        *rec = if *rec == c.counted {
            c.prior
        } else {
            match rec.failures {
                0 | 1 => ThrottleRecord::CLEAR,
                f => ThrottleRecord {
                    failures: f - 1,
                    last_failure_ms: rec.last_failure_ms,
                },
            }
        };
        if rec.failures == 0 {
            *rec = ThrottleRecord::CLEAR;
        }
    }

    fn begin(&self, rec: &mut ThrottleRecord, now: u64) -> Result<(), Error> {
        if self.forgotten(rec, now) {
            *rec = ThrottleRecord::CLEAR;
        }
        if let Some(h) = self.hard {
            if rec.failures >= h {
                return Err(Error::LockedOut);
            }
        }
        let d = self.delay(rec.failures);
        if d > 0 {
            // A clock that went back restarts the wait from the new clock, persisted (so the
            // retry time given is honoured).
            if now < rec.last_failure_ms {
                rec.last_failure_ms = now;
            }
            let retry = rec.last_failure_ms.saturating_add(d);
            if now < retry {
                return Err(Error::Throttled { retry_at_ms: retry });
            }
        }
        rec.failures += 1;
        rec.last_failure_ms = now;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let [free, base, maxd, hard, rest @ ..] = data else {
        return;
    };
    let free = u32::from(*free % 12);
    let base = u64::from(*base).max(1) * 100;
    let max = base * (u64::from(*maxd % 64) + 1);
    let hard = (*hard % 2 == 0).then_some((free + 1 + u32::from(*hard % 20)).min(100));
    // Forget after 1..=8 times the cap, sometimes not on a whole second.
    let forget =
        (data[2] & 0x40 != 0).then(|| max * (u64::from(data[0] >> 5) + 1) + u64::from(data[1] % 3));
    let Ok(schedule) = Schedule::new(free, base, max, hard, forget) else {
        return;
    };
    let model = Model {
        free,
        base,
        max,
        hard,
        forget,
    };
    let fixed = FixedThrottleStore::<64>::new();
    let fail_next_write = Rc::new(Cell::new(false));
    let flash = FlashThrottleStore::new(
        Flash {
            slots: vec![[0xFF; RECORD_LEN]; 16],
            fail_next_write: fail_next_write.clone(),
        },
        RecordCodec::new([7; 32]),
    )
    .expect("flash store");
    // The tiny stores: 4 table slots (every key's window is the whole table), 2 flash cells.
    let tiny_fixed = FixedThrottleStore::<4>::new();
    let tiny_flash = FlashThrottleStore::new(
        Flash {
            slots: vec![[0xFF; RECORD_LEN]; 4],
            fail_next_write: Rc::new(Cell::new(false)),
        },
        RecordCodec::new([8; 32]),
    )
    .expect("flash store");
    let keys: Vec<ThrottleKey> = (0u8..6).map(|i| ThrottleKey::from_bytes([i; 16])).collect();
    let mut records = vec![ThrottleRecord::CLEAR; keys.len()];
    let mut tiny_fixed_records = vec![ThrottleRecord::CLEAR; keys.len()];
    let mut tiny_flash_records = vec![ThrottleRecord::CLEAR; keys.len()];
    let mut now: u64 = 1_000_000;
    // Per store (fixed, flash, tiny fixed, tiny flash) and key: the admitted attempts not yet
    // refunded; a refund gives back the latest.
    let mut pending: Vec<Vec<Vec<Counted>>> = vec![vec![Vec::new(); keys.len()]; 4];

    for chunk in rest.chunks_exact(3) {
        let (op, k, dt) = (chunk[0], usize::from(chunk[1]) % keys.len(), chunk[2]);
        let key = &keys[k];
        match op % 8 {
            // Clock jumps, forwards and (rarely) backwards.
            0 => now = now.saturating_sub(u64::from(dt) * 1_000),
            1 | 2 => now = now.saturating_add(u64::from(dt) * 997),
            3 => now = now.saturating_add(u64::from(dt) * max / 16),
            // Success: clear (an account), or refund one count (a source's verified login).
            4 if dt % 2 == 0 => {
                throttle::clear(&fixed, key).expect("fixed clear");
                throttle::clear(&flash, key).expect("flash clear");
                throttle::clear(&tiny_fixed, key).expect("tiny fixed clear");
                throttle::clear(&tiny_flash, key).expect("tiny flash clear");
                records[k] = ThrottleRecord::CLEAR;
                tiny_fixed_records[k] = ThrottleRecord::CLEAR;
                tiny_flash_records[k] = ThrottleRecord::CLEAR;
            }
            4 => {
                // fixed and flash saw the same attempts, so their pending counts agree.
                let c = pending[0][k].pop();
                assert_eq!(c, pending[1][k].pop());
                if let Some(c) = c {
                    throttle::refund(&fixed, key, &schedule, &c).expect("fixed refund");
                    throttle::refund(&flash, key, &schedule, &c).expect("flash refund");
                    Model::refund(&mut records[k], &c);
                }
                if let Some(c) = pending[2][k].pop() {
                    throttle::refund(&tiny_fixed, key, &schedule, &c).expect("tiny fixed refund");
                    Model::refund(&mut tiny_fixed_records[k], &c);
                }
                if let Some(c) = pending[3][k].pop() {
                    throttle::refund(&tiny_flash, key, &schedule, &c).expect("tiny flash refund");
                    Model::refund(&mut tiny_flash_records[k], &c);
                }
            }
            // A torn write on the flash: the attempt fails closed, the record is old or new.
            5 => {
                fail_next_write.set(true);
                let before = flash.load(key).expect("load");
                let r = throttle::begin(&flash, key, &schedule, now);
                // A refused attempt writes nothing, so the fault may still be armed: disarm it.
                fail_next_write.set(false);
                let after = flash.load(key).expect("load");
                assert!(r.is_err());
                assert_eq!(after, before, "a torn write must leave the old record");
            }
            // Attempts.
            _ => {
                let prior = if model.forgotten(&records[k], now) {
                    ThrottleRecord::CLEAR
                } else {
                    records[k]
                };
                let expected = model.begin(&mut records[k], now);
                let got_fixed = throttle::begin_counted(&fixed, key, &schedule, now);
                let got_flash = throttle::begin_counted(&flash, key, &schedule, now);
                if let Ok(c) = got_fixed {
                    assert_eq!((c.prior, c.counted), (prior, records[k]));
                    pending[0][k].push(c);
                }
                if let Ok(c) = got_flash {
                    pending[1][k].push(c);
                }
                let (got_fixed, got_flash) = (got_fixed.map(|_| ()), got_flash.map(|_| ()));
                assert_eq!(got_fixed, expected);
                assert_eq!(got_flash, expected);
                if let Err(Error::Throttled { retry_at_ms }) = expected {
                    assert!(retry_at_ms > now && retry_at_ms - now <= max);
                }
                // Tiny table: a key without a record needs a free slot or one whose record its
                // schedule forgot (rounded up to whole seconds); otherwise it is refused.
                let room = |recs: &[ThrottleRecord],
                            cap: usize,
                            reuse: &dyn Fn(&ThrottleRecord) -> bool| {
                    !recs[k].is_clear()
                        || recs.iter().filter(|r| !r.is_clear() && !reuse(r)).count() < cap
                };
                let got = throttle::begin_counted(&tiny_fixed, key, &schedule, now);
                if let Ok(c) = got {
                    pending[2][k].push(c);
                }
                let got = got.map(|_| ());
                let fits = room(&tiny_fixed_records, 4, &|r| model.reusable(r, now));
                let mut want = tiny_fixed_records[k];
                let expected = model.begin(&mut want, now);
                if !fits && expected.is_ok() && want != tiny_fixed_records[k] {
                    assert_eq!(got, Err(Error::Store), "tiny table: no room");
                } else {
                    assert_eq!(got, expected, "tiny table");
                    if expected.is_ok() && tiny_fixed_records[k].is_clear() {
                        // The new record may have taken a forgotten record's slot.
                        let taken = (0..keys.len()).find(|&j| {
                            j != k
                                && !tiny_fixed_records[j].is_clear()
                                && tiny_fixed.load(&keys[j]).expect("load").is_clear()
                        });
                        if let Some(j) = taken {
                            assert!(model.reusable(&tiny_fixed_records[j], now));
                            tiny_fixed_records[j] = ThrottleRecord::CLEAR;
                        }
                    }
                    tiny_fixed_records[k] = want;
                }
                // Tiny flash: no reuse at all while a record has failures.
                let got = throttle::begin_counted(&tiny_flash, key, &schedule, now);
                if let Ok(c) = got {
                    pending[3][k].push(c);
                }
                let got = got.map(|_| ());
                let fits = room(&tiny_flash_records, 2, &|_| false);
                let mut want = tiny_flash_records[k];
                let expected = model.begin(&mut want, now);
                if !fits && expected.is_ok() && want != tiny_flash_records[k] {
                    assert_eq!(got, Err(Error::Store), "tiny flash: no room");
                } else {
                    assert_eq!(got, expected, "tiny flash");
                    tiny_flash_records[k] = want;
                }
            }
        }
        for (i, key) in keys.iter().enumerate() {
            // A record is never lost to another key: only its own schedule forgets it.
            assert_eq!(tiny_fixed.load(key).expect("load"), tiny_fixed_records[i]);
            assert_eq!(tiny_flash.load(key).expect("load"), tiny_flash_records[i]);
        }
        assert_eq!(flash.load(key).expect("load"), records[k]);
        for (i, key) in keys.iter().enumerate() {
            let f = fixed.load(key).expect("load");
            assert_eq!(f, records[i]);
            if let Some(h) = hard {
                assert!(f.failures <= h);
            }
        }
    }
});
