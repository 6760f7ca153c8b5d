//! Property tests: every well-formed record round-trips byte-exactly, every id round-trips
//! through its text form, and decoding arbitrary bytes never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use medsec_session::record::{self, decode, encode};
use medsec_session::*;
use proptest::prelude::*;

fn meta_strategy() -> impl Strategy<Value = (SessionMeta, Vec<u8>)> {
    (
        (
            1u64..=record::MAX_VERSION,
            "[a-z0-9\\-|@.\u{e9}\u{1F489}]{1,32}",
            1u64..=5,
            any::<bool>(),
        ),
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            1u64..=u64::MAX,
            any::<u64>(),
            any::<u64>(),
        ),
        (
            proptest::option::of(any::<[u8; 32]>()),
            prop_oneof![Just(0usize), 29usize..200],
        ),
    )
        .prop_map(
            |((version, user, role, active), (c, a, l, idle, abs, elev), (binding, data_len))| {
                let meta = SessionMeta {
                    version,
                    user: UserId::new(&user).unwrap(),
                    role: Role::from_code(role).unwrap(),
                    state: if active {
                        StoredState::Active
                    } else {
                        StoredState::Established
                    },
                    created_at: Timestamp::from_millis(c),
                    authenticated_at: Timestamp::from_millis(a),
                    last_seen: Timestamp::from_millis(l),
                    idle_timeout_ms: idle,
                    absolute_deadline: Timestamp::from_millis(abs),
                    elevated_until: Timestamp::from_millis(elev),
                    binding,
                    data_len: data_len as u32,
                };
                (meta, vec![0xA5; data_len])
            },
        )
}

proptest! {
    #[test]
    fn records_round_trip((meta, data) in meta_strategy(), key in any::<[u8; 32]>(), h in any::<[u8; 32]>()) {
        let key = RecordKey::from_bytes(key);
        let h = IdHash::from_bytes(h);
        let enc = encode(&key, &h, &meta, &data).unwrap();
        prop_assert_eq!(enc.len(), meta.encoded_len());
        let (back, d) = decode(&key, &h, &enc).unwrap();
        prop_assert_eq!(back, meta);
        prop_assert_eq!(d, data.as_slice());
        prop_assert_eq!(encode(&key, &h, &back, d).unwrap(), enc);
    }

    #[test]
    fn versions_past_the_signed_column_are_never_written(
        (meta, data) in meta_strategy(),
        version in (record::MAX_VERSION + 1)..=u64::MAX,
    ) {
        let (key, h) = (RecordKey::from_bytes([1; 32]), IdHash::from_bytes([2; 32]));
        let mut meta = meta;
        meta.version = version;
        prop_assert_eq!(encode(&key, &h, &meta, &data), Err(Error::InvalidInput));
    }

    #[test]
    fn ids_round_trip_through_text(bytes in any::<[u8; 32]>()) {
        let id = SessionId::from_bytes(bytes);
        let text = id.encode();
        let back = SessionId::decode(text.as_str()).unwrap();
        prop_assert_eq!(back.as_bytes(), &bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in "\\PC{0,60}") {
        let key = RecordKey::from_bytes([1; 32]);
        let _ = decode(&key, &IdHash::from_bytes([2; 32]), &bytes);
        if let Ok(id) = SessionId::decode(&text) {
            let again = id.encode();
            prop_assert_eq!(again.as_str(), text.as_str());
        }
    }
}
