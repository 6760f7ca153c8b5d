//! Cross-implementation test against libargon2 through PyPI `argon2-cffi` (the reference C
//! implementation): our PHC strings verify there, its PHC strings verify here, peppered hashes
//! agree through libargon2's `argon2_ctx` with a secret, and the golden vectors and the
//! throttle-key/record formats are recomputed independently in Python.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

#[path = "support/python.rs"]
mod python;

use medsec_credential::hash::hazmat;
use medsec_credential::{Error, HashParams, Password, PasswordHasher, Pepper, PepperRing};
use rand_chacha::rand_core::SeedableRng;
use serde_json::{json, Value};

const SCRIPT: &str = r#"
import sys, json, hmac, hashlib, ipaddress, unicodedata
import argon2
from argon2.low_level import ffi, lib, Type, hash_secret

req = json.load(sys.stdin)
ph = argon2.PasswordHasher()
out = {}

# 1. Our PHC strings verify with libargon2 (and a wrong password does not).
res = []
for case in req["ours"]:
    pw = unicodedata.normalize("NFKC", case["password"])
    ok = ph.verify(case["phc"], pw)
    try:
        ph.verify(case["phc"], pw + "x")
        wrong = True
    except argon2.exceptions.VerifyMismatchError:
        wrong = False
    res.append({"ok": ok, "wrong_accepted": wrong})
out["ours"] = res

# 2. libargon2 makes PHC strings for us to verify.
made = []
for case in req["theirs"]:
    h = argon2.PasswordHasher(time_cost=case["t"], memory_cost=case["m"], parallelism=case["p"],
                              hash_len=case["hash_len"], salt_len=case["salt_len"])
    made.append(h.hash(case["password"]))
out["theirs"] = made

# 3. Peppered: argon2_ctx with the secret K, the way libargon2 exposes it.
def peppered(password, salt, m, t, p, secret, hash_len):
    pwd = password.encode("utf-8")
    out_buf = ffi.new("uint8_t[]", hash_len)
    pwd_buf = ffi.new("uint8_t[]", pwd)
    salt_buf = ffi.new("uint8_t[]", salt)
    secret_buf = ffi.new("uint8_t[]", secret)
    ctx = ffi.new("argon2_context *", dict(
        out=out_buf, outlen=hash_len, pwd=pwd_buf, pwdlen=len(pwd), salt=salt_buf,
        saltlen=len(salt), secret=secret_buf, secretlen=len(secret), ad=ffi.NULL, adlen=0,
        t_cost=t, m_cost=m, lanes=p, threads=p, version=0x13,
        allocate_cbk=ffi.NULL, free_cbk=ffi.NULL, flags=lib.ARGON2_DEFAULT_FLAGS))
    rc = lib.argon2_ctx(ctx, Type.ID.value)
    assert rc == lib.ARGON2_OK, rc
    return bytes(ffi.buffer(out_buf, hash_len))
out["peppered"] = [peppered(unicodedata.normalize("NFKC", c["password"]), bytes.fromhex(c["salt_hex"]),
                            c["m"], c["t"], c["p"], bytes.fromhex(c["secret_hex"]), 32).hex()
                   for c in req["peppered"]]

# 4. Golden vectors recomputed independently.
vec = req["vectors"]
def version(s):
    return tuple(int(x) for x in s.split("."))
phc_ok = []
nfkc_skipped = []
for v in vec["phc"]:
    # Argon2 hashes the normative bytes; Python's own NFKC must agree when its Unicode tables
    # are recent enough for the password (U+1E030 needs 15.0; Python 3.11 has 14.0 and leaves
    # it unchanged, which is exactly the interoperability hazard the document describes).
    raw_pw = bytes.fromhex(v["password_nfkc_utf8_hex"]).decode("utf-8")
    mine = unicodedata.normalize("NFKC", v["password"])
    need = v.get("min_unicode_version")
    if need is None or version(unicodedata.unidata_version) >= version(need):
        assert mine == raw_pw, v["name"]
    else:
        assert mine != raw_pw, v["name"]
        nfkc_skipped.append(v["name"])
    pw = raw_pw
    if v["pepper"] is None:
        raw = hash_secret(pw.encode(), bytes.fromhex(v["salt_hex"]), v["t"], v["m"], v["p"], 32, Type.ID)
        phc_ok.append(raw.decode() == v["phc"])
    else:
        tag = peppered(pw, bytes.fromhex(v["salt_hex"]), v["m"], v["t"], v["p"],
                       bytes.fromhex(v["pepper"]["secret_hex"]), 32)
        import base64
        b64 = lambda b: base64.b64encode(b).decode().rstrip("=")
        keyid = b64(v["pepper"]["id"].to_bytes(4, "big"))
        s = "$argon2id$v=19$m=%d,t=%d,p=%d,keyid=%s$%s$%s" % (
            v["m"], v["t"], v["p"], keyid, b64(bytes.fromhex(v["salt_hex"])), b64(tag))
        phc_ok.append(s == v["phc"])
