//! The local CA as the ACME server's issuer: identifiers checked against the root's name
//! constraints, CSRs through the same parsing and profile as `localca cert --csr`. Each issued and
//! revoked certificate goes to the inventory through the recorder (off the request path).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use localca::{AcmeIssued, CertificateRequest, LeafProfile, RootCa, SubjectName};
use localca_server::acme::{Identifier, Issued, Issuer};

/// Issues from a root held in memory for the life of the server.
pub struct LocalIssuer {
    pub root: Arc<RootCa>,
    /// Where issued and revoked certificates are reported, for the inventory.
    pub inventory: super::recorder::Feed,
}

impl Issuer for LocalIssuer {
    type Request = CertificateRequest;

    fn check_identifier(&self, id: &Identifier) -> Result<Identifier, String> {
        let name = match id.kind.as_str() {
            // lego 4.9 orders IP addresses as dns identifiers: take them for what they are.
            "ip" | "dns" if id.value.parse::<IpAddr>().is_ok() => {
                SubjectName::Ip(id.value.parse().expect("checked"))
            }
            "ip" => return Err(format!("{} is not an IP address", id.value)),
            _ => match SubjectName::parse(&id.value) {
                Ok(name @ SubjectName::Dns(_)) => name,
                Ok(_) => return Err(format!("{} is not a DNS name", id.value)),
                Err(e) => return Err(e.to_string()),
            },
        };
        if let Some(set) = self.root.name_constraints() {
            set.check(std::slice::from_ref(&name)).map_err(|e| e.to_string())?;
        }
        Ok(identifier(&name).expect("a DNS name or an IP address"))
    }

    fn parse_csr(&self, der: &[u8]) -> Result<(CertificateRequest, Vec<Identifier>), String> {
        let request = CertificateRequest::from_bytes(der, Path::new("in the finalize request"))
            .map_err(|e| e.to_string())?;
        let mut ids = Vec::new();
        for name in request.names() {
            ids.push(
                identifier(name)
                    .ok_or_else(|| format!("the CSR asks for {name}, which ACME does not certify"))?,
            );
        }
        Ok((request, ids))
    }

    fn sign(&self, request: &CertificateRequest, days: u32, account_url: &str) -> Result<Issued, String> {
        let profile = LeafProfile { days, ..LeafProfile::default() };
        let leaf = self.root.sign_request(request, &profile).map_err(|e| e.to_string())?;
        self.inventory.issued(AcmeIssued {
            leaf_der: leaf.cert_der.clone(),
            names: leaf.names,
            not_after: leaf.not_after,
            days,
            account: account_url.to_string(),
            issued_at: time::OffsetDateTime::now_utc(),
        });
        Ok(Issued {
            chain_pem: format!("{}{}", leaf.cert_pem, self.root.certificate_pem()),
            leaf_der: leaf.cert_der,
        })
    }

    fn revoked(&self, leaf_der: &[u8], reason: u8) {
        self.inventory.revoked(leaf_der, reason);
    }
}

fn identifier(name: &SubjectName) -> Option<Identifier> {
    match name {
        SubjectName::Dns(d) => Some(Identifier { kind: "dns".into(), value: d.clone() }),
        SubjectName::Ip(ip) => Some(Identifier { kind: "ip".into(), value: ip.to_string() }),
        _ => None,
    }
}
