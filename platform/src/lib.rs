//! Trust stores for localca: find them, and install, check and remove one root certificate.
//!
//! Every store sits behind the small [`TrustStore`] trait, one file per store. The crate has no
//! crypto dependency: the caller hands over the root's DER bytes, its SHA-256 fingerprint and the
//! nickname to file it under ([`RootCert`]). A store identifies our root by its bytes or fingerprint,
//! never by nickname alone.

use std::path::PathBuf;

pub mod advice;
mod context;
mod distro;
pub mod firefox;
mod fsutil;
pub mod hosts;
pub mod java;
mod jks;
#[cfg(target_os = "linux")]
mod linux;
pub mod macos;
pub mod nss;
pub mod pem;
pub mod plist;
pub mod privilege;
pub mod runner;
#[cfg(target_os = "linux")]
pub mod system;
#[cfg(windows)]
pub mod windows;

pub use advice::AdviceStore;
pub use context::{platform_stores, stores_for_kinds, Scope, StoreContext};
pub use distro::Distro;
pub use java::JavaStore;
#[cfg(target_os = "linux")]
pub use linux::linux_stores;
pub use macos::KeychainStore;
pub use nss::NssStore;
#[cfg(target_os = "linux")]
pub use system::SystemStore;
#[cfg(windows)]
pub use windows::WindowsStore;

/// The root certificate a store is asked about, as the caller computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCert {
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
    /// SHA-256 of `der`, lower-case hex without separators (64 characters).
    pub sha256_hex: String,
    /// The label stores file it under: `localca <user>@<host> <first 8 hex of the fingerprint>`.
    pub nickname: String,
    /// A file of the caller's holding exactly this certificate (PEM), e.g. the CA home's
    /// `root.pem`: commands printed for the user to run name it, never a temporary file that
    /// a `/tmp` clean-up removes and another user may then plant.
    pub pem_file: Option<PathBuf>,
}

/// Whether a store exists on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// The store is there and its tools are usable.
    Present,
    /// There is no such store here (no database, no JDK): why, and what would create one.
    Absent {
        /// Why there is none.
        reason: String,
        /// What would make one, when something would.
        fix: Option<String>,
    },
    /// The store is here but cannot be worked with (its tool is missing): clients that read it
    /// will not trust the root until the fix is applied.
    Unusable {
        /// What is missing.
        reason: String,
        /// What to install or change.
        fix: String,
    },
}

/// A localca root found in a store (ours, or one left behind by an earlier CA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRoot {
    /// The nickname, alias or file name it is stored under.
    pub label: String,
    /// The certificate, DER-encoded, so the caller can compute its fingerprint.
    pub der: Vec<u8>,
}

/// One trust store: the system bundle, one NSS database, one Java keystore, …
pub trait TrustStore {
    /// Short kind name used on the command line and in `--stores`: `system` (the OS store: the
    /// Linux bundle, the macOS keychain, the Windows certificate store), `nss`, `java`, and for
    /// advice-only entries `firefox` (Windows) and `windows` (WSL).
    fn kind(&self) -> &'static str;
    /// Where the store lives (a folder, a database, a keystore file), for people to read.
    fn location(&self) -> String;
    /// Whether the store and its tools are usable here.
    fn detect(&self) -> Detection;
    /// Whether `root` is installed *and trusted* for TLS server authentication.
    fn is_installed(&self, root: &RootCert) -> Result<bool, StoreError>;
    /// Install and trust `root`. Installing what is already there is not an error.
    fn install(&self, root: &RootCert) -> Result<(), StoreError>;
    /// Remove `root`. Removing what is not there is not an error; nothing else is touched.
    fn uninstall(&self, root: &RootCert) -> Result<(), StoreError>;
    /// Every localca root in the store (labels starting with `localca`), ours included.
    fn localca_roots(&self) -> Result<Vec<FoundRoot>, StoreError>;
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A command ran and failed.
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    /// A tool the store needs is not installed.
    #[error("{tool} is not installed{}", package_hint(.package))]
    ToolMissing { tool: String, package: Option<String> },
    /// The store needs privileges we do not have (and sudo was not usable).
    #[error("{store} needs root; run: {commands}")]
    NeedsRoot { store: String, commands: String },
    /// Reading or writing a file of the store failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The store answered something we could not understand.
    #[error("{0}")]
    Unexpected(String),
}

fn package_hint(package: &Option<String>) -> String {
    match package {
        Some(p) => format!(" (install {p})"),
        None => String::new(),
    }
}
