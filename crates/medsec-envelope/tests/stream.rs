//! Streaming envelopes: round trips, chunk-level tampering, truncation at every boundary.
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
    Context, ContextField, Error, Kek, Opener, OpeningReader, Sealer, SealingWriter,
    MAX_CHUNK_SIZE, MIN_CHUNK_SIZE,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const CHUNK: u32 = 4096;

fn ctx() -> Context<'static> {
    Context::new()
        .with(ContextField::Device, b"pump-7")
        .unwrap()
}

fn kek() -> Kek {
    Kek::generate(&mut ChaCha20Rng::from_seed([11; 32]))
}

fn seal_stream(kek: &Kek, plaintext: &[u8], seed: u8) -> Vec<u8> {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let sealer = Sealer::new().context(ctx()).key_wrap(kek).unwrap();
    let mut w = SealingWriter::new(&sealer, CHUNK, Vec::new(), &mut rng).unwrap();
    // Odd write sizes exercise the buffering.
    for piece in plaintext.chunks(1000) {
        w.write_all(piece).unwrap();
    }
    w.finish().unwrap()
}

fn open_stream(kek: &Kek, sealed: &[u8]) -> Result<Vec<u8>, (Vec<u8>, std::io::Error)> {
    let opener = Opener::new(kek).context(ctx());
    let mut out = Vec::new();
    let mut reader = match OpeningReader::new(&opener, sealed) {
        Ok(r) => r,
        Err(e) => return Err((out, e)),
    };
    let mut buf = [0u8; 777];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => {
                assert!(reader.complete().is_some());
                return Ok(out);
            }
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err((out, e)),
        }
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

/// Splits a sealed stream into header and sealed chunks.
fn split(sealed: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let hl = medsec_envelope::peek_header_len(sealed).unwrap();
    let full = CHUNK as usize + 16;
    let chunks = sealed[hl..].chunks(full).map(<[u8]>::to_vec).collect();
    (sealed[..hl].to_vec(), chunks)
}

fn join(header: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut v = header.to_vec();
    for c in chunks {
        v.extend_from_slice(c);
    }
    v
}

#[test]
fn round_trips_at_chunk_boundaries() {
    let kek = kek();
    let c = CHUNK as usize;
    for n in [0, 1, c - 1, c, c + 1, 2 * c, 3 * c + 17] {
        let pt = data(n);
        let sealed = seal_stream(&kek, &pt, 1);
        // Every chunk but the last is full; the last is always short (possibly empty).
        let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
        assert_eq!(
            sealed.len() - hl,
            (n / c) * (c + 16) + (n % c) + 16,
            "n = {n}"
        );
        assert_eq!(open_stream(&kek, &sealed).unwrap(), pt, "n = {n}");
    }
}

#[test]
fn dropped_reordered_duplicated_and_spliced_chunks_fail() {
    let kek = kek();
    let pt = data(3 * CHUNK as usize + 100);
    let sealed = seal_stream(&kek, &pt, 1);
    let other = seal_stream(&kek, &pt, 2);
    let (h, chunks) = split(&sealed);
    let (_, other_chunks) = split(&other);
    assert_eq!(chunks.len(), 4);
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("drop first", chunks[1..].to_vec()),
        (
            "drop middle",
            vec![chunks[0].clone(), chunks[2].clone(), chunks[3].clone()],
        ),
        ("drop last", chunks[..3].to_vec()),
        (
            "swap",
            vec![
                chunks[1].clone(),
                chunks[0].clone(),
                chunks[2].clone(),
                chunks[3].clone(),
            ],
        ),
        (
            "duplicate",
            vec![
                chunks[0].clone(),
                chunks[0].clone(),
                chunks[1].clone(),
                chunks[2].clone(),
                chunks[3].clone(),
            ],
        ),
        (
            "splice",
            vec![
                chunks[0].clone(),
                other_chunks[1].clone(),
                chunks[2].clone(),
                chunks[3].clone(),
            ],
        ),
        (
            "foreign last",
            vec![
                chunks[0].clone(),
                chunks[1].clone(),
                chunks[2].clone(),
                other_chunks[3].clone(),
            ],
        ),
        ("nothing", vec![]),
    ];
    for (name, cs) in cases {
        let (_, e) = open_stream(&kek, &join(&h, &cs)).expect_err(name);
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{name}");
        let inner = e.into_inner().unwrap().downcast::<Error>().unwrap();
        assert_eq!(*inner, Error::DidNotVerify, "{name}");
    }
    // Another stream's header with this stream's chunks.
    let (other_h, _) = split(&other);
    assert!(open_stream(&kek, &join(&other_h, &chunks)).is_err());
}

