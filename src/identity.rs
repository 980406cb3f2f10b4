//! Who we are working for: the user and host named in certificates, the home folder, and — under
//! `sudo` — the invoking user, so that files land in (and belong to) their home, not root's.

use std::path::PathBuf;

use crate::atomic_file::Owner;

/// The person localca acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Login name (the invoking user under sudo).
    pub user: String,
    /// This machine's host name.
    pub host: String,
    /// The user's home folder, when one is known.
    pub home: Option<PathBuf>,
    /// Set when running as root under sudo: files we create are handed to this user.
    pub owner: Option<Owner>,
}

impl Identity {
    /// Reads the identity from the environment and the user database.
    pub fn current() -> Identity {
        let host = host_name();
        if let Some((user, home, owner)) = sudo_invoker() {
            return Identity { user, host, home, owner: Some(owner) };
        }
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(current_user_name)
            .unwrap_or_else(|| "user".into());
        // A relative $HOME is taken relative to the current folder, once, so every path printed
        // and used is absolute.
        let home = directories::BaseDirs::new().map(|d| absolute(d.home_dir()));
        Identity { user, host, home, owner: None }
    }

    /// `user@host`, as written in certificate subjects and store nicknames.
    pub fn user_at_host(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// The default CA home: the platform's local data folder + `localca`.
    pub fn default_ca_home(&self) -> Option<PathBuf> {
        if self.owner.is_some() {
            // Under sudo, $XDG_DATA_HOME and friends are root's (or unset): use the user's layout.
            let home = self.home.as_ref()?;
            let data = if cfg!(target_os = "macos") {
                home.join("Library/Application Support")
            } else {
                home.join(".local/share")
            };
            return Some(data.join("localca"));
        }
        directories::BaseDirs::new().map(|d| absolute(&d.data_local_dir().join("localca")))
    }
}

/// `path` made absolute against the current folder (unchanged when that cannot be read).
pub(crate) fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether we run as root (the effective user).
pub(crate) fn is_root() -> bool {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions.
    return unsafe { libc::geteuid() } == 0;
    #[cfg(not(unix))]
    false
}

fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).into_owned();
            if !name.is_empty() {
                return name;
            }
        }
    }
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into())
}

/// Under `sudo` (we are root and SUDO_USER names someone else): that user's name, home and ids.
#[cfg(unix)]
fn sudo_invoker() -> Option<(String, Option<PathBuf>, Owner)> {
    if !is_root() {
        return None;
    }
    let user = std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty() && u != "root")?;
    let uid = std::env::var("SUDO_UID").ok()?.parse().ok()?;
    let gid = std::env::var("SUDO_GID").ok()?.parse().ok()?;
    let home = passwd_entry(Lookup::Name(&user)).map(|(_, home)| home);
    Some((user, home, Owner { uid, gid }))
}

/// The login name of the effective user, from the user database (when $USER is unset).
#[cfg(unix)]
fn current_user_name() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    passwd_entry(Lookup::Uid(unsafe { libc::geteuid() })).map(|(name, _)| name)
}

#[cfg(not(unix))]
fn current_user_name() -> Option<String> {
    None
}

#[cfg(not(unix))]
fn sudo_invoker() -> Option<(String, Option<PathBuf>, Owner)> {
    None
}

#[cfg(unix)]
enum Lookup<'a> {
    Name(&'a str),
    Uid(u32),
}

/// A user's login name and home folder from the user database.
#[cfg(unix)]
fn passwd_entry(lookup: Lookup<'_>) -> Option<(String, PathBuf)> {
    use std::ffi::{CStr, CString};
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: an all-zero passwd is a valid value to be overwritten by the call below.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; `buf` outlives the use of `pwd`'s fields.
    let rc = unsafe {
        match lookup {
            Lookup::Name(user) => {
                let name = CString::new(user).ok()?;
                libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result)
            }
            Lookup::Uid(uid) => {
                libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result)
            }
        }
    };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name and pw_dir point into `buf` and are NUL-terminated.
    let (name, dir) = unsafe { (CStr::from_ptr(pwd.pw_name), CStr::from_ptr(pwd.pw_dir)) };
    let home = PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes()));
    Some((name.to_string_lossy().into_owned(), home))
}
