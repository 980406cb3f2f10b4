//! Java keystores (`cacerts`), changed with `keytool`. Java ignores the system bundle: each JDK
//! reads its own keystore (on Debian, all JDKs share `/etc/ssl/certs/java/cacerts`).

use std::path::{Path, PathBuf};

use crate::fsutil::RootPemFile;
use crate::pem::pem_certificates;
use crate::runner::{find_tool, run_as_root, Cmd};
use crate::{Detection, FoundRoot, RootCert, StoreError, TrustStore};

/// The password every JDK ships its `cacerts` with.
const STOREPASS: &str = "changeit";

/// One entry of `keytool -list -rfc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreEntry {
    /// The alias (keytool prints it lower-cased for JKS keystores).
    pub alias: String,
    /// Whether it is a `trustedCertEntry` (a trust anchor) rather than a key entry.
    pub trusted_cert: bool,
    /// The certificate(s), DER: one for a trusted entry, the chain for a key entry.
    pub certs: Vec<Vec<u8>>,
}

/// Parses `keytool -list -rfc`: `Alias name:` and `Entry type:` lines, then PEM certificates.
pub fn parse_list_rfc(text: &str) -> Vec<KeystoreEntry> {
    let mut entries = Vec::new();
    let mut current: Option<(KeystoreEntry, String)> = None;
    let mut finish = |current: Option<(KeystoreEntry, String)>| {
        if let Some((mut entry, pem)) = current {
            entry.certs = pem_certificates(&pem);
            entries.push(entry);
        }
    };
    for line in text.lines() {
        if let Some(alias) = line.strip_prefix("Alias name: ") {
            finish(current.take());
            let entry = KeystoreEntry { alias: alias.to_string(), trusted_cert: false, certs: Vec::new() };
            current = Some((entry, String::new()));
        } else if let Some((entry, pem)) = current.as_mut() {
            if let Some(kind) = line.strip_prefix("Entry type: ") {
                entry.trusted_cert = kind.trim() == "trustedCertEntry";
            } else {
                pem.push_str(line);
                pem.push('\n');
            }
        }
    }
    finish(current);
    entries
}

/// A `cacerts` keystore found on this machine, and the keytool to change it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// The keystore file, symlinks resolved (so two JDKs sharing one file count once).
    pub path: PathBuf,
    /// keytool from the same JDK if it has one, else from `PATH`.
    pub keytool: Option<PathBuf>,
}

/// The JDK root for a `java` binary: `…/bin/java` → `…`, symlinks resolved (Debian's
/// `/usr/bin/java` goes through `/etc/alternatives`).
fn jdk_root_of(java: &Path) -> Option<PathBuf> {
    let real = java.canonicalize().ok()?;
    Some(real.parent()?.parent()?.to_path_buf())
}

/// Keystores of the JDK at `root` (modern layout, and the `jre/` one of Java 8).
fn keystores_in_jdk(root: &Path) -> Vec<Keystore> {
    // `keytool.exe` on Windows.
    let keytool = ["bin/keytool", "jre/bin/keytool", "../bin/keytool"]
        .iter()
        .map(|rel| root.join(format!("{rel}{}", std::env::consts::EXE_SUFFIX)))
        .find(|p| p.is_file());
    ["lib/security/cacerts", "jre/lib/security/cacerts"]
        .iter()
        .map(|rel| root.join(rel))
        .filter(|p| p.is_file())
        .map(|path| Keystore { path, keytool: keytool.clone() })
        .collect()
}

/// Every keystore: `$JAVA_HOME`'s, the one of `java` on `PATH`, and on Linux Debian's shared
/// `/etc/ssl/certs/java/cacerts`. Canonicalized and deduplicated.
pub fn discover(java_home: Option<&Path>) -> Vec<Keystore> {
    let mut candidates: Vec<Keystore> = Vec::new();
    if let Some(home) = java_home {
        candidates.extend(keystores_in_jdk(home));
    }
    if let Some(root) = which::which("java").ok().and_then(|j| jdk_root_of(&j)) {
        candidates.extend(keystores_in_jdk(&root));
    }
    #[cfg(target_os = "linux")]
    candidates.push(Keystore { path: PathBuf::from("/etc/ssl/certs/java/cacerts"), keytool: None });
    let path_keytool = find_tool("keytool");
    let mut found: Vec<Keystore> = Vec::new();
    for c in candidates {
        let Ok(path) = c.path.canonicalize() else {
            continue;
        };
        match found.iter_mut().find(|k| k.path == path) {
            Some(k) => {
                if k.keytool.is_none() {
                    k.keytool = c.keytool;
                }
            }
            None => found.push(Keystore { path, keytool: c.keytool }),
        }
    }
    for k in &mut found {
        if k.keytool.is_none() {
            k.keytool = path_keytool.clone();
        }
    }
    found
}

