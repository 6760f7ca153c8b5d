//! Rotating a public-key recipient: `RecipientPublicKey::rewrap` moves an envelope from a
//! retired HPKE key to its successor without touching the body.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use std::io::Write;

use medsec_envelope::{
    peek_header_len, Context, ContextField, Error, HeaderView, Kek, KeyId, Limits, Opener,
    RecipientSecretKey, Sealer, SealingWriter, SlotKind, Suite, Unwrap,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed([9; 32])
}

fn context() -> Context<'static> {
    Context::new()
        .with(ContextField::Patient, b"p-7f3a9c")
        .unwrap()
        .with_stored(ContextField::RecordKind, b"cgm")
        .unwrap()
}

struct Parties {
    kek: Kek,
    old: RecipientSecretKey,
    new: RecipientSecretKey,
    glass: RecipientSecretKey,
}

fn parties(rng: &mut ChaCha20Rng) -> Parties {
    Parties {
        kek: Kek::generate(rng),
        old: RecipientSecretKey::generate(KeyId::new(b"backend-2026").unwrap(), rng),
        new: RecipientSecretKey::generate(KeyId::new(b"backend-2027").unwrap(), rng),
        glass: RecipientSecretKey::generate(KeyId::new(b"break-glass").unwrap(), rng),
    }
}

fn slot_ids(envelope: &[u8]) -> Vec<(SlotKind, Vec<u8>)> {
    HeaderView::parse(envelope, &Limits::DEFAULT)
        .unwrap()
        .recipients()
        .map(|s| (s.kind(), s.key_id().to_vec()))
        .collect()
}

/// The retired key's slot becomes the new key's, in place; the body is byte-identical; the
/// new key, the break-glass key and the KEK open it; the retired key no longer does.
#[test]
fn rotation_replaces_the_slot_and_keeps_the_body() {
    let mut rng = rng();
    let p = parties(&mut rng);
    let (old_pk, new_pk, glass_pk) = (p.old.public_key(), p.new.public_key(), p.glass.public_key());
    for suite in [Suite::Aes256GcmSiv, Suite::Aes256Gcm] {
        let sealed = Sealer::new()
            .suite(suite)
            .context(context())
            .recipient(&old_pk)
            .unwrap()
            .key_wrap(&p.kek)
            .unwrap()
            .recipient(&glass_pk)
            .unwrap()
            .seal(b"glucose 5.4 mmol/L", &mut rng)
            .unwrap();
        // The backend rotates with its retired secret key; a KEK holder could do it as well.
        for rotator in [&p.old as &dyn Unwrap, &p.kek] {
            let opener = Opener::new(rotator).context(context());
            let rotated = new_pk
                .rewrap(&opener, &sealed, &p.old.id(), &mut rng)
                .unwrap();
            let (old_hl, new_hl) = (
                peek_header_len(&sealed).unwrap(),
                peek_header_len(&rotated).unwrap(),
            );
            assert_eq!(&sealed[old_hl..], &rotated[new_hl..], "body untouched");
            assert_eq!(
                slot_ids(&rotated),
                vec![
                    (SlotKind::Hpke, b"backend-2027".to_vec()),
                    (SlotKind::Kek, p.kek.id().as_bytes().to_vec()),
                    (SlotKind::Hpke, b"break-glass".to_vec()),
                ]
            );
            for key in [&p.new as &dyn Unwrap, &p.glass, &p.kek] {
                let opened = Opener::new(key).context(context()).open(&rotated).unwrap();
                assert_eq!(&opened[..], b"glucose 5.4 mmol/L");
            }
            assert_eq!(
                Opener::new(&p.old)
                    .context(context())
                    .open(&rotated)
                    .unwrap_err(),
                Error::NoMatchingKey
            );
        }
    }
}

/// Streams rotate too: the header is rewritten, the chunks are copied through and still open.
#[test]
fn streamed_envelopes_rotate() {
    let mut rng = rng();
    let p = parties(&mut rng);
    let old_pk = p.old.public_key();
    let sealer = Sealer::new().context(context()).recipient(&old_pk).unwrap();
    let plaintext: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let mut sealed = Vec::new();
    let mut w = SealingWriter::new(&sealer, 4096, &mut sealed, &mut rng).unwrap();
    w.write_all(&plaintext).unwrap();
    w.finish().unwrap();
    let opener = Opener::new(&p.old).context(context());
    let rotated = p
        .new
        .public_key()
        .rewrap(&opener, &sealed, &p.old.id(), &mut rng)
        .unwrap();
    let mut out = Vec::new();
    let new_opener = Opener::new(&p.new).context(context());
    std::io::Read::read_to_end(
        &mut medsec_envelope::OpeningReader::new(&new_opener, &rotated[..]).unwrap(),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, plaintext);
}

