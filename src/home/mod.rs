//! The CA home: the private folder that holds the root certificate and key.
//!
//! The root certificate is written last, so its presence is what makes a CA exist: a crash during
//! creation leaves no CA (at most a key without a certificate, which the next creation replaces),
//! never half of one. Readers hold the home's shared lock and writers its exclusive one
//! (`lock.rs`), so concurrent first runs end with one root and no reader sees a change half-done.
//! Before a CA is used, its folder and files are checked (`safety.rs`). Under sudo all of this runs
//! as the invoking user ([`AsUser`]), so the kernel applies the user's permissions: nothing is
//! chowned, and a symlink the user planted gives access to nothing the user could not reach.

use std::fs;
use std::path::{Path, PathBuf};

use localca_platform::privilege::AsUser;

use crate::atomic_file::{self, Mode, Owner};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::key_storage::{self, KeyStorage, KeyStorageChoice, KEYRING_SERVICE};
use crate::root::{RootCa, RootCertificate, RootProfile};

mod delete;
mod files;
mod lock;
mod safety;

pub use delete::Deletion;
use files::{
    read_text, remove_if_present, INSTALLED_MARKER, KEY_STORAGE_MARKER, LOCK_FILE, UNCONSTRAINED_MARKER,
};
pub use files::{ROOT_CERT_FILE, ROOT_KEY_FILE};
use lock::{HomeLock, LockMode};

/// How a new CA was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// Where its key went.
    pub key_storage: KeyStorage,
    /// Set when `auto` fell back to a file: why the keyring did not answer.
    pub keyring_unavailable: Option<String>,
}

/// What [`CaHome::move_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMove {
    /// The key was moved and the old copy deleted.
    Moved,
    /// The key was moved, but deleting the old copy in the keyring failed (why).
    MovedOldCopyLeft(String),
    /// The key already was there: nothing changed.
    AlreadyThere,
}

