//! The JSON views of the resources (RFC 8555 §7.1), with expiry applied on the way out.

use serde_json::{json, Value};

use super::store::{Account, Authz, Order};
use super::{now, rfc3339, Base};

/// The challenge types offered, for every identifier.
pub(crate) const CHALLENGES: &[&str] = &["http-01", "tls-alpn-01"];

pub(crate) fn account_url(base: &Base, id: &str) -> String {
    base.url(&format!("/acme/acct/{id}"))
}

pub(crate) fn order_url(base: &Base, id: &str) -> String {
    base.url(&format!("/acme/order/{id}"))
}

pub(crate) fn authz_url(base: &Base, id: &str) -> String {
    base.url(&format!("/acme/authz/{id}"))
}

pub(crate) fn challenge_url(base: &Base, authz: &str, kind: &str) -> String {
    base.url(&format!("/acme/chall/{authz}/{kind}"))
}

pub(crate) fn cert_url(base: &Base, id: &str) -> String {
    base.url(&format!("/acme/cert/{id}"))
}

pub(crate) fn account(base: &Base, account: &Account) -> Value {
    json!({
        "status": account.status,
        "contact": account.contact,
        "orders": base.url(&format!("/acme/acct/{}/orders", account.id)),
    })
}

/// An order's status, with expiry: a pending or ready order past its time is invalid.
pub(crate) fn order_status(order: &Order) -> &str {
    match order.status.as_str() {
        "pending" | "ready" if order.expires <= now() => "invalid",
        status => status,
    }
}

pub(crate) fn order(base: &Base, order: &Order) -> Value {
    let mut value = json!({
        "status": order_status(order),
        "expires": rfc3339(order.expires),
        "identifiers": order.identifiers,
        "authorizations": order.authzs.iter().map(|a| authz_url(base, a)).collect::<Vec<_>>(),
        "finalize": base.url(&format!("/acme/order/{}/finalize", order.id)),
    });
    if let Some(cert) = &order.cert {
        value["certificate"] = cert_url(base, cert).into();
    }
    if let Some(error) = order.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()) {
        value["error"] = error;
    } else if order_status(order) == "invalid" && order.status != "invalid" {
        value["error"] = json!({
            "type": "urn:ietf:params:acme:error:malformed",
            "detail": "the order expired before it was finalized; place a new order",
        });
    }
    value
}

/// An authorization's status, with expiry: pending past its time is expired.
pub(crate) fn authz_status(authz: &Authz) -> &str {
    match authz.status.as_str() {
        "pending" if authz.expires <= now() => "expired",
        status => status,
    }
}

pub(crate) fn authz(base: &Base, authz: &Authz) -> Value {
    let challenges: Vec<Value> = CHALLENGES.iter().map(|kind| challenge(base, authz, kind, false)).collect();
    json!({
        "status": authz_status(authz),
        "expires": rfc3339(authz.expires),
        "identifier": authz.identifier,
        "challenges": challenges,
    })
}

/// One challenge of an authorization; `processing` while its validation runs.
pub(crate) fn challenge(base: &Base, authz: &Authz, kind: &str, processing: bool) -> Value {
    let mut value = json!({
        "type": kind,
        "url": challenge_url(base, &authz.id, kind),
        "token": authz.token,
        "status": "pending",
    });
    match &authz.attempted {
        Some(attempt) if attempt.challenge == kind => {
            value["status"] = attempt.status.clone().into();
            value["validated"] = rfc3339(attempt.validated).into();
            if let Some(error) = &attempt.error {
                value["error"] = error.clone();
            }
        }
        _ if processing => value["status"] = "processing".into(),
        _ if authz_status(authz) != "pending" => value["status"] = "invalid".into(),
        _ => {}
    }
    value
}
