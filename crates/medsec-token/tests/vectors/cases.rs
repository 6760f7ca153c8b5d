//! The vectors' cases: each token with the verifier inputs and the expected outcome.

use super::*;

/// The key set most vectors verify under: both keys of the file's `keys` object.
pub(super) fn default_keys() -> Value {
    json!([{ "name": "ed25519" }, { "name": "hmac_sha256" }])
}

pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) token: Vec<u8>,
    pub(super) now: Option<u64>,
    pub(super) monotonic: Option<(u32, u64)>,
    pub(super) audience: &'static str,
    pub(super) revocation_epoch: Option<u64>,
    pub(super) revoked: Vec<TokenId>,
    pub(super) valid: bool,
    pub(super) why: &'static str,
    pub(super) leeway: u64,
    pub(super) keys: Value,
    pub(super) issuers: Vec<&'static str>,
    /// Further `verify` inputs (`subject_epochs`, `max_lifetime`, `seen_at`,
    /// `first_sight_floor`, `presented_before`, `presented_after`).
    pub(super) extra: Vec<(&'static str, Value)>,
    /// What a plain cofactorless RFC 8032 verifier (OpenSSL) decides on the signature.
    pub(super) plain_rfc8032: Option<bool>,
}

impl Case {
    pub(super) fn ok(
        name: &'static str,
        token: Vec<u8>,
        now: u64,
        audience: &'static str,
        why: &'static str,
    ) -> Self {
        Self {
            name,
            token,
            now: Some(now),
            monotonic: None,
            audience,
            revocation_epoch: None,
            revoked: vec![],
            valid: true,
            why,
            leeway: 60,
            keys: default_keys(),
            issuers: vec![ISS],
            extra: vec![],
            plain_rfc8032: None,
        }
    }
    pub(super) fn bad(
        name: &'static str,
        token: Vec<u8>,
        now: u64,
        audience: &'static str,
        why: &'static str,
    ) -> Self {
        Self {
            valid: false,
            ..Self::ok(name, token, now, audience, why)
        }
    }
}

