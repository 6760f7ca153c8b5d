//! Narrowing rules that the first request format could not express (profile §7): the
//! caregiver's patient binding (and that a child never reaches another patient than its
//! parent), the child's proof-of-possession key, and the texts a child's `sub` and `patient`
//! may hold. Every refusal is `Error::InvalidInput`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use medsec_token::{
    Actions, Claims, ClaimsBuilder, Error, Expectations, FixedClock, KeySet, ProofKey, Resource,
    Role, Scope, ScopeSet, SigningKey, TokenId, UnverifiedToken, VerifiedToken,
};
use rand_chacha::rand_core::SeedableRng;

const ISS: &str = "clinic.example";
const AUD: &str = "pump-SN004711";
const NOW: u64 = 1_750_000_000;
const ISSUERS: &[&str] = &[ISS];

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(7)
}

fn issuer() -> SigningKey {
    SigningKey::from_seed(&[3u8; 32], None)
}

/// A parent of `role` for `subject`, optionally bound to `patient` or carrying `cnf`, minted
/// and verified as an issuer would before narrowing it. Its `cti` is fixed, so that children
/// drawn with `rng()` (the same seed) get another one.
fn parent(
    role: Role,
    subject: &str,
    patient: Option<&str>,
    cnf: Option<ProofKey<'_>>,
    scopes: Option<ScopeSet<'static>>,
) -> Vec<u8> {
    let mut b = ClaimsBuilder::new(ISS, role)
        .subject(subject)
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .token_id(TokenId::from_slice(&[0x9a; 16]).unwrap());
    if let Some(p) = patient {
        b = b.patient(p);
    }
    if let Some(k) = cnf {
        b = b.proof_key(k);
    }
    if let Some(s) = scopes {
        b = b.scopes(s);
    }
    issuer().mint_vec(&b.build(&mut rng()).unwrap()).unwrap()
}

fn verified(token: &[u8]) -> VerifiedToken<'_> {
    let mut keys = KeySet::<1>::new();
    keys.insert(issuer().verifying_key()).unwrap();
    UnverifiedToken::parse(token)
        .unwrap()
        .verify(
            &keys,
            &FixedClock::at(NOW),
            &Expectations::new(ISSUERS, AUD),
        )
        .unwrap()
}

