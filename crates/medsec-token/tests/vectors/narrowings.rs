//! Narrowing vectors (profile §7): a parent (a valid vector of the file, verified with that
//! vector's own inputs), what the issuer asks for, and whether it derives a child (then the
//! child's token, signed with the file's Ed25519 key, and its claims) or refuses.

use super::*;

/// RFC 8032 §7.1 TEST 2 public key: a usable Ed25519 key for a new holder's `cnf`.
const HOLDER_2: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
/// y = 2: not the encoding of a curve point (profile §1.2).
const NOT_A_POINT: &str = "0200000000000000000000000000000000000000000000000000000000000000";

/// The fields a request may carry (profile §11); any other field is refused.
const REQUEST_FIELDS: &[&str] = &[
    "issued_at",
    "cti",
    "subject",
    "subject_hex",
    "role",
    "scope",
    "patient",
    "patient_hex",
    "ttl",
    "cnf",
];

/// A fresh child id (after clean-room round 4): no earlier vector's token has it.
pub(super) fn child_id(n: u8) -> String {
    id4(CHILD_ID4, n).to_string()
}

/// The requests, as the file carries them (without their outcome).
pub(super) fn narrowing_requests() -> Vec<Value> {
    let clinician = "clinician-sign1-nbf";
    let patient = "patient-sign1-typical";
    let id = |n: u8| cti(n).to_string();
    vec![
        entry(
            "narrow-clinician-to-caregiver",
            clinician,
            json!({ "issued_at": T0 + 600, "subject": "caregiver-77", "role": "caregiver",
                    "scope": { "readings/raw": ["read"] }, "patient": PATIENT, "ttl": 3600,
                    "cti": id(5) }),
            "the parent, a clinician token bound to no patient, reaches no patient's data \
             (§3.4), so no child of it may reach one: refused (the token \
             caregiver-sign1-narrowed names it as parent; narrow-bound-clinician-to-caregiver \
             derives its claims from a bound clinician)",
        ),
        entry(
            "narrow-default-request",
            clinician,
            json!({ "issued_at": T0 + 1000, "cti": id(60) }),
            "only the time and the id: same sub, role and scopes, exp = the parent's, no nbf \
             (the parent's nbf T0+600 is not later than t), parent = the parent's cti",
        ),
        entry(
            "narrow-keeps-future-nbf",
            clinician,
            json!({ "issued_at": T0 + 100, "ttl": 3600, "cti": id(61) }),
            "t = T0+100 is before the parent's nbf T0+600, so the child has nbf T0+600",
        ),
        entry(
            "narrow-ttl-clamped",
            clinician,
            json!({ "issued_at": T0 + 28_000, "ttl": 3600, "cti": id(62) }),
            "ttl 3600 at t = T0+28000 is clamped to the parent's exp T0+28800",
        ),
        entry(
            "narrow-exi",
            "technician-sign1-exi-no-wall-clock",
            json!({ "issued_at": T0 + 60, "ttl": 600, "cti": id(63) }),
            "the parent carries exi (900): refused. The issuer cannot know when a device \
             first saw the parent, so any child window would start fresh at the child's first \
             sight and could outlast the parent's on a device without a wall clock (derived \
             with exi 600 before clean-room round 5)",
        ),
        entry(
            "narrow-patient-token-to-caregiver",
            patient,
            json!({ "issued_at": T0 + 60, "subject": "caregiver-77", "role": "caregiver",
                    "scope": { "alarms": ["read"] }, "cti": id(64) }),
            "an unbound patient token reaches its sub's data: the child is bound to that \
             patient",
        ),
        entry(
            "narrow-unbound-to-one-patient",
            clinician,
            json!({ "issued_at": T0 + 1000, "scope": { "readings/raw": ["read"] },
                    "patient": OTHER_PATIENT, "cti": id(65) }),
            "a clinician token bound to no patient reaches no patient's data; a child bound to \
             one would reach more than its parent: refused (binding is issuing, not \
             narrowing)",
        ),
        entry(
            "narrow-grandchild",
            "caregiver-sign1-narrowed",
            json!({ "issued_at": T0 + 700, "cti": id(66) }),
            "the parent is itself narrowed (it has a parent claim): refused",
        ),
        entry(
            "narrow-scope-outside-parent",
            clinician,
            json!({ "issued_at": T0 + 1000, "scope": { "firmware/update": ["write"] },
                    "cti": child_id(1) }),
            "a resource the parent does not have: refused",
        ),
        entry(
            "narrow-more-actions",
            patient,
            json!({ "issued_at": T0 + 60, "scope": { "alarms": ["read", "write"] },
                    "cti": id(68) }),
            "write on alarms, where the parent has read only: refused",
        ),
        entry(
            "narrow-other-patient",
            patient,
            json!({ "issued_at": T0 + 60, "patient": OTHER_PATIENT, "cti": id(69) }),
            "the parent reaches patient-8f3a2c (its sub); another patient: refused",
        ),
        entry(
            "narrow-caregiver-write",
            "clinician-sign1-bound",
            json!({ "issued_at": T0 + 1000, "role": "caregiver", "patient": PATIENT,
                    "scope": { "therapy/settings": ["read", "write"] }, "cti": id(70) }),
            "a caregiver child carries only read (bit 0, mask value 1): refused",
        ),
        entry(
            "narrow-ttl-zero",
            clinician,
            json!({ "issued_at": T0 + 1000, "ttl": 0, "cti": id(71) }),
            "a requested lifetime of 0: refused",
        ),
        entry(
            "narrow-before-parent-iat",
            clinician,
            json!({ "issued_at": T0 - 1, "cti": id(72) }),
            "t = parent iat - 1: refused",
        ),
        entry(
            "narrow-at-parent-exp",
            clinician,
            json!({ "issued_at": T0 + 28_800, "cti": id(73) }),
            "t = parent exp: refused",
        ),
        entry(
            "narrow-nbf-not-before-exp",
            clinician,
            json!({ "issued_at": T0 + 100, "ttl": 500, "cti": id(74) }),
            "t = T0+100, ttl 500: the child's exp T0+600 equals the nbf it keeps: refused",
        ),
    ]
    .into_iter()
    .chain(role_requests())
    .chain(cnf_requests())
    .chain(text_requests())
    .chain(round4_requests())
    .chain(round5_requests())
    .chain(review6::review6_requests())
    .chain(review7::review7_requests())
    .collect()
}

