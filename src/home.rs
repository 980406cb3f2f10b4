//! The CA home: the private folder that holds the root certificate and key.
//!
//! The root certificate is written last, so its presence is what makes a CA exist: a crash during
//! creation leaves no CA (at most a key without a certificate, which the next creation replaces),
//! never half of one. Creation runs under an exclusive file lock, so concurrent first runs end with
//! one root.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Mode, Owner};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::root::{RootCa, RootProfile};

/// File name of the root certificate inside the CA home.
pub const ROOT_CERT_FILE: &str = "root.pem";
/// File name of the root private key inside the CA home.
pub const ROOT_KEY_FILE: &str = "root-key.pem";
const LOCK_FILE: &str = ".lock";
/// Written by `install` (the fingerprint of the root it installed) so that `cert` can tell, without
/// running any store tool, whether the root has been installed.
const INSTALLED_MARKER: &str = "installed";

/// The folder holding one CA.
#[derive(Debug, Clone)]
pub struct CaHome {
    dir: PathBuf,
    owner: Option<Owner>,
}

impl CaHome {
    /// The CA home for `identity`: `$LOCALCA_HOME` when set, else the platform data folder.
    pub fn locate(identity: &Identity) -> Result<CaHome> {
        let dir = match std::env::var_os("LOCALCA_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => identity.default_ca_home().ok_or(Error::NoHomeFolder)?,
        };
        Ok(CaHome { dir, owner: identity.owner })
    }

    /// A CA home at an explicit folder (files owned by the current user).
    pub fn at(dir: impl Into<PathBuf>) -> CaHome {
        CaHome { dir: dir.into(), owner: None }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Who files created on the user's behalf should belong to (set under sudo).
    pub fn owner(&self) -> Option<Owner> {
        self.owner
    }

    /// Path of the root certificate.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(ROOT_CERT_FILE)
    }

    /// Path of the root key file.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(ROOT_KEY_FILE)
    }

    /// Loads the CA; [`Error::NoCa`] when there is none. Never creates anything.
    pub fn load(&self) -> Result<RootCa> {
        let cert_path = self.cert_path();
        let cert_pem = match fs::read_to_string(&cert_path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Error::NoCa { home: self.dir.clone() }),
            Err(e) if e.kind() == ErrorKind::InvalidData => {
                return Err(Error::damaged(cert_path, "not a PEM certificate (not text)"))
            }
            Err(e) => return Err(Error::io(cert_path, e)),
        };
        let key_path = self.key_path();
        let key_pem = match fs::read_to_string(&key_path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::damaged(key_path, "the root key is missing"))
            }
            Err(e) if e.kind() == ErrorKind::InvalidData => {
                return Err(Error::damaged(key_path, "not a PEM private key (not text)"))
            }
            Err(e) => return Err(Error::io(key_path, e)),
        };
        RootCa::from_pem(&cert_pem, &key_pem, &cert_path, &key_path)
    }

    /// Loads the CA, creating it with `profile` when there is none. Returns whether it was created.
    pub fn load_or_create(&self, profile: &RootProfile) -> Result<(RootCa, bool)> {
        match self.load() {
            Err(Error::NoCa { .. }) => {}
            other => return other.map(|ca| (ca, false)),
        }
        let _lock = self.lock()?;
        // Another process may have created it while we waited for the lock.
        match self.load() {
            Err(Error::NoCa { .. }) => self.create_locked(profile).map(|ca| (ca, true)),
            other => other.map(|ca| (ca, false)),
        }
    }

    /// Creates the CA; [`Error::CaExists`] when there already is one (it is never replaced).
    pub fn create(&self, profile: &RootProfile) -> Result<RootCa> {
        let _lock = self.lock()?;
        if self.cert_path().exists() {
            return Err(Error::CaExists { home: self.dir.clone() });
        }
        self.create_locked(profile)
    }

    fn create_locked(&self, profile: &RootProfile) -> Result<RootCa> {
        let (root, key_pem) = RootCa::generate(profile)?;
        // Key first, certificate last: the certificate's rename is the moment the CA exists.
        atomic_file::write(&self.key_path(), key_pem.as_bytes(), Mode::Secret, self.owner)?;
        atomic_file::write(&self.cert_path(), root.certificate_pem().as_bytes(), Mode::Public, self.owner)?;
        Ok(root)
    }

    /// Records that the root with this fingerprint was installed (`Some`), or was removed (`None`).
    pub fn set_installed(&self, fingerprint_hex: Option<&str>) -> Result<()> {
        let path = self.dir.join(INSTALLED_MARKER);
        match fingerprint_hex {
            Some(fp) => atomic_file::write(&path, fp.as_bytes(), Mode::Public, self.owner),
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io(path, e)),
                _ => Ok(()),
            },
        }
    }

    /// Whether `install` last installed the root with this fingerprint (one small file read).
    pub fn is_marked_installed(&self, fingerprint_hex: &str) -> bool {
        fs::read(self.dir.join(INSTALLED_MARKER)).is_ok_and(|fp| fp == fingerprint_hex.as_bytes())
    }

    /// Deletes the CA: the root certificate first (after that there is no CA), then the folder.
    pub fn delete(&self) -> Result<()> {
        match fs::remove_file(self.cert_path()) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(Error::io(self.cert_path(), e)),
            _ => {}
        }
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io(&self.dir, e)),
            _ => Ok(()),
        }
    }

    /// Takes the home's exclusive lock, creating the folder (0700) first. The lock is released
    /// when the returned file is dropped, or by the kernel when the process dies: never stale.
    pub fn lock(&self) -> Result<File> {
        atomic_file::create_private_dir(&self.dir, self.owner)?;
        let path = self.dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|e| Error::io(&path, e))?;
        atomic_file::set_owner(&file, &path, self.owner)?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(file)
    }
}
