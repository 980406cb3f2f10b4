//! The operating system's certificate bundle on Linux: an anchor file in the distribution's
//! folder for local roots, then the distribution's refresh tool rebuilds the bundle that curl,
//! OpenSSL, Python and most other programs read.

use std::fs;
use std::path::{Path, PathBuf};

use crate::distro::Distro;
use crate::fsutil::{io_err, write_atomic, RootPemFile};
use crate::pem::{certificates_in_file, pem_certificates, to_pem};
use crate::runner::{find_tool, run_as_root, Cmd};
use crate::{Detection, FoundRoot, RootCert, StoreError, TrustStore};

/// How one distribution family lays out its system trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemLayout {
    /// The family's name, for messages: `debian`, `fedora`, `arch`, `opensuse`.
    pub family: &'static str,
    /// Folders of local anchors; we write into the first, and look for ours in all.
    pub anchors_dirs: Vec<PathBuf>,
    /// Extension the refresh tool requires (Debian only reads `*.crt`).
    pub extension: &'static str,
    /// The generated bundle(s); the first that exists is checked.
    pub bundles: Vec<PathBuf>,
    /// The refresh tool and its arguments.
    pub refresh: Vec<&'static str>,
}

impl SystemLayout {
    /// The layouts we know, most common first.
    pub fn known() -> Vec<SystemLayout> {
        let p = |s: &str| PathBuf::from(s);
        vec![
            SystemLayout {
                family: "debian",
                anchors_dirs: vec![p("/usr/local/share/ca-certificates")],
                extension: "crt",
                bundles: vec![p("/etc/ssl/certs/ca-certificates.crt")],
                refresh: vec!["update-ca-certificates"],
            },
            SystemLayout {
                family: "fedora",
                anchors_dirs: vec![p("/etc/pki/ca-trust/source/anchors")],
                extension: "pem",
                bundles: vec![
                    p("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"),
                    p("/etc/pki/tls/certs/ca-bundle.crt"),
                ],
                refresh: vec!["update-ca-trust", "extract"],
            },
            SystemLayout {
                family: "opensuse",
                anchors_dirs: vec![p("/etc/pki/trust/anchors"), p("/usr/share/pki/trust/anchors")],
                extension: "pem",
                bundles: vec![
                    p("/var/lib/ca-certificates/ca-bundle.pem"),
                    p("/etc/ssl/ca-bundle.pem"),
                    p("/etc/ssl/certs/ca-certificates.crt"),
                ],
                refresh: vec!["update-ca-certificates"],
            },
            SystemLayout {
                family: "arch",
                anchors_dirs: vec![p("/etc/ca-certificates/trust-source/anchors")],
                extension: "crt",
                bundles: vec![
                    p("/etc/ca-certificates/extracted/tls-ca-bundle.pem"),
                    p("/etc/ssl/certs/ca-certificates.crt"),
                ],
                refresh: vec!["trust", "extract-compat"],
            },
        ]
    }

    /// The first known layout whose anchors folder and refresh tool both exist here.
    pub fn detect() -> Option<(SystemLayout, PathBuf)> {
        SystemLayout::known().into_iter().find_map(|layout| {
            if !layout.anchors_dirs.iter().any(|d| d.is_dir()) {
                return None;
            }
            let tool = find_tool(layout.refresh[0])?;
            Some((layout, tool))
        })
    }
}

/// A file name for `nickname`: spaces become `-`, other unsafe characters `_`, and it always
/// starts with `localca` so [`TrustStore::localca_roots`] finds it.
/// `localca user@host abcd1234` → `localca-user_host-abcd1234`.
pub fn file_stem(nickname: &str) -> String {
    let stem: String = nickname
        .chars()
        .map(|c| match c {
            ' ' => '-',
            c if c.is_ascii_alphanumeric() || "-_.".contains(c) => c,
            _ => '_',
        })
        .collect();
    if stem.starts_with("localca") {
        stem
    } else {
        format!("localca-{stem}")
    }
}

/// An anchor file and the certificates (DER) it holds.
type AnchorFile = (PathBuf, Vec<Vec<u8>>);

/// The system trust store, or a stand-in explaining why there is none (NixOS, unknown layouts).
#[derive(Debug, Clone)]
pub struct SystemStore {
    found: Option<(SystemLayout, PathBuf)>,
    distro: Distro,
    is_root: bool,
}

impl SystemStore {
    /// Detects the layout of this machine. `is_root` says whether changes can be made directly
    /// or must go through sudo.
    pub fn detect_here(is_root: bool) -> SystemStore {
        SystemStore { found: SystemLayout::detect(), distro: Distro::detect(), is_root }
    }

    /// A store for a given layout and refresh tool (tests, or callers that know better).
    pub fn with_layout(layout: SystemLayout, refresh_tool: PathBuf, is_root: bool) -> SystemStore {
        SystemStore { found: Some((layout, refresh_tool)), distro: Distro::Unknown, is_root }
    }

