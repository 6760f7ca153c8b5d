//! Header and keyring-file parsing on arbitrary bytes: never panics, and whatever parses is
//! internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medsec_envelope::{HeaderView, Keyring, Limits};

fuzz_target!(|data: &[u8]| {
    if let Ok(view) = HeaderView::parse(data, &Limits::DEFAULT) {
        assert!(view.len() <= data.len());
        assert!(view.recipient_count() >= 1);
        assert_eq!(view.recipients().count(), view.recipient_count());
        for entry in view.stored_context() {
            assert!(!entry.key.is_empty());
        }
        let _ = view.chunk_size();
    }
    let _ = medsec_envelope::peek_header_len(data);
    if let Ok(keyring) = Keyring::from_bytes(data) {
        // A parsed keyring serializes back to the same bytes.
        assert_eq!(&keyring.to_bytes()[..], data);
    }
});