pub(super) fn entry(name: &str, parent: &str, request: Value, why: &str) -> Value {
    json!({ "name": name, "parent": parent, "request": request, "why": why })
}

/// Added after clean-room round 3: the role alone, and the caregiver's one patient.
fn role_requests() -> Vec<Value> {
    let clinician = "clinician-sign1-nbf";
    let patient = "patient-sign1-typical";
    let id = |n: u8| cti(n).to_string();
    vec![
        entry(
            "narrow-role-only-caregiver-from-patient",
            patient,
            json!({ "issued_at": T0 + 60, "role": "caregiver", "cti": id(75) }),
            "only the role: same sub and scopes (all read), bound to the patient the parent \
             reaches (its sub)",
        ),
        entry(
            "narrow-role-only-caregiver-from-clinician",
            "clinician-sign1-bound",
            json!({ "issued_at": T0 + 1000, "role": "caregiver", "patient": PATIENT,
                    "cti": id(76) }),
            "no scope named, so the parent's stay, and they hold write and export, which a \
             caregiver may not carry; nothing is dropped to make it fit: refused",
        ),
        entry(
            "narrow-caregiver-without-patient",
            clinician,
            json!({ "issued_at": T0 + 1000, "subject": "caregiver-77", "role": "caregiver",
                    "scope": { "readings/raw": ["read"] }, "cti": id(77) }),
            "read-only, but the parent reaches no patient, and a caregiver child must carry \
             one (the patient its parent reaches): refused",
        ),
        entry(
            "narrow-keeps-role-patient-and-cnf",
            "caregiver-sign1-cnf-kid",
            json!({ "issued_at": T0 + 60, "cti": id(78) }),
            "only the time and the id: the child keeps the parent's caregiver role, patient \
             and cnf key id",
        ),
        entry(
            "narrow-role-only-other-role",
            patient,
            json!({ "issued_at": T0 + 60, "role": "clinician", "cti": id(79) }),
            "any role may be named; the child keeps the parent's scopes and carries the \
             patient the parent reaches as its patient claim",
        ),
        entry(
            "narrow-unknown-role",
            patient,
            json!({ "issued_at": T0 + 60, "role": "nurse", "cti": id(80) }),
            "a role name that is not one of the five: refused",
        ),
        entry(
            "narrow-request-unknown-field",
            clinician,
            json!({ "issued_at": T0 + 1000, "audience": "pump-SN000001", "cti": id(81) }),
            "a request field the format does not list (here another audience): refused",
        ),
        entry(
            "narrow-scope-empty",
            clinician,
            json!({ "issued_at": T0 + 1000, "scope": {}, "cti": id(82) }),
            "no scope entry at all: refused (a token has 1 to 16)",
        ),
        entry(
            "narrow-scope-no-actions",
            clinician,
            json!({ "issued_at": T0 + 1000,
                    "scope": { "readings/raw": [], "device/status": ["read"] },
                    "cti": child_id(2) }),
            "a resource with an empty action list (actions value 0): refused, not dropped",
        ),
    ]
}