    fn layout(&self) -> Result<&(SystemLayout, PathBuf), StoreError> {
        self.found.as_ref().ok_or_else(|| match self.detect() {
            Detection::Absent { reason, .. } | Detection::Unusable { reason, .. } => {
                StoreError::Unexpected(reason)
            }
            Detection::Present => StoreError::Unexpected("no system trust store".into()),
        })
    }

    /// Where our anchor file for `root` goes.
    pub fn anchor_path(&self, root: &RootCert) -> Result<PathBuf, StoreError> {
        let (layout, _) = self.layout()?;
        let name = format!("{}.{}", file_stem(&root.nickname), layout.extension);
        Ok(layout.anchors_dirs[0].join(name))
    }

    /// Regular files in the anchors folders, with the certificates each holds.
    fn anchor_files(&self) -> Result<Vec<AnchorFile>, StoreError> {
        let (layout, _) = self.layout()?;
        let mut files = Vec::new();
        for dir in layout.anchors_dirs.iter().filter(|d| d.is_dir()) {
            let mut paths: Vec<PathBuf> = fs::read_dir(dir)
                .map_err(io_err(dir))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            paths.sort();
            for path in paths {
                // An unreadable anchor is not ours to judge; skip it.
                if let Ok(bytes) = fs::read(&path) {
                    files.push((path, certificates_in_file(&bytes)));
                }
            }
        }
        Ok(files)
    }

    /// Anchor files holding our root and nothing else: removing them removes only our root.
    fn files_holding(&self, root: &RootCert) -> Result<Vec<PathBuf>, StoreError> {
        Ok(self
            .anchor_files()?
            .into_iter()
            .filter(|(_, certs)| !certs.is_empty() && certs.iter().all(|c| *c == root.der))
            .map(|(path, _)| path)
            .collect())
    }

    /// Whether the generated bundle (the first candidate that exists) holds `root`.
    pub fn bundle_contains(&self, root: &RootCert) -> Result<bool, StoreError> {
        let (layout, _) = self.layout()?;
        let Some(bundle) = layout.bundles.iter().find(|b| b.exists()) else {
            return Ok(false);
        };
        let text = fs::read_to_string(bundle).map_err(io_err(bundle))?;
        Ok(pem_certificates(&text).contains(&root.der))
    }

    fn refresh_cmd(&self) -> Result<Cmd, StoreError> {
        let (layout, tool) = self.layout()?;
        Ok(Cmd::new(tool).args(&layout.refresh[1..]))
    }

    fn verify(&self, root: &RootCert, want: bool) -> Result<(), StoreError> {
        if self.is_installed(root)? == want {
            return Ok(());
        }
        let (layout, _) = self.layout()?;
        Err(StoreError::Unexpected(format!(
            "{} ran, but the system bundle {} the root afterwards",
            layout.refresh.join(" "),
            if want { "does not hold" } else { "still holds" },
        )))
    }
}

