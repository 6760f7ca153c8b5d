//! Tokens added after clean-room round 4, mostly as parents of narrowing vectors (profile
//! §7): a clinician bound to a patient; parents whose `sub`, `patient` or `cnf` a verifier
//! accepts but a narrowing does not copy; a caregiver token without a patient (another
//! minter's: medsec's builder refuses it); a lifetime over 366 days. Each is valid.

use super::*;

/// Replaces one claim of a medsec-encoded token's payload (or drops it when `value` is
/// `None`) and signs the result with the file's key, as another minter could.
pub(super) fn edited(token: &[u8], key: i64, value: Option<Cbor>) -> Vec<u8> {
    let mut m = payload_map(token);
    let at = m.iter().position(|(k, _)| *k == Cbor::from(key)).unwrap();
    match value {
        Some(v) => m[at].1 = v,
        None => {
            m.remove(at);
        }
    }
    forge_sign1(ed_header(), Default::default(), encode_map(m))
}

pub(super) fn review4_cases() -> Vec<Case> {
    let sk = signing_key();
    let mut rng = no_rng();
    let clinician = |sub: &'static str, n: u8| {
        ClaimsBuilder::new(ISS, Role::Clinician)
            .subject(sub)
            .audience(AUD)
            .issued_at(T0)
            .ttl(3600)
            .token_id(id4(TOKEN_ID4, n))
    };
    let mint = |c: medsec_token::Result<Claims<'_>>| sk.mint_vec(&c.unwrap()).unwrap();

    let bound = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-jane")
        .audience(AUD)
        .issued_at(T0)
        .not_before(T0 + 600)
        .ttl(8 * 3600)
        .patient(PATIENT)
        .token_id(id4(TOKEN_ID4, 1))
        .build(&mut rng);
    // medsec's builder refuses control characters (§3.2, after clean-room round 5): these
    // two are another minter's, the claim edited into a token minted with a clean text.
    // Re-encoding keeps medsec's key order and heads, so the bytes are what the builder
    // made before it refused them.
    let line_feed = edited(
        &mint(clinician("dr-", 2).build(&mut rng)),
        2,
        Some(Cbor::Text("dr\n".into())),
    );
    let patient_nul = edited(
        &mint(
            clinician("dr-jane", 3)
                .patient("patient-8f3a2c-")
                .build(&mut rng),
        ),
        -65539,
        Some(Cbor::Text("patient-8f3a2c\u{0}".into())),
    );
    let long_patient = "p".repeat(128);
    let patient_128 = clinician("dr-jane", 4)
        .patient(&long_patient)
        .build(&mut rng);
    let identity_cnf = clinician("dr-jane", 5)
        .proof_key(ProofKey::Ed25519(h32(IDENTITY)))
        .build(&mut rng);
    // A caregiver token without a patient: medsec's builder refuses it, so the patient claim
    // is dropped from a bound one.
    let caregiver = ClaimsBuilder::new(ISS, Role::Caregiver)
        .subject("caregiver-77")
        .audience(AUD)
        .issued_at(T0)
        .ttl(3600)
        .patient(PATIENT)
        .token_id(id4(TOKEN_ID4, 6))
        .build(&mut rng);
    let unbound_caregiver = edited(&mint(caregiver), -65539, None);
    // exp - iat = 400 days: over the builder's 366, from another minter.
    let long_lived = edited(
        &mint(clinician("dr-jane", 7).build(&mut rng)),
        4,
        Some(Cbor::from(T0 + 400 * 86_400)),
    );

    vec![
        Case::ok(
            "clinician-sign1-bound",
            mint(bound),
            T0 + 600,
            AUD,
            "clinician token with not-before, bound to patient-8f3a2c: it reaches that \
             patient's data, and so may a child narrowed from it",
        ),
        Case::ok(
            "clinician-sign1-subject-line-feed",
            line_feed,
            T0 + 60,
            AUD,
            "sub \"dr\" then a line feed: a verifier accepts any UTF-8 text of 1 to 128 bytes \
             (§3); a narrowing does not copy it (§7)",
        ),
        Case::ok(
            "clinician-sign1-patient-nul",
            patient_nul,
            T0 + 60,
            AUD,
            "bound to \"patient-8f3a2c\" then NUL (U+0000): accepted by a verifier, reaches \
             that text only (not patient-8f3a2c); a narrowing does not copy it (§7)",
        ),
        Case::ok(
            "clinician-sign1-patient-128-bytes",
            mint(patient_128),
            T0 + 60,
            AUD,
            "bound to a patient id of 128 bytes (the longest)",
        ),
        Case::ok(
            "clinician-sign1-cnf-identity",
            mint(identity_cnf),
            T0 + 60,
            AUD,
            "cnf x is the identity (small order): a verifier does not check cnf points \
             (§3.3); a narrowing does not copy it (§7)",
        ),
        Case::ok(
            "caregiver-sign1-unbound",
            unbound_caregiver,
            T0 + 60,
            AUD,
            "a caregiver token without a patient claim (medsec's builder does not mint one): \
             it verifies, and reaches no patient's data (§3.4)",
        ),
        Case::ok(
            "clinician-sign1-lifetime-400-days",
            long_lived,
            T0 + 60,
            AUD,
            "exp - iat = 400 days, over the 366 days medsec mints: a verifier without a \
             maximum lifetime M accepts it",
        ),
    ]
}
