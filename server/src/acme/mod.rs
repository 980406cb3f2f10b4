//! An RFC 8555 ACME server for a local CA: accounts, orders, http-01 and tls-alpn-01 validated
//! for real, finalize through the CA's own CSR policy, certificate download, revocation, key
//! rollover, deactivation, expiry, and ACME Renewal Information (RFC 9773).
//!
//! The server does not depend on the `localca` library: the CA comes in through [`Issuer`], so
//! the protocol engine stays apart from the certificate policy.
//!
//! - [`jws`]: JWS parsing and verification, JWK thumbprints.
//! - [`nonce`]: single-use nonces.
//! - [`problem`]: RFC 7807 problem documents with the ACME types.
//! - [`store`]: the state, in SQLite.
//! - `request`: what every POST goes through (content type, size, JWS, nonce, URL, account).
//! - `accounts`, `orders`, `certs`, `ari`: the resources. `challenges`: the validations.

mod accounts;
mod ari;
mod certs;
mod challenges;
mod directory;
mod handler;
pub mod jws;
pub mod nonce;
mod objects;
mod orders;
pub mod problem;
mod request;
pub mod store;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LINK, LOCATION};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

pub use handler::AcmeHandler;
pub use problem::{Kind, Problem};
pub use store::Store;

/// An identifier to certify (RFC 8555 §9.7.7): `dns` or `ip`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identifier {
    /// `dns` or `ip`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The name or address.
    pub value: String,
}

/// A certificate the CA issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Leaf and chain up to the root, PEM.
    pub chain_pem: String,
    /// The leaf, DER.
    pub leaf_der: Vec<u8>,
}

/// The CA behind the server: its name policy and its CSR signing.
pub trait Issuer: Send + Sync + 'static {
    /// A parsed, signature-checked CSR.
    type Request: Send;

    /// Normalises an identifier and checks it against the CA's policy. `Err` says why it is
    /// refused (for a `rejectedIdentifier` problem), naming what is permitted.
    fn check_identifier(&self, id: &Identifier) -> Result<Identifier, String>;

    /// Parses and checks a CSR (DER); returns it with the identifiers it asks for.
    fn parse_csr(&self, der: &[u8]) -> Result<(Self::Request, Vec<Identifier>), String>;

    /// Signs a parsed CSR for `days`, for the account at `account_url`.
    fn sign(&self, request: &Self::Request, days: u32, account_url: &str) -> Result<Issued, String>;

    /// Told after a certificate it issued (`leaf_der`) was revoked with RFC 5280 `reason`. Called
    /// on the request path: keep it cheap. The default does nothing.
    fn revoked(&self, leaf_der: &[u8], reason: u8) {
        let _ = (leaf_der, reason);
    }
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port the http-01 validation connects to.
    pub http01_port: u16,
    /// Port the tls-alpn-01 validation connects to.
    pub tlsalpn01_port: u16,
    /// Validity of issued certificates, in days.
    pub days: u32,
    /// How long a pending order and its authorizations live.
    pub order_lifetime: Duration,
    /// `host:port` for URLs when a request names no host.
    pub default_authority: String,
    /// Largest request body accepted.
    pub max_body: usize,
}

/// Default validity of issued certificates: short, since ACME clients renew.
pub const DEFAULT_DAYS: u32 = 7;

impl Config {
    /// The defaults, with URLs for `authority`.
    pub fn new(authority: String) -> Config {
        Config {
            http01_port: 80,
            tlsalpn01_port: 443,
            days: DEFAULT_DAYS,
            order_lifetime: Duration::from_secs(24 * 3600),
            default_authority: authority,
            max_body: 128 * 1024,
        }
    }
}

/// The ACME server: state, nonces, the CA, and the validations in flight.
pub struct AcmeServer<I: Issuer> {
    store: Store,
    nonces: nonce::Nonces,
    /// Parsed account keys, so a request does not parse its account's JWK again.
    keys: request::KeyCache,
    issuer: I,
    config: Config,
    validating: Mutex<HashSet<String>>,
    /// Orders being signed: claimed in memory, so a finalize writes the store once.
    finalizing: Mutex<HashSet<String>>,
}

/// A response in memory, before the ACME headers common to all are added.
pub(crate) struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(HeaderName, String)>,
}

impl Reply {
    fn json(status: StatusCode, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).expect("ACME objects serialise");
        Reply { status, content_type: "application/json", body, headers: Vec::new() }
    }

    fn empty(status: StatusCode) -> Reply {
        Reply { status, content_type: "", body: Vec::new(), headers: Vec::new() }
    }

    fn location(mut self, url: String) -> Reply {
        self.headers.push((LOCATION, url));
        self
    }

    fn link(mut self, url: &str, rel: &str) -> Reply {
        self.headers.push((LINK, format!("<{url}>;rel=\"{rel}\"")));
        self
    }
}