impl TrustStore for SystemStore {
    fn kind(&self) -> &'static str {
        "system"
    }

    fn location(&self) -> String {
        match &self.found {
            Some((layout, _)) => {
                format!("{} ({})", layout.anchors_dirs[0].display(), layout.refresh.join(" "))
            }
            None => "system trust store".into(),
        }
    }

    fn detect(&self) -> Detection {
        if self.found.is_some() {
            return Detection::Present;
        }
        if self.distro == Distro::NixOs {
            return Detection::Absent {
                reason: "NixOS builds the system trust store from its configuration".into(),
                fix: Some(
                    "export the root (PEM) and add it to security.pki.certificateFiles in \
                     configuration.nix, then run nixos-rebuild switch"
                        .into(),
                ),
            };
        }
        Detection::Absent {
            reason: "no known system trust store layout (looked for update-ca-certificates, \
                     update-ca-trust and trust with their anchors folders)"
                .into(),
            fix: Some(
                "install your distribution's ca-certificates package, or add the exported root \
                 to the system bundle by hand"
                    .into(),
            ),
        }
    }

    /// Our anchor file holds exactly our root, and the generated bundle contains it.
    fn is_installed(&self, root: &RootCert) -> Result<bool, StoreError> {
        let path = self.anchor_path(root)?;
        let ours = match fs::read(&path) {
            Ok(bytes) => certificates_in_file(&bytes) == [root.der.clone()],
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_err(&path)(e)),
        };
        Ok(ours && self.bundle_contains(root)?)
    }

    fn install(&self, root: &RootCert) -> Result<(), StoreError> {
        if self.is_installed(root)? {
            return Ok(());
        }
        let dest = self.anchor_path(root)?;
        let pem = to_pem(&root.der);
        let refresh = self.refresh_cmd()?;
        if self.is_root {
            write_atomic(&dest, pem.as_bytes(), 0o644)?;
            refresh.run()?;
        } else {
            let mut tmp = RootPemFile::new(root, self.is_root)?;
            let copy = Cmd::new("install").args(["-m", "0644"]).arg(tmp.path()).arg(&dest);
            let why = format!("adding the root to {}", self.location());
            if let Err(e) = run_as_root(false, "system", &why, &[copy, refresh]) {
                // The printed commands name the file: a temporary one stays for the user.
                if matches!(e, StoreError::NeedsRoot { .. }) {
                    tmp.keep();
                }
                return Err(e);
            }
        }
        self.verify(root, true)
    }

    /// Removes every anchor file holding only our root, then refreshes the bundle.
    ///
    /// On Debian the ca-certificates-java hook added the root to `/etc/ssl/certs/java/cacerts`
    /// on install but does not remove it here: the Java store's uninstall does (by fingerprint,
    /// whatever alias the hook chose), so callers uninstall Java after the system store.
    fn uninstall(&self, root: &RootCert) -> Result<(), StoreError> {
        let files = self.files_holding(root)?;
        if files.is_empty() && !self.bundle_contains(root)? {
            return Ok(());
        }
        let refresh = self.refresh_cmd()?;
        let mut doomed = files.clone();
        doomed.extend(links_to(Path::new(CERTS_LINK_DIR), &files));
        if self.is_root {
            for f in &doomed {
                fs::remove_file(f).map_err(io_err(f))?;
            }
            refresh.run()?;
        } else {
            let mut cmds: Vec<Cmd> = doomed.iter().map(|f| Cmd::new("rm").arg("-f").arg(f)).collect();
            cmds.push(refresh);
            let why = format!("removing the root from {}", self.location());
            run_as_root(false, "system", &why, &cmds)?;
        }
        self.verify(root, false)
    }

    /// Anchor files whose name starts with `localca`.
    fn localca_roots(&self) -> Result<Vec<FoundRoot>, StoreError> {
        if self.found.is_none() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for (path, certs) in self.anchor_files()? {
            let name = file_name(&path);
            if name.starts_with("localca") {
                found.extend(certs.into_iter().map(|der| FoundRoot { label: name.clone(), der }));
            }
        }
        Ok(found)
    }
}

/// Where `update-ca-certificates` (Debian, openSUSE) links each anchor, with OpenSSL hash links.
const CERTS_LINK_DIR: &str = "/etc/ssl/certs";

/// Symlinks in `dir` that lead to one of `files`: the anchor's link, and the hash links to that
/// link. `update-ca-certificates` prunes them only when something else changes in the same run,
/// so without this an uninstall leaves them dangling.
fn links_to(dir: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let links: Vec<(PathBuf, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| fs::read_link(&p).ok().map(|target| (p, dir.join(target))))
        .collect();
    let direct: Vec<PathBuf> =
        links.iter().filter(|(_, target)| files.contains(target)).map(|(p, _)| p.clone()).collect();
    let hashed = links.iter().filter(|(_, target)| direct.contains(target)).map(|(p, _)| p.clone());
    let mut all = direct.clone();
    all.extend(hashed);
    all
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("localca user@host abcd1234"), "localca-user_host-abcd1234");
        assert_eq!(file_stem("x/../y é"), "localca-x_.._y-_");
    }

    #[test]
    fn absent_store_explains_itself() {
        let store = SystemStore { found: None, distro: Distro::NixOs, is_root: true };
        match store.detect() {
            Detection::Absent { fix, .. } => {
                assert!(fix.unwrap().contains("security.pki.certificateFiles"))
            }
            other => panic!("should be absent, got {other:?}"),
        }
        assert!(store.localca_roots().unwrap().is_empty());
    }

    #[test]
    fn finds_the_anchor_link_and_its_hash_link_only() {
        let dir = tempfile::tempdir().unwrap();
        let anchor = dir.path().join("localca-x.crt");
        fs::write(&anchor, "x").unwrap();
        let other = dir.path().join("other.crt");
        fs::write(&other, "y").unwrap();
        let certs = dir.path().join("certs");
        fs::create_dir(&certs).unwrap();
        std::os::unix::fs::symlink(&anchor, certs.join("localca-x.pem")).unwrap();
        std::os::unix::fs::symlink("localca-x.pem", certs.join("abcd1234.0")).unwrap();
        std::os::unix::fs::symlink(&other, certs.join("other.pem")).unwrap();
        std::os::unix::fs::symlink("other.pem", certs.join("ffff0000.0")).unwrap();
        let mut found = links_to(&certs, &[anchor]);
        found.sort();
        assert_eq!(found, vec![certs.join("abcd1234.0"), certs.join("localca-x.pem")]);
    }
}
