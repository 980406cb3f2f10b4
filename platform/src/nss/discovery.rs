//! Finding a user's NSS databases: the shared one Chromium uses, Firefox and Thunderbird
//! profiles (native, snap, Flatpak), and the one to create for a Chromium that has none yet.

use std::fs;
use std::path::{Path, PathBuf};

use super::has_db;

/// Profile folders named in a Mozilla `profiles.ini` (`Path=` with `IsRelative=`).
pub fn parse_profiles_ini(text: &str, base: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut in_profile = false;
    let mut path: Option<String> = None;
    let mut relative = true;
    let mut flush = |path: &mut Option<String>, relative: &mut bool| {
        if let Some(p) = path.take() {
            dirs.push(if *relative { base.join(p) } else { PathBuf::from(p) });
        }
        *relative = true;
    };
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            if in_profile {
                flush(&mut path, &mut relative);
            }
            in_profile = line.starts_with("[Profile");
        } else if in_profile {
            if let Some(v) = line.strip_prefix("Path=") {
                path = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("IsRelative=") {
                relative = v.trim() != "0";
            }
        }
    }
    if in_profile {
        flush(&mut path, &mut relative);
    }
    dirs
}

/// An NSS database location found on disk (or the one Chromium would create).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NssLocation {
    /// The database folder.
    pub dir: PathBuf,
    /// Who uses it, for people: `Chromium`, `Firefox profile abc.default-release`, …
    pub label: String,
    /// The database does not exist yet; install creates it (Chromium before its first run).
    pub create_on_install: bool,
}

/// Whether Chromium or Chrome is installed (on `PATH`).
pub fn chromium_installed() -> bool {
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .any(|name| which::which(name).is_ok())
}

/// Whether Firefox is installed: on `PATH` (native, or snap's `/snap/bin`), or as a system Flatpak.
pub fn firefox_installed() -> bool {
    ["firefox", "firefox-esr"].iter().any(|name| which::which(name).is_ok())
        || Path::new("/snap/bin/firefox").exists()
        || Path::new("/var/lib/flatpak/app/org.mozilla.firefox").is_dir()
}

/// Whether any of `found` is a Firefox profile's database.
pub fn has_firefox_profile(found: &[NssLocation]) -> bool {
    found.iter().any(|l| l.label.starts_with("Firefox"))
}

/// Every NSS database of the user whose home is `home`, deduplicated. When `chromium` is true
/// and the user has no Chromium database, adds `~/.pki/nssdb` to be created on install, so the
/// browser's first run already trusts the root.
pub fn discover(home: &Path, xdg_data_home: Option<&Path>, chromium: bool) -> Vec<NssLocation> {
    let mut found: Vec<NssLocation> = Vec::new();
    let mut add = |dir: PathBuf, label: String| {
        let key = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let seen = found.iter().any(|l| l.dir.canonicalize().unwrap_or_else(|_| l.dir.clone()) == key);
        if !seen && has_db(&dir) {
            found.push(NssLocation { dir, label, create_on_install: false });
        }
    };
    // NSS's own search order; Chromium 146+ uses the XDG path when ~/.pki/nssdb is absent.
    let legacy = home.join(".pki/nssdb");
    let xdg =
        xdg_data_home.map(Path::to_path_buf).unwrap_or_else(|| home.join(".local/share")).join("pki/nssdb");
    let shared = if has_db(&legacy) { legacy.clone() } else { xdg };
    let has_shared = has_db(&shared);
    add(shared, "Chromium / NSS shared database".into());
    add(home.join("snap/chromium/current/.pki/nssdb"), "Chromium (snap)".into());
    let mozilla = [
        (".mozilla/firefox", "Firefox"),
        ("snap/firefox/common/.mozilla/firefox", "Firefox (snap)"),
        (".var/app/org.mozilla.firefox/.mozilla/firefox", "Firefox (Flatpak)"),
        (".config/mozilla/firefox", "Firefox"),
        (".thunderbird", "Thunderbird"),
        ("snap/thunderbird/common/.thunderbird", "Thunderbird (snap)"),
        (".var/app/org.mozilla.Thunderbird/.thunderbird", "Thunderbird (Flatpak)"),
    ];
    for (rel, app) in mozilla {
        for dir in mozilla_profiles(&home.join(rel)) {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            add(dir, format!("{app} profile {name}"));
        }
    }
    if chromium && !has_shared {
        found.push(NssLocation {
            dir: legacy,
            label: "Chromium (database created on install)".into(),
            create_on_install: true,
        });
    }
    found
}

/// Profile folders under a Mozilla application folder: those `profiles.ini` names, then any
/// subfolder holding a database (profiles.ini may be stale or missing).
fn mozilla_profiles(base: &Path) -> Vec<PathBuf> {
    let mut dirs = fs::read_to_string(base.join("profiles.ini"))
        .map(|text| parse_profiles_ini(&text, base))
        .unwrap_or_default();
    if let Ok(entries) = fs::read_dir(base) {
        let mut subdirs: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
        subdirs.sort();
        dirs.extend(subdirs);
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles_ini() {
        let ini = "[Install4F96D1932A9F858E]\nDefault=abc.default-release\nLocked=1\n\n\
                   [Profile1]\nName=default\nIsRelative=1\nPath=abc.default\n\n\
                   [Profile0]\nName=other\nIsRelative=0\nPath=/data/my profile\nDefault=1\n\n\
                   [General]\nStartWithLastProfile=1\nVersion=2\n";
        let base = Path::new("/home/u/.mozilla/firefox");
        assert_eq!(
            parse_profiles_ini(ini, base),
            [base.join("abc.default"), PathBuf::from("/data/my profile")]
        );
    }
}
