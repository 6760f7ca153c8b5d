//! Opening arbitrary bytes (one-shot, in place, streamed, re-wrap, recipient rotation) with
//! real keys: never
//! panics, and nothing opens except what was sealed. The first input byte picks a mode; the
//! mutation modes change genuine envelopes at fuzzer-chosen positions, so the checks past the
//! header MAC are reached without the fuzzer having to forge a MAC.
#![no_main]

use std::io::{Read, Write};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use medsec_envelope::{
    Context, Kek, KeyId, KeyState, Keyring, Opener, OpeningReader, RecipientSecretKey, Sealer,
    SealingWriter, Unwrap, UnwrapAny,
};

const PLAINTEXT: &[u8] = b"fuzz plaintext";
const CHUNK: u32 = 4096;

struct Keys {
    keyring: Keyring,
    hpke: RecipientSecretKey,
    successor: medsec_envelope::RecipientPublicKey,
    sealed: Vec<u8>,
    stream: Vec<u8>,
    stream_plaintext: Vec<u8>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keyring = Keyring::new();
        keyring
            .insert(
                Kek::from_bytes(KeyId::new(b"fuzz-kek").unwrap(), [7; 32]),
                KeyState::Primary,
            )
            .unwrap();
        let hpke =
            RecipientSecretKey::from_bytes(KeyId::new(b"fuzz-hpke").unwrap(), &[9; 32]).unwrap();
        let pk = hpke.public_key();
        let mut rng = medsec_envelope::OsRng::default();
        let sealer = Sealer::new()
            .context(context())
            .key_wrap(&keyring)
            .unwrap()
            .recipient(&pk)
            .unwrap();
        let sealed = sealer.seal(PLAINTEXT, &mut rng).unwrap();
        // Three full chunks and a short last one.
        let stream_plaintext: Vec<u8> = (0..3 * CHUNK + 100).map(|i| (i % 251) as u8).collect();
        let mut w = SealingWriter::new(&sealer, CHUNK, Vec::new(), &mut rng).unwrap();
        w.write_all(&stream_plaintext).unwrap();
        let stream = w.finish().unwrap();
        let successor =
            RecipientSecretKey::from_bytes(KeyId::new(b"fuzz-hpke-2").unwrap(), &[11; 32])
                .unwrap()
                .public_key();
        Keys {
            keyring,
            hpke,
            successor,
            sealed,
            stream,
            stream_plaintext,
        }
    })
}

fn context() -> Context<'static> {
    Context::new().with_custom("patient", b"p-1").unwrap()
}