/// Added after clean-room round 3: the child's proof-of-possession key.
fn cnf_requests() -> Vec<Value> {
    let clinician = "clinician-sign1-nbf";
    let pop = "technician-sign1-custom-resources-cnf";
    let id = |n: u8| cti(n).to_string();
    let kid = |b: &[u8]| hex::encode(b);
    vec![
        entry(
            "narrow-keeps-parent-cnf",
            pop,
            json!({ "issued_at": T0 + 60, "subject": "tech-0043", "cti": id(84) }),
            "a new holder without a key named: the child keeps the parent's Ed25519 cnf",
        ),
        entry(
            "narrow-replaces-cnf",
            pop,
            json!({ "issued_at": T0 + 60, "subject": "tech-0043",
                    "cnf": { "kid": kid(b"holder-key-2") }, "cti": id(85) }),
            "the request names the new holder's key: it replaces the parent's",
        ),
        entry(
            "narrow-adds-cnf-to-bearer",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "ed25519": HOLDER_2 }, "cti": id(86) }),
            "a bearer parent, a key named: the child needs possession of it",
        ),
        entry(
            "narrow-cnf-kid-16-bytes",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "kid": kid(&[0x6b; 16]) },
                    "cti": id(87) }),
            "a cnf key id of 16 bytes (the longest)",
        ),
        entry(
            "narrow-cnf-removed",
            pop,
            json!({ "issued_at": T0 + 60, "cnf": null, "cti": child_id(3) }),
            "cnf null, asking for no key: refused (a proof-of-possession token never \
             becomes a bearer token)",
        ),
        entry(
            "narrow-cnf-small-order",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "ed25519": IDENTITY }, "cti": id(89) }),
            "an Ed25519 cnf key of small order (the identity): refused",
        ),
        entry(
            "narrow-cnf-non-canonical",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "ed25519": IDENTITY_Y_PLUS_P },
                    "cti": id(90) }),
            "an Ed25519 cnf key encoded with y = p + 1: refused",
        ),
        entry(
            "narrow-cnf-not-a-point",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "ed25519": NOT_A_POINT },
                    "cti": id(91) }),
            "an Ed25519 cnf key with y = 2, not a curve point: refused",
        ),
        entry(
            "narrow-cnf-ed25519-31-bytes",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "ed25519": &HOLDER_2[..62] },
                    "cti": id(92) }),
            "an Ed25519 cnf key of 31 bytes: refused",
        ),
        entry(
            "narrow-cnf-kid-empty",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "kid": "" }, "cti": id(93) }),
            "a cnf key id of 0 bytes: refused",
        ),
        entry(
            "narrow-cnf-kid-17-bytes",
            clinician,
            json!({ "issued_at": T0 + 1000, "cnf": { "kid": kid(&[0x6b; 17]) },
                    "cti": id(94) }),
            "a cnf key id of 17 bytes: refused",
        ),
        entry(
            "narrow-cnf-both-forms",
            clinician,
            json!({ "issued_at": T0 + 1000,
                    "cnf": { "ed25519": HOLDER_2, "kid": kid(b"holder-key-2") },
                    "cti": id(95) }),
            "a cnf naming a key and a key id: refused (exactly one form)",
        ),
    ]
}

