//! The process's one TLS crypto provider: ring, plus ECDSA P-521 / SHA-512 signature
//! verification from RustCrypto's `p521`.
//!
//! Why not AWS-LC: it supports P-521 out of the box, but its start-up on first use (CPU feature
//! probing, self-tests, its DRBG) cost about 30 ms on every provider start, and Terraform starts
//! the provider several times per command. ring starts in microseconds but cannot verify P-521,
//! the curve of Terraform's (go-plugin's) AutoMTLS client certificate; one small
//! [`SignatureVerificationAlgorithm`] over `p521` fills that gap, for the plugin server's client
//! authentication and for certificate chains the clients (reqwest, kube-rs) meet alike.

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};
use rustls::SignatureScheme;
use std::sync::{Arc, OnceLock};

/// ECDSA over P-521 with SHA-512 (`ecdsa_secp521r1_sha512`), verified by RustCrypto's `p521`.
#[derive(Debug)]
pub struct EcdsaP521Sha512;

/// The one instance, for the `'static` tables rustls wants.
pub static ECDSA_P521_SHA512: &dyn SignatureVerificationAlgorithm = &EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier;
        // `public_key` is the SEC1 point of the certificate's subjectPublicKey (webpki has
        // checked that its algorithm is id-ecPublicKey on secp521r1); `signature` is the DER
        // ECDSA-Sig-Value of TLS and X.509.
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let sig = p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &sig).map_err(|_| InvalidSignature)
    }
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

/// ring's signature algorithms with P-521 added: first in preference order of the schemes
/// offered (so a CertificateRequest names `ecdsa_secp521r1_sha512`, without which Go's TLS
/// client sends no certificate), and among all algorithms for certificate chains.
pub fn signature_algorithms() -> WebPkiSupportedAlgorithms {
    static ALGS: OnceLock<WebPkiSupportedAlgorithms> = OnceLock::new();
    *ALGS.get_or_init(|| {
        let ring = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let mut all = ring.all.to_vec();
        all.push(ECDSA_P521_SHA512);
        let mut mapping = ring.mapping.to_vec();
        // Before the RSA schemes, after ring's ECDSA ones.
        let at = mapping
            .iter()
            .position(|(s, _)| {
                !matches!(
                    s,
                    SignatureScheme::ECDSA_NISTP384_SHA384 | SignatureScheme::ECDSA_NISTP256_SHA256
                )
            })
            .unwrap_or(mapping.len());
        static P521: &[&dyn SignatureVerificationAlgorithm] = &[&EcdsaP521Sha512];
        mapping.insert(at, (SignatureScheme::ECDSA_NISTP521_SHA512, P521));
        WebPkiSupportedAlgorithms {
            all: Vec::leak(all),
            mapping: Vec::leak(mapping),
        }
    })
}

/// The crypto provider every TLS endpoint of the process uses.
pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| {
        Arc::new(CryptoProvider {
            signature_verification_algorithms: signature_algorithms(),
            ..rustls::crypto::ring::default_provider()
        })
    })
    .clone()
}

/// Install [`provider`] as the process default, which clients built with
/// `ClientConfig::builder()` use (reqwest, kube-rs). Call it before building one; cheap after
/// the first call. A provider installed earlier by someone else stays.
pub fn install_default() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = CryptoProvider::install_default(Arc::unwrap_or_clone(provider()));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use p521::ecdsa::signature::Signer;
    use p521::ecdsa::{Signature, SigningKey, VerifyingKey};

    /// A fixed private scalar (below the group order, whose first byte is 0x01).
    fn key_from(b: u8) -> SigningKey {
        let mut d = [b; 66];
        d[0] = 0;
        SigningKey::from_slice(&d).unwrap()
    }

    fn sign(k: &SigningKey, msg: &[u8]) -> Vec<u8> {
        let sig: Signature = k.sign(msg);
        sig.to_der().as_bytes().to_vec()
    }

    #[test]
    fn p521_signature_verifies_and_tampering_fails() {
        let k = key_from(7);
        let public = VerifyingKey::from(&k).to_encoded_point(false);
        let msg = b"TLS 1.3, client CertificateVerify";
        let sig = sign(&k, msg);
        let alg = ECDSA_P521_SHA512;
        assert!(alg.verify_signature(public.as_bytes(), msg, &sig).is_ok());
        // Another message, a flipped signature byte, another key, garbage: all refused.
        assert!(alg
            .verify_signature(public.as_bytes(), b"other", &sig)
            .is_err());
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(alg.verify_signature(public.as_bytes(), msg, &bad).is_err());
        let other = key_from(9);
        let other_pub = VerifyingKey::from(&other).to_encoded_point(false);
        assert!(alg
            .verify_signature(other_pub.as_bytes(), msg, &sig)
            .is_err());
        assert!(alg.verify_signature(b"\x04junk", msg, &sig).is_err());
        assert!(alg
            .verify_signature(public.as_bytes(), msg, b"\x30\x00")
            .is_err());
    }

    #[test]
    fn provider_offers_p521_and_keeps_rings_schemes() {
        let algs = signature_algorithms();
        let schemes = algs.supported_schemes();
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        let ring = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        for s in ring.supported_schemes() {
            assert!(schemes.contains(&s), "{s:?} kept");
        }
        assert_eq!(algs.all.len(), ring.all.len() + 1);
        let p = provider();
        assert!(p
            .signature_verification_algorithms
            .supported_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(!p.cipher_suites.is_empty() && !p.kx_groups.is_empty());
    }
}
