//! Hostile inputs: every bit flip, every truncation, swapped fields, wrong keys and contexts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use medsec_envelope::{
    Context, ContextField, Error, Kek, KeyId, Keyring, Opener, RecipientSecretKey, Sealer, Suite,
    SuitePolicy, Unwrap, UnwrapAny,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed([7; 32])
}

fn ctx() -> Context<'static> {
    Context::new()
        .with(ContextField::Patient, b"p-7f3a9c")
        .unwrap()
        .with_stored(ContextField::RecordKind, b"cgm")
        .unwrap()
}

/// A sealed envelope with a KEK slot and an HPKE slot, and the keys to open it.
fn sample(suite: Suite) -> (Vec<u8>, Kek, RecipientSecretKey) {
    let mut rng = rng();
    let kek = Kek::generate(&mut rng);
    let sk = RecipientSecretKey::generate(KeyId::new(b"backend").unwrap(), &mut rng);
    let pk = sk.public_key();
    let sealed = Sealer::new()
        .suite(suite)
        .context(ctx())
        .key_wrap(&kek)
        .unwrap()
        .recipient(&pk)
        .unwrap()
        .seal(b"glucose 5.4 mmol/L at 07:30", &mut rng)
        .unwrap();
    (sealed, kek, sk)
}

#[test]
fn every_bit_flip_fails_for_every_key() {
    for suite in [Suite::Aes256GcmSiv, Suite::Aes256Gcm] {
        let (sealed, kek, sk) = sample(suite);
        assert!(Opener::new(&kek).context(ctx()).open(&sealed).is_ok());
        assert!(Opener::new(&sk).context(ctx()).open(&sealed).is_ok());
        for i in 0..sealed.len() * 8 {
            let mut t = sealed.clone();
            t[i / 8] ^= 1 << (i % 8);
            for keys in [&kek as &dyn Unwrap, &sk] {
                let r = Opener::new(keys).context(ctx()).open(&t);
                assert!(r.is_err(), "bit {i} flipped still opened ({suite:?})");
                // Flipping a key id byte may make the slot unaddressed: allowed to be distinct.
                assert!(
                    matches!(r, Err(Error::DidNotVerify | Error::NoMatchingKey)),
                    "bit {i}: unexpected {r:?}"
                );
            }
        }
    }
}

#[test]
fn every_truncation_and_extension_fails() {
    let (sealed, kek, _) = sample(Suite::Aes256GcmSiv);
    for len in 0..sealed.len() {
        let r = Opener::new(&kek).context(ctx()).open(&sealed[..len]);
        assert_eq!(r.err(), Some(Error::DidNotVerify), "truncated to {len}");
    }
    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(
        Opener::new(&kek).context(ctx()).open(&longer).err(),
        Some(Error::DidNotVerify)
    );
}

#[test]
fn wrong_key_wrong_context_and_policy_fail() {
    let (sealed, _, _) = sample(Suite::Aes256GcmSiv);
    let mut other_rng = ChaCha20Rng::from_seed([9; 32]);
    let stranger = Kek::generate(&mut other_rng);
    assert_eq!(
        Opener::new(&stranger).context(ctx()).open(&sealed).err(),
        Some(Error::NoMatchingKey)
    );
    // Same key id, different key material: addressed, but does not verify.
    let (_, kek, _) = sample(Suite::Aes256GcmSiv);
    let impostor = Kek::from_bytes(kek.id(), [0x42; 32]);
    assert_eq!(
        Opener::new(&impostor).context(ctx()).open(&sealed).err(),
        Some(Error::DidNotVerify)
    );
    // Wrong, missing and extra context entries.
    let wrong = Context::new()
        .with(ContextField::Patient, b"p-000000")
        .unwrap()
        .with_stored(ContextField::RecordKind, b"cgm")
        .unwrap();
    let missing = Context::new()
        .with_stored(ContextField::RecordKind, b"cgm")
        .unwrap();
    let extra = ctx().with(ContextField::Device, b"pump-1").unwrap();
    for c in [wrong, missing, extra, Context::new()] {
        assert_eq!(
            Opener::new(&kek).context(c).open(&sealed).err(),
            Some(Error::DidNotVerify)
        );
    }
    // Disclosure does not matter to the binding, only keys and values do.
    let bound_only = Context::new()
        .with(ContextField::Patient, b"p-7f3a9c")
        .unwrap()
        .with(ContextField::RecordKind, b"cgm")
        .unwrap();
    assert!(Opener::new(&kek).context(bound_only).open(&sealed).is_ok());
    // A suite outside the policy is refused.
    assert_eq!(
        Opener::new(&kek)
            .context(ctx())
            .policy(SuitePolicy::APPROVED_ONLY)
            .open(&sealed)
            .err(),
        Some(Error::DidNotVerify)
    );
}

