//! Token mint/verify, side by side in one run with the peers named in issue 4:
//! `jsonwebtoken` (EdDSA, HS256), `pasetors` (v4.public, v4.local), `biscuit-auth`, and a raw
//! `ed25519-dalek` verify of a same-sized message. Every contender carries the same typical
//! patient claims (issuer, subject, audience, iat, exp, token id, role, five read scopes) and
//! checks issuer, audience and expiry on verify.
//!
//! Targets (ratios in this run): medsec Mac0 verify <= 0.6x jsonwebtoken HS256 verify;
//! medsec Sign1 verify <= 1.1x raw ed25519-dalek verify; typical patient token <= 200 bytes.
//! Sizes are printed at the start of the run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    missing_docs,
    reason = "bench"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::Signer as _;
use medsec_token::{
    ClaimsBuilder, Expectations, FixedClock, KeyId, MacKey, Role, SigningKey, TokenId,
    UnverifiedToken, VerificationKey,
};
use serde::{Deserialize, Serialize};

const ISS: &str = "clinic.example";
const SUB: &str = "patient-8f3a2c";
const AUD: &str = "pump-SN004711";
const SEED: [u8; 32] = [0x5a; 32];
const HMAC_KEY: [u8; 32] = [0x33; 32];
const SCOPES: [&str; 5] = [
    "device/status:read",
    "device/battery:read",
    "therapy/remaining:read",
    "alarms:read",
    "summaries:read",
];

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[derive(Debug, Serialize, Deserialize)]
struct JwtClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: u64,
    exp: u64,
    jti: String,
    role: String,
    scope: Vec<String>,
}

fn jwt_claims(now: u64) -> JwtClaims {
    JwtClaims {
        iss: ISS.into(),
        sub: SUB.into(),
        aud: AUD.into(),
        iat: now,
        exp: now + 3600,
        jti: "7848b5d711bc9883996317a3f9c90269".into(),
        role: "patient".into(),
        scope: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410 §7), what jsonwebtoken's EdDSA key takes.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(seed);
    der
}

