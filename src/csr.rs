//! Signing certificate signing requests (PKCS#10): only the names are taken from the request; the
//! profile — validity, key usages, never CA:TRUE — is always ours.

use std::path::Path;

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use crate::error::{Error, Result};
use crate::leaf::{IssuedLeaf, LeafProfile};
use crate::names::SubjectName;
use crate::root::RootCa;

/// Largest CSR file accepted; real ones are a few kilobytes.
pub const MAX_CSR_BYTES: u64 = 64 * 1024;

/// A parsed and signature-checked certificate signing request: the names it asks for and its key.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    names: Vec<SubjectName>,
    spki_der: Vec<u8>,
    rsa: bool,
}

impl CertificateRequest {
    /// Parses a CSR (PEM or DER) and checks its signature. `path` names the file in errors.
    ///
    /// Its names (SANs; the CN when there is no SAN) go through the same parsing as command-line
    /// names. Nothing else the request asks for is kept: the leaf gets our profile.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<CertificateRequest> {
        let bad = |problem: String| Error::InvalidCsr { path: path.to_path_buf(), problem };
        if bytes.len() as u64 > MAX_CSR_BYTES {
            return Err(bad(format!("larger than {MAX_CSR_BYTES} bytes; not a certificate request")));
        }
        let der = csr_der(bytes).ok_or_else(|| bad("not a PEM or DER certificate request".into()))?;
        let (_, csr) = X509CertificationRequest::from_der(&der)
            .map_err(|e| bad(format!("unparsable certificate request ({e})")))?;
        csr.verify_signature().map_err(|_| bad("its signature does not verify".into()))?;
        let spki = &csr.certification_request_info.subject_pki;
        let rsa = match spki.parsed() {
            Ok(PublicKey::RSA(key)) if key.key_size() >= 2048 => true,
            Ok(PublicKey::RSA(key)) => {
                return Err(bad(format!("its RSA key has {} bits; 2048 at least", key.key_size())))
            }
            Ok(PublicKey::EC(_)) => false,
            Ok(PublicKey::Unknown(_)) if spki.algorithm.algorithm.to_id_string() == ED25519_OID => false,
            _ => return Err(bad("its key type is not supported (use ECDSA, Ed25519 or RSA)".into())),
        };
        let names = csr_names(&csr).map_err(bad)?;
        Ok(CertificateRequest { names, spki_der: spki.raw.to_vec(), rsa })
    }

    /// The names the request asks for, normalised.
    pub fn names(&self) -> &[SubjectName] {
        &self.names
    }
}

const ED25519_OID: &str = "1.3.101.112";

impl RootCa {
    /// Signs a parsed request with our leaf profile (its `key_type` is ignored: the key is the
    /// requester's), after checking its names against the name constraints.
    pub fn sign_request(&self, request: &CertificateRequest, profile: &LeafProfile) -> Result<IssuedLeaf> {
        let params = self.leaf_params(&request.names, profile, request.rsa)?;
        let subject_key = rcgen::SubjectPublicKeyInfo::from_der(&request.spki_der)?;
        self.sign(params, &subject_key, &request.names)
    }
}

fn csr_der(bytes: &[u8]) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    if bytes.starts_with(&[0x30]) {
        return Some(bytes.to_vec());
    }
    rustls_pki_types::CertificateSigningRequestDer::from_pem_slice(bytes).ok().map(|c| c.as_ref().to_vec())
}

/// The names a CSR asks for, parsed like command-line names.
fn csr_names(csr: &X509CertificationRequest<'_>) -> Result<Vec<SubjectName>, String> {
    let mut names = Vec::new();
    let sans = csr.requested_extensions().into_iter().flatten().filter_map(|ext| match ext {
        ParsedExtension::SubjectAlternativeName(san) => Some(san),
        _ => None,
    });
    for san in sans {
        for general_name in &san.general_names {
            let name = match general_name {
                // Each name keeps the type the request gave it: a DNS name is never read as an
                // email address or the other way round.
                GeneralName::DNSName(d) => crate::names::parse_dns(d, true).map(SubjectName::Dns),
                GeneralName::RFC822Name(e) => match SubjectName::parse(e) {
                    Ok(email @ SubjectName::Email(_)) => Ok(email),
                    Ok(_) => Err(Error::InvalidName {
                        name: e.to_string(),
                        reason: "an email name without an @".into(),
                        suggestion: None,
                    }),
                    Err(err) => Err(err),
                },
                GeneralName::URI(u) => SubjectName::uri(u),
                GeneralName::IPAddress(b) => {
                    ip_from_bytes(b).map(SubjectName::Ip).ok_or_else(|| Error::InvalidName {
                        name: format!("{b:02x?}"),
                        reason: "not an IP address".into(),
                        suggestion: None,
                    })
                }
                other => return Err(format!("it asks for a name localca does not issue: {other}")),
            };
            names.push(name.map_err(|e| format!("it asks for {e}"))?);
        }
    }
    if names.is_empty() {
        let cn = csr.certification_request_info.subject.iter_common_name().next();
        if let Some(cn) = cn.and_then(|cn| cn.as_str().ok()) {
            names.push(SubjectName::parse(cn).map_err(|e| format!("its common name: {e}"))?);
        }
    }
    if names.is_empty() {
        return Err("it names no host: neither subject alternative names nor a common name".into());
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => Some(<[u8; 4]>::try_from(b).ok()?.into()),
        16 => Some(<[u8; 16]>::try_from(b).ok()?.into()),
        _ => None,
    }
}
