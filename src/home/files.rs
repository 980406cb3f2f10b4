//! The files of a CA home: their names, bounded reads that accept only regular files, and the
//! temp files localca leaves when it is killed mid-write.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// File name of the root certificate inside the CA home.
pub const ROOT_CERT_FILE: &str = "root.pem";
/// File name of the root private key inside the CA home.
pub const ROOT_KEY_FILE: &str = "root-key.pem";
/// The lock every process working on the home takes (see `lock.rs`).
pub(super) const LOCK_FILE: &str = ".lock";
/// Says `keyring` when the root key is in the OS keyring; absent when it is in `root-key.pem`.
pub(super) const KEY_STORAGE_MARKER: &str = "key-storage";
/// Written by `install` (the fingerprint of the root it installed) so that `cert` can tell, without
/// running any store tool, whether the root has been installed.
pub(super) const INSTALLED_MARKER: &str = "installed";
/// The fingerprint of a root created here with `--no-name-constraints`: an unconstrained root
/// without it was made elsewhere, which `install` warns about.
pub(super) const UNCONSTRAINED_MARKER: &str = "unconstrained";

/// Every file localca makes in a CA home, besides its temp files and the lock.
pub(super) const KNOWN_FILES: &[&str] = &[
    ROOT_CERT_FILE,
    ROOT_KEY_FILE,
    KEY_STORAGE_MARKER,
    INSTALLED_MARKER,
    UNCONSTRAINED_MARKER,
    crate::env_files::ENV_BUNDLE_FILE,
    crate::env_files::ENV_ROOT_FILE,
    crate::inventory::INVENTORY_FILE,
    // `localca acme serve`'s store (SQLite, with its write-ahead log).
    "acme.sqlite",
    "acme.sqlite-wal",
    "acme.sqlite-shm",
];

/// No CA file is anywhere near this size (an RSA-4096 key is about 3.3 KiB): a larger one is
/// damaged, and is never read whole.
pub(super) const MAX_CA_FILE_BYTES: u64 = 64 * 1024;

/// Opens a file of the CA for reading without following a symlink in its last component, nor
/// blocking on a FIFO. `None` when it is not there.
fn open_no_follow(path: &Path) -> std::io::Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    match options.open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a file of the CA: `None` when it is not there. A symlink, a device, a FIFO, a folder, a
/// file over [`MAX_CA_FILE_BYTES`] or one that is not text is a damaged CA (`what` names it).
pub(super) fn read_text(path: &Path, what: &str) -> Result<Option<String>> {
    let file = match open_no_follow(path) {
        Ok(Some(file)) => file,
        Ok(None) => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Error::damaged(path, format!("the {what} is a symbolic link, not a regular file")))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::damaged(path, format!("the {what} is not a regular file")));
    }
    if meta.len() > MAX_CA_FILE_BYTES {
        return Err(Error::damaged(
            path,
            format!("the {what} is {} bytes, more than any CA file ({MAX_CA_FILE_BYTES})", meta.len()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // Bounded even if the file grows while we read.
    file.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(Error::damaged(path, format!("the {what} grew past {MAX_CA_FILE_BYTES} bytes")));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::damaged(path, format!("not a PEM {what} (not text)")))
}

/// Removes `path` if it is there.
pub(super) fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// For a temp file of ours (`.NAME.PID-N.tmp`, see `atomic_file`, with NAME one of the CA's
/// files): the PID of the process that wrote it.
pub(super) fn temp_file_pid(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (name, pid_n) = rest.rsplit_once('.')?;
    let (pid, n) = pid_n.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (KNOWN_FILES.contains(&name) && digits(pid) && digits(n)).then(|| pid.parse().ok()).flatten()
}

/// Whether a process with this id is running (on this machine, in our PID namespace).
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true // cannot tell: keep it
    }
}

/// Removes our temp files in `dir` whose writer is gone (killed mid-write). Call only under the
/// home's exclusive lock. Best effort: a file that cannot be removed stays.
pub(super) fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_pid) else { continue };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The entries of `dir` by name (empty when it cannot be read).
pub(super) fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_of_ours_only() {
        assert_eq!(temp_file_pid(".root-key.pem.1234-0.tmp"), Some(1234));
        assert_eq!(temp_file_pid(".root.pem.77-12.tmp"), Some(77));
        assert_eq!(temp_file_pid(".notes.txt.77-12.tmp"), None);
        assert_eq!(temp_file_pid("root.pem"), None);
        assert_eq!(temp_file_pid(".root.pem.x-1.tmp"), None);
        assert_eq!(temp_file_pid(".root.pem.12-.tmp"), None);
    }
}
