//! Key lifecycle: rotation, re-wrap, destruction, keyring files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use medsec_envelope::{
    Context, ContextField, Error, KeyId, KeyState, Keyring, Opener, RecipientSecretKey, Sealer,
    UnwrapAny,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn ctx() -> Context<'static> {
    Context::new().with(ContextField::Patient, b"p-1").unwrap()
}

#[test]
fn rotation_then_open_old_and_new() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let mut keyring = Keyring::generate(&mut rng);
    let first = keyring.primary_id().unwrap();
    let old = Sealer::new()
        .context(ctx())
        .key_wrap(&keyring)
        .unwrap()
        .seal(b"old", &mut rng)
        .unwrap();
    let second = keyring.rotate(&mut rng).unwrap();
    assert_ne!(first, second);
    assert_eq!(keyring.primary_id(), Some(second));
    let states: Vec<_> = keyring.keys().collect();
    assert_eq!(
        states,
        vec![(first, KeyState::DecryptOnly), (second, KeyState::Primary)]
    );
    let new = Sealer::new()
        .context(ctx())
        .key_wrap(&keyring)
        .unwrap()
        .seal(b"new", &mut rng)
        .unwrap();
    let opener = Opener::new(&keyring).context(ctx());
    assert_eq!(&opener.open(&old).unwrap()[..], b"old");
    assert_eq!(&opener.open(&new).unwrap()[..], b"new");
    // New envelopes name the new primary.
    let view = medsec_envelope::HeaderView::parse(&new, &Default::default()).unwrap();
    assert_eq!(
        view.recipients().next().unwrap().key_id(),
        second.as_bytes()
    );
}

#[test]
fn rewrap_leaves_body_byte_identical_and_survives_destroying_old_key() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let mut keyring = Keyring::generate(&mut rng);
    let first = keyring.primary_id().unwrap();
    let backend = RecipientSecretKey::generate(KeyId::new(b"backend").unwrap(), &mut rng);
    let backend_pk = backend.public_key();
    let sealer = Sealer::new()
        .context(ctx())
        .key_wrap(&keyring)
        .unwrap()
        .recipient(&backend_pk)
        .unwrap();
    let plaintext = vec![0xa5u8; 10_000];
    let sealed = sealer.seal(&plaintext, &mut rng).unwrap();
    let mut header = vec![0u8; sealer.header_len().unwrap()];
    let mut stream = sealer.begin_stream(4096, &mut header, &mut rng).unwrap();
    let mut streamed = header.clone();
    let mut chunk = vec![1u8; 4096];
    let tag = stream.seal_chunk(&mut chunk).unwrap();
    streamed.extend_from_slice(&chunk);
    streamed.extend_from_slice(&tag);
    let mut last = vec![2u8; 10];
    let tag = stream.seal_last(&mut last).unwrap();
    streamed.extend_from_slice(&last);
    streamed.extend_from_slice(&tag);

    keyring.rotate(&mut rng).unwrap();
    let opener = Opener::new(&keyring).context(ctx());
    for original in [&sealed, &streamed] {
        let rewrapped = keyring.rewrap(&opener, original, &mut rng).unwrap();
        let old_hl = medsec_envelope::peek_header_len(original).unwrap();
        let new_hl = medsec_envelope::peek_header_len(&rewrapped).unwrap();
        assert_eq!(&original[old_hl..], &rewrapped[new_hl..], "body untouched");
        // Preamble (suite .. stored context) is unchanged too.
        assert_eq!(&original[7..76], &rewrapped[7..76]);
        let view = medsec_envelope::HeaderView::parse(&rewrapped, &Default::default()).unwrap();
        let ids: Vec<_> = view.recipients().map(|s| s.key_id().to_vec()).collect();
        assert_eq!(
            ids,
            vec![
                keyring.primary_id().unwrap().as_bytes().to_vec(),
                b"backend".to_vec()
            ]
        );
    }
    let rewrapped = keyring.rewrap(&opener, &sealed, &mut rng).unwrap();
    keyring.destroy(&first).unwrap();
    let opener = Opener::new(&keyring).context(ctx());
    assert!(opener.open(&sealed).is_err(), "old wrap is shredded");
    assert_eq!(&opener.open(&rewrapped).unwrap()[..], &plaintext[..]);
    // The HPKE slot was carried over untouched and still opens.
    assert_eq!(
        &Opener::new(&backend)
            .context(ctx())
            .open(&rewrapped)
            .unwrap()[..],
        &plaintext[..]
    );
    // Re-wrap needs the right context, like open.
    assert_eq!(
        keyring
            .rewrap(&Opener::new(&keyring), &rewrapped, &mut rng)
            .err(),
        Some(Error::DidNotVerify)
    );
    // Re-wrapping a tampered body still yields an envelope that fails to open.
    let mut tampered = rewrapped.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let again = keyring.rewrap(&opener, &tampered, &mut rng).unwrap();
    assert!(opener.open(&again).is_err());
}