/// A keyring item named like a path, for messages about the key in it.
fn keyring_item(fingerprint_hex: &str) -> PathBuf {
    PathBuf::from(format!("keyring item {KEYRING_SERVICE}/{fingerprint_hex}"))
}

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
            // Relative to the current folder, resolved once so every path printed is absolute.
            Some(dir) => crate::identity::absolute(Path::new(&dir)),
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

    /// The user the home is worked on as (set under sudo: see [`AsUser`]).
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

    /// Works as the home's user until the guard is dropped (a no-op unless root under sudo).
    pub(crate) fn as_user(&self) -> Result<AsUser> {
        AsUser::enter(self.owner.map(|o| (o.uid, o.gid))).map_err(|e| Error::io(&self.dir, e))
    }

    fn lock(&self, mode: LockMode) -> Result<HomeLock> {
        lock::lock(&self.dir, mode, self.owner.map(|o| (o.uid, o.gid)))
    }

    /// Locks the home for a change: exclusively, checked, and with stale temp files of killed runs
    /// removed.
    pub(crate) fn lock_for_change(&self) -> Result<HomeLock> {
        let held = self.lock(LockMode::Exclusive)?;
        safety::check_files(&self.dir)?;
        files::remove_stale_temp_files(&self.dir);
        Ok(held)
    }

    /// Where the root key is kept (the CA home records it when the key is in the keyring).
    pub fn key_storage(&self) -> KeyStorage {
        let Ok(_user) = self.as_user() else { return KeyStorage::File };
        match read_text(&self.dir.join(KEY_STORAGE_MARKER), "key storage marker") {
            Ok(Some(text)) if text.trim() == "keyring" => KeyStorage::Keyring,
            _ => KeyStorage::File,
        }
    }

    /// Loads the root certificate alone (no key): what the trust stores, `ca show` and
    /// `ca export` need. [`Error::NoCa`] when there is none. Never creates anything.
    pub fn load_certificate(&self) -> Result<RootCertificate> {
        let _held = self.lock(LockMode::Shared)?;
        self.load_certificate_locked()
    }

    fn load_certificate_locked(&self) -> Result<RootCertificate> {
        let cert_path = self.cert_path();
        safety::check_files(&self.dir)?;
        let Some(cert_pem) = read_text(&cert_path, "certificate")? else {
            return Err(Error::NoCa { home: self.dir.clone() });
        };
        RootCertificate::from_pem(&cert_pem, &cert_path)
    }

    /// Loads the CA with its key; [`Error::NoCa`] when there is none. Never creates anything.
    /// With the key in the keyring this is one keyring read.
    pub fn load(&self) -> Result<RootCa> {
        let _held = self.lock(LockMode::Shared)?;
        let certificate = self.load_certificate_locked()?;
        let (key_pem, key_location) = match self.key_storage() {
            KeyStorage::File => (self.read_key_file()?, self.key_path()),
            KeyStorage::Keyring => {
                let fingerprint = certificate.fingerprint_hex();
                (key_storage::keyring_load(&fingerprint)?, keyring_item(&fingerprint))
            }
        };
        RootCa::with_key(certificate, &key_pem, &self.cert_path(), &key_location)
    }

    fn read_key_file(&self) -> Result<String> {
        let key_path = self.key_path();
        read_text(&key_path, "private key")?
            .ok_or_else(|| Error::damaged(key_path, "the root key is missing"))
    }

    /// Loads the CA, creating it with `profile` when there is none. Returns how it was created,
    /// when it was.
    pub fn load_or_create(&self, profile: &RootProfile) -> Result<(RootCa, Option<Creation>)> {
        match self.load() {
            Err(Error::NoCa { .. }) => {}
            other => return other.map(|ca| (ca, None)),
        }
        self.with_creation_lock(|| {
            // Another process may have created it while we waited for the lock.
            match self.load() {
                Err(Error::NoCa { .. }) => self.create_locked(profile).map(|(ca, c)| (ca, Some(c))),
                other => other.map(|ca| (ca, None)),
            }
        })
    }

    /// Creates the CA; [`Error::CaExists`] when there already is one (it is never replaced).
    pub fn create(&self, profile: &RootProfile) -> Result<(RootCa, Creation)> {
        self.with_creation_lock(|| {
            if self.cert_path().exists() {
                return Err(Error::CaExists { home: self.dir.clone() });
            }
            self.create_locked(profile)
        })
    }

    /// Runs `f` under the home's exclusive lock. If the folder did not exist before and `f`
    /// fails, the folder is removed again: a failed creation leaves nothing behind.
    fn with_creation_lock<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let _user = self.as_user()?;
        let existed = self.dir.exists();
        let held = self.lock_for_change()?;
        let result = f();
        if result.is_err() && !existed {
            // Still holding the lock, so no one else is inside; waiters see the file gone and
            // lock afresh (see `lock`).
            let _ = fs::remove_file(self.dir.join(LOCK_FILE));
            let _ = fs::remove_dir(&self.dir);
        }
        drop(held);
        result
    }

    fn create_locked(&self, profile: &RootProfile) -> Result<(RootCa, Creation)> {
        let (root, key_pem) = RootCa::generate(profile)?;
        self.store_new_ca(root, &key_pem, profile.key_storage)
    }

    /// Adopts an existing root (certificate and PKCS#8 key, PEM), as `ca import` does;
    /// [`Error::CaExists`] when this home already holds one. `cert_path` and `key_path` name
    /// the source files in errors.
    pub fn adopt(
        &self,
        cert_pem: &str,
        key_pem: &str,
        paths: (&Path, &Path),
        choice: KeyStorageChoice,
    ) -> Result<(RootCa, Creation)> {
        let root = RootCa::from_pem(cert_pem, key_pem, paths.0, paths.1)?;
        let key_pem = root.key_pem(); // normalised to PKCS#8
        self.with_creation_lock(|| {
            if self.cert_path().exists() {
                return Err(Error::CaExists { home: self.dir.clone() });
            }
            self.store_new_ca(root, &key_pem, choice)
        })
    }

    /// Stores a new root's key where `choice` says, then its certificate.
    fn store_new_ca(
        &self,
        root: RootCa,
        key_pem: &str,
        choice: KeyStorageChoice,
    ) -> Result<(RootCa, Creation)> {
        let key_pem = key_pem.to_string();
        let fingerprint = root.fingerprint_hex();
        let (storage, keyring_unavailable) = match choice {
            KeyStorageChoice::File => (KeyStorage::File, None),
            KeyStorageChoice::Keyring => {
                key_storage::keyring_store(&fingerprint, &key_pem)?;
                (KeyStorage::Keyring, None)
            }
            KeyStorageChoice::Auto => match key_storage::keyring_store(&fingerprint, &key_pem) {
                Ok(()) => (KeyStorage::Keyring, None),
                Err(Error::Keyring { reason, .. }) => (KeyStorage::File, Some(reason)),
                Err(e) => (KeyStorage::File, Some(e.to_string())),
            },
        };
        // Key first, certificate last: the certificate's rename is the moment the CA exists.
        let result = self.write_new_ca(&root, &key_pem, storage);
        if result.is_err() && storage == KeyStorage::Keyring && !self.cert_path().exists() {
            let _ = key_storage::keyring_delete(&fingerprint); // the key of a root that never existed
        }
        result?;
        Ok((root, Creation { key_storage: storage, keyring_unavailable }))
    }

    fn write_new_ca(&self, root: &RootCa, key_pem: &str, storage: KeyStorage) -> Result<()> {
        match storage {
            KeyStorage::Keyring => {
                self.set_key_storage(KeyStorage::Keyring)?;
                remove_if_present(&self.key_path())?; // left by an interrupted earlier creation
            }
            KeyStorage::File => {
                atomic_file::write(&self.key_path(), key_pem.as_bytes(), Mode::Secret, None)?;
                self.set_key_storage(KeyStorage::File)?;
            }
        }
        let unconstrained = self.dir.join(UNCONSTRAINED_MARKER);
        match root.name_constraints() {
            None => {
                atomic_file::write(&unconstrained, root.fingerprint_hex().as_bytes(), Mode::Public, None)?
            }
            Some(_) => remove_if_present(&unconstrained)?,
        }
        atomic_file::write(&self.cert_path(), root.certificate_pem().as_bytes(), Mode::Public, None)
    }

    fn set_key_storage(&self, storage: KeyStorage) -> Result<()> {
        let marker = self.dir.join(KEY_STORAGE_MARKER);
        match storage {
            KeyStorage::Keyring => atomic_file::write(&marker, b"keyring\n", Mode::Public, None),
            KeyStorage::File => remove_if_present(&marker),
        }
    }

    /// Moves the root key to `to`: writes the new copy, reads it back and checks it against the
    /// certificate, records the new place, then deletes the old copy. A failure at any step
    /// before the last leaves the old copy in place and in use. Runs under the exclusive lock, so
    /// no reader sees the key half-moved.
    pub fn move_key(&self, to: KeyStorage) -> Result<KeyMove> {
        let _held = self.lock_for_change()?;
        let root = self.load()?;
        if self.key_storage() == to {
            return Ok(KeyMove::AlreadyThere);
        }
        let fingerprint = root.fingerprint_hex();
        let key_pem = root.key_pem();
        let cert_path = self.cert_path();
        match to {
            KeyStorage::Keyring => {
                key_storage::keyring_store(&fingerprint, &key_pem)?;
                let recorded = (|| {
                    let back = key_storage::keyring_load(&fingerprint)?;
                    RootCa::with_key((*root).clone(), &back, &cert_path, &keyring_item(&fingerprint))?;
                    self.set_key_storage(KeyStorage::Keyring)
                })();
                if let Err(e) = recorded {
                    // Not recorded: the file is still the key in use; drop the new copy.
                    if self.key_storage() != KeyStorage::Keyring {
                        let _ = key_storage::keyring_delete(&fingerprint);
                    }
                    return Err(e);
                }
                remove_if_present(&self.key_path())?;
            }
            KeyStorage::File => {
                atomic_file::write(&self.key_path(), key_pem.as_bytes(), Mode::Secret, None)?;
                RootCa::with_key((*root).clone(), &self.read_key_file()?, &cert_path, &self.key_path())?;
                self.set_key_storage(KeyStorage::File)?;
                // The move is done: the file is now the key in use. A keyring that fails to
                // delete the old copy leaves it behind, which the caller should report.
                if let Err(e) = key_storage::keyring_delete(&fingerprint) {
                    return Ok(KeyMove::MovedOldCopyLeft(e.to_string()));
                }
            }
        }
        Ok(KeyMove::Moved)
    }

    /// Records that the root with this fingerprint was installed (`Some`), or was removed (`None`).
    pub fn set_installed(&self, fingerprint_hex: Option<&str>) -> Result<()> {
        let _held = self.lock_for_change()?;
        let path = self.dir.join(INSTALLED_MARKER);
        match fingerprint_hex {
            Some(fp) => atomic_file::write(&path, fp.as_bytes(), Mode::Public, None),
            None => remove_if_present(&path),
        }
    }

    /// Whether `install` last installed the root with this fingerprint (one small file read).
    pub fn is_marked_installed(&self, fingerprint_hex: &str) -> bool {
        self.marker_holds(INSTALLED_MARKER, fingerprint_hex)
    }

    /// Whether the root with this fingerprint was created here without name constraints (with
    /// `--no-name-constraints`). An unconstrained root without this record came from elsewhere.
    pub fn created_unconstrained_here(&self, fingerprint_hex: &str) -> bool {
        self.marker_holds(UNCONSTRAINED_MARKER, fingerprint_hex)
    }

    fn marker_holds(&self, marker: &str, fingerprint_hex: &str) -> bool {
        let Ok(_user) = self.as_user() else { return false };
        read_text(&self.dir.join(marker), "marker").is_ok_and(|t| t.as_deref() == Some(fingerprint_hex))
    }
}
