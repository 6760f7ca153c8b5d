//! Envelope benchmarks, side by side with the peers named in issue 2, in one criterion run.
//!
//! Groups (directory names under `target/criterion/`; `scripts/bench-ratios.py` reads them):
//! - `seal-<suite>` / `open-<suite>` for `gcmsiv` and `gcm`, at 256 B, 4 KiB and 1 MiB:
//!   - `envelope-rustcrypto`, `envelope-awslc`: [`Sealer::seal`] / [`Opener::open`] (the `Vec`
//!     APIs) with one KEK recipient and a two-field context, under each provider;
//!   - `envelope-<provider>-nowipe` (open only): the same open, with the returned
//!     `Zeroizing<Vec>` dropped (so wiped) outside the timed region, to show what the wipe
//!     costs: zeroize 1.9 wipes a `Vec<u8>` one volatile byte at a time;
//!   - `envelope-<provider>-inplace`: the allocation-free APIs ([`Sealer::seal_in_place`],
//!     [`Opener::open_in_place`]) on a buffer allocated once, the input copied into it per
//!     iteration (as the raw rows copy theirs into a fresh `Vec`); nothing is wiped, as in raw;
//!   - `floor-<provider>`: the least work any format meeting issue 2 must do per envelope, with
//!     no hashing at all: a key schedule for a fresh per-object payload key plus the body AEAD,
//!     and a 32-byte AEAD for the context-bound key wrap under a KEK whose key schedule is
//!     prepared once. (v1 and sketch-v2 derive a fresh wrap key per envelope, which costs one
//!     more key schedule, but a format may wrap straight under the KEK, e.g. with a
//!     misuse-resistant or deterministic AEAD, so that schedule is not part of the floor.) An
//!     envelope/raw ratio above floor/raw is impossible, whatever the format;
//!   - `sketch-v2-<provider>` (seal only): the per-envelope work of a *proposed* format v2
//!     that keeps v1's properties with cheaper primitives — commitment `SHA-256(label || suite
//!     || DK)` (one compression), payload and header-MAC keys from DK by the SP 800-108
//!     counter-mode KDF with AES-256-CMAC, the wrap key by the same KDF under the KEK (key
//!     schedule prepared once per KEK), the binding passed as AEAD associated data instead of
//!     being hashed, and an AES-256-CMAC header MAC — around the floor work plus, as in v1, a
//!     fresh wrap-key schedule. Not a
//!     format we ship: it costs the decision `docs/benchmarks.md` asks for;
//!   - `sketch-lean-<provider>` (seal only): the leanest HMAC-based v2 we could sketch — one
//!     96-byte HKDF-Expand straight from `DK` (no extract: `DK` is a uniform key) for the payload
//!     key, commitment and header-MAC key; the wrap straight under the KEK (prepared once) with a
//!     random nonce stored in the slot (so about 2^32 wraps per KEK under AES-256-GCM); the
//!     preamble and canonical context as unhashed associated data; an HMAC-SHA-256 header MAC.
//!     Also not shipped: it measures how far a format change could move the 4 KiB ratio;
//!   - `raw-rustcrypto`, `raw-awslc`: the same provider's AEAD alone, key schedule prepared
//!     once outside the loop, plaintext copied into a fresh `Vec` and encrypted (or ciphertext
//!     copied and decrypted) with a 32-byte AAD like the envelope body's binding.
//! - `pk-seal` at 256 B and 1 MiB: an envelope sealed to one HPKE [`RecipientPublicKey`]
//!   (`envelope-hpke-rustcrypto`, `envelope-hpke-awslc`: both HPKE through the pure-Rust `hpke`
//!   crate; `envelope-hpke-awslc-unwiped`: the opt-in `AwsLcUnwipedHpke`, HPKE through rustls on
//!   aws-lc, which leaves secrets in freed heap memory) against `age::encrypt` to one
//!   `age::x25519::Recipient` (`age-x25519`); `pk-open` at 256 B: the recipient's side, against
//!   `age::decrypt` (no target; for server ingest).
//!
//! Envelopes draw their randomness from a seeded ChaCha20 RNG so the OS's RNG cost is not in
//! the figures (age uses its own `OsRng` internally; that is the peer as shipped), except the
//! HPKE ephemeral key of `envelope-hpke-awslc-unwiped`, which aws-lc draws from its own
//! generator.
//! Run: `cargo bench --bench envelope`, then `python3 scripts/bench-ratios.py`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    missing_docs,
    reason = "benchmark harness: fixed inputs, a failure should stop the run"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_gcm::Aes256Gcm;
