//! Crash-safe file writes: a temporary file in the same folder, fsync, rename, fsync the folder.
//!
//! A crash at any moment leaves either the old file or the new one, never half of one. Because the
//! destination is replaced by `rename`, a symlink at the destination is replaced, never followed.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};

/// Who should own files we create (the invoking user when running under sudo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Permissions for a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Readable by the owner only (private keys, PKCS#12 bundles): 0600 from the first byte.
    Secret,
    /// Readable by everyone (certificates): 0644.
    Public,
}

impl Mode {
    #[cfg(unix)]
    fn bits(self) -> u32 {
        match self {
            Mode::Secret => 0o600,
            Mode::Public => 0o644,
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Writes `contents` to `path` atomically with the given mode, chowned to `owner` when set.
pub fn write(path: &Path, contents: &[u8], mode: Mode, owner: Option<Owner>) -> Result<()> {
    write_many(&[(path, contents, mode)], owner)
}

/// Writes several files atomically, each as [`write`] does, but paying for durability once:
/// the temp files are fsync-ed in parallel (one journal commit on most file systems instead of
/// one per file), renamed in the order given, then each folder is fsync-ed once. After a crash
/// each file is either old or new, as with [`write`]. Nothing is renamed unless every temp file
/// was written and synced.
pub fn write_many(files: &[(&Path, &[u8], Mode)], owner: Option<Owner>) -> Result<()> {
    let mut temps: Vec<(PathBuf, File)> = Vec::new();
    let result = (|| {
        for (path, contents, mode) in files {
            let tmp = temp_path(path)?;
            // Errors name the user's path, never our temp file.
            let file = write_tmp(&tmp, contents, *mode, owner).map_err(|e| match e {
                Error::Io { source, .. } => Error::io(path, source),
                other => other,
            });
            let file = file.inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })?;
            temps.push((tmp, file));
        }
        if let [(_, file)] = temps.as_slice() {
            file.sync_all().map_err(|e| Error::io(files[0].0, e))?;
        } else {
            std::thread::scope(|scope| {
                let syncs: Vec<_> = temps
                    .iter()
                    .map(|(tmp, file)| scope.spawn(move || file.sync_all().map_err(|e| Error::io(tmp, e))))
                    .collect();
                syncs.into_iter().try_for_each(|s| s.join().expect("fsync thread panicked"))
            })?;
        }
        for ((path, ..), (tmp, _)) in files.iter().zip(&temps) {
            fs::rename(tmp, path).map_err(|e| Error::io(path, e))?;
        }
        let mut dirs: Vec<PathBuf> = files.iter().map(|(path, ..)| parent(path)).collect();
        dirs.dedup();
        dirs.iter().try_for_each(|dir| sync_dir(dir))
    })();
    if result.is_err() {
        for (tmp, _) in &temps {
            let _ = fs::remove_file(tmp); // already renamed ones are gone: nothing to remove
        }
    }
    result
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temp name beside `path` that starts with a dot and ends in .tmp, so it is never mistaken
/// for an output.
fn temp_path(path: &Path) -> Result<PathBuf> {
    let file_name = path.file_name().ok_or_else(|| {
        Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"))
    })?;
    Ok(parent(path).join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )))
}

fn write_tmp(tmp: &Path, contents: &[u8], mode: Mode, owner: Option<Owner>) -> Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The mode is given at creation, so a key file is never readable by others, not even briefly.
        options.mode(mode.bits());
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(tmp).map_err(|e| Error::io(tmp, e))?;
    set_owner(&file, tmp, owner)?;
    file.write_all(contents).map_err(|e| Error::io(tmp, e))?;
    Ok(file)
}

/// Makes a rename in `dir` durable (a no-op where folders cannot be opened, as on Windows).
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` and any missing parents with mode 0700. Nothing is chowned: under sudo the CA
/// home is made while working as the user (see `AsUser`), so the folders are the user's.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let missing: Vec<&Path> =
        dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.is_dir()).collect();
    for d in missing.into_iter().rev() {
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(d) {
            // Another process may have made it in the meantime: that is fine.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => continue,
            Err(e) => return Err(Error::io(d, e)),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// Hands `file` to `owner` when set: only a file we just created (`create_new`), by its descriptor,
/// so no link can redirect it (outputs written for the user under sudo).
#[cfg(unix)]
pub(crate) fn set_owner(file: &File, path: &Path, owner: Option<Owner>) -> Result<()> {
    if let Some(o) = owner {
        std::os::unix::fs::fchown(file, Some(o.uid), Some(o.gid)).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn set_owner(_: &File, _: &Path, _: Option<Owner>) -> Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn secret_files_are_0600_and_replace_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"keep me").unwrap();
        let link = dir.path().join("key.pem");
        std::os::unix::fs::symlink(&target, &link).unwrap();

        write(&link, b"secret", Mode::Secret, None).unwrap();

        assert_eq!(fs::read(&target).unwrap(), b"keep me", "symlink target must not be written");
        let meta = fs::symlink_metadata(&link).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&link).unwrap(), b"secret");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn private_dir_is_0700() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("a/b/localca");
        create_private_dir(&home).unwrap();
        assert_eq!(fs::metadata(&home).unwrap().mode() & 0o777, 0o700);
    }
}