#[test]
fn every_truncation_fails_and_releases_only_verified_chunks() {
    let kek = kek();
    let pt = data(2 * CHUNK as usize + 50);
    let sealed = seal_stream(&kek, &pt, 1);
    let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
    for len in 0..sealed.len() {
        let (released, _) = open_stream(&kek, &sealed[..len]).expect_err("truncated stream opened");
        // Only whole, verified chunks are ever released.
        let verified_chunks = len.saturating_sub(hl) / (CHUNK as usize + 16);
        assert!(
            released.len() <= verified_chunks * CHUNK as usize,
            "len {len}"
        );
        assert_eq!(&released[..], &pt[..released.len()]);
    }
    let mut longer = sealed.clone();
    longer.push(0);
    assert!(open_stream(&kek, &longer).is_err());
}

#[test]
fn tampered_chunk_is_never_released() {
    let kek = kek();
    let pt = data(3 * CHUNK as usize);
    let mut sealed = seal_stream(&kek, &pt, 1);
    let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
    // Flip a bit in the second chunk's ciphertext.
    sealed[hl + CHUNK as usize + 16 + 5] ^= 0x40;
    let (released, e) = open_stream(&kek, &sealed).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(released, pt[..CHUNK as usize]);
}

#[test]
fn chunk_size_limits() {
    let kek = kek();
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let sealer = Sealer::new().key_wrap(&kek).unwrap();
    let mut header = vec![0u8; sealer.header_len().unwrap()];
    for bad in [0, 1, MIN_CHUNK_SIZE - 1, MAX_CHUNK_SIZE + 1, u32::MAX] {
        assert!(matches!(
            sealer.begin_stream(bad, &mut header, &mut rng).err(),
            Some(Error::InvalidConfiguration(_))
        ));
    }
    for good in [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE] {
        assert!(sealer.begin_stream(good, &mut header, &mut rng).is_ok());
    }
    // A stream cannot be opened as one-shot, and vice versa.
    let sealed = seal_stream(&kek, b"abc", 4);
    assert_eq!(
        Opener::new(&kek).context(ctx()).open(&sealed).err(),
        Some(Error::DidNotVerify)
    );
    let one_shot = Sealer::new()
        .context(ctx())
        .key_wrap(&kek)
        .unwrap()
        .seal(b"abc", &mut rng)
        .unwrap();
    assert_eq!(
        Opener::new(&kek)
            .context(ctx())
            .begin_stream(&one_shot)
            .err(),
        Some(Error::DidNotVerify)
    );
}

/// Format section 8 step 6: the chunk that would bring the total over the stream limit is
/// refused before it is verified, as "did not verify"; the chunks before it verified and were
/// released. The limit is inclusive.
#[test]
fn stream_length_limit_is_enforced_when_opening() {
    let kek = kek();
    let pt = data(3 * CHUNK as usize);
    let sealed = seal_stream(&kek, &pt, 1);
    let limits = medsec_envelope::Limits::DEFAULT.with_max_stream_len(2 * CHUNK as u64);
    let opener = Opener::new(&kek).context(ctx()).limits(limits);
    let mut r = OpeningReader::new(&opener, &sealed[..]).unwrap();
    let mut out = Vec::new();
    let err = r.read_to_end(&mut out).unwrap_err();
    assert_eq!(
        err.get_ref().and_then(|e| e.downcast_ref::<Error>()),
        Some(&Error::DidNotVerify)
    );
    assert_eq!(
        out,
        pt[..2 * CHUNK as usize],
        "the two chunks within the limit"
    );
    assert!(r.complete().is_none());

    // The chunk API: the third middle chunk is refused and wiped, though it would verify.
    let (header_len, mut stream) = opener.begin_stream(&sealed).unwrap();
    let full = stream.sealed_chunk_len();
    let mut chunks = sealed[header_len..].chunks(full).map(<[u8]>::to_vec);
    for _ in 0..2 {
        let mut chunk = chunks.next().unwrap();
        assert_eq!(stream.open_chunk(&mut chunk), Ok(CHUNK as usize));
    }
    let mut third = chunks.next().unwrap();
    assert_eq!(stream.open_chunk(&mut third), Err(Error::DidNotVerify));
    assert!(third.iter().all(|&b| b == 0), "the refused chunk is wiped");

    // Exactly at the limit: opens.
    let limits = medsec_envelope::Limits::DEFAULT.with_max_stream_len(3 * CHUNK as u64);
    let opener = Opener::new(&kek).context(ctx()).limits(limits);
    let mut out = Vec::new();
    OpeningReader::new(&opener, &sealed[..])
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, pt);
}

