//! NSS databases, changed with `certutil`: Firefox and Thunderbird profiles everywhere on Linux,
//! and the shared database that Chromium and Chrome on Linux take user roots from.

use std::fs;
use std::path::{Path, PathBuf};

use crate::distro::Distro;
use crate::fsutil::{io_err, TempFile};
use crate::pem::{normalize_fingerprint, pem_certificates, to_pem};
use crate::privilege::AsUser;
use crate::runner::{find_tool, Cmd};
use crate::{Detection, FoundRoot, RootCert, StoreError, TrustStore};

mod discovery;
pub use discovery::{
    chromium_installed, discover, firefox_installed, has_firefox_profile, parse_profiles_ini, NssLocation,
};

/// Whether `dir` holds an NSS database (SQL `cert9.db` or legacy DBM `cert8.db`).
pub fn has_db(dir: &Path) -> bool {
    dir.join("cert9.db").is_file() || dir.join("cert8.db").is_file()
}

/// One entry of `certutil -L`: a nickname and its trust attributes (`SSL,S/MIME,JAR/XPI`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCert {
    /// The nickname (may contain spaces).
    pub nickname: String,
    /// Trust attributes as printed, e.g. `C,,` or `CT,C,C`.
    pub trust: String,
}

/// Parses `certutil -L -d DB`: a two-line header, then one line per certificate with the
/// nickname padded to a column and the trust attributes as the last word.
pub fn parse_list(text: &str) -> Vec<ListedCert> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_end();
            let (nickname, trust) = line.rsplit_once(char::is_whitespace)?;
            let nickname = nickname.trim();
            // Trust is three comma-separated fields of flag letters; this also skips the header.
            let is_trust =
                trust.split(',').count() == 3 && trust.chars().all(|c| c == ',' || c.is_ascii_alphabetic());
            (is_trust && !nickname.is_empty())
                .then(|| ListedCert { nickname: nickname.to_string(), trust: trust.to_string() })
        })
        .collect()
}

/// What `certutil -L -d DB -n NICK` says about one certificate under a nickname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertDetail {
    /// SHA-256 fingerprint, lower-case hex.
    pub sha256_hex: String,
    /// Whether the SSL trust flags include "Trusted CA" (the `C` of `C,,`).
    pub ssl_trusted_ca: bool,
}

/// Parses `certutil -L -d DB -n NICK`: one `Certificate:` block per certificate under the
/// nickname, in the order `certutil -D` deletes them (first block first).
pub fn parse_details(text: &str) -> Vec<CertDetail> {
    let mut certs = Vec::new();
    let mut lines = text.lines().peekable();
    let mut current: Option<CertDetail> = None;
    let mut in_ssl_flags = false;
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if line.starts_with("Certificate:") {
            certs.extend(current.take());
            current = Some(CertDetail { sha256_hex: String::new(), ssl_trusted_ca: false });
            in_ssl_flags = false;
            continue;
        }
        let Some(cert) = current.as_mut() else {
            continue;
        };
        if trimmed == "Fingerprint (SHA-256):" {
            if let Some(next) = lines.next() {
                cert.sha256_hex = normalize_fingerprint(next);
            }
        } else if trimmed == "SSL Flags:" {
            in_ssl_flags = true;
        } else if trimmed.ends_with("Flags:") {
            in_ssl_flags = false;
        } else if in_ssl_flags && trimmed == "Trusted CA" {
            cert.ssl_trusted_ca = true;
        }
    }
    certs.extend(current);
    certs
}

/// One NSS database.
///
/// Under sudo (`owner` set and running as root) every operation runs as the user
/// ([`AsUser`]): files are checked and created with the user's permissions and `certutil` runs as
/// the user, so a symlink the user planted (a profile folder pointing at a root-owned database,
/// a `pkcs11.txt` naming a library) gains nothing, and nothing needs to be chowned afterwards.
#[derive(Debug, Clone)]
pub struct NssStore {
    location: NssLocation,
    certutil: Option<PathBuf>,
    distro: Distro,
    owner: Option<(u32, u32)>,
}

impl NssStore {
    /// A store for `location`; `owner` is the (uid, gid) of the user to act as when we run as
    /// root for another user (under sudo).
    pub fn new(location: NssLocation, owner: Option<(u32, u32)>) -> NssStore {
        NssStore { location, certutil: find_tool("certutil"), distro: Distro::detect(), owner }
    }