/// Applies `(position, xor mask)` pairs to a copy of `genuine`; a leading length byte pair, when
/// the mode asks for it, first cuts or extends the copy.
fn mutate(genuine: &[u8], ops: &[u8], resize: bool) -> Vec<u8> {
    let mut t = genuine.to_vec();
    let mut ops = ops;
    if resize {
        if let [a, b, rest @ ..] = ops {
            let len = usize::from(u16::from_be_bytes([*a, *b])) * (genuine.len() + 64) / 65536;
            t.resize(len, 0x5a);
            ops = rest;
        }
    }
    if t.is_empty() {
        return t;
    }
    for pair in ops.chunks(2) {
        if let [pos, mask] = pair {
            let i = usize::from(*pos) * t.len() / 256;
            t[i] ^= mask;
        }
    }
    t
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let both: [&dyn Unwrap; 2] = [&k.keyring, &k.hpke];
    let any = UnwrapAny(&both);
    let opener = Opener::new(&any).context(context());
    match mode % 8 {
        0 => {
            if let Ok(pt) = opener.open(rest) {
                // Only the genuine envelope may open.
                assert_eq!(rest, &k.sealed[..]);
                assert_eq!(&pt[..], PLAINTEXT);
            }
        }
        1 => {
            let mut buf = rest.to_vec();
            let _ = opener.open_in_place(&mut buf);
        }
        2 => {
            if let Ok(mut reader) = OpeningReader::new(&opener, rest) {
                let mut out = Vec::new();
                if reader.read_to_end(&mut out).is_ok() {
                    assert!(reader.complete().is_some());
                    assert_eq!(rest, &k.stream[..]);
                }
            }
        }
        3 => {
            // Mutated one-shot envelope: opens only if unchanged.
            let t = mutate(&k.sealed, rest, true);
            if let Ok(pt) = opener.open(&t) {
                assert_eq!(t, k.sealed, "a modified envelope opened");
                assert_eq!(&pt[..], PLAINTEXT);
            }
        }
        4 => {
            // Mutated stream: only verified chunks are released (a prefix of the genuine
            // plaintext), and it completes only if unchanged.
            let t = mutate(&k.stream, rest, true);
            let Ok(mut reader) = OpeningReader::new(&opener, &t[..]) else {
                return;
            };
            let mut out = Vec::new();
            let mut buf = [0u8; 1000];
            let completed = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(_) => break false,
                }
            };
            assert_eq!(
                &out[..],
                &k.stream_plaintext[..out.len()],
                "unverified bytes were released"
            );
            if completed {
                assert!(reader.complete().is_some());
                assert_eq!(t, k.stream, "a modified stream completed");
            } else {
                assert!(reader.complete().is_none());
            }
        }
        5 => {
            // Chunk-level API, with a caller that ignores failures and carries on: the stream
            // may still only complete if every chunk was genuine.
            let t = mutate(&k.stream, rest, true);
            let Ok((hl, mut stream)) = opener.begin_stream(&t) else {
                return;
            };
            let full = stream.sealed_chunk_len();
            let mut body = t[hl..].to_vec();
            let mut pieces: Vec<&mut [u8]> = body.chunks_mut(full).collect();
            let last = if pieces.last().is_some_and(|p| p.len() < full) {
                pieces.pop()
            } else {
                None
            };
            for piece in pieces {
                let _ = stream.open_chunk(piece);
            }
            let mut empty = [0u8; 0];
            let last = last.unwrap_or(&mut empty);
            if stream.open_last(last).is_ok() {
                assert_eq!(t, k.stream, "a modified stream completed at chunk level");
            }
        }
        6 => {
            // Re-wrap of a mutated envelope: succeeds only if the header is genuine (the body
            // is not checked by re-wrap), and the result opens only if the body is too.
            let genuine = if rest.first().is_some_and(|b| b & 1 == 1) {
                &k.stream
            } else {
                &k.sealed
            };
            let t = mutate(genuine, rest.get(1..).unwrap_or_default(), true);
            let mut rng = medsec_envelope::OsRng::default();
            if let Ok(rewrapped) = k.keyring.rewrap(&opener, &t, &mut rng) {
                let hl = medsec_envelope::peek_header_len(genuine).unwrap();
                assert_eq!(
                    &t[..hl],
                    &genuine[..hl],
                    "re-wrap accepted a modified header"
                );
                if genuine == &k.sealed {
                    if let Ok(pt) = opener.open(&rewrapped) {
                        assert_eq!(&t[hl..], &genuine[hl..]);
                        assert_eq!(&pt[..], PLAINTEXT);
                    }
                }
            }
        }
        _ => {
            // Recipient rotation or addition on a mutated envelope: as re-wrap, it succeeds only
            // on a genuine header; rotation drops the retired key's slot, adding keeps it.
            let genuine = if rest.first().is_some_and(|b| b & 1 == 1) {
                &k.stream
            } else {
                &k.sealed
            };
            let t = mutate(genuine, rest.get(1..).unwrap_or_default(), true);
            let mut rng = medsec_envelope::OsRng::default();
            let retired = k.hpke.id();
            // The second bit picks adding the successor instead of rotating to it.
            let add = rest.first().is_some_and(|b| b & 2 == 2);
            let result = if add {
                k.successor.add_to(&opener, &t, &mut rng)
            } else {
                k.successor.rewrap(&opener, &t, &retired, &mut rng)
            };
            if let Ok(rotated) = result {
                let hl = medsec_envelope::peek_header_len(genuine).unwrap();
                assert_eq!(
                    &t[..hl],
                    &genuine[..hl],
                    "re-addressing accepted a modified header"
                );
                let view =
                    medsec_envelope::HeaderView::parse(&rotated, &medsec_envelope::Limits::DEFAULT)
                        .unwrap();
                let names_retired = view.recipients().any(|s| s.key_id() == retired.as_bytes());
                assert_eq!(
                    names_retired, add,
                    "rotation drops the retired slot, adding keeps it"
                );
                let successor = k.successor.id();
                assert!(view
                    .recipients()
                    .any(|s| s.key_id() == successor.as_bytes()));
                if genuine == &k.sealed {
                    // The keyring slot is kept, so the keyring still opens a genuine body.
                    if let Ok(pt) = Opener::new(&k.keyring).context(context()).open(&rotated) {
                        assert_eq!(&t[hl..], &genuine[hl..]);
                        assert_eq!(&pt[..], PLAINTEXT);
                    }
                }
            }
        }
    }
});
