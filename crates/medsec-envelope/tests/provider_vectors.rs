//! Known-answer tests for the AEAD provider layer: RFC 8452 and Wycheproof, through every
//! provider this build has.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use medsec_envelope::provider::{AeadKey, AeadProvider, RustCrypto};
use medsec_envelope::{Error, Suite};
use wycheproof::aead::{TestName, TestSet};
use wycheproof::TestResult;

/// RFC 8452, Appendix C.2 (AEAD_AES_256_GCM_SIV): key, nonce, aad, plaintext, ciphertext||tag.
const RFC8452_C2: &[(&str, &str, &str, &str, &str)] = &[
    (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "030000000000000000000000",
        "",
        "",
        "07f5f4169bbf55a8400cd47ea6fd400f",
    ),
    (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "030000000000000000000000",
        "",
        "0100000000000000",
        "c2ef328e5c71c83b843122130f7364b761e0b97427e3df28",
    ),
    (
        "bae8e37fc83441b16034566b7a806c46bb91c3c5aedb64a6c590bc84d1a5e269",
        "e4b47801afc0577e34699b9e",
        "4fbdc66f14",
        "671fdd",
        "0eaccb93da9bb81333aee0c785b240d319719d",
    ),
    (
        "3c535de192eaed3822a2fbbe2ca9dfc88255e14a661b8aa82cc54236093bbc23",
        "688089e55540db1872504e1c",
        "734320ccc9d9bbbb19cb81b2af4ecbc3e72834321f7aa0f70b7282b4f33df23f167541",
        "ced532ce4159b035277d4dfbb7db62968b13cd4eec",
        "626660c26ea6612fb17ad91e8e767639edd6c9faee9d6c7029675b89eaf4ba1ded1a286594",
    ),
];

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn check_rfc8452<P: AeadProvider>(provider: P) {
    for (key, nonce, aad, pt, ct) in RFC8452_C2 {
        let key: [u8; 32] = h(key).try_into().unwrap();
        let nonce: [u8; 12] = h(nonce).try_into().unwrap();
        let k = provider.key(Suite::Aes256GcmSiv, &key);
        let mut buf = h(pt);
        let tag = k.seal_in_place(&nonce, &h(aad), &mut buf).unwrap();
        buf.extend_from_slice(&tag);
        assert_eq!(hex::encode(&buf), *ct, "seal, provider {provider:?}");
        let n = k.open_in_place(&nonce, &h(aad), &mut buf).unwrap();
        assert_eq!(&buf[..n], &h(pt)[..], "open, provider {provider:?}");
    }
}

fn check_wycheproof<P: AeadProvider>(provider: P, name: TestName, suite: Suite) {
    let set = TestSet::load(name).unwrap();
    let mut checked = 0usize;
    for group in &set.test_groups {
        // The envelope uses only 256-bit keys, 96-bit nonces and 128-bit tags.
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for t in &group.tests {
            let key: [u8; 32] = t.key.as_ref().try_into().unwrap();
            let nonce: [u8; 12] = t.nonce.as_ref().try_into().unwrap();
            let k = provider.key(suite, &key);
            let mut ct_and_tag = t.ct.to_vec();
            ct_and_tag.extend_from_slice(&t.tag);
            let opened = k.open_in_place(&nonce, &t.aad, &mut ct_and_tag);
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    let n = opened.unwrap_or_else(|e| panic!("tc {} open: {e}", t.tc_id));
                    assert_eq!(&ct_and_tag[..n], &t.pt[..], "tc {}", t.tc_id);
                    let mut buf = t.pt.to_vec();
                    let tag = k.seal_in_place(&nonce, &t.aad, &mut buf).unwrap();
                    assert_eq!(&buf[..], &t.ct[..], "tc {}", t.tc_id);
                    assert_eq!(&tag[..], &t.tag[..], "tc {}", t.tc_id);
                }
                TestResult::Invalid => {
                    assert_eq!(opened, Err(Error::DidNotVerify), "tc {}", t.tc_id);
                    assert!(
                        ct_and_tag.iter().all(|&b| b == 0),
                        "tc {}: buffer wiped",
                        t.tc_id
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} Wycheproof cases applied");
}

#[test]
fn rfc8452_rust_crypto() {
    check_rfc8452(RustCrypto);
}

#[test]
fn wycheproof_aes_gcm_siv_rust_crypto() {
    check_wycheproof(RustCrypto, TestName::AesGcmSiv, Suite::Aes256GcmSiv);
}

#[test]
fn wycheproof_aes_gcm_rust_crypto() {
    check_wycheproof(RustCrypto, TestName::AesGcm, Suite::Aes256Gcm);
}

#[cfg(feature = "aws-lc")]
mod aws_lc {
    use super::*;
    use medsec_envelope::provider::AwsLc;

    #[test]
    fn rfc8452_aws_lc() {
        check_rfc8452(AwsLc);
    }

    #[test]
    fn wycheproof_aes_gcm_siv_aws_lc() {
        check_wycheproof(AwsLc, TestName::AesGcmSiv, Suite::Aes256GcmSiv);
    }

    #[test]
    fn wycheproof_aes_gcm_aws_lc() {
        check_wycheproof(AwsLc, TestName::AesGcm, Suite::Aes256Gcm);
    }
}
