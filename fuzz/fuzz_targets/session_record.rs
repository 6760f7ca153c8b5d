//! Stored-session record decoding (`docs/session-format.md` §5) and session-id text parsing.
//!
//! Random bytes almost never carry a valid MAC, so half the inputs get one computed here
//! (with `hmac`/`sha2` directly, from the spec) to drive the field parser itself. Whatever
//! decodes must re-encode to the identical bytes (one canonical encoding).
#![no_main]

use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use medsec_session::record::{decode, encode};
use medsec_session::{IdHash, RecordKey, SessionId};
use sha2::Sha256;

const KEY: [u8; 32] = [0x33; 32];
const ID_HASH: [u8; 32] = [0x77; 32];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let key = RecordKey::from_bytes(KEY);
    let h = IdHash::from_bytes(ID_HASH);
    match mode % 3 {
        0 => {
            // Raw bytes as stored: must never panic; essentially always rejected.
            let _ = decode(&key, &h, rest);
        }
        1 => {
            // Arbitrary body with an authentic MAC: exercises every field rule.
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&KEY).unwrap();
            mac.update(b"medsec-session/v1/record\0");
            mac.update(&ID_HASH);
            mac.update(rest);
            let mut record = rest.to_vec();
            record.extend_from_slice(&mac.finalize().into_bytes());
            if let Ok((meta, sealed)) = decode(&key, &h, &record) {
                let again = encode(&key, &h, &meta, sealed).expect("decoded records re-encode");
                assert_eq!(again, record, "non-canonical record accepted");
            }
        }
        _ => {
            if let Ok(text) = core::str::from_utf8(rest) {
                if let Ok(id) = SessionId::decode(text) {
                    assert_eq!(id.encode().as_str(), text, "non-canonical id text accepted");
                }
            }
        }
    }
});
