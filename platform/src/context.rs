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
}

/// The stores of this platform: on Linux the system bundle, every NSS database and every Java
/// keystore (see [`crate::linux_stores`]); empty elsewhere for now.
pub fn platform_stores(ctx: &StoreContext) -> Vec<Box<dyn TrustStore>> {
    #[cfg(target_os = "linux")]
    {
        crate::linux_stores(ctx)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = ctx;
        Vec::new()
    }
}

/// Keeps the stores whose [`TrustStore::kind`] is in `kinds` (e.g. from `--stores system,nss`).
pub fn stores_for_kinds(stores: Vec<Box<dyn TrustStore>>, kinds: &[&str]) -> Vec<Box<dyn TrustStore>> {
    stores.into_iter().filter(|s| kinds.contains(&s.kind())).collect()
}
