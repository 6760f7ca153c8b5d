//! Opening arbitrary bytes (one-shot, in place, streamed) with real keys: never panics, and
//! nothing opens except what was sealed. The first input byte picks a mode; seeds derived from
//! real envelopes are mutated by the fuzzer.
#![no_main]

use std::io::Read;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use medsec_envelope::{
    Context, Kek, KeyId, Opener, OpeningReader, RecipientSecretKey, Sealer, Unwrap, UnwrapAny,
};

struct Keys {
    kek: Kek,
    hpke: RecipientSecretKey,
    sealed: Vec<u8>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let kek = Kek::from_bytes(KeyId::new(b"fuzz-kek").unwrap(), [7; 32]);
        let hpke = RecipientSecretKey::from_bytes(KeyId::new(b"fuzz-hpke").unwrap(), &[9; 32]).unwrap();
        let pk = hpke.public_key();
        let mut rng = medsec_envelope::OsRng::default();
        let sealed = Sealer::new()
            .context(context())
            .key_wrap(&kek)
            .unwrap()
            .recipient(&pk)
            .unwrap()
            .seal(b"fuzz plaintext", &mut rng)
            .unwrap();
        Keys { kek, hpke, sealed }
    })
}

fn context() -> Context<'static> {
    Context::new().with_custom("patient", b"p-1").unwrap()
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let Some((&mode, rest)) = data.split_first() else { return };
    let both: [&dyn Unwrap; 2] = [&k.kek, &k.hpke];
    let any = UnwrapAny(&both);
    let opener = Opener::new(&any).context(context());
    match mode % 4 {
        0 => {
            if let Ok(pt) = opener.open(rest) {
                // Only the genuine envelope may open.
                assert_eq!(rest, &k.sealed[..]);
                assert_eq!(&pt[..], b"fuzz plaintext");
            }
        }
        1 => {
            let mut buf = rest.to_vec();
            let _ = opener.open_in_place(&mut buf);
        }
        2 => {
            if let Ok(mut reader) = OpeningReader::new(&opener, rest) {
                let mut out = Vec::new();
                let _ = reader.read_to_end(&mut out);
            }
        }
        _ => {
            // Mutate the genuine envelope at fuzzer-chosen positions: must never open.
            let mut t = k.sealed.clone();
            let mut changed = false;
            for pair in rest.chunks(2) {
                if let [pos, mask] = pair {
                    let i = usize::from(*pos) * t.len() / 256;
                    if *mask != 0 {
                        t[i] ^= mask;
                        changed = true;
                    }
                }
            }
            let opened = opener.open(&t).is_ok();
            assert!(!changed || t == k.sealed || !opened, "a modified envelope opened");
        }
    }
});