use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::Aes256GcmSiv;
use aws_lc_rs::aead::{
    Aad, Algorithm, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, AES_256_GCM_SIV,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use medsec_envelope::provider::{AeadProvider, AwsLc, AwsLcUnwipedHpke, RustCrypto};
use medsec_envelope::{
    Context, ContextField, Kek, KeyId, Opener, RecipientSecretKey, Sealer, Suite,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const SIZES: [(usize, &str); 3] = [(256, "256B"), (4 * 1024, "4KiB"), (1024 * 1024, "1MiB")];
const PK_SIZES: [(usize, &str); 2] = [(256, "256B"), (1024 * 1024, "1MiB")];
const AAD: [u8; 32] = [0xA5; 32];
const NONCE: [u8; 12] = [7; 12];

fn configure() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn context() -> Context<'static> {
    Context::new()
        .with(ContextField::Patient, b"p-7f3a9c")
        .unwrap()
        .with_stored(ContextField::RecordKind, b"cgm")
        .unwrap()
}

/// The raw AEAD of one provider, key prepared once.
trait RawAead {
    fn seal(&self, plaintext: &[u8]) -> Vec<u8>;
    fn open(&self, ciphertext: &[u8]) -> Vec<u8>;
}

struct RustCryptoRaw<C: Aead> {
    cipher: C,
    nonce: aes_gcm_siv::aead::Nonce<C>,
}

impl<C: Aead> RustCryptoRaw<C> {
    fn new(cipher: C) -> Self {
        let nonce = aes_gcm_siv::aead::Nonce::<C>::try_from(&NONCE[..]).unwrap();
        Self { cipher, nonce }
    }
}

impl<C: Aead> RawAead for RustCryptoRaw<C> {
    fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let payload = Payload {
            msg: plaintext,
            aad: &AAD,
        };
        self.cipher.encrypt(&self.nonce, payload).unwrap()
    }
    fn open(&self, ciphertext: &[u8]) -> Vec<u8> {
        let payload = Payload {
            msg: ciphertext,
            aad: &AAD,
        };
        self.cipher.decrypt(&self.nonce, payload).unwrap()
    }
}

struct AwsLcRaw(LessSafeKey);

impl AwsLcRaw {
    fn new(algorithm: &'static Algorithm, key: &[u8; 32]) -> Self {
        Self(LessSafeKey::new(UnboundKey::new(algorithm, key).unwrap()))
    }
}

impl RawAead for AwsLcRaw {
    fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + 16);
        out.extend_from_slice(plaintext);
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(NONCE),
                Aad::from(&AAD[..]),
                &mut out,
            )
            .unwrap();
        out
    }
    fn open(&self, ciphertext: &[u8]) -> Vec<u8> {
        let mut buf = ciphertext.to_vec();
        let len = self
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(NONCE),
                Aad::from(&AAD[..]),
                &mut buf,
            )
            .unwrap()
            .len();
        buf.truncate(len);
        buf
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Seal,
    Open,
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn bench_envelope<P: AeadProvider>(
    g: &mut Group<'_>,
    op: Op,
    name: &str,
    provider: P,
    suite: Suite,
    (len, label): (usize, &str),
) {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let kek = Kek::generate(&mut rng);
    let ctx = context();
    let sealer = Sealer::with_provider(provider)
        .suite(suite)
        .context(ctx)
        .key_wrap(&kek)
        .unwrap();
    let opener = Opener::with_provider(provider, &kek).context(ctx);
    let pt = plaintext(len);
    let sealed = sealer.seal(&pt, &mut rng).unwrap();
    assert_eq!(&opener.open(&sealed).unwrap()[..], &pt[..]);
    let id = BenchmarkId::new(name, label);
    match op {
        Op::Seal => g.bench_with_input(id, &pt, |b, pt| {
            b.iter(|| sealer.seal(black_box(pt), &mut rng).unwrap());
        }),
        Op::Open => {
            g.bench_with_input(id, &sealed, |b, sealed| {
                b.iter(|| opener.open(black_box(sealed)).unwrap());
            });
            // The same, but the returned `Zeroizing<Vec>` is dropped (and so wiped) outside the
            // timed region: isolates what wiping the plaintext costs, which the raw AEAD never
            // pays. (Timed per call; `Instant` overhead is tens of ns, under 1% at 256 B.)
            let id = BenchmarkId::new(format!("{name}-nowipe"), label);
            g.bench_with_input(id, &sealed, |b, sealed| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let opened = opener.open(black_box(sealed)).unwrap();
                        total += start.elapsed();
                        drop(black_box(opened));
                    }
                    total
                });
            })
        }
    };
}

