//! One lock shared by every localca process on the machine, held only while trust stores change.
//!
//! The stores' own tools are not safe to run twice at once: two `update-ca-certificates` running
//! together write the system bundle twice over (144 certificates became 290). So `install` and
//! `uninstall` take this lock around their store changes, whoever runs them (each user, root,
//! sudo). The lock file lives in the first of `/run/lock`, `/var/lock` and `/tmp` that is a
//! root-owned, world-writable sticky folder, so every user finds the same one. It is opened
//! without following links and without creating over a file someone else planted (only
//! `O_CREAT|O_EXCL`), read-only (`flock` needs no more, so a file made by another user serves
//! too), and it is never removed: removing a lock file others may wait on breaks the lock.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file's name in the lock folder.
pub const LOCK_FILE_NAME: &str = "localca-trust-stores.lock";

/// How long to wait for another localca before giving up.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum StoreLockError {
    /// No usable lock file here (no suitable folder, or the file cannot be opened); the stores
    /// can still be changed, without protection from a concurrent localca.
    #[error("cannot use the machine-wide trust-store lock {}: {reason}", .path.display())]
    Unavailable {
        /// The lock file (or folder) that could not be used.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another process held the lock for [`MAX_WAIT`].
    #[error("another process has held the trust-store lock {} for {} s", .path.display(), .waited.as_secs())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
}

/// The held lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct StoreLock {
    _file: Option<File>,
    path: PathBuf,
}

impl StoreLock {
    /// Takes the lock, waiting for other localca processes (`on_wait` is called once, before the
    /// first wait, with the lock file's path). On systems without `flock` this is a no-op.
    pub fn acquire(on_wait: impl FnOnce(&Path)) -> Result<StoreLock, StoreLockError> {
        imp::acquire(on_wait)
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where the lock file is on this machine, if anywhere.
pub fn lock_path() -> Option<PathBuf> {
    imp::lock_dir().map(|d| d.join(LOCK_FILE_NAME))
}

#[cfg(unix)]
mod imp {
    use std::fs::{File, OpenOptions, Permissions};
    use std::io::ErrorKind;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::os::unix::io::AsRawFd;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use super::*;

    const CANDIDATES: &[&str] = &["/run/lock", "/var/lock", "/tmp"];

    /// The first candidate that every user can create files in and nobody can replace others' in.
    pub fn lock_dir() -> Option<PathBuf> {
        CANDIDATES.iter().map(PathBuf::from).find(|dir| {
            std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == 0 && m.mode() & 0o1777 == 0o1777)
        })
    }

    fn unavailable(path: &Path, reason: impl Into<String>) -> StoreLockError {
        StoreLockError::Unavailable { path: path.to_path_buf(), reason: reason.into() }
    }

    /// Opens the lock file read-only, creating it (0644) only when it does not exist.
    fn open(path: &Path) -> Result<File, StoreLockError> {
        let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK;
        for _ in 0..10 {
            match OpenOptions::new().read(true).custom_flags(flags).open(path) {
                Ok(file) => return checked(path, file),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(unavailable(path, e.to_string())),
            }
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o644)
                .custom_flags(flags)
                .open(path)
            {
                Ok(file) => {
                    // The umask may have narrowed the mode; others must be able to open it.
                    file.set_permissions(Permissions::from_mode(0o644))
                        .map_err(|e| unavailable(path, e.to_string()))?;
                    return checked(path, file);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(unavailable(path, e.to_string())),
            }
        }
        Err(unavailable(path, "it keeps appearing and disappearing"))
    }

    fn checked(path: &Path, file: File) -> Result<File, StoreLockError> {
        let meta = file.metadata().map_err(|e| unavailable(path, e.to_string()))?;
        if !meta.is_file() {
            return Err(unavailable(path, "it is not a regular file"));
        }
        Ok(file)
    }

    fn try_lock(file: &File) -> std::io::Result<bool> {
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => Ok(false),
            _ => Err(e),
        }
    }

    pub fn acquire(on_wait: impl FnOnce(&Path)) -> Result<StoreLock, StoreLockError> {
        let Some(dir) = lock_dir() else {
            return Err(unavailable(
                Path::new(CANDIDATES[0]),
                format!("none of {} is a root-owned sticky folder open to all", CANDIDATES.join(", ")),
            ));
        };
        let path = dir.join(LOCK_FILE_NAME);
        let file = open(&path)?;
        let start = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            if try_lock(&file).map_err(|e| unavailable(&path, e.to_string()))? {
                return Ok(StoreLock { _file: Some(file), path });
            }
            if let Some(f) = on_wait.take() {
                f(&path);
            }
            if start.elapsed() >= MAX_WAIT {
                return Err(StoreLockError::Busy { path, waited: start.elapsed() });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::*;

    pub fn lock_dir() -> Option<PathBuf> {
        None
    }

    pub fn acquire(_on_wait: impl FnOnce(&Path)) -> Result<StoreLock, StoreLockError> {
        Ok(StoreLock { _file: None::<File>, path: PathBuf::new() })
    }
}
