//! The root CA: its profile, creation, and loading back with every check a damaged CA needs.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::constraints::NameConstraintSet;
use crate::error::{Error, Result};

/// X.520 serialNumber (2.5.4.5), the subject attribute that tells one user's roots apart.
const SERIAL_NUMBER_ATTRIBUTE: &[u64] = &[2, 5, 4, 5];

/// The subject organisation of every localca root: part of how a root is told to be ours
/// ([`crate::our_roots`]).
pub const ROOT_ORGANIZATION: &str = "localca development CA";

/// How long a root is valid.
pub const ROOT_VALIDITY_DAYS: i64 = 3652;

/// Choices made once, when a root is created; fixed for its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootProfile {
    /// The permitted names; `None` makes an unconstrained root.
    pub name_constraints: Option<NameConstraintSet>,
    /// `user@host`, written into the subject so store UIs tell several machines' roots apart.
    pub user_at_host: String,
    /// Where the key should go.
    pub key_storage: crate::key_storage::KeyStorageChoice,
}

/// A root certificate, parsed and checked to be a CA. Enough for the trust stores, `ca show` and
/// `ca export`; issuing needs the key too ([`RootCa`]).
#[derive(Debug, Clone)]
pub struct RootCertificate {
    cert_pem: String,
    cert_der: Vec<u8>,
    public_key: Vec<u8>,
    constraints: Option<NameConstraintSet>,
    subject: String,
    user_at_host: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

/// A loaded root CA: its certificate and signing key. It derefs to its [`RootCertificate`].
pub struct RootCa {
    certificate: RootCertificate,
    /// The signing side, built once at load: rcgen's issuer owns the key.
    pub(crate) issuer: Issuer<'static, KeyPair>,
}

impl std::ops::Deref for RootCa {
    type Target = RootCertificate;
    fn deref(&self) -> &RootCertificate {
        &self.certificate
    }
}

impl std::fmt::Debug for RootCa {
    // Hand-written so the signing key can never end up in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCa")
            .field("subject", &self.subject)
            .field("sha256", &self.fingerprint_hex())
            .finish_non_exhaustive()
    }
}

impl RootCa {
    /// Generates a new root: ECDSA P-256, 10 years, pathlen 0, name-constrained unless asked not to.
    pub fn generate(profile: &RootProfile) -> Result<(RootCa, String)> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, ROOT_ORGANIZATION);
        dn.push(DnType::OrganizationalUnitName, profile.user_at_host.as_str());
        dn.push(DnType::CommonName, format!("localca {}", profile.user_at_host));
        let serial = random_serial()?;
        // A serialNumber attribute makes each root's subject unique. Without it, two roots of one
        // user@host share a subject: NSS then files both under one nickname (so one cannot be
        // removed without the other) and verifiers may try the wrong one first.
        let tag: String = serial.to_bytes()[..8].iter().map(|b| format!("{b:02x}")).collect();
        let tag = rcgen::string::PrintableString::try_from(tag).expect("hex is printable");
        dn.push(DnType::CustomDnType(SERIAL_NUMBER_ATTRIBUTE.to_vec()), DnValue::PrintableString(tag));
        params.distinguished_name = dn;
        params.serial_number = Some(serial);
        let now = OffsetDateTime::now_utc();
        // Backdated an hour so a machine whose clock runs a little behind still accepts it.
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(ROOT_VALIDITY_DAYS);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.name_constraints = profile.name_constraints.as_ref().map(NameConstraintSet::to_rcgen);
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        let certificate = RootCertificate::from_pem(&cert.pem(), Path::new("root.pem"))?;
        let root = RootCa::from_parts(certificate, key, Path::new("root.pem"))?;
        Ok((root, key_pem))
    }

    /// Loads a root from its PEM certificate and PEM (PKCS#8) key, checking that the certificate is
    /// a CA and that the key belongs to it. `cert_path` and `key_path` name the files in errors.
    pub fn from_pem(cert_pem: &str, key_pem: &str, cert_path: &Path, key_path: &Path) -> Result<RootCa> {
        RootCa::with_key(RootCertificate::from_pem(cert_pem, cert_path)?, key_pem, cert_path, key_path)
    }

    /// Pairs a loaded certificate with its PEM (PKCS#8) key, checking that the key belongs to it.
    pub fn with_key(
        certificate: RootCertificate,
        key_pem: &str,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<RootCa> {
        let key =
            KeyPair::from_pem(key_pem).map_err(|_| Error::damaged(key_path, "not a PEM private key"))?;
        RootCa::from_parts(certificate, key, cert_path)
    }

    fn from_parts(certificate: RootCertificate, key: KeyPair, cert_path: &Path) -> Result<RootCa> {
        if certificate.public_key != key.public_key_raw() {
            return Err(Error::damaged(cert_path, "the private key does not belong to this certificate"));
        }
        let issuer = Issuer::from_ca_cert_der(&certificate.cert_der.as_slice().into(), key)
            .map_err(|e| Error::damaged(cert_path, format!("unusable as an issuer ({e})")))?;
        Ok(RootCa { certificate, issuer })
    }

    /// The private key, PEM-encoded (PKCS#8): only for moving it between storages.
    pub(crate) fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }
}