/// Rotation verifies what it rewrites: the wrong context, a tampered header, a refused suite
/// or an envelope without the retired key's slot produce no output; a bit flipped anywhere in
/// the result fails for every recipient.
#[test]
fn rotation_refuses_what_does_not_verify() {
    let mut rng = rng();
    let p = parties(&mut rng);
    let (old_pk, new_pk) = (p.old.public_key(), p.new.public_key());
    let sealed = Sealer::new()
        .context(context())
        .recipient(&old_pk)
        .unwrap()
        .key_wrap(&p.kek)
        .unwrap()
        .seal(b"reading", &mut rng)
        .unwrap();
    let opener = Opener::new(&p.old).context(context());

    let wrong = Opener::new(&p.old);
    assert_eq!(
        new_pk.rewrap(&wrong, &sealed, &p.old.id(), &mut rng),
        Err(Error::DidNotVerify)
    );
    let header_len = peek_header_len(&sealed).unwrap();
    for bit in 0..header_len * 8 {
        let mut tampered = sealed.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        assert!(
            new_pk
                .rewrap(&opener, &tampered, &p.old.id(), &mut rng)
                .is_err(),
            "header bit {bit} flipped and still rotated"
        );
    }
    let strict = Opener::new(&p.old)
        .context(context())
        .policy(medsec_envelope::SuitePolicy::APPROVED_ONLY);
    assert_eq!(
        new_pk.rewrap(&strict, &sealed, &p.old.id(), &mut rng),
        Err(Error::DidNotVerify)
    );
    assert_eq!(
        new_pk.rewrap(&opener, &sealed, &KeyId::new(b"nobody").unwrap(), &mut rng),
        Err(Error::NoMatchingKey)
    );

    let rotated = new_pk
        .rewrap(&opener, &sealed, &p.old.id(), &mut rng)
        .unwrap();
    let rotated_hl = peek_header_len(&rotated).unwrap();
    for bit in (0..rotated.len() * 8).step_by(7) {
        let mut tampered = rotated.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        for key in [&p.new as &dyn Unwrap, &p.kek] {
            assert!(
                Opener::new(key).context(context()).open(&tampered).is_err(),
                "bit {bit} (header {rotated_hl} B) flipped and still opened"
            );
        }
    }
}

/// A key that already has a slot is not added twice; rotating a key to itself re-wraps it.
#[test]
fn no_duplicate_recipient_slots() {
    let mut rng = rng();
    let p = parties(&mut rng);
    let (old_pk, new_pk) = (p.old.public_key(), p.new.public_key());
    let sealed = Sealer::new()
        .recipient(&old_pk)
        .unwrap()
        .recipient(&new_pk)
        .unwrap()
        .seal(b"x", &mut rng)
        .unwrap();
    let opener = Opener::new(&p.old);
    assert!(matches!(
        new_pk.rewrap(&opener, &sealed, &p.old.id(), &mut rng),
        Err(Error::InvalidConfiguration(_))
    ));
    let same = old_pk
        .rewrap(&opener, &sealed, &p.old.id(), &mut rng)
        .unwrap();
    assert_ne!(same, sealed, "a fresh HPKE wrap");
    assert_eq!(&Opener::new(&p.old).open(&same).unwrap()[..], b"x");
    assert_eq!(&Opener::new(&p.new).open(&same).unwrap()[..], b"x");
}

/// Under `AwsLcUnwipedHpke` the old slot is opened and the new one computed by rustls's aws-lc
/// HPKE; the result opens through the pure-Rust `hpke` crate.
#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_provider_rotates_interoperably() {
    use medsec_envelope::provider::AwsLcUnwipedHpke;
    let mut rng = rng();
    let p = parties(&mut rng);
    let sealed = Sealer::new()
        .context(context())
        .recipient(&p.old.public_key())
        .unwrap()
        .seal(b"reading", &mut rng)
        .unwrap();
    let opener = Opener::with_provider(AwsLcUnwipedHpke, &p.old).context(context());
    let rotated = p
        .new
        .public_key()
        .rewrap(&opener, &sealed, &p.old.id(), &mut rng)
        .unwrap();
    let opened = Opener::new(&p.new)
        .context(context())
        .open(&rotated)
        .unwrap();
    assert_eq!(&opened[..], b"reading");
}

