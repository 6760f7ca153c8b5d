//! Vectors added after clean-room round 6 (profile §7, §11): how a request is written,
//! judged on its JSON text (numbers, member names, JSON types, hex forms); custom resources in
//! a request; a patient-role parent whose `sub` (the patient a child reaches) holds a line
//! feed.

use super::narrowings::{child_id, entry};
use super::*;

/// A patient token without a `patient` claim whose `sub` ends in a line feed: it reaches its
/// own `sub` (§3.4), so a child of it would carry that text as its `patient` claim.
pub(super) fn review6_cases() -> Vec<Case> {
    let claims = ClaimsBuilder::new(ISS, Role::Patient)
        .subject("patient-8f3a2c-")
        .audience(AUD)
        .issued_at(T0)
        .ttl(3600)
        .token_id(id4(TOKEN_ID4, 8))
        .build(&mut no_rng())
        .unwrap();
    let token = review4_cases::edited(
        &signing_key().mint_vec(&claims).unwrap(),
        2,
        Some(Cbor::Text("patient-8f3a2c\n".into())),
    );
    vec![Case::ok(
        "patient-sign1-subject-line-feed",
        token,
        T0 + 60,
        AUD,
        "a patient token without a patient claim, sub \"patient-8f3a2c\" then a line feed: a \
         verifier accepts it (§3); it reaches that text as its patient (§3.4), and a narrowing \
         does not copy it into a child's patient claim (§7)",
    )]
}

/// A narrowing whose request is given as JSON text (`request_text`), for the rules that
/// depend on how the text is written.
fn text_entry(name: &str, parent: &str, text: &str, why: &str) -> Value {
    json!({ "name": name, "parent": parent, "request_text": text, "why": why })
}

