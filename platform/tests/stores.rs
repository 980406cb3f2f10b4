//! The list of stores for a user, as the CLI gets it (nothing is changed).

use localca_platform::{platform_stores, stores_for_kinds, Detection, Scope, StoreContext};

#[test]
fn linux_store_list_for_an_empty_home() {
    let home = tempfile::tempdir().unwrap();
    let ctx = StoreContext {
        home: home.path().to_path_buf(),
        xdg_data_home: None,
        owner: None,
        is_root: true,
        scope: Scope::User,
    };
    let stores = platform_stores(&ctx);
    for s in &stores {
        eprintln!("{:7} {:?} {}", s.kind(), s.detect(), s.location());
    }
    if !cfg!(target_os = "linux") {
        // macOS and Windows: the OS store comes first, whatever else is found.
        if cfg!(any(target_os = "macos", windows)) {
            assert_eq!(stores.first().map(|s| s.kind()), Some("system"));
        }
        return;
    }
    // Always one system store (present, or absent with a reason) and at least one Java store.
    assert_eq!(stores.iter().filter(|s| s.kind() == "system").count(), 1);
    assert!(stores.iter().any(|s| s.kind() == "java"));
    let chromium = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .any(|n| which::which(n).is_ok());
    let nss: Vec<_> = stores.iter().filter(|s| s.kind() == "nss" && s.location() != "Firefox").collect();
    assert_eq!(nss.len(), usize::from(chromium), "only Chromium's database to create");
    // Firefox installed, but no profile in this home: one entry saying so (absent, with the fix).
    let firefox: Vec<_> = stores.iter().filter(|s| s.location() == "Firefox").collect();
    assert_eq!(firefox.len(), usize::from(localca_platform::nss::firefox_installed()));
    if let Some(f) = firefox.first() {
        assert!(matches!(f.detect(), Detection::Absent { reason, .. } if reason == "no Firefox profile yet"));
    }
    if let Some(s) = nss.first() {
        assert!(s.location().contains(".pki/nssdb"));
        if which::which("certutil").is_ok() {
            assert_eq!(s.detect(), Detection::Present);
        }
    }
    let only = stores_for_kinds(stores, &["system"]);
    assert_eq!(only.len(), 1);
}
