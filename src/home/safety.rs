//! Checks before trusting a CA home, like ssh's StrictModes: the folder and the CA's files belong
//! to the user localca works for, nobody else can write them, and nobody else can read the key.
//! A CA home that fails is refused with the exact command that fixes it.

use std::path::Path;

use crate::error::{Error, Result};

use super::files::{KNOWN_FILES, LOCK_FILE, ROOT_KEY_FILE};

#[cfg(unix)]
fn refuse(path: &Path, problem: String, fix: String) -> Error {
    Error::UnsafeCaHome { path: path.to_path_buf(), problem, fix }
}

#[cfg(unix)]
fn quoted(path: &Path) -> String {
    localca_platform::runner::shell_quote(&path.to_string_lossy())
}

/// The ids files must belong to: whoever we are working as (the sudo user under sudo, see
/// `AsUser`), and the command prefix that can change an owner.
#[cfg(unix)]
fn me() -> (u32, u32, &'static str) {
    // SAFETY: geteuid and getegid have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    (uid, gid, if uid == 0 { "" } else { "sudo " })
}

#[cfg(unix)]
fn check_owner_and_mode(path: &Path, meta: &std::fs::Metadata, what: &str) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (uid, gid, sudo) = me();
    if meta.uid() != uid {
        return Err(refuse(
            path,
            format!(
                "the {what} belongs to uid {}, not to the user localca works for (uid {uid})",
                meta.uid()
            ),
            format!("{sudo}chown {uid}:{gid} {}", quoted(path)),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refuse(
            path,
            format!("the {what} is writable by others (mode {mode:04o})"),
            format!("chmod go-w {}", quoted(path)),
        ));
    }
    Ok(())
}

/// The CA home folder itself (followed if it is a symlink: the user may keep it elsewhere).
pub(super) fn check_folder(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let meta = match std::fs::metadata(dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        if !meta.is_dir() {
            return Err(Error::io(dir, std::io::Error::other("the CA home is not a folder")));
        }
        check_owner_and_mode(dir, &meta, "CA home folder")?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Each file of the CA that exists: a regular file (not a link, device or FIFO), the user's, not
/// writable by others; the key readable by the user only.
pub(super) fn check_files(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    for name in KNOWN_FILES.iter().chain([&LOCK_FILE]) {
        use std::os::unix::fs::MetadataExt;
        let path = dir.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        let q = quoted(&path);
        if meta.file_type().is_symlink() {
            return Err(refuse(
                &path,
                "it is a symbolic link; CA files must be regular files".into(),
                format!("cp --remove-destination \"$(readlink -f {q})\" {q}"),
            ));
        }
        // A folder in a file's place cannot feed us data (reading it fails); a device, FIFO or
        // socket could.
        if !meta.is_file() && !meta.is_dir() {
            return Err(refuse(&path, "it is not a regular file".into(), format!("mv {q} {q}.broken")));
        }
        check_owner_and_mode(&path, &meta, "file")?;
        let mode = meta.mode() & 0o777;
        if *name == ROOT_KEY_FILE && meta.is_file() && mode & 0o077 != 0 {
            return Err(refuse(
                &path,
                format!("the root key is readable by others (mode {mode:04o})"),
                format!("chmod 600 {q}"),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, KNOWN_FILES, LOCK_FILE, ROOT_KEY_FILE);
    Ok(())
}