impl RootCertificate {
    /// Parses a PEM root certificate and checks that it is a CA. `path` names the file in errors.
    pub fn from_pem(cert_pem: &str, path: &Path) -> Result<RootCertificate> {
        // Exactly one certificate: anything appended would be exported and installed with it.
        let blocks = pem::parse_many(cert_pem).map_err(|_| Error::damaged(path, "not a PEM certificate"))?;
        if blocks.len() > 1 {
            return Err(Error::damaged(
                path,
                format!("it holds {} PEM blocks; a root certificate file holds exactly one", blocks.len()),
            ));
        }
        let cert_der =
            pem_certificate(cert_pem).ok_or_else(|| Error::damaged(path, "not a PEM certificate"))?;
        let (_, x509) = X509Certificate::from_der(&cert_der)
            .map_err(|e| Error::damaged(path, format!("unparsable certificate ({e})")))?;
        let is_ca = x509.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(Error::damaged(path, "the certificate is not a CA (no BasicConstraints CA:TRUE)"));
        }
        // A root is self-signed: an edited certificate (wider name constraints, say) no longer is.
        if x509.verify_signature(None).is_err() {
            return Err(Error::damaged(
                path,
                "its self-signature does not verify (the certificate was altered)",
            ));
        }
        let user_at_host = x509
            .subject()
            .iter_organizational_unit()
            .find_map(|ou| ou.as_str().ok().map(String::from))
            .unwrap_or_else(|| "localca".into());
        Ok(RootCertificate {
            constraints: NameConstraintSet::from_certificate(&x509),
            subject: x509.subject().to_string(),
            user_at_host,
            not_before: x509.validity().not_before.to_datetime(),
            not_after: x509.validity().not_after.to_datetime(),
            public_key: x509.public_key().subject_public_key.data.to_vec(),
            cert_pem: cert_pem.to_string(),
            cert_der: cert_der.clone(),
        })
    }

    /// The certificate, PEM-encoded.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate, DER-encoded.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// SHA-256 of the DER certificate: how every trust store identifies this root.
    pub fn fingerprint(&self) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.cert_der);
        digest.as_ref().try_into().expect("SHA-256 is 32 bytes")
    }

    /// The fingerprint as lower-case hex.
    pub fn fingerprint_hex(&self) -> String {
        sha256_hex(&self.cert_der)
    }

    /// The subject, as `CN=…, OU=…, O=…`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `user@host` from the subject's OU: who and where the root was made.
    pub fn user_at_host(&self) -> &str {
        &self.user_at_host
    }

    /// The permitted names, or `None` for an unconstrained root.
    pub fn name_constraints(&self) -> Option<&NameConstraintSet> {
        self.constraints.as_ref()
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

/// SHA-256 of `der` as lower-case hex: how stores and the keyring name a certificate.
pub fn sha256_hex(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The DER bytes of the first certificate in a PEM text.
pub(crate) fn pem_certificate(pem: &str) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).ok().map(|c| c.to_vec())
}

/// A random positive 128-bit serial number.
pub(crate) fn random_serial() -> Result<SerialNumber> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Crypto("the system random generator failed".into()))?;
    // Positive (top bit clear) and exactly 16 bytes long (no leading zero byte to strip).
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}