#[test]
fn crypto_shredding_one_patient_keyring() {
    // One keyring per patient: destroying it makes that patient's data unrecoverable while the
    // others' stays readable.
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let mut alice = Keyring::generate(&mut rng);
    let bob = Keyring::generate(&mut rng);
    let a = Sealer::new()
        .key_wrap(&alice)
        .unwrap()
        .seal(b"alice", &mut rng)
        .unwrap();
    let b = Sealer::new()
        .key_wrap(&bob)
        .unwrap()
        .seal(b"bob", &mut rng)
        .unwrap();
    let id = alice.primary_id().unwrap();
    alice.destroy(&id).unwrap();
    let both = [&alice as &dyn medsec_envelope::Unwrap, &bob];
    let any = UnwrapAny(&both);
    assert!(Opener::new(&any).open(&a).is_err());
    assert_eq!(&Opener::new(&any).open(&b).unwrap()[..], b"bob");
}

#[test]
fn keyring_file_round_trip_and_corruption() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let mut keyring = Keyring::generate(&mut rng);
    keyring.rotate(&mut rng).unwrap();
    keyring.rotate(&mut rng).unwrap();
    let first = keyring.keys().next().unwrap().0;
    keyring.destroy(&first).unwrap();
    let bytes = keyring.to_bytes();
    let restored = Keyring::from_bytes(&bytes).unwrap();
    assert_eq!(
        restored.keys().collect::<Vec<_>>(),
        keyring.keys().collect::<Vec<_>>()
    );
    let sealed = Sealer::new()
        .key_wrap(&keyring)
        .unwrap()
        .seal(b"k", &mut rng)
        .unwrap();
    assert_eq!(&Opener::new(&restored).open(&sealed).unwrap()[..], b"k");
    for i in 0..bytes.len() * 8 {
        let mut t = bytes.to_vec();
        t[i / 8] ^= 1 << (i % 8);
        assert!(Keyring::from_bytes(&t).is_err(), "bit {i}");
    }
    for len in 0..bytes.len() {
        assert!(Keyring::from_bytes(&bytes[..len]).is_err(), "len {len}");
    }
    // Debug never prints key material.
    let dbg = format!("{keyring:?}");
    assert!(!dbg.contains(&hex::encode(&bytes[26..58])));
}

#[test]
fn secrets_are_redacted_in_debug() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let kek = medsec_envelope::Kek::from_bytes(KeyId::new(b"k1").unwrap(), [0xAB; 32]);
    let dbg = format!("{kek:?}");
    assert!(
        !dbg.contains("ab, ab") && !dbg.contains("171") && !dbg.to_lowercase().contains("abab")
    );
    let sk = RecipientSecretKey::generate(KeyId::new(b"r").unwrap(), &mut rng);
    let secret_hex = hex::encode(*sk.to_bytes());
    assert!(!format!("{sk:?}").contains(&secret_hex));
    let dk = medsec_envelope::DataKey::from_bytes([0xCD; 32]);
    assert_eq!(format!("{dk:?}"), "DataKey { .. }");
    let c = Context::new()
        .with(ContextField::Patient, b"Jane Doe")
        .unwrap();
    assert!(!format!("{c:?}").contains("Jane"));
}

