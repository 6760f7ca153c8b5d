//! Vectors added after clean-room round 7: a token id that a first-sight record already
//! holds (profile §5.2 sub-step 1, §6 "Token ids are one namespace"). Each vector verifies
//! its `presented_before` tokens, then its own token, then its `presented_after` tokens, all
//! with one store (N = 4) on a device without a wall clock.

use super::*;

/// One verification with the vector's store, before or after its own token.
fn presented(token: &[u8], boot: u32, seconds: u64, valid: bool) -> Value {
    json!({
        "token": hex::encode(token),
        "monotonic": { "boot": boot, "seconds": seconds },
        "result": if valid { "valid" } else { "rejected" },
    })
}

pub(super) fn review7_cases() -> Vec<Case> {
    let sk = signing_key();
    let tok = |iss: &'static str, n: u8, iat: u64, exi: u64| {
        let c = ClaimsBuilder::new(iss, Role::Technician)
            .subject("tech-0042")
            .audience(AUD)
            .issued_at(iat)
            .ttl(86_400)
            .exi(exi)
            .token_id(id4(TOKEN_ID4, n))
            .build(&mut no_rng())
            .unwrap();
        sk.mint_vec(&c).unwrap()
    };
    // The recorded token: cti id4(e4, 0x20), iat T0+30, exi 100, first seen at (3, 0).
    let first = tok(ISS, 0x20, T0 + 30, 100);
    let case =
        |name, token: Vec<u8>, valid, mono, before: Vec<Value>, after: Vec<Value>, why| Case {
            now: None,
            monotonic: Some(mono),
            issuers: vec![ISS, OTHER_ISS],
            extra: vec![
                ("presented_before", Value::Array(before)),
                ("presented_after", Value::Array(after)),
            ],
            valid,
            ..Case::ok(name, token, 0, AUD, why)
        };
    let before = || vec![presented(&first, 3, 0, true)];
    vec![
        case(
            "first-sight-same-cti-other-iat",
            tok(ISS, 0x20, T0 + 31, 100),
            false,
            (3, 10),
            before(),
            vec![
                presented(&first, 3, 99, true),
                presented(&first, 3, 100, false),
            ],
            "the store holds cti e4..e420 (iat T0+30, exi 100) first seen at (3, 0); a token \
             with that cti and iat T0+31 at (3, 10) is refused, and the record is unchanged: \
             the recorded token is still valid at (3, 99) and expired at (3, 100)",
        ),
        case(
            "first-sight-same-cti-other-exi",
            tok(ISS, 0x20, T0 + 30, 200),
            false,
            (3, 10),
            before(),
            vec![
                presented(&first, 3, 99, true),
                presented(&first, 3, 100, false),
            ],
            "as first-sight-same-cti-other-iat, but the second token has the same iat and exi \
             200: refused, record unchanged",
        ),
        case(
            "first-sight-same-cti-other-issuer-in-window",
            tok(OTHER_ISS, 0x20, T0 + 30, 100),
            true,
            (3, 50),
            before(),
            vec![],
            "a token from the second allowlisted issuer with the recorded token's cti, iat and \
             exi is the same token to the store (ids are one namespace): at (3, 50) it is \
             inside the record's window and accepted",
        ),
        case(
            "first-sight-same-cti-other-issuer-after-window",
            tok(OTHER_ISS, 0x20, T0 + 30, 100),
            false,
            (3, 100),
            before(),
            vec![],
            "the same token at (3, 100): the record's window [0, 100) is over, so it is \
             expired; it gets no fresh window of its own",
        ),
        case(
            "first-sight-stale-same-cti-other-iat",
            tok(ISS, 0x20, T0 + 31, 100),
            false,
            (3, 100),
            before(),
            vec![presented(&tok(ISS, 0x21, T0 + 20, 100), 3, 100, true)],
            "at (3, 100) the record (iat T0+30) is stale; a token with its cti and iat T0+31 \
             is still refused, and the record is not evicted: F stays none, so an unseen \
             token with iat T0+20 then takes an empty slot (had the record been dropped, F = \
             T0+30 would refuse it)",
        ),
    ]
}

/// A narrowing whose request is given as JSON text (`request_text`).
fn text_entry(name: &str, parent: &str, text: &str, why: &str) -> Value {
    json!({ "name": name, "parent": parent, "request_text": text, "why": why })
}

/// Requests added after clean-room round 7 (profile §11): member names compare after their
/// escapes are decoded; a duplicate member inside `cnf`.
pub(super) fn review7_requests() -> Vec<Value> {
    use super::narrowings::child_id;
    let t = T0 + 60;
    let holder_kid = hex::encode(b"holder-key-2");
    vec![
        text_entry(
            "narrow-text-escaped-member-name",
            "patient-sign1-typical",
            &format!(
                r#"{{"issued_at": {t}, "\u0074tl": 600, "cti": "{}"}}"#,
                child_id(0xa0)
            ),
            "the member name \\u0074tl decodes to ttl (RFC 8259 §7): the request is ttl 600, \
             derived",
        ),
        text_entry(
            "narrow-text-escaped-duplicate-member",
            "patient-sign1-typical",
            &format!(
                r#"{{"issued_at": {t}, "ttl": 600, "t\u0074l": 600, "cti": "{}"}}"#,
                child_id(0xa1)
            ),
            "ttl, then t\\u0074l, which decodes to ttl: a duplicate member name: refused",
        ),
        text_entry(
            "narrow-text-duplicate-cnf-member",
            "technician-sign1-custom-resources-cnf",
            &format!(
                r#"{{"issued_at": {t}, "subject": "tech-0043", "cnf": {{"kid": "{holder_kid}", "kid": "{holder_kid}"}}, "cti": "{}"}}"#,
                child_id(0xa2)
            ),
            "narrow-replaces-cnf's request with kid named twice inside cnf (equal values): a \
             duplicate member name: refused",
        ),
    ]
}