/// One Java keystore, or a stand-in saying why there is none.
#[derive(Debug, Clone)]
pub struct JavaStore {
    keystore: Option<Keystore>,
    is_root: bool,
}

impl JavaStore {
    /// A store for `keystore`; `is_root` says whether a root-owned keystore can be changed
    /// directly or needs sudo.
    pub fn new(keystore: Keystore, is_root: bool) -> JavaStore {
        JavaStore { keystore: Some(keystore), is_root }
    }

    /// The stand-in when no JDK was found: detect() is Absent.
    pub fn none() -> JavaStore {
        JavaStore { keystore: None, is_root: false }
    }

    fn keystore(&self) -> Result<&Keystore, StoreError> {
        self.keystore.as_ref().ok_or_else(|| StoreError::Unexpected("no JDK found".into()))
    }

    /// keytool with English output and the keystore arguments.
    fn keytool(&self) -> Result<Cmd, StoreError> {
        let ks = self.keystore()?;
        let tool = ks.keytool.as_ref().ok_or_else(|| StoreError::ToolMissing {
            tool: "keytool".into(),
            package: Some("a JDK".into()),
        })?;
        Ok(Cmd::new(tool)
            .args(["-J-Duser.language=en", "-J-Duser.country=US"])
            // Shorter JVM start: keytool runs briefly, several times per command.
            .args(["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"])
            // No /tmp/hsperfdata_USER folder left behind for a tool run that nobody monitors.
            .arg("-J-XX:-UsePerfData")
            .args(["-storepass", STOREPASS, "-keystore"])
            .arg(&ks.path))
    }

    fn entries(&self) -> Result<Vec<KeystoreEntry>, StoreError> {
        // A JKS file (Debian's cacerts) is read directly: no JVM start for a read-only check.
        if let Ok(bytes) = std::fs::read(&self.keystore()?.path) {
            if let Some(entries) = crate::jks::parse_jks(&bytes) {
                return Ok(entries);
            }
        }
        let out = self.keytool()?.args(["-list", "-rfc"]).run()?;
        Ok(parse_list_rfc(&out.stdout))
    }

    /// Aliases of trusted entries holding exactly our root, whatever they are called (Debian's
    /// hook files it as `debian:<file>.pem`).
    fn aliases_of(&self, root: &RootCert) -> Result<Vec<String>, StoreError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.trusted_cert && e.certs.first() == Some(&root.der))
            .map(|e| e.alias)
            .collect())
    }

    /// Runs keytool commands that change the keystore: directly when we may write it,
    /// else through sudo. The file keeps its owner.
    fn change(&self, why: &str, cmds: &[Cmd]) -> Result<(), StoreError> {
        let path = &self.keystore()?.path;
        let writable = std::fs::OpenOptions::new().write(true).open(path).is_ok();
        #[cfg(unix)]
        let owner = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid()))
        };
        let result = if writable {
            cmds.iter().try_for_each(|c| c.run().map(drop))
        } else {
            run_as_root(self.is_root, "java", why, cmds).map(drop)
        };
        // keytool may replace the file; as root that would hand a user's keystore to root.
        #[cfg(unix)]
        if writable && self.is_root {
            crate::fsutil::chown_to(path, owner)?;
        }
        result
    }
}