    /// The `-d` argument: `sql:DIR` for cert9.db (and new databases), `dbm:DIR` for cert8.db.
    fn db_arg(&self) -> String {
        let dir = &self.location.dir;
        let prefix =
            if !dir.join("cert9.db").exists() && dir.join("cert8.db").exists() { "dbm" } else { "sql" };
        format!("{prefix}:{}", dir.display())
    }

    fn certutil(&self) -> Result<Cmd, StoreError> {
        let tool = self.certutil.as_ref().ok_or_else(|| StoreError::ToolMissing {
            tool: "certutil".into(),
            package: Some(self.distro.certutil_package().into()),
        })?;
        Ok(Cmd::new(tool).arg("-d").arg(self.db_arg()))
    }

    /// Whether there is a database to read (a database to be created is not there yet).
    fn exists(&self) -> bool {
        has_db(&self.location.dir)
    }

    fn list(&self) -> Result<Vec<ListedCert>, StoreError> {
        Ok(parse_list(&self.certutil()?.arg("-L").run()?.stdout))
    }

    /// The certificates under `nickname`, first the one `certutil -D` would delete.
    fn details(&self, nickname: &str) -> Result<Vec<CertDetail>, StoreError> {
        let cmd = self.certutil()?.arg("-L").arg("-n").arg(nickname);
        let out = cmd.output()?;
        if out.success {
            Ok(parse_details(&out.stdout))
        } else if out.stderr.contains("Could not find cert")
            || out.stderr.contains("could not find certificate")
        {
            Ok(Vec::new())
        } else {
            Err(cmd.failed(&out))
        }
    }

    /// Nicknames under which `root` is stored, with its details. NSS keeps one nickname per
    /// certificate, so a root added earlier under another name keeps that name: besides ours,
    /// look at `localca*` nicknames and at every trusted CA (few; cached intermediates are not).
    fn find(&self, root: &RootCert) -> Result<Vec<(String, CertDetail)>, StoreError> {
        if !self.exists() {
            return Ok(Vec::new());
        }
        let mut nicknames = vec![root.nickname.clone()];
        for entry in self.list()? {
            let candidate = entry.nickname.to_lowercase().starts_with("localca") || entry.trust.contains('C');
            if candidate && !nicknames.contains(&entry.nickname) {
                nicknames.push(entry.nickname);
            }
        }
        let mut found = Vec::new();
        for nick in nicknames {
            for detail in self.details(&nick)? {
                if detail.sha256_hex == root.sha256_hex {
                    found.push((nick.clone(), detail));
                }
            }
        }
        Ok(found)
    }

    /// Switches to the user for the rest of the caller's scope (see [`NssStore`]).
    fn as_user(&self) -> Result<AsUser, StoreError> {
        AsUser::enter(self.owner).map_err(io_err(&self.location.dir))
    }

    /// Creates the database folder (0700, like NSS) and an empty database without password.
    fn create_db(&self) -> Result<(), StoreError> {
        let dir = &self.location.dir;
        let mut missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
        missing.reverse();
        for path in missing {
            create_private_dir(path)?;
        }
        self.certutil()?.args(["-N", "--empty-password"]).run().map(drop)
    }
}

fn create_private_dir(path: &Path) -> Result<(), StoreError> {
    #[cfg_attr(not(unix), allow(unused_mut))] // only Unix sets a mode
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(io_err(path))
}