#[test]
fn suite_downgrade_fails_even_when_policy_allows_it() {
    let (sealed, kek, _) = sample(Suite::Aes256GcmSiv);
    let mut t = sealed.clone();
    assert_eq!(t[7], Suite::Aes256GcmSiv.id());
    t[7] = Suite::Aes256Gcm.id();
    assert_eq!(
        Opener::new(&kek).context(ctx()).open(&t).err(),
        Some(Error::DidNotVerify)
    );
}

#[test]
fn swapped_header_fields_fail() {
    let (a, kek, sk) = sample(Suite::Aes256GcmSiv);
    let mut rng = ChaCha20Rng::from_seed([8; 32]);
    let pk = sk.public_key();
    let b = Sealer::new()
        .context(ctx())
        .key_wrap(&kek)
        .unwrap()
        .recipient(&pk)
        .unwrap()
        .seal(b"glucose 5.4 mmol/L at 07:30", &mut rng)
        .unwrap();
    let hl = medsec_envelope::peek_header_len(&a).unwrap();
    assert_eq!(hl, medsec_envelope::peek_header_len(&b).unwrap());
    // Fields of the same length at the same offsets: salt, commitment, slots, MAC, body.
    let salt = 12..44;
    let commitment = 44..76;
    let mac = hl - 32..hl;
    let slots = 76..hl - 32;
    let body = hl..a.len();
    for range in [salt, commitment, slots, mac, body] {
        let mut t = a.clone();
        t[range.clone()].copy_from_slice(&b[range.clone()]);
        for keys in [&kek as &dyn Unwrap, &sk] {
            assert!(
                Opener::new(keys).context(ctx()).open(&t).is_err(),
                "swapping {range:?} still opened"
            );
        }
    }
    // Swapping the order of the two recipient slots.
    let view = medsec_envelope::HeaderView::parse(&a, &Default::default()).unwrap();
    let slots: Vec<_> = view.recipients().collect();
    assert_eq!(slots.len(), 2);
    let encode = |s: &medsec_envelope::RecipientSlot<'_>| {
        let mut v = vec![s.kind().code(), s.key_id().len() as u8];
        v.extend_from_slice(s.key_id());
        v.extend_from_slice(&(s.wrapped().len() as u16).to_be_bytes());
        v.extend_from_slice(s.wrapped());
        v
    };
    let (first, second) = (encode(&slots[0]), encode(&slots[1]));
    let slots_start = hl - 32 - first.len() - second.len();
    let mut swapped = a[..slots_start].to_vec();
    swapped.extend_from_slice(&second);
    swapped.extend_from_slice(&first);
    swapped.extend_from_slice(&a[hl - 32..]);
    assert_eq!(swapped.len(), a.len());
    assert_ne!(swapped, a);
    for keys in [&kek as &dyn Unwrap, &sk] {
        assert_eq!(
            Opener::new(keys).context(ctx()).open(&swapped).err(),
            Some(Error::DidNotVerify)
        );
    }
}

#[test]
fn hpke_and_kek_slots_are_independent_routes() {
    let (sealed, kek, sk) = sample(Suite::Aes256Gcm);
    let both = [&kek as &dyn Unwrap, &sk];
    let any = UnwrapAny(&both);
    assert!(Opener::new(&any).context(ctx()).open(&sealed).is_ok());
    // The device that sealed to the public key holds nothing that opens.
    let pk_only_device = RecipientSecretKey::generate(KeyId::new(b"device").unwrap(), &mut rng());
    assert_eq!(
        Opener::new(&pk_only_device)
            .context(ctx())
            .open(&sealed)
            .err(),
        Some(Error::NoMatchingKey)
    );
}