/// The allocation-free APIs: one buffer, the input copied in per iteration, nothing wiped.
fn bench_in_place<P: AeadProvider>(
    g: &mut Group<'_>,
    op: Op,
    name: &str,
    provider: P,
    suite: Suite,
    (len, label): (usize, &str),
) {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let kek = Kek::generate(&mut rng);
    let ctx = context();
    let sealer = Sealer::with_provider(provider)
        .suite(suite)
        .context(ctx)
        .key_wrap(&kek)
        .unwrap();
    let opener = Opener::with_provider(provider, &kek).context(ctx);
    let pt = plaintext(len);
    let header_len = sealer.header_len().unwrap();
    let mut buf = vec![0u8; sealer.sealed_len(len).unwrap()];
    let id = BenchmarkId::new(format!("{name}-inplace"), label);
    match op {
        Op::Seal => g.bench_with_input(id, &pt, |b, pt| {
            b.iter(|| {
                buf[header_len..header_len + len].copy_from_slice(black_box(pt));
                sealer.seal_in_place(&mut buf, len, &mut rng).unwrap()
            });
        }),
        Op::Open => {
            let sealed = sealer.seal(&pt, &mut rng).unwrap();
            g.bench_with_input(id, &sealed, |b, sealed| {
                b.iter(|| {
                    buf.copy_from_slice(black_box(sealed));
                    opener.open_in_place(&mut buf).unwrap().len()
                });
            })
        }
    };
}

/// The floor: per-object payload key schedule + body AEAD, and a 32-byte AEAD for the key wrap
/// under a KEK prepared once (a fresh wrap key per envelope is v1's choice, not a necessity).
/// No hashing, no header; what no conforming format can skip.
fn bench_floor<P: AeadProvider>(
    g: &mut Group<'_>,
    op: Op,
    name: &str,
    provider: P,
    suite: Suite,
    (len, label): (usize, &str),
) {
    use medsec_envelope::provider::AeadKey;
    let payload_key = [0x11u8; 32];
    let wrap_key = [0x22u8; 32];
    let nonce = [0u8; 12];
    let pt = plaintext(len);
    let sealed_body = {
        let mut body = pt.clone();
        let tag = provider
            .key(suite, &payload_key)
            .seal_in_place(&nonce, &AAD, &mut body)
            .unwrap();
        body.extend_from_slice(&tag);
        body
    };
    // The KEK's key schedule is prepared once, as for any long-lived key.
    let kek = provider.key(suite, &wrap_key);
    let sealed_wrap = {
        let mut wrapped = payload_key.to_vec();
        let tag = kek.seal_in_place(&nonce, &AAD, &mut wrapped).unwrap();
        wrapped.extend_from_slice(&tag);
        wrapped
    };
    let id = BenchmarkId::new(name, label);
    match op {
        Op::Seal => g.bench_with_input(id, &pt, |b, pt| {
            b.iter(|| {
                let mut wrapped = [0u8; 32];
                wrapped.copy_from_slice(&payload_key);
                let wrap_tag = kek
                    .seal_in_place(&nonce, black_box(&AAD), &mut wrapped)
                    .unwrap();
                let mut out = Vec::with_capacity(pt.len() + 16);
                out.extend_from_slice(black_box(pt));
                let tag = provider
                    .key(suite, black_box(&payload_key))
                    .seal_in_place(&nonce, &AAD, &mut out)
                    .unwrap();
                out.extend_from_slice(&tag);
                (wrapped, wrap_tag, out)
            });
        }),
        Op::Open => g.bench_with_input(id, &sealed_body, |b, sealed_body| {
            b.iter(|| {
                let mut wrapped = [0u8; 48];
                wrapped.copy_from_slice(&sealed_wrap);
                kek.open_in_place(&nonce, black_box(&AAD), &mut wrapped)
                    .unwrap();
                let mut body = black_box(sealed_body).clone();
                let n = provider
                    .key(suite, black_box(&payload_key))
                    .open_in_place(&nonce, &AAD, &mut body)
                    .unwrap();
                body.truncate(n);
                (wrapped, body)
            });
        }),
    };
}

