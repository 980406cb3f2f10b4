//! Orders and authorizations (RFC 8555 §7.4, §7.5): placing an order under the CA's name
//! policy, reading orders and authorizations, deactivating an authorization, and finalize.

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::jws::{b64, unb64};
use super::nonce::random_id;
use super::objects;
use super::problem::{Kind, Problem};
use super::request::Post;
use super::store::{Authz, Cert, Order};
use super::{ari, now, AcmeServer, Base, Identifier, Issuer, Reply};

/// Most identifiers in one order.
const MAX_IDENTIFIERS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewOrder {
    identifiers: Vec<Identifier>,
    not_before: Option<Value>,
    not_after: Option<Value>,
    replaces: Option<String>,
}

pub(crate) fn new_order<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
) -> Result<Reply, Problem> {
    let account = post.account()?;
    let request: NewOrder = post.json()?;
    if request.not_before.is_some() || request.not_after.is_some() {
        return Err(Problem::malformed(format!(
            "notBefore/notAfter are not supported: certificates are valid {} days from issuance",
            server.config.days
        )));
    }
    if request.identifiers.is_empty() {
        return Err(Problem::malformed("the order names no identifiers"));
    }
    if request.identifiers.len() > MAX_IDENTIFIERS {
        return Err(Problem::new(
            Kind::RejectedIdentifier,
            format!("at most {MAX_IDENTIFIERS} identifiers per order"),
        ));
    }
    let identifiers = check_identifiers(server, &request.identifiers)?;
    if let Some(replaces) = &request.replaces {
        ari::check_replaces(server, account, replaces)?;
    }
    let now = now();
    let expires = now + server.config.order_lifetime.as_secs() as i64;
    let order_id = random_id();
    let authzs: Vec<Authz> = identifiers
        .iter()
        .map(|identifier| Authz {
            id: random_id(),
            account: account.id.clone(),
            order: order_id.clone(),
            identifier: identifier.clone(),
            status: "pending".into(),
            expires,
            token: random_id(),
            attempted: None,
        })
        .collect();
    let order = Order {
        id: order_id,
        account: account.id.clone(),
        status: "pending".into(),
        expires,
        identifiers,
        authzs: authzs.iter().map(|a| a.id.clone()).collect(),
        cert: None,
        error: None,
    };
    server.store.insert_order(&order, &authzs, request.replaces.as_deref(), now)?;
    let url = objects::order_url(base, &order.id);
    Ok(Reply::json(StatusCode::CREATED, &objects::order(base, &order)).location(url))
}

/// Normalises every identifier through the CA's policy; all refusals are reported together.
fn check_identifiers<I: Issuer>(
    server: &AcmeServer<I>,
    requested: &[Identifier],
) -> Result<Vec<Identifier>, Problem> {
    let mut accepted: Vec<Identifier> = Vec::new();
    let mut refused = Vec::new();
    for id in requested {
        let outcome = match id.kind.as_str() {
            "dns" | "ip" if id.value.starts_with("*.") => Err((
                Kind::RejectedIdentifier,
                format!(
                    "{}: wildcard names need the dns-01 challenge, which this server does not offer; \
                     issue wildcards with `localca cert '{}'`",
                    id.value, id.value
                ),
            )),
            "dns" | "ip" => server.issuer.check_identifier(id).map_err(|why| (Kind::RejectedIdentifier, why)),
            other => Err((
                Kind::UnsupportedIdentifier,
                format!("identifier type {other:?} is not supported (use dns or ip)"),
            )),
        };
        match outcome {
            Ok(normalised) if !accepted.contains(&normalised) => accepted.push(normalised),
            Ok(_) => {}
            Err((kind, detail)) => refused.push(Problem::subproblem(kind, detail, id.clone())),
        }
    }
    if refused.is_empty() {
        return Ok(accepted);
    }
    let kind = if refused.iter().all(|s| s.type_urn.ends_with("unsupportedIdentifier")) {
        Kind::UnsupportedIdentifier
    } else {
        Kind::RejectedIdentifier
    };
    let details: Vec<&str> = refused.iter().map(|s| s.detail.as_str()).collect();
    let mut problem = Problem::new(kind, format!("refused: {}", details.join("; ")));
    problem.subproblems = refused;
    Err(problem)
}

/// An order of the signing account, or 404.
fn own_order<I: Issuer>(server: &AcmeServer<I>, post: &Post, id: &str) -> Result<Order, Problem> {
    let account = post.account()?;
    match server.store.order(id)? {
        Some(order) if order.account == account.id => Ok(order),
        Some(_) => Err(Problem::unauthorized("this order belongs to another account")),
        None => Err(Problem::not_found("order")),
    }
}

pub(crate) fn fetch<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
    id: &str,
) -> Result<Reply, Problem> {
    let mut order = own_order(server, &post, id)?;
    if order.status == "ready" && server.finalizing.lock().expect("lock").contains(id) {
        order.status = "processing".into(); // signing right now
    }
    Ok(Reply::json(StatusCode::OK, &objects::order(base, &order)))
}

pub(crate) fn list<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
    id: &str,
) -> Result<Reply, Problem> {
    post.account_with_id(id)?;
    let ids = server.store.order_ids(id, 1000)?;
    let urls: Vec<String> = ids.iter().map(|o| objects::order_url(base, o)).collect();
    Ok(Reply::json(StatusCode::OK, &json!({ "orders": urls })))
}

