//! What every ACME POST goes through before its resource sees it: the content type, a size
//! limit, the JWS, the URL it was signed for, a single-use nonce, and the signer (a known, valid
//! account by `kid`, or a bare key by `jwk`), in that order.

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Request, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::jws::{Jws, PublicKey};
use super::problem::{Kind, Problem};
use super::store::Account;
use super::{AcmeServer, Base, Issuer};

/// Who signed a request.
pub(crate) enum Signer {
    /// An account, named by `kid`, with its key.
    Account(Account, Arc<AccountKey>),
    /// A key given inline (`jwk`).
    Key(PublicKey),
}

/// A verified POST.
pub(crate) struct Post {
    /// The signer.
    pub signer: Signer,
    /// The payload (empty for POST-as-GET).
    pub payload: Vec<u8>,
    /// The URL the request was signed for.
    pub url: String,
}

impl Post {
    /// The signing account; requests by bare key are refused here.
    pub fn account(&self) -> Result<&Account, Problem> {
        self.account_and_key().map(|(account, _)| account)
    }

    /// The signing account's key (parsed once, see [`KeyCache`]); bare keys are refused here.
    pub fn account_key(&self) -> Result<&AccountKey, Problem> {
        self.account_and_key().map(|(_, key)| key)
    }

    fn account_and_key(&self) -> Result<(&Account, &AccountKey), Problem> {
        match &self.signer {
            Signer::Account(account, key) => Ok((account, key)),
            Signer::Key(_) => {
                Err(Problem::malformed("this request must name its account with \"kid\", not \"jwk\""))
            }
        }
    }

    /// The signing account, which must be the one with this id (its own resources).
    pub fn account_with_id(&self, id: &str) -> Result<&Account, Problem> {
        let account = self.account()?;
        if account.id != id {
            return Err(Problem::unauthorized("the request is signed by another account"));
        }
        Ok(account)
    }

    /// Whether this is a POST-as-GET (empty payload).
    pub fn is_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Problem> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| Problem::malformed(format!("the payload is not the expected JSON object ({e})")))
    }
}

