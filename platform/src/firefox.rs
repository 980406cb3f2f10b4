//! Firefox on macOS and Windows, where it can use the OS trust store ("enterprise roots",
//! `security.enterprise_roots.enabled`, on by default since Firefox 120). A profile needs the
//! root in its own NSS database only when that pref is off, or when it was last run by an older
//! Firefox. These functions read the profile files; the stores built from them are in
//! [`crate::macos`] (NSS through certutil) and [`crate::windows`] (advice only).

use std::fs;
use std::path::{Path, PathBuf};

use crate::nss::parse_profiles_ini;

/// The pref that makes Firefox trust roots of the OS store.
pub const ENTERPRISE_ROOTS_PREF: &str = "security.enterprise_roots.enabled";

/// The first Firefox version that trusts OS-added roots by default on macOS and Windows.
pub const ENTERPRISE_ROOTS_DEFAULT_SINCE: u32 = 120;

/// The value the last `user_pref("security.enterprise_roots.enabled", …)` (or `pref(…)`) line of
/// a `prefs.js` / `user.js` sets, if any. Commented-out lines are ignored.
pub fn enterprise_roots_pref(text: &str) -> Option<bool> {
    let mut value = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("//") || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix("user_pref(").or_else(|| line.strip_prefix("pref(")) else {
            continue;
        };
        let Some((name, rest)) = rest.split_once(',') else { continue };
        if name.trim().trim_matches(|c| c == '"' || c == '\'') != ENTERPRISE_ROOTS_PREF {
            continue;
        }
        match rest.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next() {
            Some("true") => value = Some(true),
            Some("false") => value = Some(false),
            _ => {}
        }
    }
    value
}

/// The major version of the Firefox that last ran a profile, from its `compatibility.ini`
/// (`LastVersion=120.0.1_20231123094909/20231123094909`).
pub fn last_version_major(compatibility_ini: &str) -> Option<u32> {
    compatibility_ini
        .lines()
        .find_map(|l| l.trim().strip_prefix("LastVersion="))
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|major| major.parse().ok())
}

/// Whether a profile takes roots from the OS store, judged from the text of its `prefs.js`,
/// `user.js` and `compatibility.ini` (missing files as `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileTrust {
    /// Firefox trusts the OS store in this profile: the OS store entry covers it.
    UsesOsStore,
    /// The profile ignores the OS store; the text says why.
    NeedsNss(String),
}

/// Decides [`ProfileTrust`]: `user.js` overrides `prefs.js` (Firefox applies it last); without
/// either setting, the default of the Firefox version that last ran the profile applies.
pub fn profile_trust(
    prefs_js: Option<&str>,
    user_js: Option<&str>,
    compatibility_ini: Option<&str>,
) -> ProfileTrust {
    let user = user_js.and_then(enterprise_roots_pref);
    let prefs = prefs_js.and_then(enterprise_roots_pref);
    match user.or(prefs) {
        Some(true) => ProfileTrust::UsesOsStore,
        Some(false) => {
            let file = if user.is_some() { "user.js" } else { "prefs.js" };
            ProfileTrust::NeedsNss(format!("{ENTERPRISE_ROOTS_PREF} is false in {file}"))
        }
        None => match compatibility_ini.and_then(last_version_major) {
            Some(major) if major < ENTERPRISE_ROOTS_DEFAULT_SINCE => ProfileTrust::NeedsNss(format!(
                "last run by Firefox {major}, which does not trust the OS store by default"
            )),
            _ => ProfileTrust::UsesOsStore,
        },
    }
}

/// A Firefox profile folder and what it says about OS trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirefoxProfile {
    /// The profile folder.
    pub dir: PathBuf,
    /// Its folder name, e.g. `abcd1234.default-release`.
    pub name: String,
    /// Whether it uses the OS store.
    pub trust: ProfileTrust,
}