pub(super) fn cases() -> Vec<Case> {
    let sk = signing_key();
    let mac = mac_key();
    let mut rng = no_rng();
    let base = |role| {
        ClaimsBuilder::new(ISS, role)
            .subject("patient-8f3a2c")
            .audience(AUD)
            .issued_at(T0)
            .ttl(3600)
    };

    let typical = base(Role::Patient)
        .token_id(cti(1))
        .build(&mut rng)
        .unwrap();
    let typical_tok = sk.mint_vec(&typical).unwrap();
    let bound = base(Role::Patient)
        .patient("patient-8f3a2c")
        .token_id(cti(2))
        .build(&mut rng)
        .unwrap();
    let clinician = ClaimsBuilder::new(ISS, Role::Clinician)
        .subject("dr-jane")
        .audience(AUD)
        .issued_at(T0)
        .not_before(T0 + 600)
        .ttl(8 * 3600)
        .token_id(cti(3))
        .build(&mut rng)
        .unwrap();
    let clinician_tok = sk.mint_vec(&clinician).unwrap();
    let tech = ClaimsBuilder::new(ISS, Role::Technician)
        .subject("tech-0042")
        .audience(AUD)
        .issued_at(T0)
        .ttl(86_400)
        .exi(900)
        .token_id(cti(4))
        .build(&mut rng)
        .unwrap();
    // A narrowed token: a one-hour read-only caregiver token for one patient whose `parent`
    // is the clinician's cti. Medsec's narrowing no longer derives it from that unbound
    // clinician (a child never reaches a patient its parent does not, profile §7; see
    // narrow-bound-clinician-to-caregiver), so it is built as those rules built it then:
    // the child's claims in medsec's encoding with `parent` (key -65540, last in the
    // deterministic order) appended, signed with the file's key. The bytes are unchanged.
    const CAREGIVER_RAW: &[(Role, &[Scope<'static>])] = &[(
        Role::Caregiver,
        &[Scope::new(Resource::ReadingsRaw, Actions::READ)],
    )];
    let caregiver_claims = ClaimsBuilder::new(ISS, Role::Caregiver)
        .policy(PolicyTable::new(CAREGIVER_RAW))
        .subject("caregiver-77")
        .audience(AUD)
        .issued_at(T0 + 600)
        .ttl(3600)
        .patient("patient-8f3a2c")
        .token_id(cti(5))
        .build(&mut rng)
        .unwrap();
    let mut m = payload_map(&sk.mint_vec(&caregiver_claims).unwrap());
    m.push((Cbor::from(-65540), Cbor::Bytes(cti(3).as_bytes().to_vec())));
    let caregiver_tok = forge_sign1(ed_header(), Default::default(), encode_map(m));
    let admin = ClaimsBuilder::new(ISS, Role::Admin)
        .subject("admin-1")
        .audience("backend-api")
        .issued_at(T0)
        .ttl(900)
        .token_id(cti(6))
        .build(&mut rng)
        .unwrap();
    let patient_mac = base(Role::Patient)
        .audience("backend-api")
        .token_id(cti(7))
        .build(&mut rng)
        .unwrap();
    const CUSTOM: &[(Role, &[Scope<'static>])] = &[(
        Role::Technician,
        &[
            Scope::new(Resource::DeviceLogs, Actions::READ),
            Scope::new(Resource::Custom("pump/calibration"), Actions::READ_WRITE),
            Scope::new(Resource::Custom("pump/motor"), Actions::READ),
        ],
    )];
    let holder = [0x42u8; 32];
    let custom = ClaimsBuilder::new(ISS, Role::Technician)
        .policy(PolicyTable::new(CUSTOM))
        .subject("tech-0042")
        .audience(AUD)
        .issued_at(T0)
        .ttl(600)
        .proof_key(ProofKey::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(&holder)
                .verifying_key()
                .to_bytes(),
        ))
        .token_id(cti(8))
        .build(&mut rng)
        .unwrap();

    let mut v = vec![
        Case::ok(
            "patient-sign1-typical",
            typical_tok.clone(),
            T0 + 60,
            AUD,
            "the typical patient token: default patient scopes, no binding",
        ),
        Case::ok(
            "patient-sign1-bound",
            sk.mint_vec(&bound).unwrap(),
            T0 + 60,
            AUD,
            "patient token bound to the patient's data",
        ),
        Case::ok(
            "clinician-sign1-nbf",
            clinician_tok.clone(),
            T0 + 600,
            AUD,
            "clinician token with not-before",
        ),
        Case {
            monotonic: Some((3, 120)),
            now: None,
            ..Case::ok(
                "technician-sign1-exi-no-wall-clock",
                sk.mint_vec(&tech).unwrap(),
                0,
                AUD,
                "valid from first sight for exi seconds on a device with only a monotonic counter",
            )
        },
        Case::ok(
            "caregiver-sign1-narrowed",
            caregiver_tok.clone(),
            T0 + 700,
            AUD,
            "a narrowed token (parent = clinician-sign1-nbf's cti): one patient, read-only raw \
             readings, one hour; verified as any token (narrowing no longer derives it from \
             that unbound parent, §7)",
        ),
        Case::ok(
            "admin-mac0",
            mac.mint_vec(&admin).unwrap(),
            T0 + 10,
            "backend-api",
            "backend-local COSE_Mac0, HMAC 256/256",
        ),
        Case::ok(
            "patient-mac0",
            mac.mint_vec(&patient_mac).unwrap(),
            T0 + 10,
            "backend-api",
            "backend-local patient token",
        ),
        Case::ok(
            "technician-sign1-custom-resources-cnf",
            sk.mint_vec(&custom).unwrap(),
            T0 + 10,
            AUD,
            "custom resources as text keys, proof-of-possession key",
        ),
        Case::ok(
            "patient-sign1-cwt-tag",
            [&[0xd8u8, 0x3d][..], &typical_tok].concat(),
            T0 + 60,
            AUD,
            "CWT tag 61 in front of the COSE_Sign1 tag is accepted",
        ),
    ];

    // Rejections. Each is a well-formed token except for the one thing named.
    v.push(Case::bad(
        "expired",
        typical_tok.clone(),
        T0 + 3600 + 60,
        AUD,
        "now >= exp + leeway (60 s)",
    ));
    v.push(Case::ok(
        "expired-within-leeway",
        typical_tok.clone(),
        T0 + 3600 + 59,
        AUD,
        "now < exp + leeway",
    ));
    v.push(Case::bad(
        "not-yet-valid",
        clinician_tok.clone(),
        T0 + 100,
        AUD,
        "nbf > now + leeway",
    ));
    v.push(Case::bad(
        "issued-in-future",
        typical_tok.clone(),
        T0 - 61,
        AUD,
        "iat > now + leeway",
    ));
    v.push(Case::bad(
        "wrong-audience",
        typical_tok.clone(),
        T0 + 60,
        "pump-SN000001",
        "aud differs from the verifier's audience",
    ));
    v.push(Case {
        revocation_epoch: Some(T0 + 1),
        ..Case::bad(
            "revoked-by-epoch",
            typical_tok.clone(),
            T0 + 60,
            AUD,
            "iat < revocation epoch",
        )
    });
    v.push(Case {
        revoked: vec![cti(1)],
        ..Case::bad(
            "revoked-by-id",
            typical_tok.clone(),
            T0 + 60,
            AUD,
            "cti is on the revocation list",
        )
    });
    v.push(Case {
        revoked: vec![cti(3)],
        ..Case::bad(
            "revoked-parent",
            caregiver_tok,
            T0 + 700,
            AUD,
            "the parent cti is on the revocation list",
        )
    });
    let mut t = typical_tok.clone();
    *t.last_mut().unwrap() ^= 1;
    v.push(Case::bad(
        "bad-signature",
        t,
        T0 + 60,
        AUD,
        "last signature byte flipped",
    ));
    let mut t = typical_tok.clone();
    let at = t.windows(14).position(|w| w == b"patient-8f3a2c").unwrap();
    t[at + 13] = b'd';
    v.push(Case::bad(
        "payload-tampered",
        t,
        T0 + 60,
        AUD,
        "one byte of sub changed after signing",
    ));
    let confused = MacKey::new(sk.kid(), &sk.verifying_key().to_bytes())
        .mint_vec(&typical)
        .unwrap();
    v.push(Case::bad(
        "mac0-under-ed25519-kid",
        confused,
        T0 + 60,
        AUD,
        "COSE_Mac0 keyed with the public key, naming the Ed25519 kid: the key fixes the algorithm",
    ));
    v.push(Case::bad(
        "sign1-under-hmac-kid",
        SigningKey::from_seed(&seed(), Some(mac.kid()))
            .mint_vec(&admin)
            .unwrap(),
        T0 + 10,
        "backend-api",
        "COSE_Sign1 naming the HMAC key's kid",
    ));
    let p = HeaderBuilder::new()
        .algorithm(iana::Algorithm::HMAC_256_256)
        .key_id(sk.kid().as_bytes().to_vec())
        .build();
    let body = encode_map(payload_map(&typical_tok));
    v.push(Case::bad(
        "sign1-alg-hmac",
        forge_sign1(p, Default::default(), body.clone()),
        T0 + 60,
        AUD,
        "COSE_Sign1 whose protected alg is 5",
    ));
    let p = HeaderBuilder::new()
        .key_id(sk.kid().as_bytes().to_vec())
        .build();
    v.push(Case::bad(
        "sign1-no-alg",
        forge_sign1(p, Default::default(), body.clone()),
        T0 + 60,
        AUD,
        "protected header without alg",
    ));
    let p = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .build();
    let u = HeaderBuilder::new()
        .key_id(sk.kid().as_bytes().to_vec())
        .build();
    v.push(Case::bad(
        "kid-unprotected",
        forge_sign1(p, u, body.clone()),
        T0 + 60,
        AUD,
        "kid in the unprotected bucket",
    ));
    v.push(Case::bad(
        "unknown-kid",
        SigningKey::from_seed(&[1u8; 32], None)
            .mint_vec(&typical)
            .unwrap(),
        T0 + 60,
        AUD,
        "kid not in the verifier's key set",
    ));
    v.push(Case::ok(
        "patient-sign1-coset-encoded",
        forge_sign1(ed_header(), Default::default(), body),
        T0 + 60,
        AUD,
        "control: patient-sign1-typical's claims encoded and signed by coset, an independent \
         COSE library; byte-identical to it, because both encode deterministically",
    ));

    let edit = |f: &dyn Fn(&mut Vec<(Cbor, Cbor)>)| {
        let mut m = payload_map(&typical_tok);
        f(&mut m);
        forge_sign1(ed_header(), Default::default(), encode_map(m))
    };
    let set = |k: i64, val: Cbor| {
        move |m: &mut Vec<(Cbor, Cbor)>| {
            for (key, v) in m.iter_mut() {
                if *key == Cbor::from(k) {
                    *v = val.clone();
                }
            }
        }
    };
    v.push(Case::bad(
        "exp-as-float",
        edit(&set(4, Cbor::Float((T0 + 3600) as f64))),
        T0 + 60,
        AUD,
        "exp is a float",
    ));
    v.push(Case::bad(
        "iat-as-text",
        edit(&set(6, Cbor::Text("1767225600".into()))),
        T0 + 60,
        AUD,
        "iat is text",
    ));
    v.push(Case::bad(
        "aud-as-array",
        edit(&set(3, Cbor::Array(vec![Cbor::Text(AUD.into())]))),
        T0 + 60,
        AUD,
        "aud is an array",
    ));
    v.push(Case::bad(
        "scope-resource-as-known-text",
        edit(&set(
            -65537,
            Cbor::Map(vec![(Cbor::Text("alarms".into()), Cbor::from(1))]),
        )),
        T0 + 60,
        AUD,
        "a known resource must use its code",
    ));
    v.push(Case::bad(
        "role-unknown",
        edit(&set(-65538, Cbor::from(9))),
        T0 + 60,
        AUD,
        "role code 9 is unassigned",
    ));
    v.push(Case::bad(
        "unknown-claim",
        edit(&|m| m.push((Cbor::from(9), Cbor::Text("x".into())))),
        T0 + 60,
        AUD,
        "claim key 9 is not in the profile",
    ));
    v.push(Case::bad(
        "duplicate-claim",
        edit(&|m| m.push((Cbor::from(2), Cbor::Text("dr-jane".into())))),
        T0 + 60,
        AUD,
        "sub appears twice",
    ));
    v.push(Case::bad(
        "missing-cti",
        edit(&|m| m.retain(|(k, _)| *k != Cbor::from(7))),
        T0 + 60,
        AUD,
        "cti is required",
    ));
    let mut oversize = typical_tok.clone();
    oversize.resize(1025, 0);
    v.push(Case::bad(
        "oversize",
        oversize,
        T0 + 60,
        AUD,
        "longer than 1024 bytes: patient-sign1-typical padded with zero bytes to 1025 (also \
         trailing bytes; oversize-signed isolates the length check)",
    ));
    v.push(Case::bad(
        "untagged",
        typical_tok[1..].to_vec(),
        T0 + 60,
        AUD,
        "the COSE_Sign1 tag (18) is required",
    ));
    v.push(Case {
        now: None,
        ..Case::bad(
            "no-time-source",
            typical_tok.clone(),
            0,
            AUD,
            "no wall clock and no exi",
        )
    });
    v.extend(added_cases::added_cases(
        &typical_tok,
        &clinician_tok,
        &admin,
        &tech,
    ));
    v.extend(review2_cases::review2_cases(
        &typical_tok,
        &sk.mint_vec(&tech).unwrap(),
    ));
    v.extend(review4_cases::review4_cases());
    v.extend(review6::review6_cases());
    v.extend(review7::review7_cases());
    v
}
