//! The JSON views of the resources (RFC 8555 §7.1), with expiry applied on the way out.

use serde::Serialize;
use serde_json::{json, Value};

use super::store::{Account, Authz, Order};
use super::{now, rfc3339, Base, Identifier};

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

// The views are structs of borrowed fields, serialised straight to the response (building a
// `serde_json::Value` first cost an allocation per key and value). Fields are in alphabetical
// order: the order `serde_json::Value` wrote its keys in, so responses stay byte for byte the same.

/// An account object.
#[derive(Serialize)]
pub(crate) struct AccountView<'a> {
    contact: &'a [String],
    orders: String,
    status: &'a str,
}

pub(crate) fn account<'a>(base: &Base, account: &'a Account) -> AccountView<'a> {
    AccountView {
        contact: &account.contact,
        orders: base.url(&format!("/acme/acct/{}/orders", account.id)),
        status: &account.status,
    }
}

/// An order's status, with expiry: a pending or ready order past its time is invalid.
pub(crate) fn order_status(order: &Order) -> &str {
    match order.status.as_str() {
        "pending" | "ready" if order.expires <= now() => "invalid",
        status => status,
    }
}

/// An order object.
#[derive(Serialize)]
pub(crate) struct OrderView<'a> {
    authorizations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
    expires: String,
    finalize: String,
    identifiers: &'a [Identifier],
    status: &'a str,
}

pub(crate) fn order<'a>(base: &Base, order: &'a Order) -> OrderView<'a> {
    let status = order_status(order);
    let error = match order.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()) {
        Some(error) => Some(error),
        None if status == "invalid" && order.status != "invalid" => Some(json!({
            "type": "urn:ietf:params:acme:error:malformed",
            "detail": "the order expired before it was finalized; place a new order",
        })),
        None => None,
    };
    OrderView {
        authorizations: order.authzs.iter().map(|a| authz_url(base, a)).collect(),
        certificate: order.cert.as_ref().map(|cert| cert_url(base, cert)),
        error,
        expires: rfc3339(order.expires),
        finalize: base.url(&format!("/acme/order/{}/finalize", order.id)),
        identifiers: &order.identifiers,
        status,
    }
}

/// An authorization's status, with expiry: pending past its time is expired.
pub(crate) fn authz_status(authz: &Authz) -> &str {
    match authz.status.as_str() {
        "pending" if authz.expires <= now() => "expired",
        status => status,
    }
}

/// An authorization object.
#[derive(Serialize)]
pub(crate) struct AuthzView<'a> {
    challenges: Vec<ChallengeView<'a>>,
    expires: String,
    identifier: &'a Identifier,
    status: &'a str,
}

pub(crate) fn authz<'a>(base: &Base, authz: &'a Authz) -> AuthzView<'a> {
    AuthzView {
        challenges: CHALLENGES.iter().map(|kind| challenge(base, authz, kind, false)).collect(),
        expires: rfc3339(authz.expires),
        identifier: &authz.identifier,
        status: authz_status(authz),
    }
}

/// A challenge object.
#[derive(Serialize)]
pub(crate) struct ChallengeView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Value>,
    status: &'a str,
    token: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    validated: Option<String>,
}

/// One challenge of an authorization; `processing` while its validation runs.
pub(crate) fn challenge<'a>(
    base: &Base,
    authz: &'a Authz,
    kind: &'a str,
    processing: bool,
) -> ChallengeView<'a> {
    let mut view = ChallengeView {
        error: None,
        status: "pending",
        token: &authz.token,
        kind,
        url: challenge_url(base, &authz.id, kind),
        validated: None,
    };
    match &authz.attempted {
        Some(attempt) if attempt.challenge == kind => {
            view.status = &attempt.status;
            view.validated = Some(rfc3339(attempt.validated));
            view.error = attempt.error.as_ref();
        }
        _ if processing => view.status = "processing",
        _ if authz_status(authz) != "pending" => view.status = "invalid",
        _ => {}
    }
    view
}
