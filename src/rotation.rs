//! Root rotation, as a state machine whose state lives in `rotation/` in the CA home, so that a
//! rotation interrupted at any step is finished by running it again.
//!
//! Steps: [`Stage::Created`] (a new root made and kept in `rotation/`; the old one is still the
//! CA), [`Stage::Installed`] (the new root is in every store that has the old one),
//! [`Stage::Switched`] (the CA home holds the new root; the old one is kept in `rotation/` and is
//! still installed), [`Stage::Reissued`] (every recorded leaf re-issued), then the caller removes
//! the old root from the stores and calls [`Rotation::finish`]. Until the very end the old root
//! stays trusted, so certificates that worked keep working.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, Mode};
use crate::error::{Error, Result};
use crate::home::CaHome;
use crate::key_storage::{self, KeyStorage};
use crate::root::{RootCa, RootCertificate, RootProfile};

const DIR: &str = "rotation";
const STATE: &str = "state.json";
const NEW_CERT: &str = "new-root.pem";
const NEW_KEY: &str = "new-root-key.pem";
const OLD_CERT: &str = "old-root.pem";
const OLD_KEY: &str = "old-root-key.pem";

/// How far a rotation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The new root exists in `rotation/`; nothing else changed.
    Created,
    /// The new root is installed beside the old one.
    Installed,
    /// The CA home holds the new root; the old one is kept in `rotation/`.
    Switched,
    /// Every recorded leaf was re-issued (or skipped with a reason).
    Reissued,
}

/// A rotation in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rotation {
    /// SHA-256 of the root being replaced.
    pub old_sha256: String,
    /// SHA-256 of the new root.
    pub new_sha256: String,
    /// Where both keys are kept (the same place as before the rotation).
    pub key_storage: String,
    /// How far it got.
    pub stage: Stage,
}

impl Rotation {
    fn dir(home: &CaHome) -> PathBuf {
        home.path().join(DIR)
    }

    /// The rotation in progress in `home`, if any.
    pub fn load(home: &CaHome) -> Result<Option<Rotation>> {
        let path = Rotation::dir(home).join(STATE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::damaged(path, format!("unreadable rotation state ({e})"))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn save(&self, home: &CaHome) -> Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::Crypto(e.to_string()))?;
        atomic_file::write(&Rotation::dir(home).join(STATE), &text, Mode::Public, home.owner())
    }

    /// Starts a rotation: a new root made with `profile` (its key kept where the current key
    /// is), saved in `rotation/` with a copy of the old root. The CA home is not changed.
    pub fn begin(home: &CaHome, profile: &RootProfile) -> Result<Rotation> {
        let _lock = home.lock_for_change()?;
        if let Some(existing) = Rotation::load(home)? {
            return Ok(existing);
        }
        let old = home.load()?; // the old root must be whole: its key is kept until the end
        let storage = home.key_storage();
        let (new, new_key) = RootCa::generate(profile)?;
        let dir = Rotation::dir(home);
        {
            // Under sudo the folder is made as the user, in the user's home.
            let _user = home.as_user()?;
            atomic_file::create_private_dir(&dir)?;
        }
        let mut files: Vec<(PathBuf, Vec<u8>, Mode)> = vec![
            (dir.join(OLD_CERT), old.certificate_pem().as_bytes().to_vec(), Mode::Public),
            (dir.join(NEW_CERT), new.certificate_pem().as_bytes().to_vec(), Mode::Public),
        ];
        match storage {
            KeyStorage::File => {
                files.push((dir.join(OLD_KEY), old.key_pem().into_bytes(), Mode::Secret));
                files.push((dir.join(NEW_KEY), new_key.into_bytes(), Mode::Secret));
            }
            KeyStorage::Keyring => key_storage::keyring_store(&new.fingerprint_hex(), &new_key)?,
        }
        let refs: Vec<(&std::path::Path, &[u8], Mode)> =
            files.iter().map(|(p, c, m)| (p.as_path(), c.as_slice(), *m)).collect();
        atomic_file::write_many(&refs, home.owner())?;
        let rotation = Rotation {
            old_sha256: old.fingerprint_hex(),
            new_sha256: new.fingerprint_hex(),
            key_storage: storage.to_string(),
            stage: Stage::Created,
        };
        rotation.save(home)?;
        Ok(rotation)
    }

    /// The old root's certificate.
    pub fn old_root(&self, home: &CaHome) -> Result<RootCertificate> {
        read_cert(home, OLD_CERT)
    }

    /// The new root's certificate.
    pub fn new_root(&self, home: &CaHome) -> Result<RootCertificate> {
        read_cert(home, NEW_CERT)
    }

    /// Records that `stage` is done.
    pub fn advance(&mut self, home: &CaHome, stage: Stage) -> Result<()> {
        self.stage = stage;
        self.save(home)
    }

    /// Makes the new root the CA of `home` (key first, certificate last), under the lock.
    pub fn switch(&mut self, home: &CaHome) -> Result<()> {
        let _lock = home.lock_for_change()?;
        let dir = Rotation::dir(home);
        let cert_pem = fs::read(dir.join(NEW_CERT)).map_err(|e| Error::io(dir.join(NEW_CERT), e))?;
        if self.key_storage == "file" {
            let key = fs::read(dir.join(NEW_KEY)).map_err(|e| Error::io(dir.join(NEW_KEY), e))?;
            atomic_file::write(&home.key_path(), &key, Mode::Secret, home.owner())?;
        }
        atomic_file::write(&home.cert_path(), &cert_pem, Mode::Public, home.owner())?;
        // Check the result loads as a whole CA before going on.
        home.load()?;
        self.advance(home, Stage::Switched)
    }

    /// Ends the rotation: the old key (keyring item or file copy) and `rotation/` are deleted.
    /// Call after the old root was removed from every store.
    pub fn finish(self, home: &CaHome) -> Result<()> {
        let _lock = home.lock_for_change()?;
        if self.key_storage == "keyring" {
            key_storage::keyring_delete(&self.old_sha256)?;
        }
        let dir = Rotation::dir(home);
        fs::remove_dir_all(&dir).map_err(|e| Error::io(dir, e))
    }
}

fn read_cert(home: &CaHome, name: &str) -> Result<RootCertificate> {
    let path = Rotation::dir(home).join(name);
    let pem = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    RootCertificate::from_pem(&pem, &path)
}