/// Added after clean-room round 3: what a request may write into the child's `sub` and
/// `patient`.
fn text_requests() -> Vec<Value> {
    let clinician = "clinician-sign1-nbf";
    let id = |n: u8| cti(n).to_string();
    let subject = |name: &str, text: &str, n: u8, why: &str| {
        // narrow-subject-128-utf8-bytes had cti(99), its parent's own id.
        let cti = if n == 99 { child_id(4) } else { id(n) };
        entry(
            name,
            clinician,
            json!({ "issued_at": T0 + 1000, "subject": text, "cti": cti }),
            why,
        )
    };
    let patient = |name: &str, text: &str, n: u8, why: &str| {
        entry(
            name,
            clinician,
            json!({ "issued_at": T0 + 1000, "scope": { "readings/raw": ["read"] },
                    "patient": text, "cti": id(n) }),
            why,
        )
    };
    let raw = |name: &str, field: &str, hex: &str, n: u8, why: &str| {
        let mut request = json!({ "issued_at": T0 + 1000, "cti": id(n) });
        request[field] = json!(hex);
        entry(name, clinician, request, why)
    };
    vec![
        subject(
            "narrow-subject-128-bytes",
            &"s".repeat(128),
            96,
            "a subject of 128 bytes (the longest)",
        ),
        subject(
            "narrow-subject-129-bytes",
            &"s".repeat(129),
            97,
            "a subject of 129 bytes: refused",
        ),
        subject("narrow-subject-empty", "", 98, "an empty subject: refused"),
        subject(
            "narrow-subject-128-utf8-bytes",
            &"\u{e9}".repeat(64),
            99,
            "64 characters U+00E9 (2 bytes each in UTF-8): 128 bytes, accepted",
        ),
        subject(
            "narrow-subject-129-utf8-bytes",
            &"\u{20ac}".repeat(43),
            100,
            "43 characters U+20AC (3 bytes each): 129 bytes, refused although only 43 \
             characters",
        ),
        subject(
            "narrow-subject-other-characters",
            "Zo\u{eb} \u{dc}nal\u{a0}care\u{200b}giver",
            101,
            "non-ASCII letters, a space, U+00A0 and U+200B (not control characters): accepted \
             as they are, no normalization",
        ),
        subject(
            "narrow-subject-nul",
            "caregiver\u{0}-77",
            102,
            "a NUL (U+0000) inside the subject: refused",
        ),
        subject(
            "narrow-subject-line-feed",
            "caregiver-77\n",
            103,
            "a line feed (U+000A), a C0 control character: refused",
        ),
        subject(
            "narrow-subject-delete",
            "caregiver\u{7f}77",
            104,
            "U+007F DELETE: refused",
        ),
        subject(
            "narrow-subject-c1-control",
            "caregiver\u{85}77",
            105,
            "U+0085 NEXT LINE, a C1 control character (UTF-8 c2 85): refused",
        ),
        raw(
            "narrow-subject-not-utf8",
            "subject_hex",
            "636172656769766572ff",
            106,
            "the bytes \"caregiver\" then ff, not UTF-8: refused",
        ),
        raw(
            "narrow-subject-overlong-nul",
            "subject_hex",
            "63617265c080",
            107,
            "c0 80, an overlong encoding of NUL, not UTF-8: refused",
        ),
        raw(
            "narrow-subject-utf8-as-hex",
            "subject_hex",
            "63617265676976657220e282ac",
            108,
            "subject_hex holding valid UTF-8 (\"caregiver \u{20ac}\") is that text: accepted",
        ),
        entry(
            "narrow-subject-and-subject-hex",
            clinician,
            json!({ "issued_at": T0 + 1000, "subject": "caregiver-77",
                    "subject_hex": hex::encode("caregiver-77"), "cti": id(109) }),
            "both forms of the subject in one request: refused",
        ),
        patient(
            "narrow-patient-128-bytes",
            &"p".repeat(128),
            110,
            "a patient id of 128 bytes (the longest text) named on a parent that reaches no \
             patient: refused (narrow-patient-128-bytes-kept keeps one from a parent bound to \
             it)",
        ),
        patient(
            "narrow-patient-129-bytes",
            &"p".repeat(129),
            111,
            "a patient id of 129 bytes: refused (no valid token reaches one, and this parent \
             reaches none)",
        ),
        patient(
            "narrow-patient-empty",
            "",
            112,
            "an empty patient id: refused (as any patient named on a parent that reaches \
             none)",
        ),
        patient(
            "narrow-patient-nul",
            "patient-8f3a2c\u{0}",
            113,
            "a NUL after an otherwise valid patient id: refused (narrow-patient-carried-nul \
             shows that text refused when a parent is bound to it)",
        ),
        raw(
            "narrow-patient-not-utf8",
            "patient_hex",
            "70617469656e742dfe",
            114,
            "the bytes \"patient-\" then fe, not UTF-8: refused",
        ),
    ]
}