impl TrustStore for NssStore {
    fn kind(&self) -> &'static str {
        "nss"
    }

    fn location(&self) -> String {
        format!("{} ({})", self.location.dir.display(), self.location.label)
    }

    fn detect(&self) -> Detection {
        let _user = self.as_user();
        if !self.exists() && !self.location.create_on_install {
            return Detection::Absent {
                reason: format!("no NSS database in {}", self.location.dir.display()),
                fix: None,
            };
        }
        if self.certutil.is_none() {
            return Detection::Unusable {
                reason: "certutil not found".into(),
                fix: format!("install {}", self.distro.certutil_package()),
            };
        }
        Detection::Present
    }

    /// Our root is in the database and trusted to issue TLS server certificates (`C` in SSL).
    fn is_installed(&self, root: &RootCert) -> Result<bool, StoreError> {
        let _user = self.as_user()?;
        if !self.exists() {
            return Ok(false);
        }
        // The common case costs one certutil run.
        if self.details(&root.nickname)?.iter().any(|d| d.sha256_hex == root.sha256_hex && d.ssl_trusted_ca) {
            return Ok(true);
        }
        Ok(self.find(root)?.iter().any(|(_, d)| d.ssl_trusted_ca))
    }

    fn install(&self, root: &RootCert) -> Result<(), StoreError> {
        let _user = self.as_user()?;
        if self.is_installed(root)? {
            return Ok(());
        }
        if !self.exists() {
            if !self.location.create_on_install {
                return Err(StoreError::Unexpected(format!(
                    "no NSS database in {}",
                    self.location.dir.display()
                )));
            }
            self.create_db()?;
        }
        let pem = TempFile::new(to_pem(&root.der).as_bytes(), ".pem")?;
        self.certutil()?
            .args(["-A", "-t", "C,,", "-n"])
            .arg(&root.nickname)
            .arg("-i")
            .arg(pem.path())
            .run()?;
        if !self.is_installed(root)? {
            return Err(StoreError::Unexpected(format!(
                "certutil added the root to {} but it is not trusted as a CA (C,,) afterwards",
                self.db_arg()
            )));
        }
        Ok(())
    }

    /// Deletes our root under every nickname it has, checking the fingerprint before each
    /// delete: `certutil -D` removes the first certificate listed under a nickname, which could
    /// be someone else's if a nickname is shared.
    fn uninstall(&self, root: &RootCert) -> Result<(), StoreError> {
        let _user = self.as_user()?;
        let mut nicknames: Vec<String> = self.find(root)?.into_iter().map(|(n, _)| n).collect();
        nicknames.dedup();
        for nick in &nicknames {
            // Bounded: each round removes one certificate or stops.
            for _ in 0..64 {
                let details = self.details(nick)?;
                let Some(first) = details.first() else { break };
                if first.sha256_hex != root.sha256_hex {
                    if details.iter().any(|d| d.sha256_hex == root.sha256_hex) {
                        return Err(StoreError::Unexpected(format!(
                            "in {}, nickname \"{nick}\" also holds another certificate that \
                                 certutil would delete first; remove the root by hand",
                            self.db_arg()
                        )));
                    }
                    break;
                }
                self.certutil()?.arg("-D").arg("-n").arg(nick).run()?;
            }
        }
        if !self.find(root)?.is_empty() {
            return Err(StoreError::Unexpected(format!(
                "certutil deleted the root from {} but it is still listed",
                self.db_arg()
            )));
        }
        Ok(())
    }

    /// Certificates under nicknames starting with `localca`, exported as PEM.
    fn localca_roots(&self) -> Result<Vec<FoundRoot>, StoreError> {
        let _user = self.as_user()?;
        if !self.exists() {
            return Ok(Vec::new());
        }
        let mut nicknames: Vec<String> = self
            .list()?
            .into_iter()
            .map(|c| c.nickname)
            .filter(|n| n.to_lowercase().starts_with("localca"))
            .collect();
        nicknames.dedup();
        let mut found = Vec::new();
        for nick in nicknames {
            let out = self.certutil()?.args(["-L", "-a", "-n"]).arg(&nick).run()?;
            found.extend(
                pem_certificates(&out.stdout).into_iter().map(|der| FoundRoot { label: nick.clone(), der }),
            );
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = include_str!("../../tests/fixtures/certutil-list.txt");
    const DETAILS_TWO: &str = include_str!("../../tests/fixtures/certutil-details-two.txt");

    #[test]
    fn parses_real_listing() {
        let list = parse_list(LIST);
        let pairs: Vec<(&str, &str)> = list.iter().map(|c| (c.nickname.as_str(), c.trust.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("localca root@host abcd1234", "c,,"),
                ("localca root@host abcd1234", "C,,"),
                ("Some Intermediate", ",,"),
            ]
        );
        assert!(parse_list("").is_empty());
    }

    #[test]
    fn parses_real_details_with_two_certificates() {
        let details = parse_details(DETAILS_TWO);
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].sha256_hex, "cb747a05b63ae953b5d2e8f5492bfd346adaa71ae28f484a62b1552ef4813569");
        assert!(details[0].ssl_trusted_ca);
        assert_eq!(details[1].sha256_hex, "9bbd0e557961e740ac64fd74e43e7ef6b498955a65e1fe9504079610da551967");
        assert!(!details[1].ssl_trusted_ca);
    }
}
