//! JSON Web Signatures as ACME uses them (RFC 8555 §6.2, RFC 7515 flattened serialization):
//! parsing with serde, base64url with the base64 crate, and signature checks with ring's
//! primitives for ES256, ES384, RS256 and EdDSA (Ed25519). JWK thumbprints per RFC 7638.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use super::problem::{Kind, Problem};

/// The algorithms accepted, in the spelling of RFC 7518.
pub const ALGORITHMS: &[&str] = &["ES256", "ES384", "RS256", "EdDSA"];

/// Base64url without padding, the encoding every binary field of ACME uses.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `what` names the field in the problem.
pub fn unb64(text: &str, what: &str) -> Result<Vec<u8>, Problem> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| Problem::malformed(format!("{what} is not base64url")))
}

/// A JWS in the flattened JSON serialization. Unknown members, an unprotected `header` and the
/// general serialization's `signatures` are refused by `deny_unknown_fields`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Flattened {
    protected: String,
    payload: String,
    signature: String,
}

/// The protected header of an ACME request.
#[derive(Debug, Deserialize)]
pub struct Protected {
    /// Signature algorithm.
    pub alg: String,
    /// The anti-replay nonce (absent only in the inner JWS of a key change).
    pub nonce: Option<String>,
    /// The URL the request was sent to.
    pub url: Option<String>,
    /// The public key, for newAccount, revokeCert by certificate key, and key change.
    pub jwk: Option<serde_json::Value>,
    /// The account URL, for everything else.
    pub kid: Option<String>,
    /// Critical extensions: none are understood, so any is refused.
    pub crit: Option<serde_json::Value>,
}

/// A parsed (not yet verified) JWS.
#[derive(Debug)]
pub struct Jws {
    /// The protected header.
    pub protected: Protected,
    /// The decoded payload (empty for POST-as-GET).
    pub payload: Vec<u8>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

impl Jws {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Jws, Problem> {
        let flat: Flattened = serde_json::from_slice(body).map_err(|e| {
            Problem::malformed(format!(
                "the body is not a flattened JWS ({e}); send {{protected, payload, signature}}"
            ))
        })?;
        Jws::from_flattened(flat)
    }

    /// Parses a JWS that came as a JSON value (the inner JWS of a key change).
    pub fn from_value(value: serde_json::Value) -> Result<Jws, Problem> {
        let flat: Flattened = serde_json::from_value(value)
            .map_err(|e| Problem::malformed(format!("the inner JWS is not a flattened JWS ({e})")))?;
        Jws::from_flattened(flat)
    }

    fn from_flattened(flat: Flattened) -> Result<Jws, Problem> {
        let header_bytes = unb64(&flat.protected, "the protected header")?;
        let protected: Protected = serde_json::from_slice(&header_bytes)
            .map_err(|e| Problem::malformed(format!("the protected header is not valid ({e})")))?;
        if protected.crit.is_some() {
            return Err(Problem::malformed(
                "the protected header has crit extensions, which are not supported",
            ));
        }
        if !ALGORITHMS.contains(&protected.alg.as_str()) {
            let mut problem = Problem::new(
                Kind::BadSignatureAlgorithm,
                format!(
                    "JWS algorithm {:?} is not supported; use one of {}",
                    protected.alg,
                    ALGORITHMS.join(", ")
                ),
            );
            problem.algorithms = Some(ALGORITHMS.to_vec());
            return Err(problem);
        }
        let payload = unb64(&flat.payload, "the payload")?;
        let signature = unb64(&flat.signature, "the signature")?;
        let mut signing_input = Vec::with_capacity(flat.protected.len() + 1 + flat.payload.len());
        signing_input.extend_from_slice(flat.protected.as_bytes());
        signing_input.push(b'.');
        signing_input.extend_from_slice(flat.payload.as_bytes());
        Ok(Jws { protected, payload, signing_input, signature })
    }

    /// Checks the signature with `key`; the algorithm must be the key's.
    pub fn verify(&self, key: &PublicKey) -> Result<(), Problem> {
        let alg = self.protected.alg.as_str();
        let ok = match (alg, key) {
            ("ES256", PublicKey::P256(point)) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(&self.signing_input, &self.signature)
                    .is_ok()
            }
            ("ES384", PublicKey::P384(point)) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(&self.signing_input, &self.signature)
                    .is_ok()
            }
            ("RS256", PublicKey::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, &self.signing_input, &self.signature)
                .is_ok(),
            ("EdDSA", PublicKey::Ed25519(x)) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(&self.signing_input, &self.signature)
                .is_ok(),
            _ => {
                let mut problem = Problem::new(
                    Kind::BadSignatureAlgorithm,
                    format!("JWS algorithm {alg} does not match the key type ({})", key.describe()),
                );
                problem.algorithms = Some(ALGORITHMS.to_vec());
                return Err(problem);
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Problem::malformed("the JWS signature does not verify"))
        }
    }
}