/// A source that ends (`Ok(0)`) once after `first`, then goes on with `events`: what a
/// terminal, a FIFO with a new writer, or a spliced transport can do. `None` is one
/// `Interrupted` error.
struct EndsThenContinues<'a> {
    first: &'a [u8],
    events: Vec<Option<&'a [u8]>>,
    ended: bool,
}

impl Read for EndsThenContinues<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if !self.first.is_empty() {
            let n = out.len().min(self.first.len());
            out[..n].copy_from_slice(&self.first[..n]);
            self.first = &self.first[n..];
            return Ok(n);
        }
        if !self.ended {
            self.ended = true;
            return Ok(0);
        }
        match self.events.first().copied() {
            None => Ok(0),
            Some(None) => {
                self.events.remove(0);
                Err(std::io::ErrorKind::Interrupted.into())
            }
            Some(Some(bytes)) => {
                let n = out.len().min(bytes.len());
                out[..n].copy_from_slice(&bytes[..n]);
                if n == bytes.len() {
                    self.events.remove(0);
                } else {
                    self.events[0] = Some(&bytes[n..]);
                }
                Ok(n)
            }
        }
    }
}

/// Bytes after a verified last chunk are tampering: the reader reports an error, and it stays
/// failed — no later `read` turns into a clean end of stream and no completion proof exists.
#[test]
fn trailing_data_after_last_chunk_never_completes() {
    let kek = kek();
    let pt = data(2 * CHUNK as usize + 50);
    let sealed = seal_stream(&kek, &pt, 1);
    let opener = Opener::new(&kek).context(ctx());
    let src = EndsThenContinues {
        first: &sealed,
        events: vec![Some(b"appended")],
        ended: false,
    };
    let mut reader = OpeningReader::new(&opener, src).unwrap();
    let mut out = Vec::new();
    let e = reader.read_to_end(&mut out).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        reader.complete().is_none(),
        "trailing data yields no completion proof"
    );
    let mut buf = [0u8; 64];
    assert!(
        reader.read(&mut buf).is_err(),
        "a reader that rejected trailing data must not report a clean end afterwards"
    );
    assert!(reader.complete().is_none());
    // Only the verified middle chunks were released; the last chunk's plaintext was not.
    assert_eq!(out, pt[..2 * CHUNK as usize]);
}

/// An `Interrupted` error while probing for trailing data is retried, not taken as the end.
#[test]
fn trailing_data_check_survives_interrupted_reads() {
    let kek = kek();
    let pt = data(CHUNK as usize + 10);
    let sealed = seal_stream(&kek, &pt, 1);
    let opener = Opener::new(&kek).context(ctx());
    let open = |events: Vec<Option<&[u8]>>| {
        let src = EndsThenContinues {
            first: &sealed,
            events,
            ended: false,
        };
        let mut reader = OpeningReader::new(&opener, src)?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out)?;
        assert!(reader.complete().is_some());
        Ok::<_, std::io::Error>(out)
    };
    assert_eq!(open(vec![]).unwrap(), pt);
    assert_eq!(open(vec![None]).unwrap(), pt);
    assert!(
        open(vec![None, Some(b"x")]).is_err(),
        "trailing byte accepted after an interrupted probe"
    );
}

