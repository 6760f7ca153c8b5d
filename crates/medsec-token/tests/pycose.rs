//! Cross-implementation tests against PyPI `pycose` (with `cbor2`): tokens we mint verify
//! there, and tokens pycose mints from the profile document verify here. Key files travel
//! both ways as COSE_Key bytes.
//!
//! The interpreter is `MEDSEC_PYTHON`, else `<workspace>/.venv/bin/python` (made by
//! `scripts/python-env.sh`); without either the tests print a loud skip and pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::io::Write as _;

use rand_chacha::rand_core::SeedableRng as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use medsec_token::{
    Action, Actions, ClaimsBuilder, Expectations, FixedClock, FixedFirstSight, KeyId, KeySet,
    MacKey, PolicyTable, ProofKey, Resource, Role, Scope, SigningKey, UnverifiedToken,
    VerifyingKey,
};
use serde_json::{json, Value};

const NOW: u64 = 1_767_225_600;
const ISS: &str = "clinic.example";
const AUD: &str = "pump-SN004711";

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEDSEC_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    venv.exists().then_some(venv)
}

fn run_python(script: &str, input: &Value) -> Option<Value> {
    let Some(py) = python() else {
        eprintln!(
            "\n!!!!!!!! SKIPPED: pycose cross-implementation test: no Python venv. \
             Run scripts/python-env.sh or set MEDSEC_PYTHON. !!!!!!!!\n"
        );
        return None;
    };
    let mut child = Command::new(py)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Verifies tokens with pycose and returns their protected headers and claims, claim keys as
/// decimal strings, byte strings as hex.
const PY_VERIFY: &str = r#"
import json, sys, cbor2
from pycose.messages import CoseMessage, Sign1Message, Mac0Message
from pycose.keys import CoseKey, SymmetricKey
def plain(v):
    if isinstance(v, bytes): return {"hex": v.hex()}
    if isinstance(v, dict): return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, list): return [plain(x) for x in v]
    return v
inp = json.load(sys.stdin)
pub = CoseKey.decode(bytes.fromhex(inp["public_key_file"]))
mac = SymmetricKey(k=bytes.fromhex(inp["mac_key"]))
out = []
for t in inp["tokens"]:
    raw = bytes.fromhex(t)
    msg = CoseMessage.decode(raw)
    if isinstance(msg, Sign1Message):
        msg.key = pub
        ok = msg.verify_signature()
        kind = "sign1"
    elif isinstance(msg, Mac0Message):
        msg.key = mac
        ok = msg.verify_tag()
        kind = "mac0"
    else:
        ok, kind = False, type(msg).__name__
    phdr = cbor2.loads(msg.phdr_encoded)
    out.append({"kind": kind, "ok": bool(ok), "protected": plain(phdr),
                "unprotected_len": len(msg.uhdr), "claims": plain(cbor2.loads(msg.payload))})
print(json.dumps(out))
"#;

/// Mints tokens with pycose from a claims description (what an independent implementation
/// written from docs/token-profile.md does).
const PY_MINT: &str = r#"
import json, sys, cbor2
from pycose.messages import Sign1Message, Mac0Message
from pycose.keys import CoseKey, SymmetricKey
from pycose.algorithms import EdDSA, HMAC256
from pycose.headers import Algorithm, KID
inp = json.load(sys.stdin)
priv = CoseKey.decode(bytes.fromhex(inp["private_key_file"]))
kid = priv.kid
mac = SymmetricKey(k=bytes.fromhex(inp["mac_key"]))
def claims(c):
    m = {1: c["iss"], 2: c["sub"], 3: c["aud"], 4: c["exp"], 6: c["iat"],
         7: bytes.fromhex(c["cti"]), -65537: {int(k) if k.isdigit() else k: v for k, v in c["scope"].items()},
         -65538: c["role"]}
    if "patient" in c: m[-65539] = c["patient"]
    if "exi" in c: m[40] = c["exi"]
    if "cnf_ed25519" in c: m[8] = {1: {1: 1, -1: 6, -2: bytes.fromhex(c["cnf_ed25519"])}}
    return cbor2.dumps(m)