#[test]
fn recipient_cap_is_enforced() {
    let mut rng = rng();
    let keks: Vec<Kek> = (0..9).map(|_| Kek::generate(&mut rng)).collect();
    let mut sealer = Sealer::new();
    for k in &keks[..8] {
        sealer = sealer.key_wrap(k).unwrap();
    }
    assert!(matches!(
        sealer.key_wrap(&keks[8]),
        Err(Error::InvalidConfiguration(_))
    ));
    let sealed = sealer.seal(b"x", &mut rng).unwrap();
    for k in &keks[..8] {
        assert_eq!(&Opener::new(k).open(&sealed).unwrap()[..], b"x");
    }
    // A header with more slots than the opener's limit is refused before any unwrap.
    let limits = medsec_envelope::Limits::DEFAULT
        .with_max_recipients(7)
        .unwrap();
    assert_eq!(
        Opener::new(&keks[0]).limits(limits).open(&sealed).err(),
        Some(Error::DidNotVerify)
    );
}

#[test]
fn limits_are_checked_before_work() {
    let (sealed, kek, _) = sample(Suite::Aes256GcmSiv);
    let small = medsec_envelope::Limits::DEFAULT
        .with_max_header_len(200)
        .unwrap();
    assert_eq!(
        Opener::new(&kek)
            .context(ctx())
            .limits(small)
            .open(&sealed)
            .err(),
        Some(Error::DidNotVerify)
    );
    let tiny_body = medsec_envelope::Limits::DEFAULT
        .with_max_one_shot_len(4)
        .unwrap();
    assert_eq!(
        Opener::new(&kek)
            .context(ctx())
            .limits(tiny_body)
            .open(&sealed)
            .err(),
        Some(Error::DidNotVerify)
    );
    assert_eq!(
        Sealer::new()
            .key_wrap(&kek)
            .unwrap()
            .limits(tiny_body)
            .seal(b"12345", &mut rng())
            .err(),
        Some(Error::MessageTooLarge)
    );
}

#[test]
fn keyring_destroyed_key_cannot_open() {
    let mut rng = rng();
    let mut keyring = Keyring::generate(&mut rng);
    let id = keyring.primary_id().unwrap();
    let sealed = Sealer::new()
        .key_wrap(&keyring)
        .unwrap()
        .seal(b"x", &mut rng)
        .unwrap();
    keyring.destroy(&id).unwrap();
    assert!(Opener::new(&keyring).open(&sealed).is_err());
    // The file form keeps the tombstone and no material.
    let restored = Keyring::from_bytes(&keyring.to_bytes()).unwrap();
    assert!(restored.contains(id.as_bytes()));
    assert!(Opener::new(&restored).open(&sealed).is_err());
    assert_eq!(restored.primary_id(), None);
}

#[test]
fn in_place_open_wipes_body_on_failure() {
    let (sealed, kek, _) = sample(Suite::Aes256GcmSiv);
    let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
    let mut t = sealed.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    assert!(Opener::new(&kek)
        .context(ctx())
        .open_in_place(&mut t)
        .is_err());
    assert!(t[hl..].iter().all(|&b| b == 0));
}

/// A public key the HPKE sender can never use (a low-order point: the shared secret is zero)
/// is refused when it is parsed, not when sealing.
#[test]
fn low_order_recipient_keys_are_refused() {
    let id = KeyId::new(b"bad").unwrap();
    // The identity, and a point of order 8 (RFC 7748 / libsodium's blocklist).
    let order_8 =
        hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800").unwrap();
    for bad in [[0u8; 32], order_8.try_into().unwrap()] {
        assert!(matches!(
            medsec_envelope::RecipientPublicKey::from_bytes(id, &bad),
            Err(Error::InvalidConfiguration(_))
        ));
    }
    let good = RecipientSecretKey::generate(id, &mut rng()).public_key();
    assert!(medsec_envelope::RecipientPublicKey::from_bytes(id, &good.to_bytes()).is_ok());
}

