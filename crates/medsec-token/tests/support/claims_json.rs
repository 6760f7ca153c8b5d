//! The JSON shape of verified claims used by the vectors file and by `medsec-cli token verify`
//! (the CLI has its own copy in examples/medsec-cli/token_cmd.rs; the vectors test keeps them
//! in step by comparing against the same file).

use medsec_token::{ProofKey, TokenKind, VerifiedToken};
use serde_json::{json, Map, Value};

pub fn claims_json(v: &VerifiedToken<'_>) -> Value {
    let c = v.claims();
    let mut scope = Map::new();
    for s in c.scopes().iter() {
        let actions: Vec<Value> = medsec_token::Action::ALL
            .into_iter()
            .filter(|a| s.actions.contains(*a))
            .map(|a| Value::from(a.name()))
            .collect();
        scope.insert(s.resource.name().to_owned(), Value::Array(actions));
    }
    let mut m = Map::new();
    m.insert(
        "kind".into(),
        json!(match v.kind() {
            TokenKind::Sign1 => "sign1",
            TokenKind::Mac0 => "mac0",
            _ => "unknown",
        }),
    );
    m.insert("kid".into(), json!(hex::encode(v.kid())));
    m.insert("iss".into(), json!(c.issuer()));
    m.insert("sub".into(), json!(c.subject()));
    m.insert("aud".into(), json!(c.audience()));
    m.insert("iat".into(), json!(c.issued_at()));
    if let Some(nbf) = c.not_before() {
        m.insert("nbf".into(), json!(nbf));
    }
    m.insert("exp".into(), json!(c.expires_at()));
    m.insert("cti".into(), json!(c.token_id().to_string()));
    m.insert("role".into(), json!(c.role().name()));
    m.insert("scope".into(), Value::Object(scope));
    if let Some(p) = c.patient() {
        m.insert("patient".into(), json!(p));
    }
    if let Some(e) = c.exi() {
        m.insert("exi".into(), json!(e));
    }
    if let Some(p) = c.parent() {
        m.insert("parent".into(), json!(p.to_string()));
    }
    match c.proof_key() {
        Some(ProofKey::Ed25519(x)) => {
            m.insert("cnf".into(), json!({ "ed25519": hex::encode(x) }));
        }
        Some(ProofKey::KeyId(k)) => {
            m.insert("cnf".into(), json!({ "kid": hex::encode(k) }));
        }
        None => {}
    }
    Value::Object(m)
}