/// A key-wrapping backend outside the process (here: a separate AES-256-GCM key with its own
/// random nonce per wrap, as a KMS would hold it) plugs in through `KeyWrap`, with a body
/// length of its own.
struct ExternalKms {
    id: KeyId,
    key: [u8; 32],
    nonce_source: std::sync::Mutex<u64>,
}

impl medsec_envelope::KeyWrap for ExternalKms {
    fn wrapping_key_id(&self) -> medsec_envelope::Result<KeyId> {
        Ok(self.id)
    }
    fn wrapped_len(&self) -> usize {
        12 + 32 + 16
    }
    fn wrap(
        &self,
        request: &medsec_envelope::WrapRequest<'_>,
        data_key: &medsec_envelope::DataKey,
        out: &mut [u8],
    ) -> medsec_envelope::Result<()> {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let mut counter = self.nonce_source.lock().unwrap();
        *counter += 1;
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&counter.to_be_bytes());
        let cipher = aes_gcm::Aes256Gcm::new(&self.key.into());
        let (n, rest) = out.split_at_mut(12);
        let (ct, tag_out) = rest.split_at_mut(32);
        n.copy_from_slice(&nonce);
        ct.copy_from_slice(data_key.expose_secret());
        let tag = cipher
            .encrypt_inout_detached(&nonce.into(), request.aad(), ct.into())
            .map_err(|_| Error::KeyWrapBackend)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }
    fn unwrap(
        &self,
        request: &medsec_envelope::UnwrapRequest<'_>,
        key_id: &[u8],
        wrapped: &[u8],
    ) -> medsec_envelope::Result<Option<medsec_envelope::DataKey>> {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        if self.id != *key_id {
            return Ok(None);
        }
        if wrapped.len() != 60 {
            return Err(Error::DidNotVerify);
        }
        let cipher = aes_gcm::Aes256Gcm::new(&self.key.into());
        let nonce: [u8; 12] = wrapped[..12].try_into().unwrap();
        let mut dk: [u8; 32] = wrapped[12..44].try_into().unwrap();
        let tag: [u8; 16] = wrapped[44..].try_into().unwrap();
        cipher
            .decrypt_inout_detached(
                &nonce.into(),
                request.aad(),
                (&mut dk[..]).into(),
                &tag.into(),
            )
            .map_err(|_| Error::DidNotVerify)?;
        Ok(Some(medsec_envelope::DataKey::from_bytes(dk)))
    }
}

#[test]
fn external_key_wrapping_backend_through_the_seam() {
    let mut rng = ChaCha20Rng::from_seed([6; 32]);
    let kms = ExternalKms {
        id: KeyId::new(b"kms/patient-42").unwrap(),
        key: [0x5a; 32],
        nonce_source: std::sync::Mutex::new(0),
    };
    let sealed = Sealer::new()
        .context(ctx())
        .key_wrap(&kms)
        .unwrap()
        .seal(b"record", &mut rng)
        .unwrap();
    let view = medsec_envelope::HeaderView::parse(&sealed, &Default::default()).unwrap();
    assert_eq!(view.recipients().next().unwrap().wrapped().len(), 60);
    assert_eq!(
        &Opener::new(&kms).context(ctx()).open(&sealed).unwrap()[..],
        b"record"
    );
    // The wrap is bound to the context through the AAD the seam hands over.
    let other = Context::new().with(ContextField::Patient, b"p-2").unwrap();
    assert_eq!(
        Opener::new(&kms).context(other).open(&sealed).err(),
        Some(Error::DidNotVerify)
    );
    // Moving the KMS slot into another envelope fails (binding differs).
    let second = Sealer::new()
        .context(ctx())
        .key_wrap(&kms)
        .unwrap()
        .seal(b"record", &mut rng)
        .unwrap();
    let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
    let mut spliced = second.clone();
    spliced[hl - 32 - 60..hl - 32].copy_from_slice(&sealed[hl - 32 - 60..hl - 32]);
    assert!(Opener::new(&kms).context(ctx()).open(&spliced).is_err());
}