/// Added after clean-room round 4: patient reach never widens, parents whose texts or key a
/// narrowing does not copy, the child's `cti` and lifetime, and the request format's edges.
fn round4_requests() -> Vec<Value> {
    let clinician = "clinician-sign1-nbf";
    let bound = "clinician-sign1-bound";
    let unbound_caregiver = "caregiver-sign1-unbound";
    let long_lived = "clinician-sign1-lifetime-400-days";
    let id = child_id;
    vec![
        entry(
            "narrow-bound-clinician-to-caregiver",
            bound,
            json!({ "issued_at": T0 + 600, "subject": "caregiver-77", "role": "caregiver",
                    "scope": { "readings/raw": ["read"] }, "patient": PATIENT, "ttl": 3600,
                    "cti": id(10) }),
            "a clinician token bound to patient-8f3a2c hands a caregiver a one-hour \
             read-only token for that patient (the claims of caregiver-sign1-narrowed but for \
             cti and parent)",
        ),
        entry(
            "narrow-bound-clinician-other-patient",
            bound,
            json!({ "issued_at": T0 + 1000, "scope": { "readings/raw": ["read"] },
                    "patient": OTHER_PATIENT, "cti": id(11) }),
            "the parent is bound to patient-8f3a2c; another patient: refused",
        ),
        entry(
            "narrow-bound-clinician-default-request",
            bound,
            json!({ "issued_at": T0 + 1000, "cti": id(12) }),
            "only the time and the id: the child keeps the parent's patient claim",
        ),
        entry(
            "narrow-unbound-to-patient-role",
            clinician,
            json!({ "issued_at": T0 + 1000, "subject": OTHER_PATIENT, "role": "patient",
                    "scope": { "summaries": ["read"] }, "cti": id(13) }),
            "a patient-role child without a patient claim reaches its own sub (§3.4), which \
             the parent (bound to no patient) does not reach: refused",
        ),
        entry(
            "narrow-patient-default-request",
            "patient-sign1-typical",
            json!({ "issued_at": T0 + 60, "cti": id(14) }),
            "only the time and the id, from a patient token without a patient claim: the \
             child keeps role patient and sub, and carries patient = the parent's sub (the \
             patient the parent reaches)",
        ),
        entry(
            "narrow-caregiver-parent-without-patient",
            unbound_caregiver,
            json!({ "issued_at": T0 + 60, "cti": id(15) }),
            "a caregiver parent without a patient claim reaches no patient; keeping its role \
             makes a caregiver child without one: refused",
        ),
        entry(
            "narrow-caregiver-parent-without-patient-named",
            unbound_caregiver,
            json!({ "issued_at": T0 + 60, "patient": PATIENT, "cti": id(16) }),
            "the same parent with a patient named: the parent reaches none, so refused",
        ),
        entry(
            "narrow-caregiver-parent-to-technician",
            unbound_caregiver,
            json!({ "issued_at": T0 + 60, "subject": "tech-0043", "role": "technician",
                    "cti": id(17) }),
            "the same parent, role technician: a child that reaches no patient, like its \
             parent, keeping the parent's read-only scopes",
        ),
        entry(
            "narrow-subject-carried-line-feed",
            "clinician-sign1-subject-line-feed",
            json!({ "issued_at": T0 + 60, "cti": id(18) }),
            "the parent's sub holds a line feed; the child would carry it over: refused",
        ),
        entry(
            "narrow-subject-line-feed-replaced",
            "clinician-sign1-subject-line-feed",
            json!({ "issued_at": T0 + 60, "subject": "dr-jane", "cti": id(19) }),
            "a new subject: the parent's sub is not copied, so the child is derived",
        ),
        entry(
            "narrow-patient-carried-nul",
            "clinician-sign1-patient-nul",
            json!({ "issued_at": T0 + 60, "cti": id(20) }),
            "the parent is bound to a patient id with a NUL; the child would carry it over: \
             refused",
        ),
        entry(
            "narrow-patient-carried-nul-named",
            "clinician-sign1-patient-nul",
            json!({ "issued_at": T0 + 60, "patient": "patient-8f3a2c\u{0}", "cti": id(21) }),
            "the same, with that patient id named in the request: refused",
        ),
        entry(
            "narrow-patient-128-bytes-kept",
            "clinician-sign1-patient-128-bytes",
            json!({ "issued_at": T0 + 60, "patient": "p".repeat(128), "cti": id(22) }),
            "a patient id of 128 bytes (the longest), the one the parent is bound to",
        ),
        entry(
            "narrow-parent-cnf-identity",
            "clinician-sign1-cnf-identity",
            json!({ "issued_at": T0 + 60, "cti": id(23) }),
            "the parent's cnf key is the identity (small order); the child would carry it \
             over: refused",
        ),
        entry(
            "narrow-parent-cnf-identity-replaced",
            "clinician-sign1-cnf-identity",
            json!({ "issued_at": T0 + 60, "cnf": { "ed25519": HOLDER_2 }, "cti": id(24) }),
            "the same parent, the request names a usable key: it replaces the parent's",
        ),
        entry(
            "narrow-cti-equals-parent",
            clinician,
            json!({ "issued_at": T0 + 1000, "cti": cti(3).to_string() }),
            "the child's cti equals the parent's (revocation and first sight are keyed by \
             cti): refused",
        ),
        entry(
            "narrow-cti-32-bytes",
            clinician,
            json!({ "issued_at": T0 + 1000, "cti": hex::encode([0xf4u8; 32]) }),
            "a cti of 32 bytes (the longest)",
        ),
        entry(
            "narrow-cti-33-bytes",
            clinician,
            json!({ "issued_at": T0 + 1000, "cti": hex::encode([0xf4u8; 33]) }),
            "a cti of 33 bytes: refused",
        ),
        entry(
            "narrow-cti-empty",
            clinician,
            json!({ "issued_at": T0 + 1000, "cti": "" }),
            "a cti of 0 bytes: refused",
        ),
        entry(
            "narrow-lifetime-default-capped",
            long_lived,
            json!({ "issued_at": T0 + 60, "cti": id(25) }),
            "the parent runs 400 days; the default lifetime (until the parent's exp) is capped \
             at 366 days: exp = t + 31622400",
        ),
        entry(
            "narrow-lifetime-366-days",
            long_lived,
            json!({ "issued_at": T0 + 60, "ttl": ClaimsBuilder::MAX_TTL, "cti": id(26) }),
            "ttl 31622400 (366 days), the longest a child may ask for",
        ),
        entry(
            "narrow-lifetime-over-366-days",
            long_lived,
            json!({ "issued_at": T0 + 60, "ttl": ClaimsBuilder::MAX_TTL + 1, "cti": id(27) }),
            "ttl 31622401, over 366 days: refused, although the parent runs longer",
        ),
        entry(
            "narrow-ttl-negative",
            clinician,
            json!({ "issued_at": T0 + 1000, "ttl": -1, "cti": id(28) }),
            "a negative ttl: refused",
        ),
        entry(
            "narrow-ttl-fraction",
            clinician,
            json!({ "issued_at": T0 + 1000, "ttl": 1.5, "cti": id(29) }),
            "a ttl that is not an integer: refused",
        ),
        entry(
            "narrow-issued-at-fraction",
            clinician,
            json!({ "issued_at": (T0 + 1000) as f64 + 0.5, "cti": id(30) }),
            "an issued_at that is not an integer: refused",
        ),
        entry(
            "narrow-scope-duplicate-action",
            clinician,
            json!({ "issued_at": T0 + 1000, "scope": { "readings/raw": ["read", "read"] },
                    "cti": id(31) }),
            "an action named twice: the list is a set, so readings/raw: read",
        ),
        entry(
            "narrow-role-upper-case",
            "patient-sign1-typical",
            json!({ "issued_at": T0 + 60, "role": "Caregiver", "cti": id(32) }),
            "role names are lower case and compared exactly: \"Caregiver\" is refused \
             (narrow-role-only-caregiver-from-patient derives \"caregiver\")",
        ),
    ]
}