/// A recipient added later (a new break-glass custodian) gets a slot after the existing ones;
/// the body is untouched and everyone opens it. Adding a key that has a slot, adding past the
/// recipient cap, or adding to an envelope that does not verify writes nothing.
#[test]
fn a_recipient_can_be_added_later() {
    let mut rng = rng();
    let p = parties(&mut rng);
    let (old_pk, glass_pk) = (p.old.public_key(), p.glass.public_key());
    let sealed = Sealer::new()
        .context(context())
        .key_wrap(&p.kek)
        .unwrap()
        .recipient(&old_pk)
        .unwrap()
        .seal(b"reading", &mut rng)
        .unwrap();
    let opener = Opener::new(&p.kek).context(context());
    let added = glass_pk.add_to(&opener, &sealed, &mut rng).unwrap();
    let (old_hl, new_hl) = (
        peek_header_len(&sealed).unwrap(),
        peek_header_len(&added).unwrap(),
    );
    assert_eq!(&sealed[old_hl..], &added[new_hl..], "body untouched");
    assert_eq!(
        slot_ids(&added),
        vec![
            (SlotKind::Kek, p.kek.id().as_bytes().to_vec()),
            (SlotKind::Hpke, b"backend-2026".to_vec()),
            (SlotKind::Hpke, b"break-glass".to_vec()),
        ]
    );
    for key in [&p.kek as &dyn Unwrap, &p.old, &p.glass] {
        let opened = Opener::new(key).context(context()).open(&added).unwrap();
        assert_eq!(&opened[..], b"reading");
    }
    // Already a recipient.
    assert!(matches!(
        glass_pk.add_to(&opener, &added, &mut rng),
        Err(Error::InvalidConfiguration(_))
    ));
    // Does not verify: wrong context, or a flipped header bit.
    assert_eq!(
        glass_pk.add_to(&Opener::new(&p.kek), &sealed, &mut rng),
        Err(Error::DidNotVerify)
    );
    for bit in 0..old_hl * 8 {
        let mut tampered = sealed.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        assert!(
            glass_pk.add_to(&opener, &tampered, &mut rng).is_err(),
            "bit {bit}"
        );
    }
    // The cap: eight slots, then no more.
    let mut full = sealed.clone();
    for i in 0..6u8 {
        let id = KeyId::new(&[b'r', b'0' + i]).unwrap();
        let pk = RecipientSecretKey::generate(id, &mut rng).public_key();
        full = pk.add_to(&opener, &full, &mut rng).unwrap();
    }
    assert_eq!(slot_ids(&full).len(), 8);
    assert_eq!(
        glass_pk.add_to(&opener, &full, &mut rng),
        Err(Error::InvalidConfiguration("too many recipients"))
    );
    assert_eq!(
        &Opener::new(&p.kek).context(context()).open(&full).unwrap()[..],
        b"reading"
    );
}

/// The caller-mistake errors ("already has a slot", "too many recipients") are reported only for
/// a header that verified: with any one header bit flipped, rotating into an existing slot,
/// adding a key twice or adding to a full envelope gives the opaque error (or `NoMatchingKey`
/// when the flip leaves no slot for the keys), never a hint about the unverified bytes.
#[test]
fn caller_mistakes_are_reported_only_for_verified_headers() {
    let mut rng = rng();
    let p = parties(&mut rng);
    let (old_pk, new_pk, glass_pk) = (p.old.public_key(), p.new.public_key(), p.glass.public_key());
    let both = Sealer::new()
        .context(context())
        .key_wrap(&p.kek)
        .unwrap()
        .recipient(&old_pk)
        .unwrap()
        .recipient(&new_pk)
        .unwrap()
        .seal(b"reading", &mut rng)
        .unwrap();
    let others: Vec<_> = (0..6u8)
        .map(|i| {
            let id = KeyId::new(&[b'r', b'0' + i]).unwrap();
            RecipientSecretKey::generate(id, &mut rng).public_key()
        })
        .collect();
    let mut sealer = Sealer::new()
        .context(context())
        .key_wrap(&p.kek)
        .unwrap()
        .recipient(&old_pk)
        .unwrap();
    for pk in &others {
        sealer = sealer.recipient(pk).unwrap();
    }
    let full = sealer.seal(b"reading", &mut rng).unwrap();
    let opener = Opener::new(&p.kek).context(context());
    type Attempt<'a> = &'a dyn Fn(&[u8], &mut ChaCha20Rng) -> Result<Vec<u8>, Error>;
    let rotate_into_existing: Attempt<'_> = &|e, rng| new_pk.rewrap(&opener, e, &p.old.id(), rng);
    let add_twice: Attempt<'_> = &|e, rng| new_pk.add_to(&opener, e, rng);
    let add_to_full: Attempt<'_> = &|e, rng| glass_pk.add_to(&opener, e, rng);
    for (envelope, attempt) in [
        (&both, rotate_into_existing),
        (&both, add_twice),
        (&full, add_to_full),
    ] {
        assert!(matches!(
            attempt(envelope, &mut rng),
            Err(Error::InvalidConfiguration(_))
        ));
        let header_len = peek_header_len(envelope).unwrap();
        for bit in 0..header_len * 8 {
            let mut tampered = envelope.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            let result = attempt(&tampered, &mut rng);
            assert!(
                matches!(result, Err(Error::DidNotVerify | Error::NoMatchingKey)),
                "header bit {bit} flipped: {result:?}"
            );
        }
    }
}
