//! A repeating random generator is reported as what it is: every refusal of a fresh id
//! (`docs/session-format.md` §6.2, §6.4) logs one error event naming the generator, at login
//! and at rotation alike, including a rotation that draws the handle's own id.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use std::sync::{Arc, Mutex};

use medsec_session::store::MemoryStore;
use medsec_session::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Collects every event's level and message.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn core::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), m.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    /// Error events about a repeating generator since the last call.
    fn generator_failures(&self) -> usize {
        let mut events = self.0.lock().unwrap();
        let n = events
            .iter()
            .filter(|(level, m)| *level == Level::ERROR && m.contains("random generator"))
            .count();
        events.clear();
        n
    }
}

#[test]
fn every_refused_fresh_id_is_logged_as_a_generator_failure() {
    // The only test in this binary: the global subscriber is this one's.
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).unwrap();
    {
        let clock = ManualClock::new(Timestamp::from_secs(1_767_225_600));
        let s = Sessions::new(
            MemoryStore::new(),
            clock,
            DataSecret::from_bytes([7; 32]),
            SessionPolicy::BACKEND_L3,
        )
        .unwrap();
        let repeating = || ChaCha20Rng::seed_from_u64(31);
        let alice = UserId::new("alice").unwrap();
        let bob = UserId::new("bob").unwrap();
        let drawn = SessionId::generate(&mut repeating());

        // Login whose pre-login id is the id it draws.
        let e = s.login(&mut repeating(), &alice, Role::Patient, None, Some(&drawn));
        assert_eq!(e.unwrap_err(), Error::Unavailable);
        assert_eq!(capture.generator_failures(), 1);

        // Login drawing a stored session's id.
        let e = s
            .login(&mut repeating(), &alice, Role::Patient, None, None)
            .unwrap();
        let a = s.activate(e, None).unwrap();
        assert_eq!(capture.generator_failures(), 0);
        let e = s.login(&mut repeating(), &bob, Role::Patient, None, None);
        assert_eq!(e.unwrap_err(), Error::Unavailable);
        assert_eq!(capture.generator_failures(), 1);

        // Rotation drawing the handle's own id: nothing written, the id keeps working.
        let version = a.meta().version;
        assert_eq!(
            s.rotate(&mut repeating(), a).unwrap_err(),
            Error::Unavailable
        );
        assert_eq!(capture.generator_failures(), 1);
        assert_eq!(
            s.store().load(&drawn.id_hash()).unwrap().unwrap().version,
            version
        );
        assert!(s.resume(&drawn, None).is_ok());
        assert_eq!(capture.generator_failures(), 0);
    }
}
