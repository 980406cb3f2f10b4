//! The NSS store against real certutil databases in temporary folders (with spaces in their
//! paths), next to another CA that must stay untouched.

mod common;

use std::path::{Path, PathBuf};

use common::{have, make_root, running_as_root, sh};
use localca_platform::nss::{self, NssLocation};
use localca_platform::{Detection, NssStore, TrustStore};

fn new_db(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let spec = format!("sql:{}", dir.display());
    sh("certutil", &["-N", "--empty-password", "-d", &spec]);
}

fn add(dir: &Path, nick: &str, trust: &str, pem: &Path) {
    let spec = format!("sql:{}", dir.display());
    sh("certutil", &["-A", "-d", &spec, "-t", trust, "-n", nick, "-i", pem.to_str().unwrap()]);
}

/// The listing and the exported bytes of every other certificate: what must not change.
fn snapshot(dir: &Path, nicks: &[&str]) -> Vec<String> {
    let spec = format!("sql:{}", dir.display());
    let mut out = vec![sh("certutil", &["-L", "-d", &spec])];
    for n in nicks {
        out.push(sh("certutil", &["-L", "-d", &spec, "-n", n, "-a"]));
    }
    out
}

fn store(dir: PathBuf, create: bool) -> NssStore {
    NssStore::new(NssLocation { dir, label: "test".into(), create_on_install: create }, None)
}

#[test]
fn install_check_uninstall_leaves_others_alone() {
    if !have("certutil") || !have("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("my profile dir");
    new_db(&db);
    let other = make_root(tmp.path(), "Other Test CA");
    add(&db, "Other Test CA", "CT,C,C", &other.pem_path);
    let before = snapshot(&db, &["Other Test CA"]);

    let ours = make_root(tmp.path(), "localca-test");
    let s = store(db.clone(), false);
    assert_eq!(s.detect(), Detection::Present);
    assert!(s.location().contains("my profile dir"));
    assert!(!s.is_installed(&ours.root).unwrap());
    s.install(&ours.root).unwrap();
    assert!(s.is_installed(&ours.root).unwrap());
    // Installing again is a no-op.
    s.install(&ours.root).unwrap();

    let listing = sh("certutil", &["-L", "-d", &format!("sql:{}", db.display())]);
    let line = listing.lines().find(|l| l.starts_with(&ours.root.nickname)).unwrap();
    assert_eq!(line.split_whitespace().last(), Some("C,,"));

    let found = s.localca_roots().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].label, ours.root.nickname);
    assert_eq!(found[0].der, ours.root.der);

    s.uninstall(&ours.root).unwrap();
    assert!(!s.is_installed(&ours.root).unwrap());
    s.uninstall(&ours.root).unwrap();
    assert_eq!(snapshot(&db, &["Other Test CA"]), before);
}

