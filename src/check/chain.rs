//! The certificates a server sent, described for people: subject, issuer, names, validity.

use std::net::IpAddr;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::X509Certificate;

/// One certificate of the chain a server sent.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// The subject, `CN=…, O=…`.
    pub subject: String,
    /// The issuer, `CN=…, O=…`.
    pub issuer: String,
    /// Subject alternative names as `DNS:x`, `IP:x`, `email:x`, `URI:x`.
    pub sans: Vec<String>,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// Whether subject and issuer are the same name (a root, or a self-signed leaf).
    pub self_issued: bool,
    /// Whether it is a CA certificate (basic constraints CA:TRUE).
    pub is_ca: bool,
    /// The DER.
    pub der: Vec<u8>,
}

impl CertInfo {
    /// Describes a DER certificate; `None` when it does not parse.
    pub fn parse(der: &[u8]) -> Option<CertInfo> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        Some(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            sans: sans(&cert),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            sha256: crate::root::sha256_hex(der),
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            is_ca: cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca),
            der: der.to_vec(),
        })
    }

    /// Whether a localca root issued it (by the issuer's organisation).
    pub fn issued_by_localca(&self) -> bool {
        self.issuer.contains("O=localca development CA")
    }
}

/// Seconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::RFC822Name(e) => format!("email:{e}"),
            GeneralName::URI(u) => format!("URI:{u}"),
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*b).expect("4 bytes"))),
                16 => format!("IP:{}", IpAddr::from(<[u8; 16]>::try_from(*b).expect("16 bytes"))),
                _ => format!("IP:{b:02x?}"),
            },
            other => other.to_string(),
        })
        .collect()
}
