//! What the stores need to know about the user they act for, and the list of stores for this
//! platform.

use std::path::PathBuf;

use crate::TrustStore;

/// The user the stores act for. The caller builds it (from the environment, or from `SUDO_USER`
/// when localca runs under sudo), so stores never guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreContext {
    /// The user's home folder: NSS databases and Firefox profiles are found under it.
    pub home: PathBuf,
    /// `$XDG_DATA_HOME`, if set (NSS and Chromium look for `pki/nssdb` there).
    pub xdg_data_home: Option<PathBuf>,
    /// (uid, gid) to give files we create or rewrite in the user's home, when running as root
    /// for that user under sudo. `None` leaves ownership alone.
    pub owner: Option<(u32, u32)>,
    /// Whether we run as root: root-owned stores are changed directly, else through sudo.
    pub is_root: bool,
    /// Which OS trust store to use where the OS has one per user and one per machine (macOS
    /// keychains, Windows certificate stores). Linux stores ignore it.
    pub scope: Scope,
}

/// Per-user or machine-wide trust, for the OS stores of macOS and Windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The user's own store: the login keychain with user trust settings on macOS,
    /// `CurrentUser\Root` on Windows. Needs no administrator rights.
    #[default]
    User,
    /// The machine's store: the System keychain with admin trust settings on macOS,
    /// `LocalMachine\Root` on Windows. Needs administrator rights (sudo / an elevated shell).
    Machine,
}

impl Scope {
    /// The name used on the command line: `user` or `machine`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Machine => "machine",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Scope, String> {
        match s {
            "user" => Ok(Scope::User),
            "machine" | "system" => Ok(Scope::Machine),
            other => Err(format!("unknown scope `{other}` (expected `user` or `machine`)")),
        }
    }
}

/// The stores of this platform: on Linux the system bundle, every NSS database and every Java
/// keystore (see [`crate::linux_stores`]), plus a hint for the Windows store under WSL; on macOS
/// the keychain, Firefox profiles that need NSS, Java ([`crate::macos::macos_stores`]); on
/// Windows the certificate store, Firefox profiles that ignore it, Java
/// ([`crate::windows::windows_stores`]); empty elsewhere.
pub fn platform_stores(ctx: &StoreContext) -> Vec<Box<dyn TrustStore>> {
    #[cfg(target_os = "linux")]
    {
        crate::linux_stores(ctx)
    }
    #[cfg(target_os = "macos")]
    {
        crate::macos::macos_stores(ctx)
    }
    #[cfg(windows)]
    {
        crate::windows::windows_stores(ctx)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = ctx;
        Vec::new()
    }
}

/// Keeps the stores whose [`TrustStore::kind`] is in `kinds` (e.g. from `--stores system,nss`).
pub fn stores_for_kinds(stores: Vec<Box<dyn TrustStore>>, kinds: &[&str]) -> Vec<Box<dyn TrustStore>> {
    stores.into_iter().filter(|s| kinds.contains(&s.kind())).collect()
}
