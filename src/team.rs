//! Team roots: other people's root certificates (a team's step-ca or Vault root, a company's
//! development CA) that `install --trust` puts into the same stores, trust only, no key. Copies
//! are kept in `trusted/` in the CA home, named by fingerprint, so that `status` can list them
//! and `uninstall --trust FINGERPRINT` can remove exactly the one meant.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use localca_platform::RootCert;

use crate::atomic_file::{self, Mode};
use crate::error::{Error, Result};
use crate::home::CaHome;
use crate::root::RootCertificate;

const DIR: &str = "trusted";

/// The folder of team roots in `home`.
pub fn dir(home: &CaHome) -> PathBuf {
    home.path().join(DIR)
}

/// Reads a root certificate someone gave us (PEM): it must be a self-signed CA.
pub fn read(path: &Path) -> Result<RootCertificate> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Stopped(format!("{}: not a PEM certificate (not text)", path.display())))?;
    RootCertificate::from_pem(&text, path).map_err(|e| match e {
        Error::DamagedCa { path, problem } => {
            Error::Stopped(format!("{}: not a root certificate: {problem}", path.display()))
        }
        other => other,
    })
}

/// How the stores file a team root: `localca trusted <CN> <first 8 hex>`.
pub fn store_cert(root: &RootCertificate) -> RootCert {
    let sha256_hex = root.fingerprint_hex();
    let cn: String = root
        .subject()
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or("root")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.@".contains(c) { c } else { '_' })
        .take(40)
        .collect();
    let nickname = format!("localca trusted {cn} {}", &sha256_hex[..8]);
    RootCert { der: root.certificate_der().to_vec(), sha256_hex, nickname, pem_file: None }
}

/// Keeps a copy of `root` in `trusted/`.
pub fn add(home: &CaHome, root: &RootCertificate) -> Result<PathBuf> {
    {
        let _user = home.as_user()?;
        atomic_file::create_private_dir(&dir(home))?;
    }
    let path = dir(home).join(format!("{}.pem", root.fingerprint_hex()));
    atomic_file::write(&path, root.certificate_pem().as_bytes(), Mode::Public, home.owner())?;
    Ok(path)
}

/// Deletes the copy of the team root with this fingerprint (nothing there is not an error).
pub fn remove(home: &CaHome, sha256_hex: &str) -> Result<()> {
    let path = dir(home).join(format!("{sha256_hex}.pem"));
    match fs::remove_file(&path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// The team root with this fingerprint, when one was added.
pub fn find(home: &CaHome, sha256_hex: &str) -> Result<Option<RootCertificate>> {
    let path = dir(home).join(format!("{sha256_hex}.pem"));
    if !path.exists() {
        return Ok(None);
    }
    read(&path).map(Some)
}

/// Every team root added, in file-name order; unreadable copies are skipped.
pub fn list(home: &CaHome) -> Vec<RootCertificate> {
    let Ok(entries) = fs::read_dir(dir(home)) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| read(p).ok()).collect()
}
