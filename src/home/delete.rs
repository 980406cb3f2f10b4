//! `uninstall --delete-ca`: removes the files localca made in the CA home and nothing else.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

use super::files::{self, KNOWN_FILES, ROOT_CERT_FILE};
use super::lock::{self, LockMode};
use super::CaHome;
use crate::error::{Error, Result};
use crate::key_storage::{self, KeyStorage};

/// What [`CaHome::delete`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Whether the folder itself was removed (it was left empty).
    pub folder_removed: bool,
    /// What stayed in the folder because localca did not make it.
    pub left: Vec<PathBuf>,
}

impl CaHome {
    /// Deletes the CA: its keyring item (when the key is there), then the files localca made in
    /// the home (its known names and its temp files; the root certificate first, after which there
    /// is no CA), then the folder if that left it empty. Anything else stays and is listed in the
    /// result. A folder without `root.pem` is not a CA home: [`Error::NotCaHome`], nothing touched.
    /// Runs under the exclusive lock, so no `cert` can recreate a CA half-way through.
    pub fn delete(&self) -> Result<Deletion> {
        let _user = self.as_user()?;
        let cert_path = self.dir.join(ROOT_CERT_FILE);
        let is_ca_home = || fs::symlink_metadata(&cert_path).is_ok_and(|m| m.is_file());
        if !is_ca_home() {
            return Err(Error::NotCaHome { path: self.dir.clone() });
        }
        let _held = self.lock(LockMode::Exclusive)?;
        if !is_ca_home() {
            // Deleted by another process while we waited; our lock may have made the folder again.
            let only_lock = files::entries(&self.dir).iter().all(|p| p.ends_with(files::LOCK_FILE));
            if only_lock {
                lock::remove_lock_file(&self.dir);
                let _ = fs::remove_dir(&self.dir);
            }
            return Ok(Deletion { folder_removed: only_lock, left: Vec::new() });
        }
        if self.key_storage() == KeyStorage::Keyring {
            if let Ok(certificate) = self.load_certificate() {
                key_storage::keyring_delete(&certificate.fingerprint_hex())?;
            }
        }
        // The certificate first: from then on there is no CA, whatever fails next.
        files::remove_if_present(&cert_path)?;
        for name in KNOWN_FILES {
            files::remove_if_present(&self.dir.join(name))?;
        }
        let mut left = Vec::new();
        for path in files::entries(&self.dir) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if files::temp_file_pid(name).is_some() {
                // Under the exclusive lock no one of ours is writing: every temp file is stale.
                files::remove_if_present(&path)?;
            } else if name != files::LOCK_FILE {
                left.push(path);
            }
        }
        // The lock is ours too. Removing it while holding it is safe: a process waiting on it
        // sees, once it gets it, that the file is no longer at its path, and locks afresh.
        lock::remove_lock_file(&self.dir);
        let folder_removed = left.is_empty() && {
            match fs::remove_dir(&self.dir) {
                Ok(()) => true,
                // Someone locked the home afresh since (see `lock`): it is theirs now.
                Err(e) if e.kind() == ErrorKind::DirectoryNotEmpty => false,
                Err(e) => return Err(Error::io(&self.dir, e)),
            }
        };
        Ok(Deletion { folder_removed, left })
    }
}
