//! The inventory: every leaf issued into files, recorded in `inventory.json` in the CA home so
//! that `list` can show them, `renew` can re-issue them in place and `ca rotate` can move them to
//! a new root. Leaves issued by `localca acme serve` are recorded too, without paths (see
//! `acme_leaf`): their ACME clients keep and renew them.
//!
//! The file is JSON (serde), rewritten atomically under the CA home's lock. A damaged inventory is
//! an error naming the file; it is never overwritten or silently dropped.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::acme_leaf::AcmeOrigin;
use crate::atomic_file::{self, Mode};
use crate::error::{Error, Result};
use crate::home::CaHome;
use crate::leaf::{IssuedLeaf, KeyType, LeafProfile};
use crate::names::SubjectName;
use crate::output::OutputPaths;
use crate::root::sha256_hex;

/// File name of the inventory inside the CA home.
pub const INVENTORY_FILE: &str = "inventory.json";
const FORMAT_VERSION: u32 = 1;

/// A path as recorded: text when it is UTF-8, else its raw bytes (Unix paths need not be UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredPath {
    /// A UTF-8 path.
    Text(String),
    /// A path that is not UTF-8, byte for byte.
    Bytes(Vec<u8>),
}

impl StoredPath {
    /// Records `path` exactly.
    pub fn new(path: &Path) -> StoredPath {
        match path.to_str() {
            Some(s) => StoredPath::Text(s.to_string()),
            None => StoredPath::Bytes(path.as_os_str().as_encoded_bytes().to_vec()),
        }
    }

    /// The path again.
    pub fn path(&self) -> PathBuf {
        match self {
            StoredPath::Text(s) => PathBuf::from(s),
            #[cfg(unix)]
            StoredPath::Bytes(b) => {
                use std::os::unix::ffi::OsStrExt;
                PathBuf::from(std::ffi::OsStr::from_bytes(b))
            }
            #[cfg(not(unix))]
            StoredPath::Bytes(b) => PathBuf::from(String::from_utf8_lossy(b).into_owned()),
        }
    }
}

/// One issued leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafRecord {
    /// The certificate's serial number, lower-case hex.
    pub serial: String,
    /// SHA-256 of the certificate (DER), lower-case hex; absent in records written before it
    /// was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Host names, IP addresses and email addresses, as normalised.
    pub names: Vec<String>,
    /// URI names.
    #[serde(default)]
    pub uris: Vec<String>,
    /// `ecdsa-p256`, `rsa-2048`, …; `csr` when signed from a request (the key is not ours).
    pub key_type: String,
    /// Validity asked for, in days.
    pub days: u32,
    /// Whether it is also a client certificate.
    pub client: bool,
    /// Whether the PKCS#12 bundle has a password other than the default (never recorded).
    #[serde(default)]
    pub p12_custom_password: bool,
    /// End of validity (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// When it was issued (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// SHA-256 of the root that signed it.
    pub root_sha256: String,
    /// Absolute path of the certificate file (none for an ACME leaf).
    #[serde(default)]
    pub cert: Option<StoredPath>,
    /// Absolute path of the key file.
    #[serde(default)]
    pub key: Option<StoredPath>,
    /// Absolute path of the PKCS#12 bundle.
    #[serde(default)]
    pub p12: Option<StoredPath>,
    /// Set while a renewal is writing the files: the serial about to be written. A crash in
    /// between leaves files holding either serial, both ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_serial: Option<String>,
    /// Set for a leaf issued by `localca acme serve`: its ACME account (and revocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeOrigin>,
}

impl LeafRecord {
    /// A record for a leaf just written to `paths` (made absolute) by the root `root_sha256`.
    pub fn new(
        leaf: &IssuedLeaf,
        profile: &LeafProfile,
        from_csr: bool,
        p12_custom_password: bool,
        paths: &OutputPaths,
        root_sha256: &str,
    ) -> LeafRecord {
        let abs = |p: &Option<PathBuf>| {
            p.as_ref().map(|p| StoredPath::new(&std::path::absolute(p).unwrap_or_else(|_| p.clone())))
        };
        let (uris, names) = leaf.names.iter().partition::<Vec<_>, _>(|n| matches!(n, SubjectName::Uri(_)));
        LeafRecord {
            serial: serial_hex(&leaf.cert_der).unwrap_or_default(),
            sha256: Some(sha256_hex(&leaf.cert_der)),
            names: names.iter().map(ToString::to_string).collect(),
            uris: uris.iter().map(ToString::to_string).collect(),
            key_type: if from_csr { "csr".into() } else { profile.key_type.to_string() },
            days: profile.days,
            client: profile.client,
            p12_custom_password,
            not_after: leaf.not_after,
            issued_at: OffsetDateTime::now_utc(),
            root_sha256: root_sha256.to_string(),
            cert: abs(&paths.cert),
            key: abs(&paths.key),
            p12: abs(&paths.p12),
            pending_serial: None,
            acme: None,
        }
    }

