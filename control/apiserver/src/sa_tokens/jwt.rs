//! Service-account tokens as Kubernetes issues them through the TokenRequest API: ES256 JWTs
//! with the issuer, audiences, expiry, subject `system:serviceaccount:<ns>:<name>` and the
//! `kubernetes.io` claim naming the account (and the pod it is bound to) by name and uid.
//! Verification is `jsonwebtoken`'s. Signing is `ring`'s with the key parsed once: a
//! `jsonwebtoken::encode` parses its PKCS#8 key again for every token (a public-key
//! derivation as costly as the signature), and every pod start issues one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The issuer of skiff's tokens, and the audience the API server accepts (kube-apiserver's
/// default `--service-account-issuer` and `--api-audiences`).
pub(crate) const ISSUER: &str = "https://kubernetes.default.svc";

#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("the signing key is not a P-256 PKCS#8 key: {0}")]
    BadKey(String),
    #[error("generating a signing key failed")]
    Generate,
    #[error("signing a token failed")]
    Sign,
    #[error("encoding a token's header or claims: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

/// A name and uid (`kubernetes.io.serviceaccount`, `kubernetes.io.pod`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjectRef {
    pub(crate) name: String,
    pub(crate) uid: String,
}

/// The `kubernetes.io` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KubernetesClaim {
    pub(crate) namespace: String,
    pub(crate) serviceaccount: ObjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pod: Option<ObjectRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) aud: Vec<String>,
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) iss: String,
    pub(crate) jti: String,
    pub(crate) sub: String,
    #[serde(rename = "kubernetes.io")]
    pub(crate) kubernetes: KubernetesClaim,
}

/// Whether a bearer token is shaped like a JWT (three base64url parts, a JSON header).
pub(crate) fn looks_like_jwt(token: &[u8]) -> bool {
    token.starts_with(b"eyJ") && token.iter().filter(|b| **b == b'.').count() == 2
}

/// Signs and verifies with one ES256 key.
pub(crate) struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    decoding: DecodingKey,
    /// `kid`: a digest of the public key, as kube-apiserver sets it.
    key_id: String,
}

impl Signer {
    /// A new P-256 key, as PKCS#8 DER.
    pub(crate) fn generate_pkcs8() -> Result<Vec<u8>, TokenError> {
        let rng = SystemRandom::new();
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| TokenError::Generate)
    }

    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Signer, TokenError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| TokenError::BadKey(e.to_string()))?;
        let public = pair.public_key().as_ref();
        let key_id = URL_SAFE_NO_PAD.encode(Sha256::digest(public));
        let decoding = DecodingKey::from_ec_der(public);
        Ok(Signer {
            pair,
            rng,
            decoding,
            key_id,
        })
    }

    /// A JWS compact serialisation (RFC 7515): the header and claims as base64url JSON, and
    /// the P-256 signature of both in the fixed `r || s` form JWS takes.
    pub(crate) fn issue(&self, claims: &Claims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?));
        let signature = self
            .pair
            .sign(&self.rng, token.as_bytes())
            .map_err(|_| TokenError::Sign)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// The claims of a token this key signed for one of `audiences`, from `ISSUER`, not
    /// expired.
    pub(crate) fn verify(&self, token: &str, audiences: &[&str]) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(audiences);
        validation.set_issuer(&[ISSUER]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)?.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64, aud: &str, ttl: i64) -> Claims {
        Claims {
            aud: vec![aud.into()],
            exp: now + ttl,
            iat: now,
            nbf: now,
            iss: ISSUER.into(),
            jti: "j".into(),
            sub: "system:serviceaccount:dev:ci".into(),
            kubernetes: KubernetesClaim {
                namespace: "dev".into(),
                serviceaccount: ObjectRef {
                    name: "ci".into(),
                    uid: "u1".into(),
                },
                pod: None,
            },
        }
    }

    #[test]
    fn signs_verifies_and_refuses() {
        let signer = Signer::from_pkcs8(&Signer::generate_pkcs8().unwrap()).unwrap();
        let other = Signer::from_pkcs8(&Signer::generate_pkcs8().unwrap()).unwrap();
        let now = crate::meta::now_unix();
        let good = signer.issue(&claims(now, ISSUER, 600)).unwrap();
        assert!(looks_like_jwt(good.as_bytes()));
        let header = good.split('.').next().unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": signer.key_id})
        );
        assert_eq!(
            signer.verify(&good, &[ISSUER]).unwrap(),
            claims(now, ISSUER, 600)
        );
        assert!(other.verify(&good, &[ISSUER]).is_err(), "another key");
        assert!(
            signer.verify(&good, &["vault"]).is_err(),
            "another audience"
        );
        let vault = signer.issue(&claims(now, "vault", 600)).unwrap();
        assert!(
            signer.verify(&vault, &[ISSUER]).is_err(),
            "a token for vault"
        );
        assert!(signer.verify(&vault, &["x", "vault"]).is_ok(), "vault asks");
        let expired = signer.issue(&claims(now - 7200, ISSUER, 600)).unwrap();
        assert!(signer.verify(&expired, &[ISSUER]).is_err(), "expired");
        let mut tampered = good.clone();
        tampered.insert(good.len() / 2, 'A');
        assert!(signer.verify(&tampered, &[ISSUER]).is_err());
        assert!(!looks_like_jwt(b"0123456789abcdef"));
        assert!(Signer::from_pkcs8(b"not a key").is_err());
    }
}
