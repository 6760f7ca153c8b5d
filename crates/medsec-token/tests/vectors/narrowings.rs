//! Narrowing vectors (profile §7): a parent (a valid vector of the file, verified with that
//! vector's own inputs), what the issuer asks for, and whether it derives a child (then the
//! child's token, signed with the file's Ed25519 key, and its claims) or refuses.

use super::*;

/// The requests, as the file carries them (without their outcome).
pub(super) fn narrowing_requests() -> Vec<Value> {
    let clinician = "clinician-sign1-nbf";
    let patient = "patient-sign1-typical";
    let entry = |name: &str, parent: &str, request: Value, why: &str| json!({ "name": name, "parent": parent, "request": request, "why": why });
    let id = |n: u8| cti(n).to_string();
    vec![
        entry(
            "narrow-clinician-to-caregiver",
            clinician,
            json!({ "issued_at": T0 + 600, "subject": "caregiver-77", "role": "caregiver",
                    "scope": { "readings/raw": ["read"] }, "patient": PATIENT, "ttl": 3600,
                    "cti": id(5) }),
            "the derivation of vector caregiver-sign1-narrowed (the same token bytes)",
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
            "parent exi 900, child ttl 600: child exi = min(900, 600) = 600",
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
            "a clinician token reaches no particular patient, so its child may be bound to \
             one",
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
                    "cti": id(67) }),
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
            clinician,
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
}

/// Derives the child that `entry` describes, from the JSON alone (what an independent
/// implementation does): its token (COSE_Sign1 under the file's Ed25519 key) and claims
/// JSON, or `None` when the issuer refuses.
pub(super) fn derive(
    file_keys: &Value,
    vectors: &[Value],
    entry: &Value,
) -> Option<(Vec<u8>, Value)> {
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

    let r = &entry["request"];
    let mut n = verified
        .narrow()
        .issued_at(r["issued_at"].as_u64().unwrap())
        .token_id(TokenId::from_slice(&hex::decode(r["cti"].as_str().unwrap()).unwrap()).unwrap());
    if let Some(s) = r["subject"].as_str() {
        n = n.subject(s);
    }
    if let Some(role) = r["role"].as_str() {
        n = n.role(Role::from_name(role).unwrap());
    }
    if let Some(p) = r["patient"].as_str() {
        n = n.patient(p);
    }
    if let Some(t) = r["ttl"].as_u64() {
        n = n.ttl(t);
    }
    if let Some(scope) = r["scope"].as_object() {
        let mut set = ScopeSet::new();
        for (resource, actions) in scope {
            let resource = Resource::parse(resource).unwrap();
            for a in actions.as_array().unwrap() {
                let bits = Action::from_name(a.as_str().unwrap()).unwrap().bit();
                set.add(Scope::new(
                    resource,
                    Actions::from_bits(bits.into()).unwrap(),
                ))
                .unwrap();
            }
        }
        n = n.scopes(set);
    }
    let claims = n.build(&mut no_rng()).ok()?;
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
    Some((child, json))
}

/// The file's `narrowings` section: each request with its outcome.
pub(super) fn narrowings(file_keys: &Value, vectors: &[Value]) -> Value {
    narrowing_requests()
        .into_iter()
        .map(|mut e| {
            match derive(file_keys, vectors, &e) {
                Some((token, claims)) => {
                    e["result"] = json!("derived");
                    e["token"] = json!(hex::encode(token));
                    e["claims"] = claims;
                }
                None => e["result"] = json!("refused"),
            }
            e
        })
        .collect()
}