pub(super) fn review6_requests() -> Vec<Value> {
    let patient = "patient-sign1-typical";
    let t = T0 + 60;
    // `{"issued_at": t, "ttl": TTL, "cti": ID}` with the two numbers as written.
    let text = |issued_at: &str, ttl: &str, n: u8| {
        format!(
            r#"{{"issued_at": {issued_at}, "ttl": {ttl}, "cti": "{}"}}"#,
            child_id(n)
        )
    };
    let ts = t.to_string();
    let mut v = vec![
        text_entry(
            "narrow-text-baseline",
            patient,
            &text(&ts, "600", 0x40),
            "the request as JSON text, numbers in digits: derived (the form that the other \
             narrow-text-* vectors change)",
        ),
        text_entry(
            "narrow-text-cti-upper-case",
            patient,
            &format!(
                r#"{{"issued_at": {t}, "ttl": 600, "cti": "{}"}}"#,
                child_id(0x41).to_uppercase()
            ),
            "the cti in upper-case hex: either case is read, so derived (the claims give it in \
             lower case)",
        ),
        text_entry(
            "narrow-text-issued-at-fraction-zero",
            patient,
            &text(&format!("{t}.0"), "600", 0x42),
            "issued_at written 1767225660.0: a fraction, although its value is an integer: \
             refused",
        ),
        text_entry(
            "narrow-text-ttl-fraction-zero",
            patient,
            &text(&ts, "600.0", 0x43),
            "ttl written 600.0: refused",
        ),
        text_entry(
            "narrow-text-ttl-exponent",
            patient,
            &text(&ts, "1e3", 0x44),
            "ttl written 1e3 (1000, a lifetime otherwise derived): an exponent: refused",
        ),
        text_entry(
            "narrow-text-issued-at-exponent",
            patient,
            &text("1.76722566e9", "600", 0x45),
            "issued_at written 1.76722566e9 (t exactly): an exponent: refused",
        ),
        text_entry(
            "narrow-text-ttl-minus-zero",
            patient,
            &text(&ts, "-0", 0x46),
            "ttl written -0: a sign: refused (a ttl of 0 is refused too, so the outcome alone \
             does not tell the two rules apart)",
        ),
        text_entry(
            "narrow-text-ttl-2-64",
            patient,
            &text(&ts, "18446744073709551616", 0x47),
            "ttl 2^64: above 2^64 - 1, refused (it must not wrap to 0 or saturate; any ttl \
             above 366 days is refused too)",
        ),
        text_entry(
            "narrow-text-duplicate-member",
            patient,
            &format!(
                r#"{{"issued_at": {t}, "ttl": 600, "ttl": 600, "cti": "{}"}}"#,
                child_id(0x48)
            ),
            "ttl named twice, with the same value: a duplicate member name: refused",
        ),
        text_entry(
            "narrow-text-duplicate-member-differs",
            patient,
            &format!(
                r#"{{"issued_at": {t}, "ttl": 600, "cti": "{}", "ttl": 900}}"#,
                child_id(0x49)
            ),
            "ttl named twice, 600 then 900: a duplicate member name: refused (neither value \
             is taken)",
        ),
        text_entry(
            "narrow-text-duplicate-resource",
            patient,
            &format!(
                r#"{{"issued_at": {t}, "scope": {{"alarms": ["read"], "alarms": ["read"]}}, "cti": "{}"}}"#,
                child_id(0x4a)
            ),
            "the resource alarms named twice in scope: a duplicate member name in a nested \
             object: refused",
        ),
    ];
    let id = |n: u8| child_id(n);
    let refused_types: [(&str, Value, &str); 14] = [
        (
            "narrow-request-issued-at-string",
            json!({ "issued_at": t.to_string(), "ttl": 600, "cti": id(0x50) }),
            "issued_at given as the string \"1767225660\": a number written as a string: \
             refused",
        ),
        (
            "narrow-request-ttl-string",
            json!({ "issued_at": t, "ttl": "600", "cti": id(0x51) }),
            "ttl given as the string \"600\": refused",
        ),
        (
            "narrow-request-ttl-boolean",
            json!({ "issued_at": t, "ttl": true, "cti": id(0x52) }),
            "ttl given as true: refused",
        ),
        (
            "narrow-request-role-number",
            json!({ "issued_at": t, "role": 1, "cti": id(0x53) }),
            "role given as the number 1 (the patient role's code): a role is a name: refused",
        ),
        (
            "narrow-request-subject-number",
            json!({ "issued_at": t, "subject": 42, "cti": id(0x54) }),
            "subject given as a number: refused",
        ),
        (
            "narrow-request-actions-string",
            json!({ "issued_at": t, "scope": { "alarms": "read" }, "cti": id(0x55) }),
            "the action list of alarms given as the string \"read\", not an array: refused",
        ),
        (
            "narrow-request-scope-array",
            json!({ "issued_at": t, "scope": [{ "alarms": ["read"] }], "cti": id(0x56) }),
            "scope given as an array: refused",
        ),
        (
            "narrow-request-cti-0x",
            json!({ "issued_at": t, "cti": format!("0x{}", id(0x57)) }),
            "the cti hex with a 0x prefix: refused",
        ),
        (
            "narrow-request-cti-odd-length",
            json!({ "issued_at": t, "cti": id(0x58)[1..].to_string() }),
            "the cti as 31 hex digits (odd length): refused",
        ),
        (
            "narrow-request-cti-space",
            json!({ "issued_at": t, "cti": format!(" {}", id(0x59)) }),
            "the cti hex after a space: refused",
        ),
        (
            "narrow-request-cti-number",
            json!({ "issued_at": t, "cti": 42 }),
            "the cti given as a number: refused",
        ),
        (
            "narrow-request-cnf-kid-odd-length",
            json!({ "issued_at": t, "cnf": { "kid": "abc" }, "cti": id(0x5b) }),
            "a cnf kid of 3 hex digits (odd length): refused",
        ),
        (
            "narrow-request-no-issued-at",
            json!({ "ttl": 600, "cti": id(0x5c) }),
            "no issued_at: refused (a request always names t)",
        ),
        (
            "narrow-request-no-cti",
            json!({ "issued_at": t, "ttl": 600 }),
            "no cti: refused (the request format always fixes the child's id; medsec's API \
             draws one when none is given)",
        ),
    ];
    v.extend(
        refused_types
            .into_iter()
            .map(|(name, request, why)| entry(name, patient, request, why)),
    );

    // Custom resources (§3.1) are resource names like the table's: checked against the
    // parent's scopes, never "unknown" when well formed.
    let custom = "technician-sign1-custom-resources-cnf";
    v.extend([
        entry(
            "narrow-scope-custom-resource",
            custom,
            json!({ "issued_at": t, "scope": { "pump/motor": ["read"],
                    "pump/calibration": ["read"] }, "cti": id(0x60) }),
            "two custom resources of the parent, pump/calibration without write: derived",
        ),
        entry(
            "narrow-scope-custom-not-in-parent",
            custom,
            json!({ "issued_at": t, "scope": { "pump/valve": ["read"] }, "cti": id(0x61) }),
            "a well-formed custom resource the parent does not have: outside the parent's \
             scopes, refused",
        ),
        entry(
            "narrow-scope-custom-more-actions",
            custom,
            json!({ "issued_at": t, "scope": { "pump/motor": ["write"] }, "cti": id(0x62) }),
            "write on the custom resource pump/motor, where the parent has read only: refused",
        ),
        entry(
            "narrow-scope-custom-malformed",
            custom,
            json!({ "issued_at": t, "scope": { "Pump/Motor": ["read"] }, "cti": id(0x63) }),
            "Pump/Motor is no §3.1 custom name (upper case) nor a known one: an unknown \
             resource, refused",
        ),
    ]);

    // The patient a child of an unbound patient token reaches is the parent's sub (§7).
    let lf = "patient-sign1-subject-line-feed";
    v.extend([
        entry(
            "narrow-patient-from-sub-line-feed",
            lf,
            json!({ "issued_at": t, "subject": "patient-000001", "cti": id(0x68) }),
            "a new subject, but the child's patient claim would be the parent's sub, which \
             holds a line feed: refused",
        ),
        entry(
            "narrow-patient-from-sub-line-feed-caregiver",
            lf,
            json!({ "issued_at": t, "subject": "caregiver-77", "role": "caregiver",
                    "scope": { "alarms": ["read"] }, "cti": id(0x69) }),
            "a caregiver child with its own subject: its patient would be the parent's sub \
             with the line feed: refused",
        ),
        entry(
            "narrow-patient-from-sub-line-feed-technician",
            lf,
            json!({ "issued_at": t, "subject": "tech-0043", "role": "technician",
                    "scope": { "device/status": ["read"] }, "cti": id(0x6a) }),
            "a technician child still reaches the parent's patient (its sub with the line \
             feed) as its patient claim: refused",
        ),
    ]);
    v
}
