//! Cortex-M4F firmware that only opens envelopes.
//!
//! It holds one KEK (on a real device it would come from a secure element), opens the envelope
//! linked into flash with [`Opener::open_in_place`] — `medsec-envelope` built without `alloc`,
//! so nothing here allocates — checks the plaintext, checks that a tampered copy is refused
//! with the one opaque error, wipes the buffer and reports. With the `semihosting` feature it
//! prints the outcome and exits QEMU or the debugger with a matching status; without it, success
//! idles in `wfi` and failure halts in the panic handler.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::hint::black_box;
use core::panic::PanicInfo;

use cortex_m_rt::entry;
use medsec_envelope::{Context, ContextField, Error, Kek, KeyId, Opener, SuitePolicy};
use zeroize::Zeroize;

#[allow(dead_code)] // SEAL_SEED is for the host-side generator only.
mod fixture;

/// The envelope, sealed on the host by `tests/firmware_envelope.rs` (see the README).
static ENVELOPE: &[u8; ENVELOPE_LEN] = include_bytes!("../envelope.bin");
const ENVELOPE_LEN: usize = include_bytes!("../envelope.bin").len();

#[entry]
fn main() -> ! {
    let outcome = run();
    report(outcome)
}

/// What the firmware observed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Opened, plaintext as expected, tampered copy refused.
    Ok,
    /// The envelope did not open (wrong key, context or bytes).
    OpenFailed,
    /// It opened but the plaintext differs.
    WrongPlaintext,
    /// A tampered copy was not refused with `DidNotVerify`.
    TamperAccepted,
    /// The fixed key id or context was rejected (a build mistake).
    BadConfiguration,
}

fn run() -> Outcome {
    // black_box: keep the compiler from reasoning about the constant inputs.
    let Ok(id) = KeyId::new(black_box(fixture::KEK_ID)) else {
        return Outcome::BadConfiguration;
    };
    let kek = Kek::from_bytes(id, black_box(fixture::KEK_BYTES));
    let Ok(context) = Context::new()
        .with(ContextField::Patient, fixture::PATIENT)
        .and_then(|c| c.with_stored(ContextField::RecordKind, fixture::RECORD_KIND))
    else {
        return Outcome::BadConfiguration;
    };
    // This device only ever receives AES-256-GCM-SIV envelopes.
    let opener = Opener::new(&kek)
        .context(context)
        .policy(SuitePolicy::GCM_SIV_ONLY);

    let mut buf = [0u8; ENVELOPE_LEN];
    buf.copy_from_slice(black_box(ENVELOPE));
    let outcome = match opener.open_in_place(&mut buf) {
        Ok(plaintext) if *plaintext == *fixture::PLAINTEXT => Outcome::Ok,
        Ok(_) => Outcome::WrongPlaintext,
        Err(_) => Outcome::OpenFailed,
    };
    // A single flipped bit in the body must be refused with the one opaque error.
    buf.copy_from_slice(black_box(ENVELOPE));
    if let Some(last) = buf.last_mut() {
        *last ^= 0x01;
    }
    let tampered = opener.open_in_place(&mut buf);
    let tamper_refused = matches!(tampered, Err(Error::DidNotVerify));
    buf.zeroize();
    match outcome {
        Outcome::Ok if !tamper_refused => Outcome::TamperAccepted,
        other => other,
    }
}

#[cfg(feature = "semihosting")]
fn report(outcome: Outcome) -> ! {
    use cortex_m_semihosting::{debug, hprintln};
    let message = match outcome {
        Outcome::Ok => "envelope opened, plaintext verified, tampered copy refused: OK",
        Outcome::OpenFailed => "FAILED: envelope did not open",
        Outcome::WrongPlaintext => "FAILED: wrong plaintext",
        Outcome::TamperAccepted => "FAILED: tampered envelope was not refused",
        Outcome::BadConfiguration => "FAILED: bad key id or context",
    };
    hprintln!("medsec-firmware: {}", message);
    debug::exit(if outcome == Outcome::Ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    halt()
}

#[cfg(not(feature = "semihosting"))]
fn report(outcome: Outcome) -> ! {
    if outcome != Outcome::Ok {
        panic!("envelope check failed");
    }
    loop {
        cortex_m::asm::wfi();
    }
}

fn halt() -> ! {
    cortex_m::interrupt::disable();
    loop {
        cortex_m::asm::wfi();
    }
}

/// Halts: interrupts off, core asleep. With semihosting, first tells the host it failed.
#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    #[cfg(feature = "semihosting")]
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    halt()
}