/// Reads and verifies a POST to `path`.
pub(crate) async fn read<I: Issuer>(
    server: &AcmeServer<I>,
    req: Request<Incoming>,
    base: &Base,
    path: &str,
) -> Result<Post, Problem> {
    let limit = server.config.max_body;
    let declared =
        req.headers().get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
    // The body is read before anything is refused, so HTTP/2 clients get the problem document
    // rather than a reset stream.
    let body = read_body(req.into_body(), limit, declared).await?;
    let content_type = content_type.as_deref().unwrap_or("");
    if content_type.split(';').next().unwrap_or("").trim() != "application/jose+json" {
        return Err(Problem::malformed(format!(
            "Content-Type must be application/jose+json (got {:?})",
            content_type
        ))
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let jws = Jws::parse(&body)?;
    let url = base.url(path);
    match &jws.protected.url {
        Some(signed) if *signed == url => {}
        Some(signed) => {
            return Err(Problem::unauthorized(format!("the JWS was signed for {signed}, but sent to {url}")))
        }
        None => return Err(Problem::malformed("the protected header has no \"url\"")),
    }
    match &jws.protected.nonce {
        Some(nonce) if server.nonces.consume(nonce) => {}
        Some(_) => {
            return Err(Problem::new(
                Kind::BadNonce,
                "the nonce was already used or never issued; use the fresh one",
            ))
        }
        None => return Err(Problem::new(Kind::BadNonce, "the protected header has no \"nonce\"")),
    }
    let signer = match (&jws.protected.jwk, &jws.protected.kid) {
        (Some(jwk), None) => Signer::Key(PublicKey::from_jwk(jwk)?),
        (None, Some(kid)) => {
            let account = account_for_kid(server, kid)?;
            let key = server.keys.get(&account)?;
            Signer::Account(account, key)
        }
        _ => return Err(Problem::malformed("the protected header needs exactly one of \"jwk\" and \"kid\"")),
    };
    let key = match &signer {
        Signer::Account(_, key) => &key.key,
        Signer::Key(key) => key,
    };
    jws.verify(key)?;
    Ok(Post { signer, payload: jws.payload, url })
}

/// Past this, an oversized body is not even drained: the stream is reset instead.
const DRAIN_MAX: usize = 1024 * 1024;

/// Reads a body of at most `limit` bytes. A larger one is read to its end (up to [`DRAIN_MAX`])
/// and refused with 413, so HTTP/2 clients get the problem document rather than a reset stream.
async fn read_body(mut body: Incoming, limit: usize, declared: Option<u64>) -> Result<Vec<u8>, Problem> {
    let too_big = || {
        Problem::malformed(format!("the request body is larger than {limit} bytes"))
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    };
    if declared.is_some_and(|n| n > DRAIN_MAX as u64) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Problem::malformed(format!("reading the request body failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            total += data.len();
            if total <= limit {
                bytes.extend_from_slice(&data);
            } else if total > DRAIN_MAX {
                break;
            }
        }
    }
    if total > limit {
        return Err(too_big());
    }
    Ok(bytes)
}

/// The account a `kid` names; it must exist and be valid.
fn account_for_kid<I: Issuer>(server: &AcmeServer<I>, kid: &str) -> Result<Account, Problem> {
    let id = kid
        .split_once("/acme/acct/")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            Problem::new(Kind::AccountDoesNotExist, format!("{kid} is not an account URL of this server"))
        })?;
    let account = server.store.account(id)?.ok_or_else(|| {
        Problem::new(Kind::AccountDoesNotExist, format!("no account {kid}; create one with newAccount"))
    })?;
    if account.status != "valid" {
        return Err(Problem::unauthorized(format!("account {kid} is {}", account.status)));
    }
    Ok(account)
}

/// The key stored with an account.
fn stored_key(account: &Account) -> Result<PublicKey, Problem> {
    let jwk: serde_json::Value = serde_json::from_str(&account.jwk).map_err(Problem::internal)?;
    PublicKey::from_jwk(&jwk)
}

/// An account's key, parsed once, with its thumbprint computed on first use.
#[derive(Debug)]
pub(crate) struct AccountKey {
    /// The stored JWK it was parsed from: a key change makes the cached entry stale.
    jwk: String,
    /// The key.
    pub key: PublicKey,
    thumbprint: OnceLock<String>,
}

impl AccountKey {
    /// The RFC 7638 thumbprint, base64url.
    pub fn thumbprint(&self) -> &str {
        self.thumbprint.get_or_init(|| self.key.thumbprint())
    }
}

/// Most accounts whose keys are kept parsed; past it the cache starts over.
const KEY_CACHE_MAX: usize = 10_000;

/// The parsed keys of the accounts that signed recently, by account id. An entry is used only
/// while the account's stored JWK is still the one it was parsed from, so a key change needs no
/// invalidation; the account's status is checked from the store on every request.
#[derive(Debug, Default)]
pub(crate) struct KeyCache(Mutex<HashMap<String, Arc<AccountKey>>>);

impl KeyCache {
    /// The parsed key of `account`.
    pub fn get(&self, account: &Account) -> Result<Arc<AccountKey>, Problem> {
        let lock = || self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = lock().get(&account.id).filter(|k| k.jwk == account.jwk) {
            return Ok(cached.clone());
        }
        let parsed = Arc::new(AccountKey {
            jwk: account.jwk.clone(),
            key: stored_key(account)?,
            thumbprint: OnceLock::new(),
        });
        let mut cache = lock();
        if cache.len() >= KEY_CACHE_MAX {
            cache.clear();
        }
        cache.insert(account.id.clone(), parsed.clone());
        Ok(parsed)
    }
}