/// A non-canonical encoding of a public key (bit 255 set, or u >= 2^255 - 19) is refused when
/// parsed: X25519 would accept it, but HPKE binds the key's bytes and the recipient binds its
/// own canonical encoding, so an envelope sealed to it could never be opened.
#[test]
fn non_canonical_recipient_keys_are_refused() {
    let id = KeyId::new(b"nc").unwrap();
    let secret = RecipientSecretKey::generate(id, &mut rng());
    let good = secret.public_key().to_bytes();
    assert_eq!(good[31] & 0x80, 0, "generated keys are canonical");
    let mut high_bit = good;
    high_bit[31] |= 0x80;
    // p itself and the largest value below 2^255: the other non-canonical encodings.
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut top = [0xffu8; 32];
    top[31] = 0x7f;
    // p + 9 (u = 9, the base point, non-canonically) is refused too.
    let mut p_plus_9 = p;
    p_plus_9[0] = 0xf6;
    for bad in [high_bit, p, top, p_plus_9] {
        assert_eq!(
            medsec_envelope::RecipientPublicKey::from_bytes(id, &bad).err(),
            Some(Error::InvalidConfiguration(
                "non-canonical X25519 public key encoding"
            ))
        );
    }
    // p - 1 is canonical (it is not refused for its encoding).
    let mut p_minus_1 = p;
    p_minus_1[0] = 0xec;
    assert_ne!(
        medsec_envelope::RecipientPublicKey::from_bytes(id, &p_minus_1).err(),
        Some(Error::InvalidConfiguration(
            "non-canonical X25519 public key encoding"
        ))
    );
    // The canonical key seals an envelope its secret key opens.
    let public = medsec_envelope::RecipientPublicKey::from_bytes(id, &good).unwrap();
    let sealed = Sealer::new()
        .recipient(&public)
        .unwrap()
        .seal(b"x", &mut rng())
        .unwrap();
    assert_eq!(&Opener::new(&secret).open(&sealed).unwrap()[..], b"x");
}

/// A key-wrapping backend that copies the data key into its slot and then fails (an HSM that
/// errors half-way).
struct FailsAfterCopy;

impl medsec_envelope::KeyWrap for FailsAfterCopy {
    fn wrapping_key_id(&self) -> medsec_envelope::Result<KeyId> {
        KeyId::new(b"hsm")
    }
    fn wrapped_len(&self) -> usize {
        32
    }
    fn wrap(
        &self,
        _: &medsec_envelope::WrapRequest<'_>,
        data_key: &medsec_envelope::DataKey,
        out: &mut [u8],
    ) -> medsec_envelope::Result<()> {
        out.copy_from_slice(data_key.expose_secret());
        Err(Error::KeyWrapBackend)
    }
    fn unwrap(
        &self,
        _: &medsec_envelope::UnwrapRequest<'_>,
        _: &[u8],
        _: &[u8],
    ) -> medsec_envelope::Result<Option<medsec_envelope::DataKey>> {
        Ok(None)
    }
}

/// A seal that fails part-way leaves no header bytes behind — in particular no data key
/// sitting unencrypted in a slot.
#[test]
fn failed_seal_leaves_no_key_material_in_the_buffer() {
    let mut rng = rng();
    let kek = Kek::generate(&mut rng);
    let sealer = Sealer::new()
        .key_wrap(&kek)
        .unwrap()
        .key_wrap(&FailsAfterCopy)
        .unwrap();
    let hl = sealer.header_len().unwrap();
    let mut buf = vec![0u8; sealer.sealed_len(5).unwrap()];
    buf[hl..hl + 5].copy_from_slice(b"hello");
    assert_eq!(
        sealer.seal_in_place(&mut buf, 5, &mut rng),
        Err(Error::KeyWrapBackend)
    );
    assert!(
        buf[..hl].iter().all(|&b| b == 0),
        "a failed seal left header bytes (here: the data key) in the buffer"
    );
    assert_eq!(sealer.seal(b"hello", &mut rng), Err(Error::KeyWrapBackend));
}

/// A KMS-style backend whose unwrap answers with a fixed outcome.
struct Backend(Result<(), Error>);

impl medsec_envelope::KeyWrap for Backend {
    fn wrapping_key_id(&self) -> medsec_envelope::Result<KeyId> {
        KeyId::new(b"kms")
    }
    fn wrapped_len(&self) -> usize {
        32
    }
    fn wrap(
        &self,
        _: &medsec_envelope::WrapRequest<'_>,
        _: &medsec_envelope::DataKey,
        out: &mut [u8],
    ) -> medsec_envelope::Result<()> {
        out.fill(0xEE);
        Ok(())
    }
    fn unwrap(
        &self,
        _: &medsec_envelope::UnwrapRequest<'_>,
        key_id: &[u8],
        _: &[u8],
    ) -> medsec_envelope::Result<Option<medsec_envelope::DataKey>> {
        if key_id != b"kms" {
            return Ok(None);
        }
        self.0?;
        Err(Error::DidNotVerify)
    }
}

