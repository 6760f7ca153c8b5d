//! Fuzz the PHC string parser and the verifier behind it: no panic, canonical round trip, and
//! nothing outside the (small) ceilings reaches Argon2.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medsec_credential::hash::hazmat;
use medsec_credential::{Error, HashParams, Password, PhcHash, VerifyLimits};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    // Small ceilings keep each Argon2 run cheap: m <= 256 KiB, t <= 2, p <= 2.
    let Ok(limits) = VerifyLimits::new(256, 2, 2, 64, 64) else {
        return;
    };
    match PhcHash::parse(s, &limits) {
        Ok(h) => {
            // Only the canonical form parses, so re-encoding gives the input back.
            assert_eq!(h.encode().as_str(), s);
            assert!(h.params().m_kib() <= 256 && h.params().t() <= 2 && h.params().p() <= 2);
            let Ok(hasher) = hazmat::hasher_below_minimum(
                HashParams::new(8, 1, 1).unwrap_or(HashParams::FIRMWARE),
            ) else {
                return;
            };
            let Ok(hasher) = hasher.with_limits(limits) else {
                return;
            };
            let Ok(pw) = Password::new("fuzz") else {
                return;
            };
            match hasher.verify(&pw, s) {
                Ok(_) | Err(Error::NotVerified) => {}
                Err(e) => panic!("parsed string failed to verify cleanly: {e:?}"),
            }
        }
        Err(Error::MalformedHash | Error::LimitExceeded) => {}
        Err(e) => panic!("unexpected error {e:?}"),
    }
});
