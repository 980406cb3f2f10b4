//! The Linux stores of one user: the system bundle, NSS databases, Java keystores.

use std::path::PathBuf;

use crate::advice::AdviceStore;
use crate::context::StoreContext;
use crate::java;
use crate::nss::{self, NssStore};
use crate::system::SystemStore;
use crate::TrustStore;

/// Every Linux store for the user in `ctx`: the system store (or a stand-in whose detect()
/// explains why there is none, e.g. on NixOS), one NSS store per database found (plus the
/// Chromium database to create, when Chromium is installed and has none), and one Java store
/// per keystore (or a stand-in saying no JDK was found). Inside WSL, an advice entry for the
/// Windows store (see [`crate::advice::wsl_windows_store`]).
pub fn linux_stores(ctx: &StoreContext) -> Vec<Box<dyn TrustStore>> {
    let mut stores: Vec<Box<dyn TrustStore>> = vec![Box::new(SystemStore::detect_here(ctx.is_root))];
    let chromium = nss::chromium_installed();
    // The user's folders are read as the user under sudo: a profiles.ini or profile folder
    // symlinked to a root-only file reveals nothing.
    let locations = {
        let _user = crate::privilege::AsUser::enter(ctx.owner);
        nss::discover(&ctx.home, ctx.xdg_data_home.as_deref(), chromium)
    };
    let firefox_profile = nss::has_firefox_profile(&locations);
    for location in locations {
        stores.push(Box::new(NssStore::new(location, ctx.owner)));
    }
    // Firefox makes its profile (and its NSS database) on first run: until then there is nothing
    // to install into, which must be said rather than silently left out.
    if !firefox_profile && nss::firefox_installed() {
        stores.push(Box::new(AdviceStore::new(
            "nss",
            "Firefox".into(),
            "no Firefox profile yet".into(),
            Some("run Firefox once, then `localca install`".into()),
        )));
    }
    let java_home = std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    stores.extend(java::stores(java::discover(java_home.as_deref()), ctx.is_root));
    if crate::advice::running_in_wsl() {
        stores.push(Box::new(crate::advice::wsl_windows_store()));
    }
    stores
}
