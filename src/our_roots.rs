//! Which certificates are localca roots: decided by their content, never by a label.
//!
//! Trust stores file certificates under labels anyone can choose (a corporate root saved as
//! `/usr/local/share/ca-certificates/localca.crt`, a Java alias `localca-corp`). A label containing
//! `localca` only says where to look; a certificate is a localca root when it has the profile
//! [`crate::RootCa::generate`] gives every root: self-signed (and the signature verifies), our
//! subject organisation and a `localca …` common name, a critical CA:TRUE with path length 0,
//! key usage keyCertSign (and cRLSign) only, no extended key usage, and either no name
//! constraints (a `--no-name-constraints` root) or permitted DNS and IP subtrees only.

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::root::ROOT_ORGANIZATION;

/// Whether `der` is a localca root (see the module documentation).
pub fn is_localca_root(der: &[u8]) -> bool {
    why_not_localca_root(der).is_none()
}

/// Why `der` is not a localca root, in a few words; `None` when it is one.
pub fn why_not_localca_root(der: &[u8]) -> Option<&'static str> {
    let Ok((rest, cert)) = X509Certificate::from_der(der) else {
        return Some("it is not a parsable certificate");
    };
    if !rest.is_empty() {
        return Some("it has bytes after the certificate");
    }
    if cert.subject().as_raw() != cert.issuer().as_raw() || cert.verify_signature(None).is_err() {
        return Some("it is not self-signed");
    }
    let mut organisations = cert.subject().iter_organization();
    let organisation_ok = organisations.next().and_then(|o| o.as_str().ok()) == Some(ROOT_ORGANIZATION)
        && organisations.next().is_none();
    let mut common_names = cert.subject().iter_common_name();
    let common_name_ok =
        common_names.next().and_then(|cn| cn.as_str().ok()).is_some_and(|cn| cn.starts_with("localca "))
            && common_names.next().is_none();
    if !organisation_ok || !common_name_ok {
        return Some("its subject is not a localca root's");
    }
    let mut basic = None;
    let mut key_usage = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                basic = Some((ext.critical, bc.ca, bc.path_len_constraint))
            }
            ParsedExtension::KeyUsage(ku) => key_usage = Some(*ku),
            ParsedExtension::ExtendedKeyUsage(_) => return Some("it has an extended key usage"),
            ParsedExtension::NameConstraints(nc) => {
                let permitted_only = nc.excluded_subtrees.is_none()
                    && nc
                        .permitted_subtrees
                        .iter()
                        .flatten()
                        .all(|s| matches!(s.base, GeneralName::DNSName(_) | GeneralName::IPAddress(_)));
                if !ext.critical || !permitted_only {
                    return Some("its name constraints are not a localca root's");
                }
            }
            _ => {}
        }
    }
    if basic != Some((true, true, Some(0))) {
        return Some("it is not a CA with path length 0");
    }
    let key_usage_ok = key_usage.is_some_and(|ku| {
        ku.key_cert_sign()
            && !(ku.digital_signature()
                || ku.non_repudiation()
                || ku.key_encipherment()
                || ku.data_encipherment()
                || ku.key_agreement()
                || ku.encipher_only()
                || ku.decipher_only())
    });
    if !key_usage_ok {
        return Some("its key usage is not a localca root's");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NameConstraintSet, RootCa, RootProfile};

    fn profile(constraints: Option<NameConstraintSet>) -> RootProfile {
        RootProfile {
            name_constraints: constraints,
            user_at_host: "dev@box".into(),
            key_storage: crate::KeyStorageChoice::File,
        }
    }

    #[test]
    fn our_roots_are_ours_constrained_or_not() {
        for constraints in [Some(NameConstraintSet::default()), None] {
            let (root, _) = RootCa::generate(&profile(constraints)).unwrap();
            assert_eq!(why_not_localca_root(root.certificate_der()), None);
        }
    }

    #[test]
    fn others_are_not_whatever_their_name() {
        // A CA with our common name but another organisation, as a corporate root could be.
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "Example Corp");
        params.distinguished_name.push(rcgen::DnType::CommonName, "localca dev@box");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let foreign = params.self_signed(&key).unwrap();
        assert_eq!(why_not_localca_root(foreign.der()), Some("its subject is not a localca root's"));
        // Our subject, but a leaf's profile.
        params.distinguished_name.push(rcgen::DnType::OrganizationName, ROOT_ORGANIZATION);
        let mut leafy = rcgen::CertificateParams::default();
        leafy.distinguished_name.push(rcgen::DnType::OrganizationName, ROOT_ORGANIZATION);
        leafy.distinguished_name.push(rcgen::DnType::CommonName, "localca dev@box");
        let leaf = leafy.self_signed(&key).unwrap();
        assert_eq!(why_not_localca_root(leaf.der()), Some("it is not a CA with path length 0"));
        assert!(!is_localca_root(b"localca"));
    }
}