out["vector_phc"] = phc_ok
out["nfkc_skipped"] = nfkc_skipped
out["python_unicode"] = unicodedata.unidata_version
keys_ok = []
for v in vec["throttle_keys"]:
    scope = {"account": b"\x01", "source": b"\x02", "account_on_device": b"\x03",
             "source_ip": b"\x04"}[v["scope"]]
    if v["scope"] == "account_on_device":
        name, dev = bytes.fromhex(v["name_hex"]), bytes.fromhex(v["device_id_hex"])
        data = len(name).to_bytes(8, "big") + name + len(dev).to_bytes(8, "big") + dev
        keys_ok.append(data.hex() == v["input_hex"])
    elif v["scope"] == "source_ip":
        # docs/credential-format.md section 6: IPv4 and IPv4-mapped IPv6 as 4 bytes, other
        # IPv6 as the /64 prefix.
        ip = ipaddress.ip_address(v["ip"])
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        data = ip.packed if ip.version == 4 else ip.packed[:8]
        keys_ok.append(data.hex() == v["input_hex"])
    else:
        data = bytes.fromhex(v["input_hex"])
    mac = hmac.new(bytes.fromhex(v["keyer_key_hex"]), scope + data, hashlib.sha256)
    keys_ok.append(mac.digest()[:16].hex() == v["throttle_key_hex"])
out["vector_keys"] = keys_ok
def record_tag(key, slot, body):
    return hmac.new(key, slot.to_bytes(4, "big") + body, hashlib.sha256).digest()[:12]
rec_ok = []
for v in vec["throttle_records"]:
    body = (b"MT" + bytes([2, 0]) + v["sequence"].to_bytes(4, "big") + bytes.fromhex(v["throttle_key_hex"])
            + v["failures"].to_bytes(4, "big") + v["last_failure_ms"].to_bytes(8, "big"))
    tag = record_tag(bytes.fromhex(v["record_key_hex"]), v["slot"], body)
    rec_ok.append((body + tag).hex() == v["image_hex"])
out["vector_records"] = rec_ok
# Every non-erased slot image in the flash-cell vectors: a valid version-2 record for its slot,
# except the one deliberately misplaced image.
cell_ok = []
for sc in vec["flash_cells"]:
    key = bytes.fromhex(sc["record_key_hex"])
    images = [sc["initial_slots_hex"]] + [op["slots_after_hex"] for op in sc["operations"]]
    for slots in images:
        for slot, h in enumerate(slots):
            b = bytes.fromhex(h)
            if b == b"\xff" * 48:
                continue
            valid = b[:4] == b"MT\x02\x00" and record_tag(key, slot, b[:36]) == b[36:]
            cell_ok.append(valid == (not (sc["name"] == "misplaced-image" and slot == 0)))
out["vector_cells"] = cell_ok
print(json.dumps(out))
"#;