/// A backend that cannot answer makes the open fail as retryable `KeyWrapBackend`, not as
/// "did not verify" (which callers may treat as tampering); a backend's own refusal stays
/// `DidNotVerify` and outranks another backend's outage; another key that opens the envelope
/// still wins; envelopes not addressed to the backend are still `NoMatchingKey`; streams, the
/// `io` reader and re-wrapping behave the same.
#[test]
fn key_wrap_backend_outage_is_reported_as_such() {
    let mut rng = rng();
    let kek = Kek::generate(&mut rng);
    let up = Backend(Err(Error::DidNotVerify));
    let down = Backend(Err(Error::KeyWrapBackend));
    let sealer = Sealer::new().key_wrap(&up).unwrap().key_wrap(&kek).unwrap();
    let sealed = sealer.seal(b"reading", &mut rng).unwrap();

    assert_eq!(
        Opener::new(&down).open(&sealed).unwrap_err(),
        Error::KeyWrapBackend
    );
    let mut buf = sealed.clone();
    assert_eq!(
        Opener::new(&down).open_in_place(&mut buf).unwrap_err(),
        Error::KeyWrapBackend
    );
    assert_eq!(
        Opener::new(&up).open(&sealed).unwrap_err(),
        Error::DidNotVerify
    );
    let either = [&down as &dyn Unwrap, &kek];
    assert_eq!(
        &Opener::new(&UnwrapAny(&either)).open(&sealed).unwrap()[..],
        b"reading"
    );
    // One replica refuses the slot, another is down: the refusal decides.
    for both_fail in [[&up as &dyn Unwrap, &down], [&down, &up]] {
        assert_eq!(
            Opener::new(&UnwrapAny(&both_fail))
                .open(&sealed)
                .unwrap_err(),
            Error::DidNotVerify
        );
    }
    let kek_only = Sealer::new()
        .key_wrap(&kek)
        .unwrap()
        .seal(b"reading", &mut rng)
        .unwrap();
    assert_eq!(
        Opener::new(&down).open(&kek_only).unwrap_err(),
        Error::NoMatchingKey
    );
    assert_eq!(
        Keyring::generate(&mut rng)
            .rewrap(&Opener::new(&down), &sealed, &mut rng)
            .unwrap_err(),
        Error::KeyWrapBackend
    );

    let mut stream = Vec::new();
    let mut w = medsec_envelope::SealingWriter::new(&sealer, 4096, &mut stream, &mut rng).unwrap();
    std::io::Write::write_all(&mut w, b"reading").unwrap();
    w.finish().unwrap();
    let header_len = medsec_envelope::HeaderView::parse(&stream, &medsec_envelope::Limits::DEFAULT)
        .unwrap()
        .len();
    assert_eq!(
        Opener::new(&down)
            .begin_stream(&stream[..header_len])
            .unwrap_err(),
        Error::KeyWrapBackend
    );
    let err = medsec_envelope::OpeningReader::new(&Opener::new(&down), &stream[..]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    assert_eq!(
        err.get_ref().and_then(|e| e.downcast_ref::<Error>()),
        Some(&Error::KeyWrapBackend)
    );
}

/// The (kind, key id) of every slot, or `None` when the header does not parse.
fn slot_ids(envelope: &[u8]) -> Option<Vec<(medsec_envelope::SlotKind, Vec<u8>)>> {
    let view =
        medsec_envelope::HeaderView::parse(envelope, &medsec_envelope::Limits::DEFAULT).ok()?;
    Some(
        view.recipients()
            .map(|s| (s.kind(), s.key_id().to_vec()))
            .collect(),
    )
}

/// An outage is no verification oracle. With the backend down, tampering with an envelope
/// addressed to a local KEK and to the backend fails exactly as with the backend up, whether the
/// local unwrap failed (a flipped wrap, a wrong context) or a later check did (commitment,
/// header MAC, body): `KeyWrapBackend` would otherwise say which, and whether the caller's
/// context matched. It appears only where no key decided anything: when the flip took the KEK's
/// key id or kind out of the clear header.
#[test]
fn backend_outage_is_no_verification_oracle() {
    let mut rng = rng();
    let kek = Kek::generate(&mut rng);
    let up = Backend(Err(Error::DidNotVerify));
    let down = Backend(Err(Error::KeyWrapBackend));
    let with_up = [&kek as &dyn Unwrap, &up];
    let with_down = [&kek as &dyn Unwrap, &down];
    let open = |keys: &[&dyn Unwrap], envelope: &[u8], context: Context<'_>| {
        Opener::new(&UnwrapAny(keys))
            .context(context)
            .open(envelope)
            .err()
    };
    let wrong = Context::new()
        .with(ContextField::Patient, b"p-000000")
        .unwrap();
    let kek_slot = (medsec_envelope::SlotKind::Kek, kek.id().as_bytes().to_vec());
    for backend_first in [true, false] {
        let sealer = if backend_first {
            Sealer::new().key_wrap(&up).unwrap().key_wrap(&kek).unwrap()
        } else {
            Sealer::new().key_wrap(&kek).unwrap().key_wrap(&up).unwrap()
        };
        let sealed = sealer.context(ctx()).seal(b"reading", &mut rng).unwrap();
        assert_eq!(
            open(&with_down, &sealed, ctx()),
            None,
            "the KEK still opens"
        );
        assert_eq!(
            open(&with_down, &sealed, wrong),
            Some(Error::DidNotVerify),
            "a wrong context is refused by the KEK, backend down or not"
        );
        let ids = slot_ids(&sealed);
        for i in 0..sealed.len() * 8 {
            let mut t = sealed.clone();
            t[i / 8] ^= 1 << (i % 8);
            let (a, b) = (open(&with_up, &t, ctx()), open(&with_down, &t, ctx()));
            assert!(a.is_some() && b.is_some(), "bit {i} flipped still opened");
            let tampered_ids = slot_ids(&t);
            if tampered_ids == ids {
                assert_eq!(b, Some(Error::DidNotVerify), "bit {i}, backend down");
                assert_eq!(a, b, "bit {i}");
            } else if b == Some(Error::KeyWrapBackend) {
                let ids = tampered_ids.unwrap();
                assert!(!ids.contains(&kek_slot), "bit {i}: the KEK had a slot");
            }
        }
    }
}

