//! Round trips as properties, and the providers agreeing byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use std::io::{Read, Write};

use medsec_envelope::{
    Context, Kek, KeyId, Opener, OpeningReader, RecipientSecretKey, Sealer, SealingWriter, Suite,
};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn suite() -> impl Strategy<Value = Suite> {
    prop_oneof![Just(Suite::Aes256GcmSiv), Just(Suite::Aes256Gcm)]
}

fn context_entries() -> impl Strategy<Value = Vec<(String, Vec<u8>, bool)>> {
    proptest::collection::btree_map(
        "[a-z0-9._-]{1,32}",
        (proptest::collection::vec(any::<u8>(), 0..64), any::<bool>()),
        0..6,
    )
    .prop_map(|m| m.into_iter().map(|(k, (v, s))| (k, v, s)).collect())
}

fn build<'a>(entries: &'a [(String, Vec<u8>, bool)]) -> Context<'a> {
    let mut c = Context::new();
    for (k, v, stored) in entries {
        c = if *stored {
            c.with_custom_stored(k, v)
        } else {
            c.with_custom(k, v)
        }
        .unwrap();
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn one_shot_round_trip(
        suite in suite(),
        seed in any::<[u8; 32]>(),
        entries in context_entries(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..5000),
        with_hpke in any::<bool>(),
    ) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let kek = Kek::generate(&mut rng);
        let sk = RecipientSecretKey::generate(KeyId::new(b"r").unwrap(), &mut rng);
        let pk = sk.public_key();
        let ctx = build(&entries);
        let mut sealer = Sealer::new().suite(suite).context(ctx).key_wrap(&kek).unwrap();
        if with_hpke {
            sealer = sealer.recipient(&pk).unwrap();
        }
        let sealed = sealer.seal(&plaintext, &mut rng).unwrap();
        prop_assert_eq!(sealed.len(), sealer.sealed_len(plaintext.len()).unwrap());
        prop_assert_eq!(&Opener::new(&kek).context(ctx).open(&sealed).unwrap()[..], &plaintext[..]);
        if with_hpke {
            prop_assert_eq!(&Opener::new(&sk).context(ctx).open(&sealed).unwrap()[..], &plaintext[..]);
        }
        // In place, both directions, agrees with the Vec API's format.
        let mut buf = vec![0u8; sealer.sealed_len(plaintext.len()).unwrap()];
        let hl = sealer.header_len().unwrap();
        buf[hl..hl + plaintext.len()].copy_from_slice(&plaintext);
        sealer.seal_in_place(&mut buf, plaintext.len(), &mut rng).unwrap();
        let opened = Opener::new(&kek).context(ctx).open_in_place(&mut buf).unwrap();
        prop_assert_eq!(&opened[..], &plaintext[..]);
        // The stored entries are readable from the clear header, and only those.
        let view = medsec_envelope::HeaderView::parse(&sealed, &Default::default()).unwrap();
        let stored: Vec<_> = view.stored_context().map(|e| (e.key.to_owned(), e.value.to_vec())).collect();
        let expected: Vec<_> = entries.iter().filter(|e| e.2).map(|e| (e.0.clone(), e.1.clone())).collect();
        prop_assert_eq!(stored, expected);
    }

    #[test]
    fn stream_round_trip(
        suite in suite(),
        seed in any::<[u8; 32]>(),
        chunk_size in 4096u32..=8192,
        plaintext in proptest::collection::vec(any::<u8>(), 0..30_000),
        write_size in 1usize..10_000,
    ) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let kek = Kek::generate(&mut rng);
        let sealer = Sealer::new().suite(suite).key_wrap(&kek).unwrap();
        let mut w = SealingWriter::new(&sealer, chunk_size, Vec::new(), &mut rng).unwrap();
        for piece in plaintext.chunks(write_size) {
            w.write_all(piece).unwrap();
        }
        let sealed = w.finish().unwrap();
        let opener = Opener::new(&kek);
        let mut out = Vec::new();
        OpeningReader::new(&opener, &sealed[..]).unwrap().read_to_end(&mut out).unwrap();
        prop_assert_eq!(out, plaintext);
    }
}

#[cfg(feature = "aws-lc")]
mod providers_agree {
    use super::*;
    use medsec_envelope::provider::{AwsLc, AwsLcUnwipedHpke, RustCrypto};