fn read(resource: Resource<'static>) -> ScopeSet<'static> {
    ScopeSet::from_scopes(&[Scope::new(resource, Actions::READ)]).unwrap()
}

fn holder_key(seed: u8) -> [u8; 32] {
    SigningKey::from_seed(&[seed; 32], None)
        .verifying_key()
        .to_bytes()
}

fn refused(r: medsec_token::Result<Claims<'_>>) -> bool {
    r.err() == Some(Error::InvalidInput)
}

#[test]
fn a_caregiver_child_reaches_exactly_one_patient() {
    // Clinician token, unbound: it reaches no patient, so no child of it does. A caregiver
    // child is refused with or without a patient named (binding is issuing, not narrowing).
    let t = parent(Role::Clinician, "dr-who", None, None, None);
    let v = verified(&t);
    let caregiver = || {
        v.narrow()
            .subject("caregiver-7")
            .role(Role::Caregiver)
            .scopes(read(Resource::ReadingsRaw))
            .issued_at(NOW)
    };
    assert!(refused(caregiver().build(&mut rng())));
    assert!(refused(caregiver().patient("patient-1").build(&mut rng())));

    // Clinician token bound to patient-1: the caregiver child is bound to that patient.
    let t = parent(Role::Clinician, "dr-who", Some("patient-1"), None, None);
    let v = verified(&t);
    let caregiver = || {
        v.narrow()
            .subject("caregiver-7")
            .role(Role::Caregiver)
            .scopes(read(Resource::ReadingsRaw))
            .issued_at(NOW)
    };
    assert_eq!(
        caregiver().build(&mut rng()).unwrap().patient(),
        Some("patient-1")
    );
    let bound = caregiver().patient("patient-1").build(&mut rng()).unwrap();
    assert_eq!(bound.patient(), Some("patient-1"));
    assert!(refused(caregiver().patient("patient-2").build(&mut rng())));
    // The role alone: the parent's scopes stay, and a clinician's include write and export,
    // which a caregiver may not carry. Nothing is dropped to make it fit.
    assert!(refused(
        v.narrow()
            .role(Role::Caregiver)
            .issued_at(NOW)
            .build(&mut rng())
    ));

    // A patient's own token: the role alone is enough; the child keeps the parent's sub and
    // scopes and is bound to the patient the parent reaches.
    let t = parent(Role::Patient, "patient-8f3a2c", None, None, None);
    let v = verified(&t);
    let child = v
        .narrow()
        .role(Role::Caregiver)
        .issued_at(NOW)
        .build(&mut rng())
        .unwrap();
    assert_eq!(child.role(), Role::Caregiver);
    assert_eq!(child.subject(), "patient-8f3a2c");
    assert_eq!(child.patient(), Some("patient-8f3a2c"));
    assert_eq!(child.scopes(), v.scopes());
    // The default request: a patient child that carries its reach as a patient claim.
    let child = v.narrow().issued_at(NOW).build(&mut rng()).unwrap();
    assert_eq!(child.role(), Role::Patient);
    assert_eq!(child.patient(), Some("patient-8f3a2c"));

    // The builder mints no caregiver token without a patient (exit 2 in the CLI).
    assert!(refused(
        ClaimsBuilder::new(ISS, Role::Caregiver)
            .subject("caregiver-7")
            .audience(AUD)
            .issued_at(NOW)
            .ttl(3600)
            .build(&mut rng())
    ));
}

#[test]
fn the_childs_proof_key_is_kept_replaced_or_refused_never_dropped() {
    let parent_key = holder_key(4);
    let t = parent(
        Role::Clinician,
        "dr-who",
        None,
        Some(ProofKey::Ed25519(parent_key)),
        None,
    );
    let v = verified(&t);
    let kept = v.narrow().issued_at(NOW).build(&mut rng()).unwrap();
    assert_eq!(kept.proof_key(), Some(ProofKey::Ed25519(parent_key)));
    let replaced = v
        .narrow()
        .proof_key(ProofKey::KeyId(b"holder-2"))
        .issued_at(NOW)
        .build(&mut rng())
        .unwrap();
    assert_eq!(replaced.proof_key(), Some(ProofKey::KeyId(b"holder-2")));

    // Keys a key set refuses (§1.2): small order in canonical and non-canonical encodings,
    // not a curve point, y >= p.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut negative_zero = identity;
    negative_zero[31] = 0x80;
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    let mut y_is_p = [0xffu8; 32];
    y_is_p[0] = 0xed;
    y_is_p[31] = 0x7f;
    for bad in [identity, negative_zero, not_a_point, y_is_p] {
        assert!(refused(
            v.narrow()
                .proof_key(ProofKey::Ed25519(bad))
                .issued_at(NOW)
                .build(&mut rng())
        ));
    }
    // A key id of 0 or 17 bytes (the verifier's 1..=16).
    for kid in [&b""[..], &[7u8; 17][..]] {
        assert!(refused(
            v.narrow()
                .proof_key(ProofKey::KeyId(kid))
                .issued_at(NOW)
                .build(&mut rng())
        ));
    }
    assert!(v
        .narrow()
        .proof_key(ProofKey::KeyId(&[7u8; 16]))
        .issued_at(NOW)
        .build(&mut rng())
        .is_ok());

    // A bearer parent may be given a key: the child then needs possession.
    let t = parent(Role::Clinician, "dr-who", None, None, None);
    let v = verified(&t);
    let pop = v
        .narrow()
        .proof_key(ProofKey::Ed25519(holder_key(5)))
        .issued_at(NOW)
        .build(&mut rng())
        .unwrap();
    assert_eq!(pop.proof_key(), Some(ProofKey::Ed25519(holder_key(5))));
    assert_eq!(
        v.narrow()
            .issued_at(NOW)
            .build(&mut rng())
            .unwrap()
            .proof_key(),
        None
    );

    // A parent whose own key is unusable (the mint and the verifier do not check points)
    // yields no child unless the request names a usable key instead.
    let t = parent(
        Role::Clinician,
        "dr-who",
        None,
        Some(ProofKey::Ed25519(not_a_point)),
        None,
    );
    let v = verified(&t);
    assert!(refused(v.narrow().issued_at(NOW).build(&mut rng())));
    assert!(v
        .narrow()
        .proof_key(ProofKey::Ed25519(holder_key(6)))
        .issued_at(NOW)
        .build(&mut rng())
        .is_ok());
}

#[test]
fn the_childs_subject_and_patient_are_short_text_without_control_characters() {
    let t = parent(Role::Clinician, "dr-who", None, None, None);
    let v = verified(&t);
    let subject = |s: &str| {
        v.narrow()
            .subject(s)
            .issued_at(NOW)
            .build(&mut rng())
            .is_ok()
    };
    // A child's patient comes from its parent (§7): the parent is bound to it, and the
    // child keeps it, named again or not.
    let patient = |s: &str| {
        let t = parent(Role::Clinician, "dr-who", Some(s), None, None);
        let v = verified(&t);
        let kept = v.narrow().issued_at(NOW).build(&mut rng());
        let named = v.narrow().patient(s).issued_at(NOW).build(&mut rng());
        assert_eq!(kept.is_ok(), named.is_ok(), "{s:?}");
        if let Ok(c) = kept {
            assert_eq!(c.patient(), Some(s));
        }
        named.is_ok()
    };
    let ascii_128 = "a".repeat(128);
    let ascii_129 = "a".repeat(129);
    // Lengths count UTF-8 bytes: 64 two-byte characters fit, 43 three-byte ones do not.
    let e_acute_64 = "\u{e9}".repeat(64);
    let euro_43 = "\u{20ac}".repeat(43);
    for ok in [
        "a",
        ascii_128.as_str(),
        e_acute_64.as_str(),
        "Zo\u{eb} \u{dc}nal",
        "no\u{a0}break",
        "zero\u{200b}width",
    ] {
        assert!(subject(ok), "{ok:?}");
        assert!(patient(ok), "{ok:?}");
    }
    for bad in [
        "",
        ascii_129.as_str(),
        euro_43.as_str(),
        "caregiver\u{0}-77",
        "\u{0}",
        "tab\there",
        "line\nbreak",
        "delete\u{7f}",
        "next\u{85}line",
        "c1\u{9f}",
    ] {
        assert!(!subject(bad), "{bad:?}");
        assert!(refused(
            v.narrow().subject(bad).issued_at(NOW).build(&mut rng())
        ));
    }
    // Control characters in a parent's patient (a token the verifier accepts: any UTF-8 of
    // 1 to 128 bytes) are not copied into a child.
    for bad in [
        "caregiver\u{0}-77",
        "\u{0}",
        "tab\there",
        "line\nbreak",
        "delete\u{7f}",
        "next\u{85}line",
        "c1\u{9f}",
    ] {
        assert!(!patient(bad), "{bad:?}");
    }
    // Texts no valid parent is bound to differ from its patient: refused.
    let bound = parent(Role::Clinician, "dr-who", Some("patient-1"), None, None);
    let bv = verified(&bound);
    for other in ["", ascii_129.as_str(), euro_43.as_str()] {
        assert!(refused(
            bv.narrow().patient(other).issued_at(NOW).build(&mut rng())
        ));
    }

    // The rule is on the child's texts, wherever they come from: a parent minted with a
    // control character in its sub (the mint does not check) is not copied into a child.
    let t = parent(Role::Patient, "patient\u{1}", None, None, None);
    let v = verified(&t);
    assert!(refused(v.narrow().issued_at(NOW).build(&mut rng())));
    // (Its sub is also the patient it reaches, so a new subject does not help.)
    assert!(refused(
        v.narrow()
            .subject("caregiver-7")
            .issued_at(NOW)
            .build(&mut rng())
    ));
    // A clinician's bad sub is left behind when the child gets a new one.
    let t = parent(Role::Clinician, "dr\n", None, None, None);
    let v = verified(&t);
    assert!(refused(v.narrow().issued_at(NOW).build(&mut rng())));
    assert_eq!(
        v.narrow()
            .subject("dr-who")
            .issued_at(NOW)
            .build(&mut rng())
            .unwrap()
            .subject(),
        "dr-who"
    );
}