#[test]
fn libargon2_agrees_both_ways() {
    let Some(py) = python::python() else { return };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);

    // Ours, at two presets and small parameters (including two lanes and a non-ASCII password).
    let mut ours = Vec::new();
    let cases: [(HashParams, &str); 4] = [
        (HashParams::SERVER, "violet kettle under the stairs"),
        (HashParams::FIRMWARE, "246813579"),
        (
            HashParams::new(256, 2, 2).unwrap(),
            "two lanes, small memory",
        ),
        (
            HashParams::new(64, 1, 1).unwrap(),
            "\u{FB01}nf A\u{030A} Zoë 🩺",
        ),
    ];
    for (params, pw) in cases {
        let hasher = hazmat::hasher_below_minimum(params).unwrap();
        let phc = hasher.hash(&Password::new(pw).unwrap(), &mut rng).unwrap();
        ours.push(json!({"password": pw, "phc": phc.as_str()}));
    }

    // Theirs: default-profile-like and small ones (p up to 4, 16-byte and 8-byte-free salts).
    let theirs = [
        (
            65_536u32,
            3u32,
            4u32,
            32u32,
            16u32,
            "argon2-cffi default profile (RFC 9106 second recommendation)",
        ),
        (19_456, 2, 1, 32, 16, "owasp minimum"),
        (64, 1, 1, 16, 8, "shortest accepted salt and hash"),
        (128, 3, 2, 64, 32, "longest hash, long salt"),
        // A code point unassigned in Unicode 18.0 (U+0378): new medsec hashes refuse it, but a
        // hash made elsewhere (or before the rule) still verifies.
        (64, 1, 1, 32, 16, "legacy \u{0378} passphrase"),
    ];
    let peppered_hasher = {
        let mut ring = PepperRing::new();
        ring.rotate_to(Pepper::new(9, [0xA5; 32])).unwrap();
        hazmat::hasher_below_minimum(HashParams::new(256, 2, 1).unwrap())
            .unwrap()
            .with_peppers(ring)
    };
    let pepper_pw = "peppered passphrase for the pump";
    let peppered_phc = peppered_hasher
        .hash(&Password::new(pepper_pw).unwrap(), &mut rng)
        .unwrap();
    let parsed = medsec_credential::PhcHash::parse(
        peppered_phc.as_str(),
        &medsec_credential::VerifyLimits::SERVER,
    )
    .unwrap();

    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/data/credential-vectors.json"),
        )
        .unwrap(),
    )
    .unwrap();

    let req = json!({
        "ours": ours,
        "theirs": theirs.iter().map(|(m, t, p, h, s, pw)| json!({"m": m, "t": t, "p": p, "hash_len": h, "salt_len": s, "password": pw})).collect::<Vec<_>>(),
        "peppered": [{"password": pepper_pw, "salt_hex": hex::encode(parsed.salt()), "m": 256, "t": 2, "p": 1, "secret_hex": hex::encode([0xA5u8; 32])}],
        "vectors": vectors,
    });
    let resp = python::run_json(&py, SCRIPT, &req);

    for (i, r) in resp["ours"].as_array().unwrap().iter().enumerate() {
        assert_eq!(r["ok"], json!(true), "libargon2 rejected our hash #{i}");
        assert_eq!(r["wrong_accepted"], json!(false));
    }
    for (i, phc) in resp["theirs"].as_array().unwrap().iter().enumerate() {
        let phc = phc.as_str().unwrap();
        let (m, t, p, _, _, pw) = theirs[i];
        let verifier =
            hazmat::hasher_below_minimum(HashParams::new(m.min(65_536), t, p).unwrap()).unwrap();
        let v = verifier.verify(&Password::new(pw).unwrap(), phc);
        assert!(v.is_ok(), "{phc}: {v:?}");
        assert_eq!(
            verifier
                .verify(&Password::new("wrong").unwrap(), phc)
                .unwrap_err(),
            Error::NotVerified
        );
        // The server hasher verifies them too, advising a rehash only where they are weaker.
        let server = PasswordHasher::new(HashParams::SERVER).unwrap();
        let v = server.verify(&Password::new(pw).unwrap(), phc).unwrap();
        let weaker = HashParams::new(m, t, p)
            .unwrap()
            .is_weaker_than(&HashParams::SERVER);
        assert_eq!(
            v.needs_rehash(),
            weaker || theirs[i].3 < 32 || theirs[i].4 < 16,
            "{phc}"
        );
    }
    assert_eq!(
        resp["peppered"][0].as_str().unwrap(),
        hex::encode(parsed.hash()),
        "libargon2 with secret K disagrees with our peppered hash"
    );
    eprintln!(
        "Python's Unicode tables: {}; NFKC check left to the normative bytes for {}",
        resp["python_unicode"], resp["nfkc_skipped"]
    );
    for field in [
        "vector_phc",
        "vector_keys",
        "vector_records",
        "vector_cells",
    ] {
        let all = resp[field].as_array().unwrap();
        assert!(!all.is_empty());
        assert!(all.iter().all(|b| b == &json!(true)), "{field}: {all:?}");
    }
}