impl TrustStore for JavaStore {
    fn kind(&self) -> &'static str {
        "java"
    }

    fn location(&self) -> String {
        match &self.keystore {
            Some(ks) => ks.path.display().to_string(),
            None => "Java (no JDK found)".into(),
        }
    }

    fn detect(&self) -> Detection {
        let Some(ks) = &self.keystore else {
            return Detection::Absent {
                reason: "no JDK found (no $JAVA_HOME, no java on PATH, no shared cacerts)".into(),
                fix: None,
            };
        };
        if let Err(e) = std::fs::File::open(&ks.path) {
            return Detection::Absent {
                reason: format!("cannot read {}: {e}", ks.path.display()),
                fix: None,
            };
        }
        if ks.keytool.is_none() {
            return Detection::Unusable {
                reason: "keytool not found".into(),
                fix: "install a JDK (it provides keytool) or set JAVA_HOME".into(),
            };
        }
        Detection::Present
    }

    /// A trusted entry holds exactly our root's bytes.
    fn is_installed(&self, root: &RootCert) -> Result<bool, StoreError> {
        Ok(!self.aliases_of(root)?.is_empty())
    }

    fn install(&self, root: &RootCert) -> Result<(), StoreError> {
        if self.is_installed(root)? {
            return Ok(());
        }
        let mut pem = RootPemFile::new(root, self.is_root)?;
        let import = self
            .keytool()?
            .args(["-importcert", "-noprompt", "-alias"])
            .arg(&root.nickname)
            .arg("-file")
            .arg(pem.path());
        let why = format!("adding the root to {}", self.location());
        if let Err(e) = self.change(&why, &[import]) {
            if matches!(e, StoreError::NeedsRoot { .. }) {
                pem.keep();
            }
            return Err(e);
        }
        if !self.is_installed(root)? {
            return Err(StoreError::Unexpected(format!(
                "keytool imported the root into {} but it is not listed afterwards",
                self.location()
            )));
        }
        Ok(())
    }

    /// Deletes every alias whose certificate is our root.
    fn uninstall(&self, root: &RootCert) -> Result<(), StoreError> {
        let aliases = self.aliases_of(root)?;
        if aliases.is_empty() {
            return Ok(());
        }
        let cmds: Vec<Cmd> = aliases
            .iter()
            .map(|a| Ok(self.keytool()?.args(["-delete", "-alias"]).arg(a)))
            .collect::<Result<_, StoreError>>()?;
        let why = format!("removing the root from {}", self.location());
        self.change(&why, &cmds)?;
        if self.is_installed(root)? {
            return Err(StoreError::Unexpected(format!(
                "keytool deleted the root from {} but it is still listed",
                self.location()
            )));
        }
        Ok(())
    }

    /// Entries whose alias contains `localca`, any case (`debian:localca-….pem` included).
    fn localca_roots(&self) -> Result<Vec<FoundRoot>, StoreError> {
        if self.keystore.is_none() {
            return Ok(Vec::new());
        }
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.alias.to_lowercase().contains("localca"))
            .filter_map(|e| {
                let der = e.certs.into_iter().next()?;
                Some(FoundRoot { label: e.alias, der })
            })
            .collect())
    }
}

/// One store per keystore, or a stand-in whose detect() says no JDK was found.
pub fn stores(keystores: Vec<Keystore>, is_root: bool) -> Vec<Box<dyn TrustStore>> {
    if keystores.is_empty() {
        return vec![Box::new(JavaStore::none())];
    }
    keystores.into_iter().map(|k| Box::new(JavaStore::new(k, is_root)) as Box<dyn TrustStore>).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_list_rfc() {
        let text = include_str!("../tests/fixtures/keytool-list-rfc.txt");
        let ours = pem_certificates(include_str!("../tests/fixtures/c.pem"));
        let other = pem_certificates(include_str!("../tests/fixtures/c2.pem"));
        let entries = parse_list_rfc(text);
        let summary: Vec<(&str, bool, usize)> =
            entries.iter().map(|e| (e.alias.as_str(), e.trusted_cert, e.certs.len())).collect();
        assert_eq!(
            summary,
            [
                ("dup", true, 1),
                ("localca root@host abcd1234", true, 1),
                ("mykey", false, 1),
                ("other", true, 1),
            ]
        );
        assert_eq!(entries[0].certs, ours);
        assert_eq!(entries[1].certs, ours);
        assert_eq!(entries[3].certs, other);
    }

    #[test]
    fn absent_without_jdk() {
        let store = JavaStore::none();
        assert!(matches!(store.detect(), Detection::Absent { .. }));
        assert!(store.localca_roots().unwrap().is_empty());
    }
}