/// A public key from a JWK, in the form ring verifies with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An uncompressed P-256 point (0x04 ‖ x ‖ y).
    P256(Vec<u8>),
    /// An uncompressed P-384 point.
    P384(Vec<u8>),
    /// RSA modulus and exponent, big-endian.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// An Ed25519 public key.
    Ed25519(Vec<u8>),
}

/// A JWK's members that RFC 7638 hashes, in the lexicographic order it requires (a BTreeMap
/// serialises sorted whatever serde_json's features are).
type Canonical = BTreeMap<&'static str, String>;

impl PublicKey {
    /// Reads a JWK. Private members are never looked at; unknown key types are refused.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<PublicKey, Problem> {
        let field = |name: &str| -> Result<Vec<u8>, Problem> {
            let text = jwk
                .get(name)
                .and_then(|v| v.as_str())
                .ok_or_else(|| Problem::malformed(format!("the JWK has no {name:?} member")))?;
            unb64(text, &format!("the JWK's {name:?}"))
        };
        let text = |name: &str| jwk.get(name).and_then(|v| v.as_str()).unwrap_or("");
        let ec = |len: usize| -> Result<Vec<u8>, Problem> {
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != len || y.len() != len {
                return Err(Problem::malformed(format!("the JWK's coordinates must be {len} bytes")));
            }
            Ok([&[4u8][..], &x, &y].concat())
        };
        let key = match (text("kty"), text("crv")) {
            ("EC", "P-256") => PublicKey::P256(ec(32)?),
            ("EC", "P-384") => PublicKey::P384(ec(48)?),
            ("RSA", _) => {
                let (n, e) = (field("n")?, field("e")?);
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < 2048 {
                    return Err(Problem::malformed("RSA account keys need at least 2048 bits"));
                }
                PublicKey::Rsa { n, e }
            }
            ("OKP", "Ed25519") => {
                let x = field("x")?;
                if x.len() != 32 {
                    return Err(Problem::malformed("the JWK's Ed25519 key must be 32 bytes"));
                }
                PublicKey::Ed25519(x)
            }
            (kty, crv) => {
                let mut problem = Problem::new(
                    Kind::BadSignatureAlgorithm,
                    format!("unsupported key (kty {kty:?}, crv {crv:?}): use EC P-256/P-384, RSA or Ed25519"),
                );
                problem.algorithms = Some(ALGORITHMS.to_vec());
                return Err(problem);
            }
        };
        Ok(key)
    }

    /// The RFC 7638 members of the key, canonically ordered.
    fn canonical(&self) -> Canonical {
        let mut map = Canonical::new();
        match self {
            PublicKey::P256(p) | PublicKey::P384(p) => {
                let half = (p.len() - 1) / 2;
                let crv = if half == 32 { "P-256" } else { "P-384" };
                map.insert("crv", crv.into());
                map.insert("kty", "EC".into());
                map.insert("x", b64(&p[1..1 + half]));
                map.insert("y", b64(&p[1 + half..]));
            }
            PublicKey::Rsa { n, e } => {
                map.insert("e", b64(strip_zeros(e)));
                map.insert("kty", "RSA".into());
                map.insert("n", b64(strip_zeros(n)));
            }
            PublicKey::Ed25519(x) => {
                map.insert("crv", "Ed25519".into());
                map.insert("kty", "OKP".into());
                map.insert("x", b64(x));
            }
        }
        map
    }

    /// The key as a canonical JWK (only the public members), for storing and for responses.
    pub fn to_jwk_json(&self) -> String {
        serde_json::to_string(&self.canonical()).expect("a map of strings serialises")
    }

    /// The RFC 7638 thumbprint, base64url.
    pub fn thumbprint(&self) -> String {
        b64(ring::digest::digest(&ring::digest::SHA256, self.to_jwk_json().as_bytes()).as_ref())
    }

    /// Whether this key is the subject public key of a certificate (for revocation by key).
    pub fn matches_spki(&self, spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> bool {
        use x509_parser::public_key::PublicKey as X509Key;
        match (self, spki.parsed()) {
            (PublicKey::P256(p) | PublicKey::P384(p), Ok(X509Key::EC(point))) => point.data() == p.as_slice(),
            (PublicKey::Rsa { n, e }, Ok(X509Key::RSA(rsa))) => {
                strip_zeros(rsa.modulus) == strip_zeros(n) && strip_zeros(rsa.exponent) == strip_zeros(e)
            }
            (PublicKey::Ed25519(x), _) => spki.subject_public_key.data.as_ref() == x.as_slice(),
            _ => false,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "EC P-256",
            PublicKey::P384(_) => "EC P-384",
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::Ed25519(_) => "Ed25519",
        }
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // The RSA key of RFC 7638 §3.1 and its published thumbprint.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