#[derive(Debug, Deserialize)]
struct AuthzUpdate {
    status: String,
}

pub(crate) fn authz<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
    id: &str,
) -> Result<Reply, Problem> {
    let mut authz = own_authz(server, &post, id)?;
    if !post.is_get() {
        let update: AuthzUpdate = post.json()?;
        if update.status != "deactivated" {
            return Err(Problem::malformed("an authorization can only be set to deactivated"));
        }
        if !matches!(objects::authz_status(&authz), "pending" | "valid") {
            return Err(Problem::malformed(format!(
                "the authorization is {}",
                objects::authz_status(&authz)
            )));
        }
        authz = server
            .store
            .settle_authz(id, "deactivated", None)?
            .ok_or_else(|| Problem::not_found("authorization"))?;
    }
    Ok(Reply::json(StatusCode::OK, &objects::authz(base, &authz)))
}

/// An authorization of the signing account, or 404.
pub(crate) fn own_authz<I: Issuer>(server: &AcmeServer<I>, post: &Post, id: &str) -> Result<Authz, Problem> {
    let account = post.account()?;
    match server.store.authz(id)? {
        Some(authz) if authz.account == account.id => Ok(authz),
        Some(_) => Err(Problem::unauthorized("this authorization belongs to another account")),
        None => Err(Problem::not_found("authorization")),
    }
}

#[derive(Debug, Deserialize)]
struct Finalize {
    csr: String,
}

pub(crate) fn finalize<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
    id: &str,
) -> Result<Reply, Problem> {
    // The claim is in memory and comes before the order is read, so two finalizes of one order
    // never both sign. The store is written once, when the certificate is there: a crash before
    // that leaves the order ready, and the client finalizes again.
    let Some(_claim) = Finalizing::claim(server, id) else {
        return Err(Problem::new(Kind::OrderNotReady, "the order is being finalized by another request"));
    };
    let order = own_order(server, &post, id)?;
    let status = objects::order_status(&order);
    if status != "ready" {
        return Err(Problem::new(
            Kind::OrderNotReady,
            format!("the order is {status}; finalize once every authorization is valid"),
        ));
    }
    let request: Finalize = post.json()?;
    let der = unb64(&request.csr, "csr")?;
    let (parsed, names) = server.issuer.parse_csr(&der).map_err(|why| Problem::new(Kind::BadCsr, why))?;
    let mut asked = names.clone();
    asked.sort_by(|a, b| (&a.kind, &a.value).cmp(&(&b.kind, &b.value)));
    asked.dedup();
    let mut ordered = order.identifiers.clone();
    ordered.sort_by(|a, b| (&a.kind, &a.value).cmp(&(&b.kind, &b.value)));
    if asked != ordered {
        let list = |ids: &[Identifier]| ids.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join(", ");
        return Err(Problem::new(
            Kind::BadCsr,
            format!("the CSR names {} but the order is for {}", list(&asked), list(&ordered)),
        ));
    }
    let account_url = objects::account_url(base, &order.account);
    let issued = match server.issuer.sign(&parsed, server.config.days, &account_url) {
        Ok(issued) => issued,
        Err(why) => {
            let problem = Problem::new(Kind::BadCsr, why);
            server.store.fail_order(&order.id, &String::from_utf8_lossy(&problem.to_json()))?;
            return Err(problem);
        }
    };
    let cert = cert_record(&issued, &order.account)?;
    if !server.store.finish_finalize(&order.id, &cert, &ordered)? {
        return Err(Problem::new(Kind::OrderNotReady, "the order changed while it was being finalized"));
    }
    let done = Order { status: "valid".into(), cert: Some(cert.id), ..order };
    Ok(Reply::json(StatusCode::OK, &objects::order(base, &done)).location(objects::order_url(base, &done.id)))
}

/// An order claimed by a running finalize; the claim ends when this is dropped.
struct Finalizing<'a, I: Issuer> {
    server: &'a AcmeServer<I>,
    id: String,
}

impl<'a, I: Issuer> Finalizing<'a, I> {
    /// Claims `id`; none when another finalize holds it.
    fn claim(server: &'a AcmeServer<I>, id: &str) -> Option<Self> {
        let fresh = server.finalizing.lock().expect("lock").insert(id.to_string());
        fresh.then(|| Finalizing { server, id: id.to_string() })
    }
}

impl<I: Issuer> Drop for Finalizing<'_, I> {
    fn drop(&mut self) {
        self.server.finalizing.lock().expect("lock").remove(&self.id);
    }
}

/// What the store keeps about an issued certificate, read from the leaf.
fn cert_record(issued: &super::Issued, account: &str) -> Result<Cert, Problem> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, leaf) = X509Certificate::from_der(&issued.leaf_der).map_err(Problem::internal)?;
    let serial = leaf.raw_serial();
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .unwrap_or_default();
    Ok(Cert {
        id: random_id(),
        account: account.to_string(),
        serial: hex(serial),
        ari_id: format!("{}.{}", b64(&aki), b64(serial)),
        chain_pem: issued.chain_pem.clone(),
        not_before: leaf.validity().not_before.timestamp(),
        not_after: leaf.validity().not_after.timestamp(),
        revoked: None,
    })
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    text
}
