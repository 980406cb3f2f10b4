//! Issued certificates: download as a PEM chain (RFC 8555 §7.4.2) and revocation (§7.6), by
//! the owning account or by the certificate's own key.

use hyper::StatusCode;
use serde::Deserialize;

use super::jws::unb64;
use super::orders::hex;
use super::problem::{Kind, Problem};
use super::request::{Post, Signer};
use super::{AcmeServer, Issuer, Reply};

pub(crate) fn download<I: Issuer>(server: &AcmeServer<I>, post: Post, id: &str) -> Result<Reply, Problem> {
    let account = post.account()?;
    let cert = server.store.cert(id)?.ok_or_else(|| Problem::not_found("certificate"))?;
    if cert.account != account.id {
        return Err(Problem::unauthorized("this certificate belongs to another account"));
    }
    Ok(Reply {
        status: StatusCode::OK,
        content_type: "application/pem-certificate-chain",
        body: cert.chain_pem.into_bytes(),
        headers: Vec::new(),
    })
}

#[derive(Debug, Deserialize)]
struct Revocation {
    certificate: String,
    reason: Option<u8>,
}

pub(crate) fn revoke<I: Issuer>(server: &AcmeServer<I>, post: Post) -> Result<Reply, Problem> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let request: Revocation = post.json()?;
    let reason = request.reason.unwrap_or(0);
    // RFC 5280 reason codes; 7 is unused, and aACompromise (10) makes no sense without attributes.
    if reason > 9 || reason == 7 {
        return Err(Problem::new(
            Kind::BadRevocationReason,
            format!("revocation reason {reason} is not allowed (use 0-6, 8 or 9)"),
        ));
    }
    let der = unb64(&request.certificate, "certificate")?;
    let (_, leaf) = X509Certificate::from_der(&der)
        .map_err(|_| Problem::malformed("certificate is not a DER certificate"))?;
    let stored = server
        .store
        .cert_by_serial(&hex(leaf.raw_serial()))?
        .filter(|c| chain_starts_with(&c.chain_pem, &der))
        .ok_or_else(|| Problem::not_found("certificate issued by this server"))?;
    let allowed = match &post.signer {
        Signer::Account(account, _) => account.id == stored.account,
        Signer::Key(key) => key.matches_spki(leaf.public_key()),
    };
    if !allowed {
        return Err(Problem::unauthorized(
            "revoke with the account that ordered the certificate, or sign with the certificate's own key",
        ));
    }
    if !server.store.revoke(&stored.id, reason)? {
        return Err(Problem::new(Kind::AlreadyRevoked, "the certificate is already revoked"));
    }
    server.issuer.revoked(&der, reason);
    Ok(Reply::empty(StatusCode::OK))
}

/// Whether the first certificate of a PEM chain is `der`.
fn chain_starts_with(chain_pem: &str, der: &[u8]) -> bool {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .is_some_and(|first| first.as_ref() == der)
}