/// Slots that share a key id — a KEK and an HPKE key both called `x`, or one KEK twice — are
/// told apart by kind (bound into every wrap's AAD) and pinned in place by the header MAC:
/// exchanging their kinds or their order never opens.
#[test]
fn slot_kind_and_key_id_confusions_fail() {
    let mut rng = rng();
    let id = KeyId::new(b"x").unwrap();
    let kek = Kek::from_bytes(id, [0x11; 32]);
    let sk = RecipientSecretKey::generate(id, &mut rng);
    let pk = sk.public_key();
    let sealed = Sealer::new()
        .context(ctx())
        .key_wrap(&kek)
        .unwrap()
        .recipient(&pk)
        .unwrap()
        .key_wrap(&kek)
        .unwrap()
        .seal(b"x-ray report", &mut rng)
        .unwrap();
    let both = [&kek as &dyn Unwrap, &sk];
    let any = UnwrapAny(&both);
    for keys in [&kek as &dyn Unwrap, &sk, &any] {
        assert_eq!(
            &Opener::new(keys).context(ctx()).open(&sealed).unwrap()[..],
            b"x-ray report"
        );
    }
    // Three slots of 1 + 1 + 1 + 2 + 80 bytes, then the MAC.
    let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
    let slot_len = 85;
    let slots_at = hl - 32 - 3 * slot_len;
    let kind_at = |n: usize| slots_at + n * slot_len;
    assert_eq!(
        [sealed[kind_at(0)], sealed[kind_at(1)], sealed[kind_at(2)]],
        [1, 2, 1]
    );
    let mut kinds_swapped = sealed.clone();
    kinds_swapped.swap(kind_at(0), kind_at(1));
    let mut order_swapped = sealed.clone();
    order_swapped[kind_at(0)..kind_at(1)].copy_from_slice(&sealed[kind_at(2)..kind_at(3)]);
    order_swapped[kind_at(2)..kind_at(3)].copy_from_slice(&sealed[kind_at(0)..kind_at(1)]);
    assert_ne!(order_swapped, sealed);
    let mut hpke_body_in_kek_slot = sealed.clone();
    hpke_body_in_kek_slot[kind_at(0) + 5..kind_at(1)]
        .copy_from_slice(&sealed[kind_at(1) + 5..kind_at(2)]);
    for (name, t) in [
        ("kinds swapped", kinds_swapped),
        ("same-id KEK slots swapped", order_swapped),
        ("HPKE body in a KEK slot", hpke_body_in_kek_slot),
    ] {
        for keys in [&kek as &dyn Unwrap, &sk, &any] {
            assert_eq!(
                Opener::new(keys).context(ctx()).open(&t).err(),
                Some(Error::DidNotVerify),
                "{name}"
            );
        }
    }
}
