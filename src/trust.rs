//! Putting the root into the machine's trust stores and taking it out again, store by store.
//!
//! The stores themselves live in the `localca-platform` crate; this module decides which stores to
//! use, runs the operation on each without letting one failure stop the others, checks the result,
//! and reports one outcome per store.

use std::path::PathBuf;

use localca_platform::{Detection, RootCert, Scope, StoreContext, StoreError, TrustStore};

use crate::identity::Identity;
use crate::root::RootCertificate;

/// Store kinds, in the order operations run (Java after the system store: on Debian, refreshing
/// the system store adds the root to Java's keystore, and only our Java store removes it).
pub const STORE_KINDS: &[&str] = &["system", "nss", "java"];

/// What happened in one store.
#[derive(Debug)]
pub enum Outcome {
    /// The root was installed and the store now trusts it.
    Installed,
    /// The root was already installed and trusted: nothing changed.
    AlreadyInstalled,
    /// The root was removed.
    Removed,
    /// There was nothing of ours to remove.
    NotInstalled,
    /// The store is not usable here; why, and what would fix it.
    Skipped {
        /// Why the store was skipped.
        reason: String,
        /// What would make it usable.
        fix: Option<String>,
    },
    /// The store is here but its tool is missing: clients reading it will not trust the root.
    ToolMissing {
        /// What is missing.
        reason: String,
        /// What to install.
        fix: String,
    },
    /// The operation failed; the message says why and what to do.
    Failed(String),
}

impl Outcome {
    /// Whether this outcome counts as a failure for the exit code.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::ToolMissing { .. })
    }
}

/// One store's report.
#[derive(Debug)]
pub struct StoreReport {
    /// `system`, `nss`, `java`.
    pub kind: &'static str,
    /// Where the store is.
    pub location: String,
    /// What happened.
    pub outcome: Outcome,
}

/// How the stores identify a root: its DER, SHA-256 and nickname `localca user@host 1a2b3c4d`.
pub fn root_cert(root: &RootCertificate) -> RootCert {
    let sha256_hex = root.fingerprint_hex();
    let nickname = format!("localca {} {}", root.user_at_host(), &sha256_hex[..8]);
    RootCert { der: root.certificate_der().to_vec(), sha256_hex, nickname, pem_file: None }
}

/// A [`RootCert`] for a certificate found in a store (an earlier root), to remove it.
pub fn found_root_cert(label: &str, der: &[u8]) -> RootCert {
    RootCert { der: der.to_vec(), sha256_hex: sha256_hex(der), nickname: label.to_string(), pem_file: None }
}

pub use crate::root::sha256_hex;

/// The stores of this machine for `identity`, limited to `kinds` when given. `scope` picks the
/// per-user or machine-wide OS store on macOS and Windows.
pub fn stores(identity: &Identity, kinds: Option<&[String]>, scope: Scope) -> Vec<Box<dyn TrustStore>> {
    let ctx = StoreContext {
        home: identity.home.clone().unwrap_or_else(|| PathBuf::from("/nonexistent")),
        xdg_data_home: if identity.owner.is_some() {
            None // root's XDG folders say nothing about the invoking user's
        } else {
            // The XDG spec says to ignore a relative value.
            std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).filter(|p| p.is_absolute())
        },
        owner: identity.owner.map(|o| (o.uid, o.gid)),
        is_root: crate::identity::is_root(),
        scope,
    };
    let all = localca_platform::platform_stores(&ctx);
    match kinds {
        Some(kinds) => all.into_iter().filter(|s| kinds.iter().any(|k| k == s.kind())).collect(),
        None => all,
    }
}

/// Installs `root` in every store and checks that each store then trusts it.
pub fn install(stores: &[Box<dyn TrustStore>], root: &RootCert) -> Vec<StoreReport> {
    run_each(stores, |store| {
        if store.is_installed(root)? {
            return Ok(Outcome::AlreadyInstalled);
        }
        store.install(root)?;
        if !store.is_installed(root)? {
            return Err(StoreError::Unexpected("the store accepted the root but does not trust it".into()));
        }
        Ok(Outcome::Installed)
    })
}

/// Removes `root` from every store, leaving everything else as it was.
pub fn uninstall(stores: &[Box<dyn TrustStore>], root: &RootCert) -> Vec<StoreReport> {
    run_each(stores, |store| {
        let present = store.is_installed(root)?
            || store.localca_roots()?.iter().any(|f| sha256_hex(&f.der) == root.sha256_hex);
        if !present {
            return Ok(Outcome::NotInstalled);
        }
        store.uninstall(root)?;
        if store.is_installed(root)? {
            return Err(StoreError::Unexpected("the root is still trusted after removal".into()));
        }
        Ok(Outcome::Removed)
    })
}

/// Whether each store trusts `root`.
pub fn status(stores: &[Box<dyn TrustStore>], root: &RootCert) -> Vec<StoreReport> {
    run_each(stores, |store| {
        Ok(if store.is_installed(root)? { Outcome::AlreadyInstalled } else { Outcome::NotInstalled })
    })
}

/// localca roots other than `ours` still installed, as (store kind, location, label, fingerprint).
/// Certificates merely labelled `localca` that are not localca roots by content are left out.
pub fn other_roots(
    stores: &[Box<dyn TrustStore>],
    ours: &str,
) -> Vec<(&'static str, String, String, String)> {
    let mut found = Vec::new();
    for store in stores.iter().filter(|s| s.detect() == Detection::Present) {
        // A label is a hint; only the content says a root is ours (crate::our_roots).
        for root in store.localca_roots().unwrap_or_default() {
            if !crate::our_roots::is_localca_root(&root.der) {
                continue;
            }
            let fp = sha256_hex(&root.der);
            let location = store.location();
            // One line per root and store, however many labels it is filed under there.
            if fp != ours && !found.iter().any(|(_, l, _, f)| *l == location && *f == fp) {
                found.push((store.kind(), location, root.label, fp));
            }
        }
    }
    found
}

fn run_each(
    stores: &[Box<dyn TrustStore>],
    op: impl Fn(&dyn TrustStore) -> Result<Outcome, StoreError>,
) -> Vec<StoreReport> {
    stores
        .iter()
        .map(|store| {
            let outcome = match store.detect() {
                Detection::Absent { reason, fix } => Outcome::Skipped { reason, fix },
                Detection::Unusable { reason, fix } => Outcome::ToolMissing { reason, fix },
                Detection::Present => op(store.as_ref()).unwrap_or_else(|e| Outcome::Failed(e.to_string())),
            };
            StoreReport { kind: store.kind(), location: store.location(), outcome }
        })
        .collect()
}