/// The scheme and authority every URL of one request is built from.
pub(crate) struct Base(String);

impl Base {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl<I: Issuer> AcmeServer<I> {
    /// A server over `store` issuing through `issuer`.
    pub fn new(store: Store, issuer: I, config: Config) -> AcmeServer<I> {
        AcmeServer {
            store,
            nonces: nonce::Nonces::default(),
            keys: request::KeyCache::default(),
            issuer,
            config,
            validating: Mutex::default(),
            finalizing: Mutex::default(),
        }
    }

    /// Answers one request.
    pub async fn handle(self: &Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let base = self.base(&req);
        // Every response carries a fresh nonce except the plain GETs of the directory and ARI.
        let path = req.uri().path();
        let wants_nonce = !(req.method() == Method::GET
            && (path == directory::PATH || path.starts_with("/acme/renewal-info")));
        let reply = match self.route(req, &base).await {
            Ok(reply) => reply,
            Err(problem) => Reply {
                status: problem.status(),
                content_type: "application/problem+json",
                body: problem.to_json(),
                headers: problem.location().map(|url| (LOCATION, url.to_string())).into_iter().collect(),
            },
        };
        let mut builder = Response::builder().status(reply.status);
        if !reply.content_type.is_empty() {
            builder = builder.header(CONTENT_TYPE, reply.content_type);
        }
        if wants_nonce {
            builder = builder.header("replay-nonce", self.nonces.issue()).header(CACHE_CONTROL, "no-store");
        }
        builder = builder.header(LINK, format!("<{}{}>;rel=\"index\"", base.0, directory::PATH));
        for (name, value) in reply.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                builder = builder.header(name, value);
            }
        }
        builder.body(Full::new(Bytes::from(reply.body))).expect("valid response")
    }

    /// `https://host:port` as the client addressed us (Host, or the HTTP/2 authority).
    fn base(&self, req: &Request<Incoming>) -> Base {
        let host = req
            .uri()
            .authority()
            .map(|a| a.as_str())
            .or_else(|| req.headers().get(hyper::header::HOST).and_then(|h| h.to_str().ok()))
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic() && b != b'/'))
            .unwrap_or(&self.config.default_authority);
        Base(format!("https://{host}"))
    }

    async fn route(self: &Arc<Self>, req: Request<Incoming>, base: &Base) -> Result<Reply, Problem> {
        let path = req.uri().path().to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (&Method::GET, ["directory"]) => Ok(directory::directory(base)),
            (&Method::HEAD, ["acme", "new-nonce"]) => Ok(Reply::empty(StatusCode::OK)),
            (&Method::GET, ["acme", "new-nonce"]) => Ok(Reply::empty(StatusCode::NO_CONTENT)),
            (&Method::GET, ["acme", "renewal-info", id]) => ari::renewal_info(self, id),
            (&Method::POST, _) => {
                let post = request::read(self, req, base, &path).await?;
                self.post(post, base, &segments).await
            }
            (_, ["directory"] | ["acme", "renewal-info", _] | ["acme", "new-nonce"]) => {
                Err(Problem::malformed("method not allowed").with_status(StatusCode::METHOD_NOT_ALLOWED))
            }
            (&Method::GET, ["acme", ..]) => {
                Err(Problem::malformed("ACME resources are read with POST-as-GET (RFC 8555 §6.3), not GET")
                    .with_status(StatusCode::METHOD_NOT_ALLOWED))
            }
            _ => Err(Problem::not_found("resource").with_status(StatusCode::NOT_FOUND)),
        }
    }

    async fn post(
        self: &Arc<Self>,
        post: request::Post,
        base: &Base,
        segments: &[&str],
    ) -> Result<Reply, Problem> {
        match segments {
            ["acme", "new-account"] => accounts::new_account(self, post, base),
            ["acme", "acct", id] => accounts::update(self, post, base, id),
            ["acme", "acct", id, "orders"] => orders::list(self, post, base, id),
            ["acme", "key-change"] => accounts::key_change(self, post, base),
            ["acme", "new-order"] => orders::new_order(self, post, base),
            ["acme", "order", id] => orders::fetch(self, post, base, id),
            ["acme", "order", id, "finalize"] => orders::finalize(self, post, base, id),
            ["acme", "authz", id] => orders::authz(self, post, base, id),
            ["acme", "chall", id, kind] => challenges::respond(self, post, base, id, kind).await,
            ["acme", "cert", id] => certs::download(self, post, id),
            ["acme", "revoke-cert"] => certs::revoke(self, post),
            _ => Err(Problem::not_found("resource")),
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 for a Unix time.
pub(crate) fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