out = []
for c in inp["claims"]:
    payload = claims(c)
    if c["kind"] == "sign1":
        msg = Sign1Message(phdr={Algorithm: EdDSA, KID: kid}, uhdr={}, payload=payload)
        msg.key = priv
    else:
        msg = Mac0Message(phdr={Algorithm: HMAC256, KID: bytes.fromhex(inp["mac_kid"])}, uhdr={}, payload=payload)
        msg.key = mac
    out.append(msg.encode(tag=True).hex())
# Negative controls: kid only in the unprotected bucket; a payload byte flipped.
m = Sign1Message(phdr={Algorithm: EdDSA}, uhdr={KID: kid}, payload=claims(inp["claims"][0])); m.key = priv
out.append(m.encode(tag=True).hex())
t = bytearray(bytes.fromhex(out[0])); t[40] ^= 0x01
out.append(bytes(t).hex())
print(json.dumps(out))
"#;

fn keys() -> (SigningKey, MacKey) {
    (
        SigningKey::from_seed(&[0x5a; 32], None),
        MacKey::new(KeyId::from_slice(b"backend-mac-1").unwrap(), &[0x33; 32]),
    )
}

#[test]
fn pycose_verifies_our_tokens() {
    let (sk, mac) = keys();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let patient = ClaimsBuilder::new(ISS, Role::Patient)
        .subject("patient-8f3a2c")
        .audience(AUD)
        .issued_at(NOW)
        .ttl(3600)
        .patient("patient-8f3a2c")
        .exi(600)
        .build(&mut rng)
        .unwrap();
    const CUSTOM: &[(Role, &[Scope<'static>])] = &[(
        Role::Technician,
        &[Scope::new(
            Resource::Custom("pump/motor"),
            Actions::READ_WRITE,
        )],
    )];
    let tech = ClaimsBuilder::new(ISS, Role::Technician)
        .policy(PolicyTable::new(CUSTOM))
        .subject("tech-1")
        .audience(AUD)
        .issued_at(NOW)
        .not_before(NOW + 5)
        .ttl(600)
        .proof_key(ProofKey::Ed25519([9; 32]))
        .build(&mut rng)
        .unwrap();
    let tokens = [
        sk.mint_vec(&patient).unwrap(),
        sk.mint_vec(&tech).unwrap(),
        mac.mint_vec(&patient).unwrap(),
    ];
    let mut pubfile = [0u8; VerifyingKey::COSE_KEY_MAX_LEN];
    let n = sk.verifying_key().to_cose_key(&mut pubfile).unwrap();
    let mut tampered = tokens[0].clone();
    tampered[30] ^= 0x04;
    let input = json!({
        "public_key_file": hex::encode(&pubfile[..n]),
        "mac_key": hex::encode([0x33u8; 32]),
        "tokens": tokens.iter().chain([&tampered]).map(hex::encode).collect::<Vec<_>>(),
    });
    let Some(out) = run_python(PY_VERIFY, &input) else {
        return;
    };
    let kid_hex = sk.kid().to_string();
    assert_eq!(out[0]["ok"], json!(true));
    assert_eq!(out[0]["kind"], json!("sign1"));
    assert_eq!(out[0]["protected"], json!({"1": -8, "4": {"hex": kid_hex}}));
    assert_eq!(out[0]["unprotected_len"], json!(0));
    assert_eq!(
        out[0]["claims"],
        json!({
            "1": ISS, "2": "patient-8f3a2c", "3": AUD, "4": NOW + 3600, "6": NOW,
            "7": {"hex": patient.token_id().to_string()}, "40": 600,
            "-65537": {"1": 1, "2": 1, "3": 1, "4": 1, "10": 1},
            "-65538": 1, "-65539": "patient-8f3a2c"
        })
    );
    assert_eq!(out[1]["ok"], json!(true));
    assert_eq!(out[1]["claims"]["5"], json!(NOW + 5));
    assert_eq!(out[1]["claims"]["-65537"], json!({"pump/motor": 3}));
    assert_eq!(
        out[1]["claims"]["8"],
        json!({"1": {"1": 1, "-1": 6, "-2": {"hex": hex::encode([9u8; 32])}}})
    );
    assert_eq!(out[2]["ok"], json!(true));
    assert_eq!(out[2]["kind"], json!("mac0"));
    assert_eq!(
        out[2]["protected"],
        json!({"1": 5, "4": {"hex": hex::encode(b"backend-mac-1")}})
    );
    assert_eq!(
        out[3]["ok"],
        json!(false),
        "pycose must reject our tampered token too"
    );
}

#[test]
fn we_verify_pycose_tokens() {
    let (sk, mac) = keys();
    let mut privfile = [0u8; SigningKey::COSE_KEY_MAX_LEN];
    let n = sk.to_cose_key(&mut privfile).unwrap();
    let base = json!({
        "iss": ISS, "sub": "patient-8f3a2c", "aud": AUD, "iat": NOW, "exp": NOW + 3600,
        "cti": "00112233445566778899aabbccddeeff",
        "scope": {"1": 1, "2": 1, "3": 1, "4": 1, "10": 1}, "role": 1,
    });
    let mut with_extras = base.clone();
    with_extras["kind"] = json!("sign1");
    with_extras["patient"] = json!("patient-8f3a2c");
    with_extras["exi"] = json!(600);
    with_extras["cnf_ed25519"] = json!(hex::encode([7u8; 32]));
    let mut clinician = base.clone();
    clinician["kind"] = json!("sign1");
    clinician["role"] = json!(3);
    clinician["scope"] = json!({"5": 5, "6": 4, "pump/motor": 1});
    let mut backend = base.clone();
    backend["kind"] = json!("mac0");
    let input = json!({
        "private_key_file": hex::encode(&privfile[..n]),
        "mac_key": hex::encode([0x33u8; 32]),
        "mac_kid": hex::encode(b"backend-mac-1"),
        "claims": [with_extras, clinician, backend],
    });
    let Some(out) = run_python(PY_MINT, &input) else {
        return;
    };
    let tokens: Vec<Vec<u8>> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|t| hex::decode(t.as_str().unwrap()).unwrap())
        .collect();
    let mut keys = KeySet::<2>::new();
    keys.insert(sk.verifying_key()).unwrap();
    keys.insert(mac).unwrap();
    let first_sight = FixedFirstSight::<4>::new();
    let clock = FixedClock {
        unix: Some(NOW + 30),
        monotonic: Some(medsec_token::MonotonicTime {
            boot: 1,
            seconds: 5,
        }),
    };
    let exp = Expectations::new(&[ISS], AUD).first_sight(&first_sight);
    fn verify_with<'t>(
        t: &'t [u8],
        keys: &KeySet<2>,
        clock: &FixedClock,
        exp: &Expectations<'_>,
    ) -> medsec_token::Result<medsec_token::VerifiedToken<'t>> {
        UnverifiedToken::parse(t)?.verify(keys, clock, exp)
    }
    let verify = |t| verify_with(t, &keys, &clock, &exp);

    let v = verify(&tokens[0]).expect("pycose Sign1");
    assert_eq!(v.role(), Role::Patient);
    assert_eq!(v.patient(), Some("patient-8f3a2c"));
    assert_eq!(v.claims().exi(), Some(600));
    assert_eq!(v.proof_key(), Some(ProofKey::Ed25519([7; 32])));
    assert!(v.allows_for_patient(&Resource::DeviceBattery, Action::Read, "patient-8f3a2c"));
    assert!(!v.allows(&Resource::ReadingsRaw, Action::Read));

    let v = verify(&tokens[1]).expect("pycose Sign1 clinician");
    assert!(v.allows(&Resource::ReadingsRaw, Action::Export));
    assert!(v.allows(&Resource::Custom("pump/motor"), Action::Read));
    assert!(!v.allows(&Resource::ReadingsExport, Action::Read));

    let v = verify(&tokens[2]).expect("pycose Mac0");
    assert_eq!(v.kind(), medsec_token::TokenKind::Mac0);

    assert!(
        verify(&tokens[3]).is_err(),
        "kid in the unprotected bucket is refused"
    );
    assert!(
        verify(&tokens[4]).is_err(),
        "tampered pycose token is refused"
    );
}

