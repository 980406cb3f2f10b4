//! ACME Renewal Information (RFC 9773): when a client should renew each certificate, and the
//! `replaces` field of a new order.

use hyper::header::RETRY_AFTER;
use hyper::StatusCode;
use serde_json::json;

use super::problem::{Kind, Problem};
use super::store::Account;
use super::{now, rfc3339, AcmeServer, Issuer, Reply};

/// How often clients should ask again, in seconds.
const RETRY_AFTER_SECS: i64 = 6 * 3600;

/// The suggested renewal window of a certificate valid from `not_before` to `not_after`: the
/// middle of its last third, so a 7-day certificate renews after about 5 days; a revoked
/// certificate is due now.
pub fn window(not_before: i64, not_after: i64, revoked: bool, now: i64) -> (i64, i64) {
    if revoked {
        return (now - 3600, now);
    }
    let lifetime = (not_after - not_before).max(0);
    let start = not_before + lifetime * 2 / 3;
    let end = not_before + lifetime * 5 / 6;
    (start, end)
}

pub(crate) fn renewal_info<I: Issuer>(server: &AcmeServer<I>, cert_id: &str) -> Result<Reply, Problem> {
    if cert_id.split('.').count() != 2 || cert_id.split('.').any(str::is_empty) {
        return Err(Problem::malformed(
            "a renewalInfo URL ends in base64url(AKI keyIdentifier).base64url(serial)",
        ));
    }
    let cert = server.store.cert_by_ari_id(cert_id)?.ok_or_else(|| Problem::not_found("certificate"))?;
    let (start, end) = window(cert.not_before, cert.not_after, cert.revoked.is_some(), now());
    let mut reply = Reply::json(
        StatusCode::OK,
        &json!({ "suggestedWindow": { "start": rfc3339(start), "end": rfc3339(end) } }),
    );
    reply.headers.push((RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
    Ok(reply)
}

/// A new order's `replaces` must name a certificate of the same account.
pub(crate) fn check_replaces<I: Issuer>(
    server: &AcmeServer<I>,
    account: &Account,
    replaces: &str,
) -> Result<(), Problem> {
    match server.store.cert_by_ari_id(replaces)? {
        Some(cert) if cert.account == account.id => Ok(()),
        Some(_) => Err(Problem::unauthorized("replaces names a certificate of another account")),
        None => {
            Err(Problem::new(Kind::Malformed, format!("replaces: no certificate {replaces} was issued here")))
        }
    }
}
