//! What is on disk for a recorded leaf: are its files still there, do they still hold the
//! certificate we issued, and does the key still belong to the certificate.

use std::fs;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::inventory::{serial_hex, LeafRecord};

/// The state of a recorded leaf's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Every file is there and holds the recorded certificate (and a matching key).
    Ok,
    /// These files are gone (moved or deleted).
    Missing(Vec<PathBuf>),
    /// The certificate file now holds another certificate (serial shown), not the one we issued.
    Replaced {
        /// The file.
        path: PathBuf,
        /// The serial it holds now (empty when it holds no certificate).
        serial: String,
    },
    /// The key file does not belong to the certificate (a crash between the two renames of a
    /// renewal, or a file copied over).
    KeyMismatch {
        /// The key file.
        key: PathBuf,
    },
    /// A file could not be read (why).
    Unreadable(String),
}

impl FileState {
    /// A short word for tables and JSON.
    pub fn word(&self) -> &'static str {
        match self {
            FileState::Ok => "ok",
            FileState::Missing(_) => "missing",
            FileState::Replaced { .. } => "replaced",
            FileState::KeyMismatch { .. } => "key-mismatch",
            FileState::Unreadable(_) => "unreadable",
        }
    }

    /// One line saying what is wrong and what to do (`None` when all is well).
    pub fn explain(&self, leaf: &LeafRecord) -> Option<String> {
        let main = leaf.main_path();
        match self {
            FileState::Ok => None,
            FileState::Missing(paths) => Some(format!(
                "{} gone (moved or deleted); issue it again with `localca cert`",
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )),
            FileState::Replaced { path, serial } if serial.is_empty() => {
                Some(format!("{} no longer holds a certificate", path.display()))
            }
            FileState::Replaced { path, serial } => Some(format!(
                "{} now holds another certificate (serial {}…), not the one localca issued",
                path.display(),
                &serial[..serial.len().min(16)]
            )),
            FileState::KeyMismatch { key } => Some(format!(
                "the key {} does not belong to the certificate (a renewal interrupted between its two \
                 files?); fix: localca renew {}",
                key.display(),
                main.display()
            )),
            FileState::Unreadable(why) => Some(why.clone()),
        }
    }
}

/// Looks at the files of `leaf`.
pub fn inspect(leaf: &LeafRecord) -> FileState {
    let paths = leaf.paths();
    let missing: Vec<PathBuf> =
        leaf.files().into_iter().filter(|p| fs::symlink_metadata(p).is_err()).collect();
    if !missing.is_empty() {
        return FileState::Missing(missing);
    }
    let Some(cert_path) = &paths.cert else {
        return FileState::Ok; // a PKCS#12 bundle alone: present is all we check
    };
    let bytes = match fs::read(cert_path) {
        Ok(b) => b,
        Err(e) => return FileState::Unreadable(format!("{}: {e}", cert_path.display())),
    };
    let Ok(cert) = CertificateDer::from_pem_slice(&bytes) else {
        return FileState::Replaced { path: cert_path.clone(), serial: String::new() };
    };
    let serial = serial_hex(&cert).unwrap_or_default();
    let ours = serial == leaf.serial || leaf.pending_serial.as_deref() == Some(serial.as_str());
    if !ours {
        return FileState::Replaced { path: cert_path.clone(), serial };
    }
    if let Some(key_path) = &paths.key {
        match key_matches(&cert, key_path) {
            Ok(true) => {}
            Ok(false) => return FileState::KeyMismatch { key: key_path.clone() },
            Err(why) => return FileState::Unreadable(why),
        }
    }
    FileState::Ok
}

/// Whether the private key in `key_path` (PEM; the first key when the file also holds the
/// certificate) belongs to `cert`.
fn key_matches(cert: &CertificateDer<'_>, key_path: &Path) -> Result<bool, String> {
    let bytes = fs::read(key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let Ok(key) = PrivateKeyDer::from_pem_slice(&bytes) else {
        return Ok(false);
    };
    let Ok(pair) = rcgen::KeyPair::try_from(&key) else {
        return Ok(false);
    };
    let Ok((_, x509)) = x509_parser::parse_x509_certificate(cert) else {
        return Ok(false);
    };
    Ok(x509.public_key().subject_public_key.data.as_ref() == pair.public_key_raw())
}

impl LeafRecord {
    /// What is on disk for this leaf now.
    pub fn file_state(&self) -> FileState {
        inspect(self)
    }
}