/// The completion proof attests that *every* chunk verified: a caller that ignores a failed
/// middle chunk and carries on cannot obtain it.
#[test]
fn completion_requires_every_chunk_to_verify() {
    let kek = kek();
    let pt = data(3 * CHUNK as usize + 5);
    let sealed = seal_stream(&kek, &pt, 1);
    let (h, mut chunks) = split(&sealed);
    assert_eq!(chunks.len(), 4);
    chunks[1][3] ^= 1;
    let opener = Opener::new(&kek).context(ctx());
    let (hl, mut stream) = opener.begin_stream(&h).unwrap();
    assert_eq!(hl, h.len());
    assert!(stream.open_chunk(&mut chunks[0]).is_ok());
    assert_eq!(stream.open_chunk(&mut chunks[1]), Err(Error::DidNotVerify));
    // Ignoring the error: nothing further may verify, and no completion proof is issued.
    assert_eq!(stream.open_chunk(&mut chunks[2]), Err(Error::DidNotVerify));
    assert_eq!(
        stream.open_last(&mut chunks[3]).map(|(n, _)| n),
        Err(Error::DidNotVerify)
    );
}

/// Every bit flip in the header, at the start and end of every chunk (counter-adjacent bytes,
/// tags) and on a stride through the rest of a stream fails, and releases only chunks before
/// the flipped one.
#[test]
fn bit_flips_in_a_stream_fail() {
    let kek = kek();
    let pt = data(2 * CHUNK as usize + 10);
    let sealed = seal_stream(&kek, &pt, 1);
    let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
    let full = CHUNK as usize + 16;
    let near_boundary = |i: usize| {
        i < hl || {
            let off = (i - hl) % full;
            off < 32 || off >= full - 32 || i >= sealed.len() - 64
        }
    };
    let mut flips = 0;
    for i in 0..sealed.len() {
        if !near_boundary(i) && i % 97 != 0 {
            continue;
        }
        for bit in 0..8 {
            let mut t = sealed.clone();
            t[i] ^= 1 << bit;
            let (released, _) = open_stream(&kek, &t).expect_err("flipped stream opened");
            let first_bad_chunk = i.saturating_sub(hl) / full;
            assert!(
                i < hl && released.is_empty() || released.len() <= first_bad_chunk * CHUNK as usize,
                "byte {i} bit {bit}: released {} bytes",
                released.len()
            );
            assert_eq!(&released[..], &pt[..released.len()]);
            flips += 1;
        }
    }
    assert!(flips > 8 * (hl + 3 * 64));
}

/// A source that is temporarily unable to deliver (a socket with a read timeout) in the middle
/// of a chunk: the bytes already read are kept, and a retry carries on where it stopped rather
/// than failing the stream as if it had been tampered with.
#[test]
fn a_retry_after_a_transient_error_resumes_the_chunk() {
    struct Stalls<'a> {
        data: &'a [u8],
        pos: usize,
        stall_at: usize,
        stalled: bool,
    }
    impl Read for Stalls<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.stall_at && !self.stalled {
                self.stalled = true;
                // At the very end, report the end once first, then stall: the reader's check
                // for trailing bytes is what meets the error.
                if self.stall_at == self.data.len() {
                    self.stall_at = usize::MAX;
                    self.stalled = false;
                    return Ok(0);
                }
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            if self.stall_at == usize::MAX && !self.stalled {
                self.stalled = true;
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            let end = if self.pos < self.stall_at {
                self.stall_at.min(self.data.len())
            } else {
                self.data.len()
            };
            let n = out.len().min(end - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }
    let kek = kek();
    let pt = data(2 * CHUNK as usize + 10);
    let sealed = seal_stream(&kek, &pt, 1);
    let hl = medsec_envelope::peek_header_len(&sealed).unwrap();
    let opener = Opener::new(&kek).context(ctx());
    // In the middle of the second chunk, and while checking for the end after the last one.
    for (stall_at, released_before) in [
        (hl + CHUNK as usize + 16 + 100, CHUNK as usize),
        (sealed.len(), 2 * CHUNK as usize),
    ] {
        let src = Stalls {
            data: &sealed,
            pos: 0,
            stall_at,
            stalled: false,
        };
        let mut reader = OpeningReader::new(&opener, src).unwrap();
        let mut out = Vec::new();
        let e = reader.read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        assert_eq!(out, pt[..released_before]);
        assert!(reader.complete().is_none());
        reader.read_to_end(&mut out).unwrap();
        assert!(reader.complete().is_some());
        assert_eq!(out, pt);
    }
}