    /// As `AwsLcUnwipedHpke` documents, its HPKE ephemeral keys come from aws-lc, not from the
    /// caller's `rng`, which is not drawn from for them: the same seed gives the same data key,
    /// salt and KEK slot (placed after the HPKE slot, so it would move if the rng were drawn
    /// from) but a fresh `enc` each time; the RustCrypto and default aws-lc providers' envelopes
    /// are reproducible from the seed.
    #[test]
    fn unwiped_hpke_ephemeral_keys_do_not_come_from_the_callers_rng() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let kek = Kek::generate(&mut rng);
        let sk = RecipientSecretKey::generate(KeyId::new(b"backend").unwrap(), &mut rng);
        let pk = sk.public_key();
        let seal = |aws_lc: bool| {
            let mut rng = ChaCha20Rng::from_seed([5; 32]);
            if aws_lc {
                let s = Sealer::with_provider(AwsLcUnwipedHpke)
                    .recipient(&pk)
                    .unwrap();
                s.key_wrap(&kek)
                    .unwrap()
                    .seal(b"reading", &mut rng)
                    .unwrap()
            } else {
                let s = Sealer::with_provider(RustCrypto).recipient(&pk).unwrap();
                s.key_wrap(&kek)
                    .unwrap()
                    .seal(b"reading", &mut rng)
                    .unwrap()
            }
        };
        let slots = |envelope: &[u8]| -> Vec<Vec<u8>> {
            medsec_envelope::HeaderView::parse(envelope, &medsec_envelope::Limits::DEFAULT)
                .unwrap()
                .recipients()
                .map(|s| s.wrapped().to_vec())
                .collect()
        };
        let (a, b, rc) = (seal(true), seal(true), seal(false));
        assert_eq!(seal(false), rc, "RustCrypto: reproducible from the seed");
        // The default aws-lc provider seals HPKE slots with the same pure-Rust HPKE: identical.
        let aws_default = Sealer::with_provider(AwsLc)
            .recipient(&pk)
            .unwrap()
            .key_wrap(&kek)
            .unwrap()
            .seal(b"reading", &mut ChaCha20Rng::from_seed([5; 32]))
            .unwrap();
        assert_eq!(
            aws_default, rc,
            "AwsLc: byte-identical to RustCrypto, HPKE slots included"
        );
        // Magic through commitment (section 6): the data key and salt come from the rng.
        assert_eq!(a[..76], b[..76]);
        assert_eq!(a[..76], rc[..76]);
        let (sa, sb, src) = (slots(&a), slots(&b), slots(&rc));
        assert_ne!(sa[0][..32], sb[0][..32], "a fresh ephemeral key per seal");
        assert_eq!(
            sa[1], sb[1],
            "the KEK slot's randomness is the rng's next draw"
        );
        assert_ne!(sa[1], src[1], "RustCrypto drew ikmE from the rng first");
        for envelope in [&a, &b, &rc] {
            for key in [&sk as &dyn medsec_envelope::Unwrap, &kek] {
                assert_eq!(&Opener::new(key).open(envelope).unwrap()[..], b"reading");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Same inputs and randomness: byte-identical envelopes from both providers, and each
        /// opens the other's.
        #[test]
        fn byte_identical(
            suite in suite(),
            seed in any::<[u8; 32]>(),
            plaintext in proptest::collection::vec(any::<u8>(), 0..20_000),
        ) {
            let kek = Kek::generate(&mut ChaCha20Rng::from_seed([1; 32]));
            let rc = Sealer::with_provider(RustCrypto).suite(suite).key_wrap(&kek).unwrap()
                .seal(&plaintext, &mut ChaCha20Rng::from_seed(seed)).unwrap();
            let aws = Sealer::with_provider(AwsLc).suite(suite).key_wrap(&kek).unwrap()
                .seal(&plaintext, &mut ChaCha20Rng::from_seed(seed)).unwrap();
            prop_assert_eq!(&rc, &aws);
            prop_assert_eq!(&Opener::with_provider(AwsLc, &kek).open(&rc).unwrap()[..], &plaintext[..]);
            prop_assert_eq!(&Opener::with_provider(RustCrypto, &kek).open(&aws).unwrap()[..], &plaintext[..]);

            // Streams too.
            let seal_stream = |aws_lc: bool| {
                let mut rng = ChaCha20Rng::from_seed(seed);
                let mut out = Vec::new();
                if aws_lc {
                    let s = Sealer::with_provider(AwsLc).suite(suite).key_wrap(&kek).unwrap();
                    let mut w = SealingWriter::new(&s, 4096, &mut out, &mut rng).unwrap();
                    w.write_all(&plaintext).unwrap();
                    w.finish().unwrap();
                } else {
                    let s = Sealer::with_provider(RustCrypto).suite(suite).key_wrap(&kek).unwrap();
                    let mut w = SealingWriter::new(&s, 4096, &mut out, &mut rng).unwrap();
                    w.write_all(&plaintext).unwrap();
                    w.finish().unwrap();
                }
                out
            };
            prop_assert_eq!(seal_stream(false), seal_stream(true));
        }

        /// HPKE slots sealed through rustls's aws-lc HPKE (`AwsLcUnwipedHpke`) open through the
        /// pure-Rust `hpke` crate and vice versa, next to a KEK slot; a flipped bit anywhere in
        /// the header fails for everyone.
        #[test]
        fn aws_lc_hpke_wraps_open_with_the_rust_hpke(
            suite in suite(),
            seed in any::<[u8; 32]>(),
            plaintext in proptest::collection::vec(any::<u8>(), 0..2_000),
            flip in any::<prop::sample::Index>(),
        ) {
            let mut rng = ChaCha20Rng::from_seed(seed);
            let kek = Kek::generate(&mut rng);
            let backend = RecipientSecretKey::generate(KeyId::new(b"backend").unwrap(), &mut rng);
            let glass = RecipientSecretKey::generate(KeyId::new(b"break-glass").unwrap(), &mut rng);
            let (backend_pk, glass_pk) = (backend.public_key(), glass.public_key());
            let context = Context::new().with(medsec_envelope::ContextField::Patient, b"p-1").unwrap();
            let sealer = Sealer::with_provider(AwsLcUnwipedHpke).suite(suite).context(context)
                .recipient(&backend_pk).unwrap()
                .key_wrap(&kek).unwrap()
                .recipient(&glass_pk).unwrap();
            let sealed = sealer.seal(&plaintext, &mut rng).unwrap();
            prop_assert_eq!(sealed.len(), Sealer::with_provider(RustCrypto).suite(suite).context(context)
                .recipient(&backend_pk).unwrap().key_wrap(&kek).unwrap().recipient(&glass_pk).unwrap()
                .sealed_len(plaintext.len()).unwrap());
            for key in [&backend as &dyn medsec_envelope::Unwrap, &glass, &kek] {
                prop_assert_eq!(&Opener::with_provider(RustCrypto, key).context(context).open(&sealed).unwrap()[..], &plaintext[..]);
                prop_assert_eq!(&Opener::with_provider(AwsLcUnwipedHpke, key).context(context).open(&sealed).unwrap()[..], &plaintext[..]);
                prop_assert!(Opener::with_provider(AwsLcUnwipedHpke, key).open(&sealed).is_err(), "context is bound");
            }
            // And the other way: pure-Rust HPKE slots open through rustls's aws-lc HPKE.
            let rust_sealed = Sealer::with_provider(RustCrypto).suite(suite).context(context)
                .recipient(&backend_pk).unwrap()
                .recipient(&glass_pk).unwrap()
                .seal(&plaintext, &mut rng).unwrap();
            for key in [&backend as &dyn medsec_envelope::Unwrap, &glass] {
                prop_assert_eq!(&Opener::with_provider(AwsLcUnwipedHpke, key).context(context).open(&rust_sealed).unwrap()[..], &plaintext[..]);
            }
            let hl = Sealer::with_provider(RustCrypto).context(context)
                .recipient(&backend_pk).unwrap().recipient(&glass_pk).unwrap()
                .header_len().unwrap();
            let bit = flip.index(hl * 8);
            let mut bad = rust_sealed.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            for key in [&backend as &dyn medsec_envelope::Unwrap, &glass] {
                prop_assert!(Opener::with_provider(AwsLcUnwipedHpke, key).context(context).open(&bad).is_err());
            }
            // Two seals of the same input differ (fresh ephemeral keys and data keys).
            prop_assert_ne!(&sealed, &sealer.seal(&plaintext, &mut rng).unwrap());
            let header_len = sealer.header_len().unwrap();
            let bit = flip.index(header_len * 8);
            let mut tampered = sealed.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            for key in [&backend as &dyn medsec_envelope::Unwrap, &glass, &kek] {
                prop_assert!(Opener::with_provider(RustCrypto, key).context(context).open(&tampered).is_err());
            }
        }
    }
}