/// The profiles under a Firefox application folder (`~/Library/Application Support/Firefox`,
/// `%APPDATA%\Mozilla\Firefox`): those `profiles.ini` names, then any folder under `Profiles/`
/// holding a `prefs.js` or an NSS database. Deduplicated, existing folders only.
pub fn firefox_profiles(app_dir: &Path) -> Vec<FirefoxProfile> {
    let mut dirs = fs::read_to_string(app_dir.join("profiles.ini"))
        .map(|text| parse_profiles_ini(&text, app_dir))
        .unwrap_or_default();
    if let Ok(entries) = fs::read_dir(app_dir.join("Profiles")) {
        let mut subdirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("prefs.js").is_file() || crate::nss::has_db(p))
            .collect();
        subdirs.sort();
        dirs.extend(subdirs);
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut profiles = Vec::new();
    for dir in dirs {
        let key = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if !dir.is_dir() || seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let read = |name: &str| fs::read_to_string(dir.join(name)).ok();
        let trust = profile_trust(
            read("prefs.js").as_deref(),
            read("user.js").as_deref(),
            read("compatibility.ini").as_deref(),
        );
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        profiles.push(FirefoxProfile { dir, name, trust });
    }
    profiles
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written from Firefox's prefs.js format (not copied from a machine).
    const PREFS_OFF: &str = "// Mozilla User Preferences\n\n\
        // DO NOT EDIT THIS FILE.\n\
        user_pref(\"app.normandy.first_run\", false);\n\
        user_pref(\"security.enterprise_roots.enabled\", false);\n\
        user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);\n";

    #[test]
    fn reads_the_pref() {
        assert_eq!(enterprise_roots_pref(PREFS_OFF), Some(false));
        assert_eq!(enterprise_roots_pref("user_pref('security.enterprise_roots.enabled',true);"), Some(true));
        assert_eq!(
            enterprise_roots_pref("// user_pref(\"security.enterprise_roots.enabled\", false);"),
            None
        );
        assert_eq!(
            enterprise_roots_pref("user_pref(\"security.enterprise_roots.auto-enabled\", true);"),
            None
        );
        // The last setting wins.
        let both = "user_pref(\"security.enterprise_roots.enabled\", false);\n\
                    user_pref(\"security.enterprise_roots.enabled\", true);\n";
        assert_eq!(enterprise_roots_pref(both), Some(true));
    }

    #[test]
    fn reads_the_version() {
        let ini = "[Compatibility]\nLastVersion=115.9.1_20240312174014/20240312174014\n\
                   LastOSABI=Darwin_aarch64-gcc3\nLastPlatformDir=/Applications/Firefox.app/Contents/Resources\n";
        assert_eq!(last_version_major(ini), Some(115));
        assert_eq!(last_version_major("[Compatibility]\n"), None);
    }

    #[test]
    fn decides_per_profile() {
        assert_eq!(profile_trust(None, None, None), ProfileTrust::UsesOsStore);
        assert!(
            matches!(profile_trust(Some(PREFS_OFF), None, None), ProfileTrust::NeedsNss(r) if r.contains("prefs.js"))
        );
        let on = "user_pref(\"security.enterprise_roots.enabled\", true);";
        assert_eq!(profile_trust(Some(PREFS_OFF), Some(on), None), ProfileTrust::UsesOsStore);
        let old = "[Compatibility]\nLastVersion=102.0_20220623063721/20220623063721\n";
        assert!(
            matches!(profile_trust(None, None, Some(old)), ProfileTrust::NeedsNss(r) if r.contains("102"))
        );
        assert_eq!(profile_trust(Some(on), None, Some(old)), ProfileTrust::UsesOsStore);
    }

    #[test]
    fn finds_profiles_on_disk() {
        let app = std::env::temp_dir().join(format!("localca-ff-{}", std::process::id()));
        let a = app.join("Profiles/abcd.default-release");
        let b = app.join("Profiles/efgh.old");
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::create_dir_all(app.join("Crash Reports")).unwrap();
        fs::write(a.join("prefs.js"), "user_pref(\"browser.startup.page\", 3);\n").unwrap();
        fs::write(b.join("prefs.js"), PREFS_OFF).unwrap();
        fs::write(
            app.join("profiles.ini"),
            "[Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/abcd.default-release\nDefault=1\n\n\
             [General]\nStartWithLastProfile=1\nVersion=2\n",
        )
        .unwrap();
        let found = firefox_profiles(&app);
        let summary: Vec<(&str, bool)> =
            found.iter().map(|p| (p.name.as_str(), p.trust == ProfileTrust::UsesOsStore)).collect();
        fs::remove_dir_all(&app).unwrap();
        assert_eq!(summary, [("abcd.default-release", true), ("efgh.old", false)]);
    }
}
