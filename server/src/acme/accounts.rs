//! Accounts: creation and lookup by key (RFC 8555 §7.3), contact updates, deactivation
//! (§7.3.6) and key rollover (§7.3.5).

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::jws::{Jws, PublicKey};
use super::nonce::random_id;
use super::objects;
use super::problem::{Kind, Problem};
use super::request::{Post, Signer};
use super::store::Account;
use super::{now, AcmeServer, Base, Issuer, Reply};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAccount {
    contact: Option<Vec<String>>,
    #[serde(default)]
    only_return_existing: bool,
    external_account_binding: Option<Value>,
}

pub(crate) fn new_account<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
) -> Result<Reply, Problem> {
    let Signer::Key(key) = &post.signer else {
        return Err(Problem::malformed("newAccount must carry the account key as \"jwk\", not \"kid\""));
    };
    let request: NewAccount = if post.is_get() { NewAccount::default() } else { post.json()? };
    let thumbprint = key.thumbprint();
    if let Some(existing) = server.store.account_by_thumbprint(&thumbprint)? {
        if existing.status != "valid" {
            return Err(Problem::unauthorized(format!("the account for this key is {}", existing.status)));
        }
        let url = objects::account_url(base, &existing.id);
        return Ok(Reply::json(StatusCode::OK, &objects::account(base, &existing)).location(url));
    }
    if request.only_return_existing {
        return Err(Problem::new(Kind::AccountDoesNotExist, "no account exists for this key"));
    }
    if request.external_account_binding.is_some() {
        return Err(Problem::malformed("external account binding is not used by this server; leave it out"));
    }
    let contact = check_contacts(request.contact.unwrap_or_default())?;
    let account = Account { id: random_id(), jwk: key.to_jwk_json(), status: "valid".into(), contact };
    // A concurrent newAccount with the same key may have won: answer with that account.
    let stored = server.store.insert_account(&account, &thumbprint, now())?;
    let status = if stored.id == account.id { StatusCode::CREATED } else { StatusCode::OK };
    let url = objects::account_url(base, &stored.id);
    Ok(Reply::json(status, &objects::account(base, &stored)).location(url))
}

#[derive(Debug, Deserialize)]
struct AccountUpdate {
    contact: Option<Vec<String>>,
    status: Option<String>,
}

pub(crate) fn update<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
    id: &str,
) -> Result<Reply, Problem> {
    let account = post.account_with_id(id)?;
    let mut account = account.clone();
    if !post.is_get() {
        let update: AccountUpdate = post.json()?;
        match update.status.as_deref() {
            None => {}
            Some("deactivated") => account.status = "deactivated".into(),
            Some(other) => {
                return Err(Problem::malformed(format!(
                    "an account can only be set to deactivated, not {other:?}"
                )))
            }
        }
        if let Some(contact) = update.contact {
            account.contact = check_contacts(contact)?;
        }
        server.store.update_account(&account)?;
    }
    Ok(Reply::json(StatusCode::OK, &objects::account(base, &account)))
}

fn check_contacts(contact: Vec<String>) -> Result<Vec<String>, Problem> {
    for c in &contact {
        let Some(address) = c.strip_prefix("mailto:") else {
            return Err(Problem::new(
                Kind::UnsupportedContact,
                format!("contact {c:?}: only mailto: URLs are supported"),
            ));
        };
        if !address.contains('@') || address.contains(',') || address.contains('?') {
            return Err(Problem::new(
                Kind::InvalidContact,
                format!("contact {c:?} is not one email address"),
            ));
        }
    }
    Ok(contact)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyChange {
    account: String,
    old_key: Value,
}

pub(crate) fn key_change<I: Issuer>(
    server: &AcmeServer<I>,
    post: Post,
    base: &Base,
) -> Result<Reply, Problem> {
    let account = post.account()?.clone();
    let inner_value: Value = post.json()?;
    let inner = Jws::from_value(inner_value)?;
    if inner.protected.url.as_deref() != Some(post.url.as_str()) {
        return Err(Problem::malformed("the inner JWS's url must be the same as the outer one's"));
    }
    if inner.protected.kid.is_some() || inner.protected.nonce.is_some() {
        return Err(Problem::malformed("the inner JWS carries the new key as \"jwk\", with no kid or nonce"));
    }
    let new_key = PublicKey::from_jwk(
        inner.protected.jwk.as_ref().ok_or_else(|| Problem::malformed("the inner JWS has no \"jwk\""))?,
    )?;
    inner.verify(&new_key)?;
    let change: KeyChange = serde_json::from_slice(&inner.payload)
        .map_err(|e| Problem::malformed(format!("the inner payload is not {{account, oldKey}} ({e})")))?;
    let url = objects::account_url(base, &account.id);
    if change.account != url {
        return Err(Problem::unauthorized("the inner payload names another account"));
    }
    if PublicKey::from_jwk(&change.old_key)? != post.account_key()?.key {
        return Err(Problem::unauthorized("oldKey is not the account's current key"));
    }
    if let Some(holder) =
        server.store.change_key(&account.id, &new_key.to_jwk_json(), &new_key.thumbprint())?
    {
        return Err(Problem::malformed("the new key already belongs to an account")
            .with_status(StatusCode::CONFLICT)
            .located(objects::account_url(base, &holder)));
    }
    Ok(Reply::json(StatusCode::OK, &objects::account(base, &account)).location(url))
}