#[test]
fn untrusted_copy_is_not_installed_and_foreign_nickname_is_found() {
    if !have("certutil") || !have("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    new_db(&db);
    let ours = make_root(tmp.path(), "localca-test");
    let s = store(db.clone(), false);

    // Present but only as a valid CA (c), not trusted: not installed.
    add(&db, &ours.root.nickname, "c,,", &ours.pem_path);
    assert!(!s.is_installed(&ours.root).unwrap());
    s.install(&ours.root).unwrap();
    assert!(s.is_installed(&ours.root).unwrap());
    s.uninstall(&ours.root).unwrap();

    // Imported by hand under another nickname: still recognised, and removed.
    add(&db, "My dev root", "C,,", &ours.pem_path);
    assert!(s.is_installed(&ours.root).unwrap());
    s.uninstall(&ours.root).unwrap();
    assert!(!s.is_installed(&ours.root).unwrap());
    let listing = sh("certutil", &["-L", "-d", &format!("sql:{}", db.display())]);
    assert!(!listing.contains("My dev root"), "{listing}");
}

#[test]
fn shared_nickname_with_a_foreign_cert_is_refused_not_guessed() {
    if !have("certutil") || !have("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    new_db(&db);
    // Same subject, so NSS files both under one nickname.
    let ours = make_root(tmp.path(), "localca-test");
    let t2 = tempfile::tempdir().unwrap();
    let foreign = make_root(t2.path(), "localca-test");
    let s = store(db.clone(), false);
    s.install(&ours.root).unwrap();
    add(&db, &ours.root.nickname, "C,,", &foreign.pem_path);
    // certutil lists the newest first, so deleting by nickname would hit the foreign one.
    let err = s.uninstall(&ours.root).unwrap_err();
    assert!(err.to_string().contains("remove the root by hand"), "{err}");
    // Nothing was deleted: both certificates are still there.
    let mut ders: Vec<Vec<u8>> = s.localca_roots().unwrap().into_iter().map(|r| r.der).collect();
    ders.sort();
    let mut want = vec![ours.root.der.clone(), foreign.root.der.clone()];
    want.sort();
    assert_eq!(ders, want);
}

#[test]
fn chromium_database_is_created_on_install() {
    if !have("certutil") || !have("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home dir");
    std::fs::create_dir(&home).unwrap();
    let dbdir = home.join(".pki/nssdb");
    let ours = make_root(tmp.path(), "localca-test");
    // As root, work as "nobody" as if running under sudo for that user: the home is theirs.
    let owner = running_as_root().then_some((65534, 65534));
    #[cfg(unix)]
    if let Some((uid, gid)) = owner {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
    }
    let s = NssStore::new(
        NssLocation { dir: dbdir.clone(), label: "Chromium".into(), create_on_install: true },
        owner,
    );
    assert_eq!(s.detect(), Detection::Present);
    assert!(!s.is_installed(&ours.root).unwrap());
    assert!(s.localca_roots().unwrap().is_empty());
    s.uninstall(&ours.root).unwrap();
    assert!(!dbdir.exists(), "uninstall must not create the database");
    s.install(&ours.root).unwrap();
    assert!(nss::has_db(&dbdir));
    assert!(s.is_installed(&ours.root).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(&dbdir).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        if let Some((uid, gid)) = owner {
            for p in [home.join(".pki"), dbdir.clone(), dbdir.join("cert9.db"), dbdir.join("pkcs11.txt")] {
                let m = std::fs::metadata(&p).unwrap();
                assert_eq!((m.uid(), m.gid()), (uid, gid), "{}", p.display());
            }
        } else {
            eprintln!("not root: ownership hand-back not checked");
        }
    }
}

#[test]
fn discovery_finds_profiles_and_dedupes() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let touch_db = |dir: &Path| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("cert9.db"), b"").unwrap();
    };
    let ff = home.join(".mozilla/firefox");
    touch_db(&ff.join("abc.default-release"));
    touch_db(&ff.join("glob only"));
    std::fs::create_dir_all(ff.join("no-db-yet")).unwrap();
    let outside = home.join("elsewhere/my profile");
    touch_db(&outside);
    std::fs::write(
        ff.join("profiles.ini"),
        format!(
            "[Profile0]\nName=a\nIsRelative=1\nPath=abc.default-release\n\n\
             [Profile1]\nName=b\nIsRelative=0\nPath={}\n",
            outside.display()
        ),
    )
    .unwrap();
    touch_db(&home.join("snap/firefox/common/.mozilla/firefox/x.default"));
    touch_db(&home.join(".var/app/org.mozilla.firefox/.mozilla/firefox/y.default"));
    std::fs::create_dir_all(home.join(".thunderbird/t.default")).unwrap();
    std::fs::write(home.join(".thunderbird/t.default/cert8.db"), b"").unwrap();
    let xdg = home.join("xdg");
    touch_db(&xdg.join("pki/nssdb"));

    let found = nss::discover(home, Some(&xdg), true);
    let dirs: Vec<&Path> = found.iter().map(|l| l.dir.as_path()).collect();
    assert_eq!(
        dirs,
        [
            xdg.join("pki/nssdb").as_path(),
            ff.join("abc.default-release").as_path(),
            outside.as_path(),
            ff.join("glob only").as_path(),
            home.join("snap/firefox/common/.mozilla/firefox/x.default").as_path(),
            home.join(".var/app/org.mozilla.firefox/.mozilla/firefox/y.default").as_path(),
            home.join(".thunderbird/t.default").as_path(),
        ]
    );
    assert!(found.iter().all(|l| !l.create_on_install));

    // ~/.pki/nssdb wins over the XDG one; without any, Chromium gets one to create.
    touch_db(&home.join(".pki/nssdb"));
    assert_eq!(nss::discover(home, Some(&xdg), true)[0].dir, home.join(".pki/nssdb"));
    let empty = tempfile::tempdir().unwrap();
    let found = nss::discover(empty.path(), None, true);
    assert_eq!(found.len(), 1);
    assert!(found[0].create_on_install);
    assert_eq!(found[0].dir, empty.path().join(".pki/nssdb"));
    assert!(nss::discover(empty.path(), None, false).is_empty());
}
