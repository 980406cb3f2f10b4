//! Where an output path leads: a regular file (written atomically, replacing whatever link is
//! there), a stream (a character device, FIFO or socket such as `/dev/null` or `/dev/stdout`,
//! written into and never replaced or chmod-ed), or standard output (`-`). Also: whether two
//! paths name the same file however they are spelled, and the checks that let a command refuse a
//! bad output before it creates anything.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Mode, Owner};
use crate::error::{Error, Result};

/// Where bytes for one output path go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A regular file, written atomically (temp file, fsync, rename).
    File(PathBuf),
    /// A device, FIFO or socket: opened and written into, never replaced or chmod-ed.
    Stream(PathBuf),
    /// Standard output (`-`).
    Stdout,
}

fn refuse(path: &Path, why: impl Into<String>) -> Error {
    Error::io(path, std::io::Error::other(why.into()))
}

/// The folder a file path is in (`.` for a bare file name).
fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether `path` is `-`, standard input or output.
pub fn is_std_stream(path: &Path) -> bool {
    path.as_os_str() == "-"
}

#[cfg(unix)]
fn special(meta: &fs::Metadata) -> Option<bool> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_block_device() {
        Some(false)
    } else if t.is_char_device() || t.is_fifo() || t.is_socket() {
        Some(true)
    } else {
        None
    }
}

#[cfg(not(unix))]
fn special(_: &fs::Metadata) -> Option<bool> {
    None
}

/// Classifies an output path and checks it can be written, without writing anything: a folder,
/// a block device, a missing or unwritable parent folder are errors naming the path as given.
pub fn classify(path: &Path) -> Result<Target> {
    if is_std_stream(path) {
        return Ok(Target::Stdout);
    }
    if path.file_name().is_none() {
        return Err(refuse(path, "not a file name"));
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(refuse(path, "is a folder: give a file name inside it, such as <folder>/cert.pem"))
        }
        Ok(meta) => {
            let followed = if meta.file_type().is_symlink() {
                // A link is replaced, never followed — except the system's own links to streams
                // (`/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`), which no user can plant.
                let system = path.starts_with("/dev/") || path.starts_with("/proc/");
                fs::metadata(path).ok().filter(|_| system)
            } else {
                Some(meta)
            };
            match followed.as_ref().and_then(special) {
                Some(true) => return Ok(Target::Stream(path.to_path_buf())),
                Some(false) => return Err(refuse(path, "is a block device: refusing to write into it")),
                None => {}
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    check_folder(path)?;
    Ok(Target::File(path.to_path_buf()))
}

fn check_folder(path: &Path) -> Result<()> {
    let dir = folder(path);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(refuse(path, format!("{} is not a folder", dir.display()))),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(refuse(path, format!("the folder {} does not exist", dir.display())))
        }
        Err(e) => return Err(Error::io(path, e)),
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c =
            std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(|_| refuse(path, "NUL in path"))?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(refuse(path, format!("cannot write in the folder {}: {e}", dir.display())));
        }
    }
    Ok(())
}

/// What a path names, for comparing spellings: the canonical folder plus the file name (the
/// link itself when the path is a link, since links are replaced), and the device and inode of
/// an existing file, so hard links count as the same file too.
fn identity(path: &Path) -> (Option<PathBuf>, Option<(u64, u64)>) {
    let named = fs::canonicalize(folder(path)).ok().zip(path.file_name()).map(|(d, f)| d.join(f));
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
    };
    #[cfg(not(unix))]
    let inode = None;
    (named, inode)
}

/// Whether `a` and `b` name the same file, however they are spelled (`./x.pem` and `x.pem`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    if is_std_stream(a) || is_std_stream(b) {
        return is_std_stream(a) && is_std_stream(b);
    }
    if a == b {
        return true;
    }
    let (name_a, ino_a) = identity(a);
    let (name_b, ino_b) = identity(b);
    (name_a.is_some() && name_a == name_b) || (ino_a.is_some() && ino_a == ino_b)
}

/// Writes several outputs: regular files atomically (one round of fsyncs, in the order given),
/// then streams and standard output in the order given. Nothing is written unless every path
/// classifies.
pub fn write_outputs(files: &[(&Path, &[u8], Mode)], owner: Option<Owner>) -> Result<()> {
    let targets: Vec<Target> = files.iter().map(|(p, ..)| classify(p)).collect::<Result<_>>()?;
    let regular: Vec<(&Path, &[u8], Mode)> =
        files.iter().zip(&targets).filter(|(_, t)| matches!(t, Target::File(_))).map(|(f, _)| *f).collect();
    atomic_file::write_many(&regular, owner)?;
    for ((path, contents, _), target) in files.iter().zip(&targets) {
        match target {
            Target::File(_) => {}
            Target::Stream(p) => fs::OpenOptions::new()
                .write(true)
                .open(p)
                .and_then(|mut f| f.write_all(contents))
                .map_err(|e| Error::io(path, e))?,
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(contents)
                    .and_then(|()| out.flush())
                    .map_err(|e| Error::io("standard output", e))?
            }
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("both.pem");
        let b = dir.path().join("./sub/../both.pem");
        fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(same_file(&a, &b));
        assert!(!same_file(&a, &dir.path().join("other.pem")));
        assert!(same_file(Path::new("-"), Path::new("-")));
        assert!(!same_file(Path::new("-"), &a));
    }

    #[test]
    fn classification() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(classify(Path::new("-")).unwrap(), Target::Stdout);
        assert_eq!(classify(Path::new("/dev/null")).unwrap(), Target::Stream("/dev/null".into()));
        assert!(classify(dir.path()).is_err());
        assert!(classify(&dir.path().join("nodir/x.pem")).is_err());
        assert!(matches!(classify(&dir.path().join("x.pem")).unwrap(), Target::File(_)));
    }
}
