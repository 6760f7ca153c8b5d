//! Narrowing rules that the first request format could not express (profile §7): the
//! caregiver's patient binding (and that a child never reaches another patient than its
//! parent), the child's proof-of-possession key, and the texts a child's `sub` and `patient`
//! may hold. Every refusal is `Error::InvalidInput`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests"
)]

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
    // medsec's builder refuses control characters (profile §3.2); a token with them is
    // another minter's, made here by editing a clean token's text and signing it again.
    let placeholder = |t: &str, fill: char| -> String {
        if t.chars().any(char::is_control) {
            fill.to_string().repeat(t.len())
        } else {
            t.to_owned()
        }
    };
    let clean_subject = placeholder(subject, 'Z');
    let clean_patient = patient.map(|p| placeholder(p, 'Y'));
    let mut b = ClaimsBuilder::new(ISS, role)
        .subject(&clean_subject)
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .token_id(TokenId::from_slice(&[0x9a; 16]).unwrap());
    if let Some(p) = &clean_patient {
        b = b.patient(p);
    }
    if let Some(k) = cnf {
        b = b.proof_key(k);
    }
    if let Some(s) = scopes {
        b = b.scopes(s);
    }
    let token = issuer().mint_vec(&b.build(&mut rng()).unwrap()).unwrap();
    let mut swaps = vec![(clean_subject.as_str(), subject)];
    if let (Some(clean), Some(p)) = (&clean_patient, patient) {
        swaps.push((clean.as_str(), p));
    }
    swap_texts(&token, &swaps)
}

