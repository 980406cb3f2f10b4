//! The ACME server's state: accounts, orders, authorizations and issued certificates, in one
//! SQLite file (`acme.sqlite` in the CA home).
//!
//! Why SQLite (through rusqlite, bundled): the state must survive SIGKILL and restarts, and each
//! order goes through several state changes. On this project's test machines an fsync costs about
//! 5 ms, so a store that syncs every commit (redb's only durable mode) caps a single client at a few
//! dozen orders per second. SQLite in WAL mode with `synchronous=NORMAL` commits without an
//! fsync yet survives a killed process (the WAL is in the page cache) and stays consistent after a
//! power loss (losing at most the last commits before a checkpoint). It is also inspectable with the
//! `sqlite3` tool when something looks wrong.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Identifier;

/// The store failed: the file, or SQLite.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("ACME store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Creating the file failed.
    #[error("ACME store {path}: {source}")]
    Io {
        /// The database file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A stored JSON column did not parse (the file was edited by hand?).
    #[error("ACME store: damaged record: {0}")]
    Damaged(#[from] serde_json::Error),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Random id, the last part of its URL.
    pub id: String,
    /// The account key as a canonical JWK.
    pub jwk: String,
    /// `valid` or `deactivated`.
    pub status: String,
    /// Contact URLs.
    pub contact: Vec<String>,
}

/// An order.
#[derive(Debug, Clone)]
pub struct Order {
    /// Random id.
    pub id: String,
    /// The owning account's id.
    pub account: String,
    /// pending, ready, processing, valid or invalid (before expiry is applied).
    pub status: String,
    /// Unix seconds.
    pub expires: i64,
    /// What is asked for.
    pub identifiers: Vec<Identifier>,
    /// Authorization ids, one per identifier.
    pub authzs: Vec<String>,
    /// The certificate id once issued.
    pub cert: Option<String>,
    /// Why the order is invalid (a problem document, JSON).
    pub error: Option<String>,
}

/// An authorization with its challenge state.
#[derive(Debug, Clone)]
pub struct Authz {
    /// Random id.
    pub id: String,
    /// The owning account's id.
    pub account: String,
    /// The order it belongs to.
    pub order: String,
    /// The identifier to validate.
    pub identifier: Identifier,
    /// pending, valid, invalid or deactivated (before expiry is applied).
    pub status: String,
    /// Unix seconds.
    pub expires: i64,
    /// The challenge token, shared by its challenges.
    pub token: String,
    /// The challenge the client answered, once it did.
    pub attempted: Option<Attempt>,
}

/// What happened to the challenge a client answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    /// `http-01` or `tls-alpn-01`.
    pub challenge: String,
    /// valid or invalid.
    pub status: String,
    /// Unix seconds of the validation.
    pub validated: i64,
    /// The problem, when invalid (JSON).
    pub error: Option<serde_json::Value>,
}

/// An issued certificate.
#[derive(Debug, Clone)]
pub struct Cert {
    /// Random id.
    pub id: String,
    /// The owning account's id.
    pub account: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// The RFC 9773 CertID (`aki.serial`, base64url).
    pub ari_id: String,
    /// Leaf then root, PEM.
    pub chain_pem: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The revocation reason, once revoked.
    pub revoked: Option<u8>,
}

/// The store: one SQLite connection behind a lock (each statement takes microseconds).
pub struct Store {
    conn: Mutex<Connection>,
    /// Accounts read recently, by id: every signed request looks its account up. Filled and
    /// invalidated only while `conn` is held, so a fill never brings back what a write replaced.
    accounts: Mutex<HashMap<String, Account>>,
}

/// Most accounts kept in memory; past it the cache starts over.
const ACCOUNT_CACHE_MAX: usize = 10_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, thumbprint TEXT NOT NULL UNIQUE, jwk TEXT NOT NULL,
  status TEXT NOT NULL, contact TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY, account TEXT NOT NULL, status TEXT NOT NULL, expires INTEGER NOT NULL,
  identifiers TEXT NOT NULL, authzs TEXT NOT NULL, cert TEXT, error TEXT, replaces TEXT,
  created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS orders_by_account ON orders(account, created);
CREATE TABLE IF NOT EXISTS authzs (
  id TEXT PRIMARY KEY, account TEXT NOT NULL, order_id TEXT NOT NULL, identifier TEXT NOT NULL,
  status TEXT NOT NULL, expires INTEGER NOT NULL, token TEXT NOT NULL, attempt TEXT);