/// SP 800-108 counter-mode KDF with AES-256-CMAC: two PRF blocks make one 32-byte key.
fn cmac_kdf(prf: &cmac::Cmac<aes::Aes256>, label: &[u8], context: &[u8]) -> [u8; 32] {
    use cmac::Mac;
    let mut out = [0u8; 32];
    for (i, half) in out.chunks_mut(16).enumerate() {
        let mut mac = prf.clone();
        mac.update(&[i as u8 + 1]);
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.update(&[1, 0]); // L = 256 bits
        half.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// Seal under the proposed v2 (see the module docs): header layout as v1 (magic, version,
/// length, suite, chunk size, salt, commitment, one stored entry, one KEK slot), a 16-byte
/// CMAC header tag; the same provider AEAD for the wrap and the body.
fn bench_sketch_v2<P: AeadProvider>(
    g: &mut Group<'_>,
    name: &str,
    provider: P,
    suite: Suite,
    (len, label): (usize, &str),
) {
    use cmac::{KeyInit as _, Mac};
    use medsec_envelope::provider::AeadKey;
    use rand_core::Rng;
    use sha2::Digest;
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let kek_prf = cmac::Cmac::<aes::Aes256>::new(&[0x33u8; 32].into());
    let context: &[u8] = b"\x07patient\x08p-7f3a9c\x0brecord-kind\x03cgm";
    let pt = plaintext(len);
    let seal = |pt: &[u8], rng: &mut ChaCha20Rng| -> Vec<u8> {
        let mut dk = [0u8; 32];
        let mut salts = [0u8; 32];
        rng.fill_bytes(&mut dk);
        rng.fill_bytes(&mut salts);
        let (salt, wrap_salt) = salts.split_at(16);
        let commitment = sha2::Sha256::new()
            .chain_update(b"msv2/commit")
            .chain_update([suite.id()])
            .chain_update(dk)
            .finalize();
        let dk_prf = cmac::Cmac::<aes::Aes256>::new(&dk.into());
        let payload_key = cmac_kdf(&dk_prf, b"payload", salt);
        let header_key = cmac_kdf(&dk_prf, b"header", salt);
        let wrap_key = cmac_kdf(&kek_prf, b"wrap", wrap_salt);

        let header_len = 4 + 1 + 2 + 1 + 4 + 32 + 32 + 1 + 16 + 1 + (1 + 1 + 8 + 2 + 16 + 48) + 16;
        let mut out = Vec::with_capacity(header_len + pt.len() + 16);
        out.extend_from_slice(b"MSEV");
        out.push(2);
        out.extend_from_slice(&(header_len as u16).to_be_bytes());
        let preamble_start = out.len();
        out.push(suite.id());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&salts);
        out.extend_from_slice(&commitment);
        out.push(1);
        out.extend_from_slice(b"\x0brecord-kind\x03cgm");
        let preamble_end = out.len();
        // Associated data: the preamble and the canonical context, unhashed.
        let mut aad = [0u8; 160];
        let preamble_len = preamble_end - preamble_start;
        aad[..preamble_len].copy_from_slice(&out[preamble_start..]);
        aad[preamble_len..preamble_len + context.len()].copy_from_slice(context);
        let aad = &aad[..preamble_len + context.len()];
        out.push(1);
        out.extend_from_slice(&[0x01, 8]);
        out.extend_from_slice(b"kek-2026");
        out.extend_from_slice(&64u16.to_be_bytes());
        out.extend_from_slice(wrap_salt);
        let mut wrapped = dk;
        let wrap_tag = provider
            .key(suite, &wrap_key)
            .seal_in_place(&[0; 12], aad, &mut wrapped)
            .unwrap();
        out.extend_from_slice(&wrapped);
        out.extend_from_slice(&wrap_tag);
        let header_tag = cmac::Cmac::<aes::Aes256>::new(&header_key.into())
            .chain_update(&out)
            .finalize()
            .into_bytes();
        out.extend_from_slice(&header_tag);
        assert_eq!(out.len(), header_len);
        out.extend_from_slice(pt);
        let tag = provider
            .key(suite, &payload_key)
            .seal_in_place(&[0; 12], aad, &mut out[header_len..])
            .unwrap();
        out.extend_from_slice(&tag);
        out
    };
    let id = BenchmarkId::new(name, label);
    g.bench_with_input(id, &pt, |b, pt| b.iter(|| seal(black_box(pt), &mut rng)));
}

/// Seal under the leanest HMAC-based v2 we could sketch (see the module docs): no extract step
/// (`DK` is a uniform key, RFC 5869 section 3.3), one 96-byte HKDF-Expand for the payload key,
/// commitment and header-MAC key, the wrap straight under the KEK (prepared once) with a random
/// 12-byte nonce stored in the slot, the preamble and canonical context as unhashed associated
/// data, and an HMAC-SHA-256 header MAC. Same header shape as `sketch-v2`.
fn bench_sketch_lean<P: AeadProvider>(
    g: &mut Group<'_>,
    name: &str,
    provider: P,
    suite: Suite,
    (len, label): (usize, &str),
) {
    use hmac::{KeyInit as _, Mac};
    use medsec_envelope::provider::AeadKey;
    use rand_core::Rng;
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let kek = provider.key(suite, &[0x33u8; 32]);
    let context: &[u8] = b"\x07patient\x08p-7f3a9c\x0brecord-kind\x03cgm";
    let pt = plaintext(len);
    let seal = |pt: &[u8], rng: &mut ChaCha20Rng| -> Vec<u8> {
        let mut dk = [0u8; 32];
        let mut randomness = [0u8; 44];
        rng.fill_bytes(&mut dk);
        rng.fill_bytes(&mut randomness);
        let (salt, wrap_nonce) = randomness.split_at(32);
        let mut okm = [0u8; 96];
        hkdf::Hkdf::<sha2::Sha256>::from_prk(&dk)
            .unwrap()
            .expand_multi_info(&[b"msv2/keys", &[suite.id()], salt], &mut okm)
            .unwrap();
        let (payload_key, rest) = okm.split_at(32);
        let (commitment, header_key) = rest.split_at(32);

        let header_len = 4 + 1 + 2 + 1 + 4 + 32 + 32 + 1 + 16 + 1 + (1 + 1 + 8 + 2 + 12 + 48) + 32;
        let mut out = Vec::with_capacity(header_len + pt.len() + 16);
        out.extend_from_slice(b"MSEV");
        out.push(2);
        out.extend_from_slice(&(header_len as u16).to_be_bytes());
        let preamble_start = out.len();
        out.push(suite.id());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(salt);
        out.extend_from_slice(commitment);
        out.push(1);
        out.extend_from_slice(b"\x0brecord-kind\x03cgm");
        let preamble_end = out.len();
        let mut aad = [0u8; 176];
        let preamble_len = preamble_end - preamble_start;
        aad[..preamble_len].copy_from_slice(&out[preamble_start..]);
        aad[preamble_len..preamble_len + context.len()].copy_from_slice(context);
        let body_aad_len = preamble_len + context.len();
        // The wrap's associated data adds the slot's kind and key id.
        aad[body_aad_len..body_aad_len + 10].copy_from_slice(b"\x01\x08kek-2026");
        out.push(1);
        out.extend_from_slice(&[0x01, 8]);
        out.extend_from_slice(b"kek-2026");
        out.extend_from_slice(&60u16.to_be_bytes());
        out.extend_from_slice(wrap_nonce);
        let mut wrapped = dk;
        let wrap_tag = kek
            .seal_in_place(
                wrap_nonce.try_into().unwrap(),
                &aad[..body_aad_len + 10],
                &mut wrapped,
            )
            .unwrap();
        out.extend_from_slice(&wrapped);
        out.extend_from_slice(&wrap_tag);
        let header_tag = <hmac::Hmac<sha2::Sha256>>::new_from_slice(header_key)
            .unwrap()
            .chain_update(&out)
            .finalize()
            .into_bytes();
        out.extend_from_slice(&header_tag);
        assert_eq!(out.len(), header_len);
        out.extend_from_slice(pt);
        let tag = provider
            .key(suite, payload_key.try_into().unwrap())
            .seal_in_place(&[0; 12], &aad[..body_aad_len], &mut out[header_len..])
            .unwrap();
        out.extend_from_slice(&tag);
        out
    };
    let id = BenchmarkId::new(name, label);
    g.bench_with_input(id, &pt, |b, pt| b.iter(|| seal(black_box(pt), &mut rng)));
}

fn bench_raw(
    g: &mut Group<'_>,
    op: Op,
    name: &str,
    aead: &dyn RawAead,
    (len, label): (usize, &str),
) {
    let pt = plaintext(len);
    let ct = aead.seal(&pt);
    assert_eq!(aead.open(&ct), pt);
    let id = BenchmarkId::new(name, label);
    match op {
        Op::Seal => g.bench_with_input(id, &pt, |b, pt| b.iter(|| aead.seal(black_box(pt)))),
        Op::Open => g.bench_with_input(id, &ct, |b, ct| b.iter(|| aead.open(black_box(ct)))),
    };
}

fn symmetric(c: &mut Criterion) {
    let key = [0x42u8; 32];
    for (suite, suite_name) in [(Suite::Aes256GcmSiv, "gcmsiv"), (Suite::Aes256Gcm, "gcm")] {
        let (rc_raw, aws_raw): (Box<dyn RawAead>, AwsLcRaw) = match suite {
            Suite::Aes256GcmSiv => (
                Box::new(RustCryptoRaw::new(Aes256GcmSiv::new(&key.into()))),
                AwsLcRaw::new(&AES_256_GCM_SIV, &key),
            ),
            _ => (
                Box::new(RustCryptoRaw::new(Aes256Gcm::new(&key.into()))),
                AwsLcRaw::new(&AES_256_GCM, &key),
            ),
        };
        for (op, op_name) in [(Op::Seal, "seal"), (Op::Open, "open")] {
            let mut g = c.benchmark_group(format!("{op_name}-{suite_name}"));
            for size in SIZES {
                g.throughput(Throughput::Bytes(size.0 as u64));
                bench_envelope(&mut g, op, "envelope-rustcrypto", RustCrypto, suite, size);
                bench_in_place(&mut g, op, "envelope-rustcrypto", RustCrypto, suite, size);
                bench_floor(&mut g, op, "floor-rustcrypto", RustCrypto, suite, size);
                if op == Op::Seal {
                    bench_sketch_v2(&mut g, "sketch-v2-rustcrypto", RustCrypto, suite, size);
                    bench_sketch_lean(&mut g, "sketch-lean-rustcrypto", RustCrypto, suite, size);
                }
                bench_raw(&mut g, op, "raw-rustcrypto", &*rc_raw, size);
                bench_envelope(&mut g, op, "envelope-awslc", AwsLc, suite, size);
                bench_in_place(&mut g, op, "envelope-awslc", AwsLc, suite, size);
                bench_floor(&mut g, op, "floor-awslc", AwsLc, suite, size);
                if op == Op::Seal {
                    bench_sketch_v2(&mut g, "sketch-v2-awslc", AwsLc, suite, size);
                    bench_sketch_lean(&mut g, "sketch-lean-awslc", AwsLc, suite, size);
                }
                bench_raw(&mut g, op, "raw-awslc", &aws_raw, size);
            }
            g.finish();
        }
    }
}

fn public_key(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let sk = RecipientSecretKey::generate(KeyId::new(b"backend-2026").unwrap(), &mut rng);
    let pk = sk.public_key();
    let ctx = context();
    let rc = Sealer::with_provider(RustCrypto)
        .context(ctx)
        .recipient(&pk)
        .unwrap();
    let aws = Sealer::with_provider(AwsLc)
        .context(ctx)
        .recipient(&pk)
        .unwrap();
    let unwiped = Sealer::with_provider(AwsLcUnwipedHpke)
        .context(ctx)
        .recipient(&pk)
        .unwrap();
    let age_identity = age::x25519::Identity::generate();
    let age_recipient = age_identity.to_public();

    let mut g = c.benchmark_group("pk-seal");
    for (len, label) in PK_SIZES {
        g.throughput(Throughput::Bytes(len as u64));
        let pt = plaintext(len);
        // Every contender's output opens (checked once, outside the timings).
        let sealed = rc.seal(&pt, &mut rng).unwrap();
        assert_eq!(
            &Opener::new(&sk).context(ctx).open(&sealed).unwrap()[..],
            &pt[..]
        );
        for sealed in [
            aws.seal(&pt, &mut rng).unwrap(),
            unwiped.seal(&pt, &mut rng).unwrap(),
        ] {
            assert_eq!(
                &Opener::new(&sk).context(ctx).open(&sealed).unwrap()[..],
                &pt[..]
            );
        }
        let aged = age::encrypt(&age_recipient, &pt).unwrap();
        assert_eq!(age::decrypt(&age_identity, &aged).unwrap(), pt);

        g.bench_with_input(
            BenchmarkId::new("envelope-hpke-rustcrypto", label),
            &pt,
            |b, pt| {
                b.iter(|| rc.seal(black_box(pt), &mut rng).unwrap());
            },
        );
        g.bench_with_input(
            BenchmarkId::new("envelope-hpke-awslc", label),
            &pt,
            |b, pt| {
                b.iter(|| aws.seal(black_box(pt), &mut rng).unwrap());
            },
        );
        g.bench_with_input(
            BenchmarkId::new("envelope-hpke-awslc-unwiped", label),
            &pt,
            |b, pt| {
                b.iter(|| unwiped.seal(black_box(pt), &mut rng).unwrap());
            },
        );
        g.bench_with_input(BenchmarkId::new("age-x25519", label), &pt, |b, pt| {
            b.iter(|| age::encrypt(&age_recipient, black_box(pt)).unwrap());
        });
    }
    g.finish();

    // Opening (no target; information for server ingest): the recipient's side of the above.
    let mut g = c.benchmark_group("pk-open");
    let (len, label) = PK_SIZES[0];
    g.throughput(Throughput::Bytes(len as u64));
    let pt = plaintext(len);
    let sealed = rc.seal(&pt, &mut rng).unwrap();
    let aged = age::encrypt(&age_recipient, &pt).unwrap();
    let rc_open = Opener::with_provider(RustCrypto, &sk).context(ctx);
    let aws_open = Opener::with_provider(AwsLc, &sk).context(ctx);
    let unwiped_open = Opener::with_provider(AwsLcUnwipedHpke, &sk).context(ctx);
    assert_eq!(&aws_open.open(&sealed).unwrap()[..], &pt[..]);
    assert_eq!(&unwiped_open.open(&sealed).unwrap()[..], &pt[..]);
    g.bench_with_input(
        BenchmarkId::new("envelope-hpke-rustcrypto", label),
        &sealed,
        |b, s| b.iter(|| rc_open.open(black_box(s)).unwrap()),
    );
    g.bench_with_input(
        BenchmarkId::new("envelope-hpke-awslc", label),
        &sealed,
        |b, s| b.iter(|| aws_open.open(black_box(s)).unwrap()),
    );
    g.bench_with_input(
        BenchmarkId::new("envelope-hpke-awslc-unwiped", label),
        &sealed,
        |b, s| b.iter(|| unwiped_open.open(black_box(s)).unwrap()),
    );
    g.bench_with_input(BenchmarkId::new("age-x25519", label), &aged, |b, a| {
        b.iter(|| age::decrypt(&age_identity, black_box(a)).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = configure();
    targets = symmetric, public_key
}
criterion_main!(benches);