    /// The output paths, as recorded.
    pub fn paths(&self) -> OutputPaths {
        OutputPaths {
            cert: self.cert.as_ref().map(StoredPath::path),
            key: self.key.as_ref().map(StoredPath::path),
            p12: self.p12.as_ref().map(StoredPath::path),
        }
    }

    /// Every file of this leaf.
    pub fn files(&self) -> Vec<PathBuf> {
        let p = self.paths();
        [p.cert, p.key, p.p12].into_iter().flatten().collect()
    }

    /// The first file, to name the leaf in messages.
    pub fn main_path(&self) -> PathBuf {
        self.files().into_iter().next().unwrap_or_default()
    }

    /// The names, parsed back.
    pub fn subject_names(&self) -> Result<Vec<SubjectName>> {
        let mut names: Vec<SubjectName> =
            self.names.iter().map(|n| SubjectName::parse(n)).collect::<Result<_>>()?;
        for uri in &self.uris {
            names.push(SubjectName::uri(uri)?);
        }
        Ok(names)
    }

    /// The profile it was issued with; `None` for a leaf signed from a CSR.
    pub fn profile(&self) -> Option<LeafProfile> {
        let key_type: KeyType = self.key_type.parse().ok()?;
        Some(LeafProfile { key_type, days: self.days, client: self.client })
    }

    /// Whether it was signed from a certificate request.
    pub fn from_csr(&self) -> bool {
        self.key_type == "csr"
    }

    /// Every name, for display: names then URIs.
    pub fn all_names(&self) -> Vec<String> {
        self.names.iter().chain(&self.uris).cloned().collect()
    }

    /// Whether any of its files is `path`.
    pub fn has_file(&self, path: &Path) -> bool {
        self.files().iter().any(|f| f == path)
    }

    /// Days until it expires (negative when expired).
    pub fn days_left(&self) -> i64 {
        (self.not_after - OffsetDateTime::now_utc()).whole_days()
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// Format version.
    #[serde(default)]
    pub version: u32,
    /// Every leaf recorded, oldest first.
    #[serde(default)]
    pub leaves: Vec<LeafRecord>,
}

impl Inventory {
    /// Path of the inventory in `home`.
    pub fn path(home: &CaHome) -> PathBuf {
        home.path().join(INVENTORY_FILE)
    }

    /// Reads the inventory (empty when there is none); a file that does not parse is an error
    /// naming it.
    pub fn load(home: &CaHome) -> Result<Inventory> {
        let path = Inventory::path(home);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Inventory::default()),
            Err(e) => return Err(Error::io(&path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::DamagedInventory { path, problem: e.to_string() })
    }

    /// Writes it atomically (0600: it lists where the keys are).
    pub fn save(&self, home: &CaHome) -> Result<()> {
        let mut doc = self.clone();
        doc.version = FORMAT_VERSION;
        let mut text = serde_json::to_vec_pretty(&doc).map_err(|e| Error::Crypto(e.to_string()))?;
        text.push(b'\n');
        atomic_file::write(&Inventory::path(home), &text, Mode::Secret, home.owner())
    }

    /// Adds `record`, replacing any record that shares a file with it (those files now hold
    /// the new leaf).
    pub fn insert(&mut self, record: LeafRecord) {
        let files = record.files();
        self.leaves.retain(|r| !r.files().iter().any(|f| files.contains(f)));
        self.leaves.push(record);
    }

    /// Runs `change` on the inventory under the CA home's lock and saves it.
    pub fn update<T>(home: &CaHome, change: impl FnOnce(&mut Inventory) -> T) -> Result<T> {
        let _lock = home.lock_for_change()?;
        let mut inventory = Inventory::load(home)?;
        let result = change(&mut inventory);
        inventory.save(home)?;
        Ok(result)
    }

    /// Records one leaf just written (under the lock).
    pub fn record(home: &CaHome, record: LeafRecord) -> Result<()> {
        Inventory::update(home, |inv| inv.insert(record))
    }
}

/// The serial number of a DER certificate, lower-case hex.
pub fn serial_hex(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.raw_serial().iter().map(|b| format!("{b:02x}")).collect())
}