CREATE TABLE IF NOT EXISTS certs (
  id TEXT PRIMARY KEY, account TEXT NOT NULL, order_id TEXT NOT NULL, serial TEXT NOT NULL UNIQUE,
  ari_id TEXT NOT NULL UNIQUE, chain_pem TEXT NOT NULL, not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL, revoked INTEGER, names TEXT NOT NULL);
";

impl Store {
    /// Opens (creating, 0600) the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        create_private(path)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement of the request path stays prepared (parsing SQL cost more than running
        // it, measured with perf); rusqlite's default cache of 16 is smaller than the set.
        conn.set_prepared_statement_cache_capacity(64);
        // WAL + NORMAL: commits reach the OS without an fsync, survive a killed process, and the
        // file stays consistent after a power loss. See the module documentation.
        // One process owns the store: exclusive locking drops SQLite's per-transaction file
        // locks (about 50 fcntl calls per order, measured with strace) and keeps a second
        // server on the same CA home out.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The first write takes the exclusive lock.
        conn.execute_batch(SCHEMA)?;
        // Stores written before finalize became one transaction could hold a finalize cut short
        // by a crash: the order is ready again, the client finalizes again.
        conn.execute("UPDATE orders SET status = 'ready' WHERE status = 'processing'", [])?;
        Ok(Store { conn: Mutex::new(conn), accounts: Mutex::default() })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&conn)
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    /// BEGIN and COMMIT are cached statements (rusqlite's `Transaction` parses them each time).
    fn transaction<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.with(|c| {
            c.prepare_cached("BEGIN")?.execute([])?;
            let outcome = f(c).and_then(|value| {
                c.prepare_cached("COMMIT")?.execute([])?;
                Ok(value)
            });
            if outcome.is_err() && !c.is_autocommit() {
                let _ = c.prepare_cached("ROLLBACK").and_then(|mut s| s.execute([]));
            }
            outcome
        })
    }

    /// The account with this key thumbprint.
    pub fn account_by_thumbprint(&self, thumbprint: &str) -> Result<Option<Account>> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached("SELECT id, jwk, status, contact FROM accounts WHERE thumbprint = ?1")?;
            stmt.query_row([thumbprint], account_row).optional()?.transpose()
        })
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Result<Option<Account>> {
        if let Some(account) = self.cached_accounts().get(id) {
            return Ok(Some(account.clone()));
        }
        self.with(|c| {
            let mut stmt = c.prepare_cached("SELECT id, jwk, status, contact FROM accounts WHERE id = ?1")?;
            let account = stmt.query_row([id], account_row).optional()?.transpose()?;
            if let Some(account) = &account {
                let mut cache = self.cached_accounts();
                if cache.len() >= ACCOUNT_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(account.id.clone(), account.clone());
            }
            Ok(account)
        })
    }

    fn cached_accounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Account>> {
        self.accounts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops an account from the cache; called with `conn` held, by every write to an account.
    fn forget_account(&self, id: &str) {
        self.cached_accounts().remove(id);
    }

    /// Creates an account; when another request created one for the same key first, returns that.
    pub fn insert_account(&self, account: &Account, thumbprint: &str, now: i64) -> Result<Account> {
        self.transaction(|c| {
            let existing = c
                .prepare_cached("SELECT id, jwk, status, contact FROM accounts WHERE thumbprint = ?1")?
                .query_row([thumbprint], account_row)
                .optional()?
                .transpose()?;
            if let Some(existing) = existing {
                return Ok(existing);
            }
            c.prepare_cached(
                "INSERT INTO accounts (id, thumbprint, jwk, status, contact, created) VALUES (?1,?2,?3,?4,?5,?6)",
            )?
            .execute(params![
                account.id,
                thumbprint,
                account.jwk,
                account.status,
                serde_json::to_string(&account.contact)?,
                now
            ])?;
            Ok(account.clone())
        })
    }

    /// Updates an account's contact list and status.
    pub fn update_account(&self, account: &Account) -> Result<()> {
        self.with(|c| {
            self.forget_account(&account.id);
            c.prepare_cached("UPDATE accounts SET status = ?2, contact = ?3 WHERE id = ?1")?
                .execute(params![account.id, account.status, serde_json::to_string(&account.contact)?])?;
            Ok(())
        })
    }

    /// Replaces an account's key. `Err(Some(id))`-like result: the id of the account already
    /// holding the new key, if one does.
    pub fn change_key(&self, id: &str, jwk: &str, thumbprint: &str) -> Result<Option<String>> {
        self.transaction(|c| {
            let holder: Option<String> = c
                .prepare_cached("SELECT id FROM accounts WHERE thumbprint = ?1")?
                .query_row([thumbprint], |r| r.get(0))
                .optional()?;
            if holder.is_some() {
                return Ok(holder);
            }
            self.forget_account(id);
            c.prepare_cached("UPDATE accounts SET jwk = ?2, thumbprint = ?3 WHERE id = ?1")?
                .execute(params![id, jwk, thumbprint])?;
            Ok(None)
        })
    }

    /// Creates an order and its authorizations, in one transaction.
    pub fn insert_order(
        &self,
        order: &Order,
        authzs: &[Authz],
        replaces: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.transaction(|c| {
            c.prepare_cached(
                "INSERT INTO orders (id, account, status, expires, identifiers, authzs, replaces, created)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?
            .execute(params![
                order.id,
                order.account,
                order.status,
                order.expires,
                serde_json::to_string(&order.identifiers)?,
                serde_json::to_string(&order.authzs)?,
                replaces,
                now
            ])?;
            let mut stmt = c.prepare_cached(
                "INSERT INTO authzs (id, account, order_id, identifier, status, expires, token)
                 VALUES (?1,?2,?3,?4,?5,?6,?7)",
            )?;
            for a in authzs {
                stmt.execute(params![
                    a.id,
                    a.account,
                    a.order,
                    serde_json::to_string(&a.identifier)?,
                    a.status,
                    a.expires,
                    a.token
                ])?;
            }
            Ok(())
        })
    }

    /// The order with this id.
    pub fn order(&self, id: &str) -> Result<Option<Order>> {
        self.with(|c| order_by_id(c, id))
    }

    /// The ids of an account's orders, newest first (at most `limit`).
    pub fn order_ids(&self, account: &str, limit: u32) -> Result<Vec<String>> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached("SELECT id FROM orders WHERE account = ?1 ORDER BY created DESC LIMIT ?2")?;
            let ids = stmt.query_map(params![account, limit], |r| r.get(0))?;
            Ok(ids.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    /// The authorization with this id.
    pub fn authz(&self, id: &str) -> Result<Option<Authz>> {
        self.with(|c| authz_by_id(c, id))
    }

    /// Records a validation (or a deactivation, with `attempt` none and `status` deactivated)
    /// and moves the order along: ready when all its authorizations are valid, invalid when
    /// one fails. Returns the authorization as stored.
    pub fn settle_authz(&self, id: &str, status: &str, attempt: Option<&Attempt>) -> Result<Option<Authz>> {
        self.transaction(|c| {
            let Some(mut authz) = authz_by_id(c, id)? else { return Ok(None) };
            if authz.status != "pending" && !(status == "deactivated" && authz.status == "valid") {
                return Ok(Some(authz)); // settled already (a concurrent answer won)
            }
            let attempt_json = attempt.map(serde_json::to_string).transpose()?;
            c.prepare_cached("UPDATE authzs SET status = ?2, attempt = COALESCE(?3, attempt) WHERE id = ?1")?
                .execute(params![id, status, attempt_json])?;
            authz.status = status.to_string();
            if let Some(attempt) = attempt {
                authz.attempted = Some(attempt.clone());
            }
            if let Some(order) = order_by_id(c, &authz.order)? {
                if status == "valid" && order.status == "pending" {
                    // The order's other authorizations, by primary key (authzs has no index
                    // on order_id: counting by it scanned the whole table).
                    let mut others = c.prepare_cached("SELECT status FROM authzs WHERE id = ?1")?;
                    let mut all_valid = true;
                    for other in order.authzs.iter().filter(|a| *a != id) {
                        let other_status: Option<String> =
                            others.query_row([other], |r| r.get(0)).optional()?;
                        all_valid &= other_status.as_deref() == Some("valid");
                    }
                    if all_valid {
                        c.prepare_cached("UPDATE orders SET status = 'ready' WHERE id = ?1")?
                            .execute([&order.id])?;
                    }
                } else if status != "valid" && matches!(order.status.as_str(), "pending" | "ready") {
                    let error = attempt.and_then(|a| a.error.as_ref()).map(|e| e.to_string());
                    c.prepare_cached("UPDATE orders SET status = 'invalid', error = ?2 WHERE id = ?1")?
                        .execute(params![order.id, error])?;
                }
            }
            Ok(Some(authz))
        })
    }

    /// Stores an issued certificate and marks its ready order valid, in one transaction (the
    /// only write of a finalize: a crash before it leaves the order ready, to finalize again).
    /// False, with nothing stored, when the order was no longer ready.
    pub fn finish_finalize(&self, order: &str, cert: &Cert, names: &[Identifier]) -> Result<bool> {
        self.transaction(|c| {
            let n = c
                .prepare_cached("UPDATE orders SET status = 'valid', cert = ?2 WHERE id = ?1 AND status = 'ready'")?
                .execute(params![order, cert.id])?;
            if n != 1 {
                return Ok(false);
            }
            c.prepare_cached(
                "INSERT INTO certs (id, account, order_id, serial, ari_id, chain_pem, not_before, not_after, names)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            )?
            .execute(params![
                cert.id,
                cert.account,
                order,
                cert.serial,
                cert.ari_id,
                cert.chain_pem,
                cert.not_before,
                cert.not_after,
                serde_json::to_string(names)?
            ])?;
            Ok(true)
        })
    }

    /// Marks a finalize that failed: the order is invalid with this problem.
    pub fn fail_order(&self, order: &str, problem_json: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE orders SET status = 'invalid', error = ?2 WHERE id = ?1")?
                .execute(params![order, problem_json])?;
            Ok(())
        })
    }

    /// The certificate with this id.
    pub fn cert(&self, id: &str) -> Result<Option<Cert>> {
        self.cert_where("id", id)
    }

    /// The certificate with this serial (lower-case hex).
    pub fn cert_by_serial(&self, serial: &str) -> Result<Option<Cert>> {
        self.cert_where("serial", serial)
    }

    /// The certificate with this RFC 9773 CertID.
    pub fn cert_by_ari_id(&self, ari_id: &str) -> Result<Option<Cert>> {
        self.cert_where("ari_id", ari_id)
    }

    fn cert_where(&self, column: &'static str, value: &str) -> Result<Option<Cert>> {
        self.with(|c| {
            let sql = format!(
                "SELECT id, account, serial, ari_id, chain_pem, not_before, not_after, revoked
                 FROM certs WHERE {column} = ?1"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            Ok(stmt
                .query_row([value], |r| {
                    Ok(Cert {
                        id: r.get(0)?,
                        account: r.get(1)?,
                        serial: r.get(2)?,
                        ari_id: r.get(3)?,
                        chain_pem: r.get(4)?,
                        not_before: r.get(5)?,
                        not_after: r.get(6)?,
                        revoked: r.get(7)?,
                    })
                })
                .optional()?)
        })
    }

    /// Revokes a certificate; false when it already was.
    pub fn revoke(&self, id: &str, reason: u8) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE certs SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                params![id, reason],
            )?;
            Ok(n == 1)
        })
    }

    /// The ids of the certificates that expire after `after` (Unix seconds), in issuance order,
    /// with the identifiers each was issued for: for mirroring the store elsewhere (the CA's
    /// inventory); [`Store::cert`] reads each.
    pub fn cert_ids_expiring_after(&self, after: i64) -> Result<Vec<(String, Vec<Identifier>)>> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT id, names FROM certs WHERE not_after > ?1 ORDER BY not_before, rowid")?;
            let rows = stmt.query_map([after], |r| Ok((r.get(0)?, json_column(r, 1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Account>> {
    let (id, jwk, status, contact): (String, String, String, String) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    Ok(serde_json::from_str(&contact)
        .map(|contact| Account { id, jwk, status, contact })
        .map_err(StoreError::from))
}

/// A JSON column, parsed; a damaged value is a conversion error of that column.
fn json_column<T: serde::de::DeserializeOwned>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

fn order_by_id(c: &Connection, id: &str) -> Result<Option<Order>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, account, status, expires, identifiers, authzs, cert, error FROM orders WHERE id = ?1",
    )?;
    let order = stmt.query_row([id], |r| {
        Ok(Order {
            id: r.get(0)?,
            account: r.get(1)?,
            status: r.get(2)?,
            expires: r.get(3)?,
            identifiers: json_column(r, 4)?,
            authzs: json_column(r, 5)?,
            cert: r.get(6)?,
            error: r.get(7)?,
        })
    });
    Ok(order.optional()?)
}

fn authz_by_id(c: &Connection, id: &str) -> Result<Option<Authz>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, account, order_id, identifier, status, expires, token, attempt FROM authzs WHERE id = ?1",
    )?;
    let authz = stmt.query_row([id], |r| {
        let attempt: Option<String> = r.get(7)?;
        Ok(Authz {
            id: r.get(0)?,
            account: r.get(1)?,
            order: r.get(2)?,
            identifier: json_column(r, 3)?,
            status: r.get(4)?,
            expires: r.get(5)?,
            token: r.get(6)?,
            attempted: match attempt {
                Some(_) => Some(json_column(r, 7)?),
                None => None,
            },
        })
    });
    Ok(authz.optional()?)
}

/// Creates the database file 0600 before SQLite opens it (SQLite gives its WAL and shared-memory
/// files the same mode), so the store is private from its first byte.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop).map_err(|source| StoreError::Io { path: path.display().to_string(), source })
}
