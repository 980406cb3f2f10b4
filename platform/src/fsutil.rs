//! File helpers for the stores: atomic writes, temporary files handed to tools, and giving the
//! Java keystore back to its owner after keytool rewrote it as root.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::StoreError;

/// Wraps an I/O error with the path it concerns.
pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// A name unlikely to collide: process id, time and a counter. Files are created with
/// `create_new`, so a collision (or a planted file) fails instead of being followed.
fn unique_name(prefix: &str, suffix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}-{nanos:x}-{n}{suffix}", std::process::id())
}

/// Creates a new file (never an existing one) with `mode` on Unix.
fn create_new(path: &Path, mode: u32) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Sets the permission bits of `path` (the umask may have narrowed them at creation).
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, mode, rename.
/// Readers never see a half-written certificate.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // only the Linux system store so far
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(unique_name(".localca-", ".tmp"));
    let result = (|| {
        let mut file = create_new(&tmp, mode)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        set_mode(&tmp, mode)?;
        fs::rename(&tmp, path)?;
        // Persist the rename itself; not possible (nor needed) on every platform.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

/// A temporary file holding data for a tool (`certutil -i FILE`). Removed on drop unless kept.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    /// Writes `bytes` to a new private file in the system temporary folder.
    pub fn new(bytes: &[u8], suffix: &str) -> Result<TempFile, StoreError> {
        let path = std::env::temp_dir().join(unique_name("localca-", suffix));
        let mut f = create_new(&path, 0o600).map_err(io_err(&path))?;
        // From here the guard removes the file if writing fails.
        let file = TempFile { path, keep: false };
        f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io_err(&file.path))?;
        Ok(file)
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the file readable by everyone (root tools reading it through sudo need no more, but
    /// a user pasting a printed command may run it from another account).
    pub fn make_world_readable(&self) -> Result<(), StoreError> {
        set_mode(&self.path, 0o644).map_err(io_err(&self.path))
    }

    /// Leaves the file in place after drop (its path is in a message the user will act on).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A PEM file holding exactly one root, for a tool (or a printed command) to read.
#[derive(Debug)]
pub enum RootPemFile {
    /// The caller's own file ([`crate::RootCert::pem_file`]).
    Given(PathBuf),
    /// A new world-readable temporary file.
    Temp(TempFile),
}

impl RootPemFile {
    /// The caller's file when it holds exactly `root` and we are not root (root never hands a
    /// path in a user's folder to a tool); else a temporary file.
    pub fn new(root: &crate::RootCert, is_root: bool) -> Result<RootPemFile, StoreError> {
        use std::io::Read;
        if let (Some(path), false) = (&root.pem_file, is_root) {
            let mut bytes = Vec::new();
            let read = File::open(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut bytes));
            if read.is_ok() && crate::pem::certificates_in_file(&bytes) == [root.der.clone()] {
                return Ok(RootPemFile::Given(path.clone()));
            }
        }
        let tmp = TempFile::new(crate::pem::to_pem(&root.der).as_bytes(), ".pem")?;
        // sudo'd tools, or a user running a printed command, must be able to read it.
        tmp.make_world_readable()?;
        Ok(RootPemFile::Temp(tmp))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        match self {
            RootPemFile::Given(path) => path,
            RootPemFile::Temp(tmp) => tmp.path(),
        }
    }

    /// Keeps a temporary file after drop: a printed command names it.
    pub fn keep(&mut self) {
        if let RootPemFile::Temp(tmp) = self {
            tmp.keep();
        }
    }
}

/// Gives `path` back to `owner` (uid, gid) when set, not following a final symlink: the Java
/// keystore keeps its owner after keytool rewrote it as root.
#[cfg(unix)]
pub fn chown_to(path: &Path, owner: Option<(u32, u32)>) -> Result<(), StoreError> {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(io_err(path))?;
    }
    Ok(())
}