fn bench_tokens(c: &mut Criterion) {
    let now = now();
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);

    // ---- medsec-token
    let sk = SigningKey::from_seed(&SEED, None);
    let ed_key = VerificationKey::from(sk.verifying_key());
    let mac = MacKey::new(KeyId::from_slice(b"backend-mac-1").unwrap(), &HMAC_KEY);
    let mac_key = VerificationKey::from(mac.clone());
    let claims = ClaimsBuilder::new(ISS, Role::Patient)
        .subject(SUB)
        .audience(AUD)
        .issued_at(now)
        .ttl(3600)
        .token_id(TokenId::random(&mut rng))
        .build(&mut rng)
        .unwrap();
    let sign1 = sk.mint_vec(&claims).unwrap();
    let mac0 = mac.mint_vec(&claims).unwrap();
    let issuers = [ISS];
    let expect = Expectations::new(&issuers, AUD);
    let clock = FixedClock::at(now);

    // ---- raw ed25519-dalek over a message as long as our Sig_structure.
    let raw_sk = ed25519_dalek::SigningKey::from_bytes(&SEED);
    let raw_vk = raw_sk.verifying_key();
    let raw_msg = vec![0xabu8; sign1.len() - 64 + 14];
    let raw_sig = raw_sk.sign(&raw_msg);

    // ---- jsonwebtoken
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    let jc = jwt_claims(now);
    let jwt_ed_enc = EncodingKey::from_ed_der(&ed25519_pkcs8(&SEED));
    let jwt_ed_dec = DecodingKey::from_ed_der(raw_vk.as_bytes());
    let jwt_hs_enc = EncodingKey::from_secret(&HMAC_KEY).unwrap();
    let jwt_hs_dec = DecodingKey::from_secret(&HMAC_KEY).unwrap();
    let jwt_ed_header = Header::new(Algorithm::EdDSA);
    let jwt_hs_header = Header::new(Algorithm::HS256);
    let jwt_ed = jsonwebtoken::encode(&jwt_ed_header, &jc, &jwt_ed_enc).unwrap();
    let jwt_hs = jsonwebtoken::encode(&jwt_hs_header, &jc, &jwt_hs_enc).unwrap();
    let mut v_ed = Validation::new(Algorithm::EdDSA);
    v_ed.set_audience(&[AUD]);
    v_ed.set_issuer(&[ISS]);
    let mut v_hs = Validation::new(Algorithm::HS256);
    v_hs.set_audience(&[AUD]);
    v_hs.set_issuer(&[ISS]);

    // ---- pasetors
    use pasetors::claims::{Claims as PasetoClaims, ClaimsValidationRules};
    use pasetors::keys::{AsymmetricKeyPair, Generate, SymmetricKey};
    use pasetors::token::UntrustedToken;
    use pasetors::version4::V4;
    use pasetors::{local, public, Local, Public};
    let paseto_kp = AsymmetricKeyPair::<V4>::generate().unwrap();
    let paseto_sym = SymmetricKey::<V4>::generate().unwrap();
    let mut pc = PasetoClaims::new().unwrap();
    pc.issuer(ISS).unwrap();
    pc.subject(SUB).unwrap();
    pc.audience(AUD).unwrap();
    pc.token_identifier("7848b5d711bc9883996317a3f9c90269")
        .unwrap();
    pc.add_additional("role", "patient").unwrap();
    pc.add_additional("scope", SCOPES.to_vec()).unwrap();
    let paseto_pub = public::sign(&paseto_kp.secret, &pc, None, None).unwrap();
    let paseto_loc = local::encrypt(&paseto_sym, &pc, None, None).unwrap();
    let mut rules = ClaimsValidationRules::new();
    rules.validate_issuer_with(ISS);
    rules.validate_audience_with(AUD);

    // ---- biscuit-auth
    let biscuit_root = biscuit_auth::KeyPair::new();
    let biscuit_code = format!(
        "user(\"{SUB}\"); role(\"patient\"); audience(\"{AUD}\"); issuer(\"{ISS}\"); \
         scope(\"device/status\", \"read\"); scope(\"device/battery\", \"read\"); \
         scope(\"therapy/remaining\", \"read\"); scope(\"alarms\", \"read\"); \
         scope(\"summaries\", \"read\"); \
         check if time($t), $t < {exp};",
        exp = chrono_like_rfc3339(now + 3600)
    );
    let mint_biscuit = || {
        biscuit_auth::Biscuit::builder()
            .code(&biscuit_code)
            .unwrap()
            .build(&biscuit_root)
            .unwrap()
            .to_vec()
            .unwrap()
    };
    let biscuit_bytes = mint_biscuit();
    let biscuit_policy = format!(
        "time({t}); allow if audience(\"{AUD}\"), issuer(\"{ISS}\"), scope(\"device/battery\", \"read\");",
        t = chrono_like_rfc3339(now)
    );
    let verify_biscuit = |bytes: &[u8]| {
        let token = biscuit_auth::Biscuit::from(bytes, biscuit_root.public()).unwrap();
        // biscuit's default 1 ms run limit trips on a loaded machine; the work is the same.
        let limits = biscuit_auth::AuthorizerLimits {
            max_time: Duration::from_secs(1),
            ..Default::default()
        };
        let mut authorizer = biscuit_auth::builder::AuthorizerBuilder::new()
            .set_limits(limits)
            .code(&biscuit_policy)
            .unwrap()
            .build(&token)
            .unwrap();
        authorizer.authorize().unwrap()
    };
    verify_biscuit(&biscuit_bytes);

    eprintln!("typical patient token, bytes on the wire:");
    eprintln!("  medsec Sign1 (COSE/CBOR)      {:>4}", sign1.len());
    eprintln!("  medsec Mac0 (COSE/CBOR)       {:>4}", mac0.len());
    eprintln!("  jsonwebtoken EdDSA            {:>4}", jwt_ed.len());
    eprintln!("  jsonwebtoken HS256            {:>4}", jwt_hs.len());
    eprintln!("  pasetors v4.public            {:>4}", paseto_pub.len());
    eprintln!("  pasetors v4.local             {:>4}", paseto_loc.len());
    eprintln!("  biscuit-auth (binary)         {:>4}", biscuit_bytes.len());

    let mut g = c.benchmark_group("token");
    g.warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);

    g.bench_function("medsec_sign1_mint", |b| {
        b.iter(|| sk.mint_vec(black_box(&claims)).unwrap())
    });
    g.bench_function("medsec_sign1_verify", |b| {
        b.iter(|| {
            let t = UnverifiedToken::parse(black_box(&sign1)).unwrap();
            t.verify(&ed_key, &clock, &expect).unwrap().token_id()
        })
    });
    g.bench_function("medsec_mac0_mint", |b| {
        b.iter(|| mac.mint_vec(black_box(&claims)).unwrap())
    });
    g.bench_function("medsec_mac0_verify", |b| {
        b.iter(|| {
            let t = UnverifiedToken::parse(black_box(&mac0)).unwrap();
            t.verify(&mac_key, &clock, &expect).unwrap().token_id()
        })
    });
    g.bench_function("raw_ed25519_dalek_verify", |b| {
        b.iter(|| raw_vk.verify_strict(black_box(&raw_msg), &raw_sig).unwrap())
    });
    g.bench_function("raw_ed25519_dalek_verify_non_strict", |b| {
        use ed25519_dalek::Verifier as _;
        b.iter(|| raw_vk.verify(black_box(&raw_msg), &raw_sig).unwrap())
    });
    g.bench_function("jsonwebtoken_eddsa_mint", |b| {
        b.iter(|| jsonwebtoken::encode(&jwt_ed_header, black_box(&jc), &jwt_ed_enc).unwrap())
    });
    g.bench_function("jsonwebtoken_eddsa_verify", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&jwt_ed), &jwt_ed_dec, &v_ed).unwrap()
        })
    });
    g.bench_function("jsonwebtoken_hs256_mint", |b| {
        b.iter(|| jsonwebtoken::encode(&jwt_hs_header, black_box(&jc), &jwt_hs_enc).unwrap())
    });
    g.bench_function("jsonwebtoken_hs256_verify", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&jwt_hs), &jwt_hs_dec, &v_hs).unwrap()
        })
    });
    g.bench_function("pasetors_v4_public_mint", |b| {
        b.iter(|| public::sign(&paseto_kp.secret, black_box(&pc), None, None).unwrap())
    });
    g.bench_function("pasetors_v4_public_verify", |b| {
        b.iter(|| {
            let t = UntrustedToken::<Public, V4>::try_from(black_box(&paseto_pub)).unwrap();
            public::verify(&paseto_kp.public, &t, &rules, None, None).unwrap()
        })
    });
    g.bench_function("pasetors_v4_local_mint", |b| {
        b.iter(|| local::encrypt(&paseto_sym, black_box(&pc), None, None).unwrap())
    });
    g.bench_function("pasetors_v4_local_verify", |b| {
        b.iter(|| {
            let t = UntrustedToken::<Local, V4>::try_from(black_box(&paseto_loc)).unwrap();
            local::decrypt(&paseto_sym, &t, &rules, None, None).unwrap()
        })
    });
    g.bench_function("biscuit_mint", |b| b.iter(mint_biscuit));
    g.bench_function("biscuit_verify", |b| {
        b.iter(|| verify_biscuit(black_box(&biscuit_bytes)))
    });
    g.finish();
}

/// RFC 3339 UTC text for a Unix time (biscuit's datalog date literal), without a date crate.
fn chrono_like_rfc3339(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil-from-days (H. Hinnant), valid for the Unix era.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

criterion_group!(benches, bench_tokens);
criterion_main!(benches);