#[test]
fn parsed_headers_do_not_print_stored_values() {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let keyring = Keyring::generate(&mut rng);
    let c = Context::new()
        .with_stored(ContextField::RecordKind, b"oncology-note")
        .unwrap();
    let sealed = Sealer::new()
        .context(c)
        .key_wrap(&keyring)
        .unwrap()
        .seal(b"x", &mut rng)
        .unwrap();
    let view = medsec_envelope::HeaderView::parse(&sealed, &Default::default()).unwrap();
    let entry = view.stored_context().next().unwrap();
    assert_eq!(entry.value, b"oncology-note");
    for dbg in [format!("{view:?}"), format!("{entry:?}")] {
        // Neither as text nor as a byte list.
        assert!(!dbg.contains("oncology"), "{dbg}");
        assert!(!dbg.contains("111, 110, 99"), "{dbg}");
    }
}

/// Serializing a keyring must not leave copies of key material in freed heap blocks: the
/// buffer is allocated once at its final size, so it is never reallocated while it holds keys.
#[test]
fn keyring_file_buffer_is_never_reallocated() {
    let mut rng = ChaCha20Rng::from_seed([8; 32]);
    let mut keyring = Keyring::generate(&mut rng);
    for _ in 0..5 {
        keyring.rotate(&mut rng).unwrap();
    }
    let bytes = keyring.to_bytes();
    assert_eq!(bytes.capacity(), bytes.len());
}

/// The wrap AAD handed to a key-wrapping backend contains the binding, a hash over the bound
/// context (a patient pseudonym, say): printed into a backend's log it would let anyone holding
/// the envelope test guesses of that context offline. `Debug` shows lengths only.
#[test]
fn wrap_requests_do_not_print_the_binding() {
    struct Logging(std::sync::Mutex<Vec<(String, Vec<u8>)>>);
    impl medsec_envelope::KeyWrap for Logging {
        fn wrapping_key_id(&self) -> medsec_envelope::Result<KeyId> {
            KeyId::new(b"log")
        }
        fn wrapped_len(&self) -> usize {
            32
        }
        fn wrap(
            &self,
            request: &medsec_envelope::WrapRequest<'_>,
            data_key: &medsec_envelope::DataKey,
            out: &mut [u8],
        ) -> medsec_envelope::Result<()> {
            self.0
                .lock()
                .unwrap()
                .push((format!("{request:?}"), request.aad().to_vec()));
            // Not a real wrap; this backend only logs.
            out.copy_from_slice(&[0; 32]);
            let _ = data_key;
            Ok(())
        }
        fn unwrap(
            &self,
            request: &medsec_envelope::UnwrapRequest<'_>,
            _: &[u8],
            _: &[u8],
        ) -> medsec_envelope::Result<Option<medsec_envelope::DataKey>> {
            self.0
                .lock()
                .unwrap()
                .push((format!("{request:?}"), request.aad().to_vec()));
            Err(Error::DidNotVerify)
        }
    }
    let backend = Logging(std::sync::Mutex::new(Vec::new()));
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let sealed = Sealer::new()
        .context(ctx())
        .key_wrap(&backend)
        .unwrap()
        .seal(b"x", &mut rng)
        .unwrap();
    let _ = Opener::new(&backend).context(ctx()).open(&sealed);
    let log = backend.0.lock().unwrap();
    assert_eq!(log.len(), 2);
    for (dbg, aad) in log.iter() {
        let binding = &aad[..32];
        assert!(!dbg.contains(&format!("{binding:?}")[1..20]), "{dbg}");
        assert!(!dbg.contains(&hex::encode(binding)[..16]), "{dbg}");
    }
}

/// A keyring whose primary was retired still verifies before it answers: a tampered envelope
/// is `DidNotVerify`, a genuine one the caller's mistake (no primary to re-wrap under).
#[test]
fn rewrap_without_a_primary_verifies_first() {
    let mut rng = ChaCha20Rng::from_seed([31; 32]);
    let mut keyring = Keyring::generate(&mut rng);
    let sealed = Sealer::new()
        .key_wrap(&keyring)
        .unwrap()
        .seal(b"reading", &mut rng)
        .unwrap();
    let primary = keyring.primary_id().unwrap();
    keyring.retire(&primary).unwrap();
    let opener = Opener::new(&keyring);
    let mut tampered = sealed.clone();
    tampered[40] ^= 1;
    assert_eq!(
        keyring.rewrap(&opener, &tampered, &mut rng),
        Err(Error::DidNotVerify)
    );
    assert!(matches!(
        keyring.rewrap(&opener, &sealed, &mut rng),
        Err(Error::InvalidConfiguration(_))
    ));
}