/// The token with each text `from` of its claims replaced by `to` (of the same length),
/// signed again with the issuer's key, as another minter could.
fn swap_texts(token: &[u8], swaps: &[(&str, &str)]) -> Vec<u8> {
    use coset::TaggedCborSerializable as _;
    use ed25519_dalek::Signer as _;
    if swaps.iter().all(|(from, to)| from == to) {
        return token.to_vec();
    }
    let item = |t: &str| {
        let mut v = if t.len() < 24 {
            vec![0x60 + t.len() as u8]
        } else {
            vec![0x78, t.len() as u8]
        };
        v.extend_from_slice(t.as_bytes());
        v
    };
    let mut sign1 = coset::CoseSign1::from_tagged_slice(token).unwrap();
    let mut payload = sign1.payload.take().unwrap();
    for (from, to) in swaps.iter().filter(|(f, t)| f != t) {
        let (from, to) = (item(from), item(to));
        assert_eq!(from.len(), to.len());
        let at: Vec<usize> = payload
            .windows(from.len())
            .enumerate()
            .filter(|(_, w)| *w == from.as_slice())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(at.len(), 1, "the placeholder occurs once");
        payload.splice(at[0]..at[0] + from.len(), to);
    }
    sign1.payload = Some(payload);
    let tbs = sign1.tbs_data(b"");
    let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    sign1.signature = key.sign(&tbs).to_bytes().to_vec();
    sign1.to_tagged_vec().unwrap()
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

#[test]
fn a_parent_with_exi_is_not_narrowed() {
    // A child's first-sight window starts when a device first sees the child, whatever the
    // parent's: on a device without a wall clock it could outlast the parent's window (or a
    // parent whose record was dropped). The issuer cannot know when a device first saw the
    // parent, so it refuses (profile §7).
    let claims = ClaimsBuilder::new(ISS, Role::Technician)
        .subject("tech-1")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .exi(900)
        .token_id(TokenId::from_slice(&[0x9a; 16]).unwrap())
        .build(&mut rng())
        .unwrap();
    let t = issuer().mint_vec(&claims).unwrap();
    let mut keys = KeySet::<1>::new();
    keys.insert(issuer().verifying_key()).unwrap();
    let store = medsec_token::FixedFirstSight::<1>::new();
    let expect = Expectations::new(ISSUERS, AUD).first_sight(&store);
    let clock = FixedClock {
        unix: Some(NOW),
        monotonic: Some(medsec_token::MonotonicTime {
            boot: 1,
            seconds: 0,
        }),
    };
    let v = UnverifiedToken::parse(&t)
        .unwrap()
        .verify(&keys, &clock, &expect)
        .unwrap();
    assert!(refused(v.narrow().issued_at(NOW).build(&mut rng())));
    assert!(refused(
        v.narrow().ttl(60).issued_at(NOW + 10).build(&mut rng())
    ));
}

#[test]
fn a_child_must_fit_a_token_under_any_key() {
    // A clinician parent with 12 custom scopes of 64-byte names; the child's subject moves
    // its claims from below to above 930 bytes: the most that fits in 1024 bytes as a
    // COSE_Sign1 with a 16-byte kid (profile §7).
    let names: Vec<String> = (0..12)
        .map(|i| format!("pad{i:02}/{}", "x".repeat(58)))
        .collect();
    let scopes: Vec<Scope<'_>> = names
        .iter()
        .map(|n| Scope::new(Resource::parse(n).unwrap(), Actions::READ))
        .collect();
    let row = [(Role::Clinician, scopes.as_slice())];
    let table = medsec_token::PolicyTable::new(&row);
    let parent_claims = ClaimsBuilder::new(ISS, Role::Clinician)
        .policy(table)
        .subject("dr-who")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .token_id(TokenId::from_slice(&[0x9a; 16]).unwrap())
        .build(&mut rng())
        .unwrap();
    let t = issuer().mint_vec(&parent_claims).unwrap();
    let v = verified(&t);
    let kid16 = medsec_token::KeyId::from_slice(&[0x16; 16]).unwrap();
    let long_kid = SigningKey::from_seed(&[3u8; 32], Some(kid16));
    let mac = medsec_token::MacKey::new(kid16, &[5u8; 32]);
    let mut fits = 0;
    let mut refusals = 0;
    for len in 1..=128 {
        let sub = "s".repeat(len);
        match v.narrow().subject(&sub).issued_at(NOW).build(&mut rng()) {
            Ok(c) => {
                fits += 1;
                // Whatever key the issuer signs it with, minting succeeds.
                assert!(long_kid.mint_vec(&c).unwrap().len() <= medsec_token::MAX_TOKEN_LEN);
                assert!(mac.mint_vec(&c).unwrap().len() <= medsec_token::MAX_TOKEN_LEN);
                assert!(issuer().mint_vec(&c).is_ok());
            }
            Err(e) => {
                assert_eq!(e, Error::InvalidInput);
                refusals += 1;
                // Refused although the issuer's 8-byte kid would have fitted for a while:
                // the check does not depend on the key.
            }
        }
    }
    assert!(fits > 0 && refusals > 0, "{fits} {refusals}");
}

#[test]
fn the_builder_refuses_control_characters() {
    // Profile §3.2: issuer, subject, audience and patient texts hold no Cc character; other
    // characters (U+00A0, U+200B, U+00E9) are kept as they are.
    let build = |iss: &str, sub: &str, aud: &str, patient: &str| {
        ClaimsBuilder::new(iss, Role::Clinician)
            .subject(sub)
            .audience(aud)
            .patient(patient)
            .issued_at(NOW)
            .ttl(60)
            .build(&mut rng())
            .map(|_| ())
    };
    assert_eq!(build(ISS, "dr", AUD, "p-1"), Ok(()));
    assert_eq!(build("i\u{a0}ss", "dr\u{200b}", "a\u{e9}", "p 1"), Ok(()));
    for bad in [
        "\u{0}",
        "a\nb",
        "tab\t",
        "del\u{7f}",
        "nel\u{85}",
        "c1\u{9f}",
        "\u{1f}",
    ] {
        assert_eq!(
            build(bad, "dr", AUD, "p-1"),
            Err(Error::InvalidInput),
            "{bad:?}"
        );
        assert_eq!(
            build(ISS, bad, AUD, "p-1"),
            Err(Error::InvalidInput),
            "{bad:?}"
        );
        assert_eq!(
            build(ISS, "dr", bad, "p-1"),
            Err(Error::InvalidInput),
            "{bad:?}"
        );
        assert_eq!(
            build(ISS, "dr", AUD, bad),
            Err(Error::InvalidInput),
            "{bad:?}"
        );
    }
}