/// Plain Ed25519 verification by OpenSSL (through PyPI `cryptography`): RFC 8032 §5.1.7,
/// cofactorless, `R` compared as bytes, `S < L`, no small-order checks.
const PY_OPENSSL_ED25519: &str = r#"
import json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature
out = []
for c in json.load(sys.stdin):
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(c["public"])).verify(
            bytes.fromhex(c["signature"]), bytes.fromhex(c["message"]))
        out.append(True)
    except (InvalidSignature, ValueError):
        out.append(False)
print(json.dumps(out))
"#;

/// The strict-Ed25519 vectors (profile §1.2) record what a plain RFC 8032 verifier decides
/// (`plain_rfc8032_verify`); OpenSSL must decide exactly that, and accept every valid
/// COSE_Sign1 vector. So an implementer on OpenSSL sees where medsec's extra checks (the
/// small-order R and A rules) change the outcome, and nowhere else.
#[test]
fn openssl_plain_ed25519_diverges_only_where_the_vectors_say() {
    use coset::{CoseSign1, TaggedCborSerializable as _};
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/token-vectors.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let default_public = file["keys"]["ed25519"]["public"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut cases = vec![];
    let mut expected = vec![];
    let mut names = vec![];
    for v in file["vectors"].as_array().unwrap() {
        let plain = v["plain_rfc8032_verify"].as_str();
        let valid = v["result"] == "valid";
        let token = hex::decode(v["token"].as_str().unwrap()).unwrap();
        // COSE_Sign1 only (a CWT tag 61 in front is stripped).
        let bare = token.strip_prefix(&[0xd8, 0x3d][..]).unwrap_or(&token);
        if bare.first() != Some(&0xd2) || (plain.is_none() && !valid) {
            continue;
        }
        let s = CoseSign1::from_tagged_slice(bare).unwrap();
        let message = s.tbs_data(b"");
        let public = v["verify"]["keys"][0]["ed25519_public"]
            .as_str()
            .map_or(default_public.clone(), str::to_owned);
        cases.push(json!({
            "public": public,
            "signature": hex::encode(&s.signature),
            "message": hex::encode(message),
        }));
        expected.push(plain.is_none_or(|p| p == "accepts"));
        names.push(v["name"].as_str().unwrap().to_owned());
    }
    assert!(names.len() > 20);
    let Some(out) = run_python(PY_OPENSSL_ED25519, &Value::from(cases)) else {
        return;
    };
    let got: Vec<bool> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_bool().unwrap())
        .collect();
    for ((name, want), got) in names.iter().zip(&expected).zip(&got) {
        assert_eq!(got, want, "OpenSSL on {name}");
    }
    // The divergence itself: OpenSSL accepts small-order R (the identity under any key, any
    // small-order point under a key with a small-order component) and small-order A, which
    // medsec rejects.
    let accepted_but_rejected: Vec<&String> = names
        .iter()
        .zip(&got)
        .filter(|(n, ok)| **ok && n.starts_with("ed25519-"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        accepted_but_rejected,
        [
            "ed25519-r-small-order",
            "ed25519-a-small-order",
            "ed25519-a-small-order-non-canonical",
            "ed25519-a-small-order-negative-zero",
            "ed25519-r-small-order-mixed-key"
        ]
    );
}