/// A backend whose wraps fill the largest slot body the format allows (1024 bytes): nonce,
/// wrapped key and tag, then zero padding, which the header MAC covers.
struct WideKms {
    id: KeyId,
    inner: ExternalKms,
}

impl medsec_envelope::KeyWrap for WideKms {
    fn wrapping_key_id(&self) -> medsec_envelope::Result<KeyId> {
        Ok(self.id)
    }
    fn wrapped_len(&self) -> usize {
        medsec_envelope::MAX_WRAPPED_LEN
    }
    fn wrap(
        &self,
        request: &medsec_envelope::WrapRequest<'_>,
        data_key: &medsec_envelope::DataKey,
        out: &mut [u8],
    ) -> medsec_envelope::Result<()> {
        out.fill(0);
        self.inner.wrap(request, data_key, &mut out[..60])
    }
    fn unwrap(
        &self,
        request: &medsec_envelope::UnwrapRequest<'_>,
        key_id: &[u8],
        wrapped: &[u8],
    ) -> medsec_envelope::Result<Option<medsec_envelope::DataKey>> {
        if self.id != *key_id {
            return Ok(None);
        }
        if wrapped.len() != medsec_envelope::MAX_WRAPPED_LEN {
            return Err(Error::DidNotVerify);
        }
        self.inner
            .unwrap(request, self.inner.id.as_bytes(), &wrapped[..60])
    }
}

/// Every header a conforming writer can produce opens under the default limits: 16 stored
/// entries of the largest size and 8 slots with 32-byte key ids and 1024-byte bodies make the
/// largest valid header, `MAX_VALID_HEADER_LEN` = 13,214 bytes (format section 6.1).
#[test]
fn largest_valid_header_seals_and_opens_under_default_limits() {
    assert_eq!(medsec_envelope::MAX_VALID_HEADER_LEN, 13_214);
    assert_eq!(
        medsec_envelope::Limits::DEFAULT.max_header_len(),
        medsec_envelope::MAX_VALID_HEADER_LEN
    );
    let mut rng = ChaCha20Rng::from_seed([61; 32]);
    let keys: Vec<String> = (0..16)
        .map(|i| format!("{i:02}{}", "k".repeat(30)))
        .collect();
    let value = [0xC3u8; 255];
    let mut context = Context::new();
    for key in &keys {
        context = context.with_custom_stored(key, &value).unwrap();
    }
    let backends: Vec<WideKms> = (0..8u8)
        .map(|i| WideKms {
            id: KeyId::new(&[b'a' + i; 32]).unwrap(),
            inner: ExternalKms {
                id: KeyId::new(&[b'a' + i; 32]).unwrap(),
                key: [i; 32],
                nonce_source: std::sync::Mutex::new(0),
            },
        })
        .collect();
    let mut sealer = Sealer::new().context(context);
    for backend in &backends {
        sealer = sealer.key_wrap(backend).unwrap();
    }
    assert_eq!(sealer.header_len().unwrap(), 13_214);
    let sealed = sealer.seal(b"largest header", &mut rng).unwrap();
    assert_eq!(medsec_envelope::peek_header_len(&sealed).unwrap(), 13_214);
    for backend in &backends {
        assert_eq!(
            &Opener::new(backend).context(context).open(&sealed).unwrap()[..],
            b"largest header"
        );
    }
    // A reader that lowered its limit refuses it, with the one opaque error.
    let small = medsec_envelope::Limits::DEFAULT
        .with_max_header_len(8 * 1024)
        .unwrap();
    assert_eq!(
        Opener::new(&backends[0])
            .context(context)
            .limits(small)
            .open(&sealed)
            .err(),
        Some(Error::DidNotVerify)
    );
}
