//! The CA home's lock: shared while a command reads the CA (`cert`, `ca show`, `install`),
//! exclusive while one changes it (creation, `ca move-key`, `--delete-ca`, markers). It is a
//! `flock` on `.lock`, released by the kernel when the process dies, so it is never stale.
//!
//! Under sudo the lock is taken as the user (see `AsUser`), and `.lock` is opened with
//! `O_NOFOLLOW`: a symlink planted there is refused, never followed. The lock is re-entrant per
//! thread: code holding it may call other locking code of the same home.

use std::cell::RefCell;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use localca_platform::privilege::AsUser;

use super::files::{LOCK_FILE, ROOT_CERT_FILE};
use super::safety;
use crate::atomic_file;
use crate::error::{Error, Result};

/// How the home is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LockMode {
    /// Readers: many at once, no writer.
    Shared,
    /// One writer, no reader.
    Exclusive,
}

thread_local! {
    /// The homes this thread holds locked, and how.
    static HELD: RefCell<Vec<(PathBuf, LockMode)>> = const { RefCell::new(Vec::new()) };
}

/// A held lock (or a nested hold of one). Dropping it unlocks, then ends the switch to the user.
#[derive(Debug)]
pub(crate) struct HomeLock {
    file: Option<File>,
    /// Set when this guard is the outermost hold of `dir` on this thread.
    registered: Option<PathBuf>,
    _user: AsUser,
}

impl Drop for HomeLock {
    fn drop(&mut self) {
        drop(self.file.take());
        if let Some(dir) = self.registered.take() {
            HELD.with(|held| held.borrow_mut().retain(|(d, _)| d != &dir));
        }
    }
}

/// Locks the home at `dir` in `mode`, working as `user` meanwhile (under sudo). Exclusive creates
/// the folder (0700) first; shared on a missing folder (or one where the lock file cannot be made,
/// such as a read-only mount nobody can write either) holds nothing, and the caller finds no CA.
pub(super) fn lock(dir: &Path, mode: LockMode, user: Option<(u32, u32)>) -> Result<HomeLock> {
    let user_guard = AsUser::enter(user).map_err(|e| Error::io(dir, e))?;
    let nested = HELD.with(|held| held.borrow().iter().find(|(d, _)| d == dir).map(|(_, m)| *m));
    match nested {
        Some(LockMode::Shared) if mode == LockMode::Exclusive => {
            return Err(Error::io(dir, std::io::Error::other("internal: lock upgrade from shared")));
        }
        Some(_) => return Ok(HomeLock { file: None, registered: None, _user: user_guard }),
        None => {}
    }
    let unlocked = |guard| Ok(HomeLock { file: None, registered: None, _user: guard });
    let path = dir.join(LOCK_FILE);
    loop {
        if mode == LockMode::Exclusive {
            atomic_file::create_private_dir(dir)?;
        } else if !dir.is_dir() {
            return unlocked(user_guard);
        }
        safety::check_folder(dir)?;
        // A reader creates the lock file only where there is a CA (one copied from elsewhere may
        // lack it): a folder without one stays untouched.
        let create = mode == LockMode::Exclusive || dir.join(ROOT_CERT_FILE).exists();
        let file = match open_lock_file(&path, create) {
            Ok(file) => file,
            // The folder was removed (a failed creation, a deletion) since we looked.
            Err(e) if e.kind() == ErrorKind::NotFound && create => continue,
            Err(e) if e.kind() == ErrorKind::NotFound => return unlocked(user_guard),
            Err(e) if mode == LockMode::Shared && is_read_only(&e) => return unlocked(user_guard),
            Err(e) => return Err(lock_error(&path, e)),
        };
        let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
        if !meta.is_file() {
            return Err(Error::UnsafeCaHome {
                problem: "the lock is not a regular file".into(),
                fix: format!("rm -r {}", localca_platform::runner::shell_quote(&path.to_string_lossy())),
                path,
            });
        }
        match mode {
            LockMode::Shared => file.lock_shared(),
            LockMode::Exclusive => file.lock(),
        }
        .map_err(|e| Error::io(&path, e))?;
        // A deletion or failed first creation removes the lock file while holding it; a process
        // that was waiting on that file then holds a lock nobody else can see. Only a lock on the
        // file that is still at `path` counts: otherwise open it again.
        if same_file(&file, &path) {
            HELD.with(|held| held.borrow_mut().push((dir.to_path_buf(), mode)));
            return Ok(HomeLock { file: Some(file), registered: Some(dir.to_path_buf()), _user: user_guard });
        }
    }
}

fn open_lock_file(path: &Path, create: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Read-only is enough for flock; O_CREAT is passed by hand because std wants write
        // access for `create`.
        let creat = if create { libc::O_CREAT } else { 0 };
        options.custom_flags(creat | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK);
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    options.write(true).create(create).truncate(false);
    options.open(path)
}

fn is_read_only(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EROFS) {
        return true;
    }
    e.kind() == ErrorKind::PermissionDenied
}

fn lock_error(path: &Path, e: std::io::Error) -> Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return Error::UnsafeCaHome {
            path: path.to_path_buf(),
            problem: "the lock file is a symbolic link".into(),
            fix: format!("rm {}", localca_platform::runner::shell_quote(&path.to_string_lossy())),
        };
    }
    Error::io(path, e)
}

/// Removes the lock file while holding the exclusive lock (before removing an empty home):
/// waiters notice that their file is gone and lock afresh.
pub(super) fn remove_lock_file(dir: &Path) {
    let _ = fs::remove_file(dir.join(LOCK_FILE));
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    // Windows does not let an open file be deleted, so the lock file cannot be swapped.
    path.exists()
}