/// Derives the child that `entry` describes, from the JSON alone (what an independent
/// implementation does): its token (COSE_Sign1 under the file's Ed25519 key) and claims
/// JSON, or the issuer's refusal. A request the format cannot map onto `Narrowing` (another
/// field, an unknown name, bytes that are not UTF-8) is refused as the profile says an API
/// that can be given it must refuse it: with `Error::InvalidInput`.
pub(super) fn derive(
    file_keys: &Value,
    vectors: &[Value],
    entry: &Value,
) -> Result<(Vec<u8>, Value), medsec_token::Error> {
    let parent = vectors
        .iter()
        .find(|v| v["name"] == entry["parent"])
        .expect("the parent is a vector of the file");
    assert_eq!(parent["result"], "valid");
    let token = hex::decode(parent["token"].as_str().unwrap()).unwrap();
    let v = &parent["verify"];
    let keys = key_set(file_keys, &v["keys"]);
    let issuers: Vec<&str> = v["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let store = FixedFirstSight::<4>::new();
    let expectations = Expectations::new(&issuers, v["audience"].as_str().unwrap())
        .leeway(v["leeway"].as_u64().unwrap())
        .unwrap()
        .first_sight(&store);
    let clock = FixedClock {
        unix: v["now"].as_u64(),
        monotonic: v["monotonic"]
            .as_object()
            .map(|m| medsec_token::MonotonicTime {
                boot: m["boot"].as_u64().unwrap() as u32,
                seconds: m["seconds"].as_u64().unwrap(),
            }),
    };
    let verified = UnverifiedToken::parse(&token)
        .and_then(|t| t.verify(&keys, &clock, &expectations))
        .expect("the parent verifies with its own inputs");

    let refused = medsec_token::Error::InvalidInput;
    let request = request_of(entry)?;
    let r = request.as_object().ok_or(refused)?;
    if r.keys().any(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        return Err(refused);
    }
    let subject = request_text(r, "subject")?;
    let patient = request_text(r, "patient")?;
    let cnf = request_cnf(r)?;
    // `issued_at` and `ttl` are JSON integers 0 to 2^64 - 1; `cti` is 1 to 32 bytes of hex.
    let issued_at = r.get("issued_at").and_then(Value::as_u64).ok_or(refused)?;
    let cti = r
        .get("cti")
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .ok_or(refused)?;
    let mut n = verified
        .narrow()
        .issued_at(issued_at)
        .token_id(TokenId::from_slice(&cti)?);
    if let Some(s) = &subject {
        n = n.subject(s);
    }
    if let Some(role) = r.get("role") {
        n = n.role(Role::from_name(role.as_str().ok_or(refused)?)?);
    }
    if let Some(p) = &patient {
        n = n.patient(p);
    }
    if let Some(t) = r.get("ttl") {
        n = n.ttl(t.as_u64().ok_or(refused)?);
    }
    match &cnf {
        Some(Cnf::Ed25519(x)) => n = n.proof_key(ProofKey::Ed25519(*x)),
        Some(Cnf::KeyId(kid)) => n = n.proof_key(ProofKey::KeyId(kid)),
        None => {}
    }
    if let Some(scope) = r.get("scope") {
        let mut set = ScopeSet::new();
        for (resource, actions) in scope.as_object().ok_or(refused)? {
            let resource = Resource::parse(resource)?;
            let actions = actions.as_array().ok_or(refused)?;
            // An empty list is an actions value of 0, which no token carries.
            if actions.is_empty() {
                return Err(refused);
            }
            // The list is a set: an action named twice is that action.
            for a in actions {
                let bits = Action::from_name(a.as_str().ok_or(refused)?)?.bit();
                set.add(Scope::new(resource, Actions::from_bits(bits.into())?))
                    .map_err(|_| refused)?;
            }
        }
        n = n.scopes(set);
    }
    let claims = n.build(&mut no_rng())?;
    let child = signing_key().mint_vec(&claims).unwrap();

    // The child's claims JSON, from verifying it (at its nbf, or its iat without one).
    let mut child_keys = KeySet::<1>::new();
    child_keys.insert(signing_key().verifying_key()).unwrap();
    let child_store = FixedFirstSight::<1>::new();
    let child_issuers = [claims.issuer()];
    let child_expect =
        Expectations::new(&child_issuers, claims.audience()).first_sight(&child_store);
    let at = FixedClock {
        unix: Some(claims.not_before().unwrap_or(claims.issued_at())),
        monotonic: Some(medsec_token::MonotonicTime {
            boot: 1,
            seconds: 0,
        }),
    };
    let verified_child = UnverifiedToken::parse(&child)
        .and_then(|t| t.verify(&child_keys, &at, &child_expect))
        .expect("a derived child verifies");
    let json = support::claims_json(&verified_child);
    Ok((child, json))
}

/// The request an entry carries, read from its JSON text as written (profile §11): the
/// `request_text` string, or the `request` object as the file writes it. The text is read
/// strictly: a number other than an integer written in digits alone (`1.0`, `1e3`, `-0`,
/// `-1`, or one above 2^64 − 1) and a duplicate member name, in any object, refuse the
/// request. A text that is not JSON is refused too.
pub(super) fn request_of(entry: &Value) -> Result<Value, medsec_token::Error> {
    let text = match entry.get("request_text") {
        Some(t) => t.as_str().expect("request_text is a string").to_owned(),
        None => serde_json::to_string(&entry["request"]).expect("a request serializes"),
    };
    strict_json(&text).map_err(|_| medsec_token::Error::InvalidInput)
}

/// Parses JSON text into a [`Value`], refusing duplicate member names and every number that
/// is not digits alone (what serde_json hands on as `u64`: a fraction, an exponent, a sign —
/// `-0` included — or a value above 2^64 − 1 come as `i64` or `f64`).
pub(super) fn strict_json(text: &str) -> serde_json::Result<Value> {
    use serde::de::{Error as _, MapAccess, SeqAccess, Visitor};

    struct Strict(Value);
    impl<'de> serde::Deserialize<'de> for Strict {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StrictVisitor).map(Strict)
        }
    }
    struct StrictVisitor;
    impl<'de> Visitor<'de> for StrictVisitor {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON with integers in digits only and no duplicate member name")
        }
        fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Value, E> {
            Ok(Value::Bool(b))
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Value, E> {
            Ok(Value::from(n))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Value, E> {
            Err(E::custom("a number with a sign"))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Value, E> {
            Err(E::custom("a number that is not digits alone"))
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
            Ok(Value::String(s.to_owned()))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Strict(v)) = seq.next_element()? {
                out.push(v);
            }
            Ok(Value::Array(out))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some(k) = map.next_key::<String>()? {
                let Strict(v) = map.next_value()?;
                if out.insert(k, v).is_some() {
                    return Err(A::Error::custom("a duplicate member name"));
                }
            }
            Ok(Value::Object(out))
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let Strict(v) = serde::Deserialize::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// A request's proof-of-possession key, owned.
enum Cnf {
    Ed25519([u8; 32]),
    KeyId(Vec<u8>),
}

/// `subject` (JSON text) or `subject_hex` (its bytes, which need not be UTF-8), at most one.
fn request_text(
    r: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, medsec_token::Error> {
    let refused = medsec_token::Error::InvalidInput;
    match (r.get(field), r.get(&format!("{field}_hex"))) {
        (None, None) => Ok(None),
        (Some(Value::String(text)), None) => Ok(Some(text.clone())),
        (None, Some(Value::String(h))) => String::from_utf8(hex::decode(h).map_err(|_| refused)?)
            .map(Some)
            .map_err(|_| refused),
        _ => Err(refused),
    }
}

/// `cnf`: `{"ed25519": hex}` (32 bytes) or `{"kid": hex}`, exactly one member; anything else
/// (`null` included: no request removes the key) is refused.
fn request_cnf(r: &serde_json::Map<String, Value>) -> Result<Option<Cnf>, medsec_token::Error> {
    let refused = medsec_token::Error::InvalidInput;
    let Some(cnf) = r.get("cnf") else {
        return Ok(None);
    };
    let cnf = cnf.as_object().ok_or(refused)?;
    if cnf.len() != 1 {
        return Err(refused);
    }
    let bytes = |v: &Value| hex::decode(v.as_str().ok_or(refused)?).map_err(|_| refused);
    match (cnf.get("ed25519"), cnf.get("kid")) {
        (Some(x), None) => Ok(Some(Cnf::Ed25519(
            bytes(x)?.try_into().map_err(|_| refused)?,
        ))),
        (None, Some(kid)) => Ok(Some(Cnf::KeyId(bytes(kid)?))),
        _ => Err(refused),
    }
}

/// The file's `narrowings` section: each request with its outcome.
pub(super) fn narrowings(file_keys: &Value, vectors: &[Value]) -> Value {
    // The children added after clean-room round 4 have ids of their own: none is another
    // child's or any token vector's.
    let requests = narrowing_requests();
    let fresh: Vec<String> = requests
        .iter()
        .filter_map(|e| match e.get("request_text") {
            // Read leniently here: only the id matters, and a refused text may be malformed.
            Some(t) => serde_json::from_str::<Value>(t.as_str().unwrap())
                .ok()
                .and_then(|r| r["cti"].as_str().map(str::to_owned)),
            None => e["request"]["cti"].as_str().map(str::to_owned),
        })
        .map(|c| c.to_lowercase())
        .filter(|c| c.starts_with(&hex::encode([CHILD_ID4; 15])))
        .collect();
    let unique: std::collections::BTreeSet<&str> = fresh.iter().map(String::as_str).collect();
    assert_eq!(unique.len(), fresh.len());
    assert!(vectors
        .iter()
        .filter_map(|v| v["claims"]["cti"].as_str())
        .all(|c| !unique.contains(c)));
    requests
        .into_iter()
        .map(|mut e| {
            match derive(file_keys, vectors, &e) {
                Ok((token, claims)) => {
                    e["result"] = json!("derived");
                    e["token"] = json!(hex::encode(token));
                    e["claims"] = claims;
                }
                Err(_) => e["result"] = json!("refused"),
            }
            // Each `why` says the intended outcome: a refusal says "refused", nothing else does.
            let says_refused = e["why"].as_str().unwrap().contains("refused");
            assert_eq!(says_refused, e["result"] == "refused", "{}", e["name"]);
            e
        })
        .collect()
}

/// Added after clean-room round 5: the child's size (§7). Its claims must fit a COSE_Sign1
/// with a 16-byte kid in 1024 bytes: at most 930 bytes of claims. The parent is the
/// 1024-byte token (8-byte kid, 938 bytes of claims); a child gains a `parent` claim (22
/// bytes).
fn round5_requests() -> Vec<Value> {
    let parent = "max-size-1024";
    // The parent's scopes without `pad10/x…`: 67 bytes fewer.
    let mut scope = serde_json::Map::new();
    for r in [
        "device/status",
        "device/battery",
        "therapy/remaining",
        "alarms",
        "summaries",
    ] {
        scope.insert(r.into(), json!(["read"]));
    }
    for i in 0..10 {
        scope.insert(format!("pad{i:02}/{}", "x".repeat(58)), json!(["read"]));
    }
    let sized = |name: &str, sub_len: usize, n: u8, why: &str| {
        entry(
            name,
            parent,
            json!({ "issued_at": T0 + 60, "scope": scope.clone(),
                    "subject": "s".repeat(sub_len), "cti": child_id(n) }),
            why,
        )
    };
    vec![
        entry(
            "narrow-child-over-1024-bytes",
            parent,
            json!({ "issued_at": T0 + 60, "cti": child_id(5) }),
            "the default request on the 1024-byte parent: the child's claims are 960 bytes, a \
             token of 1046 bytes under the file's key: refused",
        ),
        sized(
            "narrow-child-claims-930-bytes",
            50,
            6,
            "one custom scope fewer and a 50-byte subject: 930 bytes of claims, the most a \
             child may have (1024 bytes as a COSE_Sign1 with a 16-byte kid; the token under \
             the file's 8-byte kid is 1016 bytes)",
        ),
        sized(
            "narrow-child-claims-931-bytes",
            51,
            7,
            "the same with a 51-byte subject: 931 bytes of claims. The token under the file's \
             8-byte kid would be 1017 bytes, but under a 16-byte kid 1025: refused",
        ),
    ]
}
