//! macOS: the keychain with trust settings, changed with `/usr/bin/security`.
//!
//! [`Scope::User`] adds the root to the login keychain with *user* trust settings (no admin
//! rights; macOS asks the user to confirm); [`Scope::Machine`] adds it to the System keychain
//! with *admin* trust settings (`-d`, through sudo). Trust is checked in the trust settings
//! themselves (`security trust-settings-export`), not just by the certificate being present.
//!
//! Everything that builds a command line or reads `security`'s output is a plain function
//! compiled on every platform, so it is unit-tested on Linux; only [`macos_stores`] is macOS-only
//! in practice (it is compiled everywhere too, and would find no `security` tool elsewhere).

use std::path::{Path, PathBuf};

use crate::context::{Scope, StoreContext};
use crate::fsutil::{RootPemFile, TempFile};
use crate::pem::{normalize_fingerprint, pem_certificates};
use crate::plist::{self, Value};
use crate::runner::{run_as_root, Cmd, Output};
use crate::{Detection, FoundRoot, RootCert, StoreError, TrustStore};

/// Where macOS keeps the `security` tool.
pub const SECURITY: &str = "/usr/bin/security";

/// The machine-wide keychain.
pub const SYSTEM_KEYCHAIN: &str = "/Library/Keychains/System.keychain";

/// The policy OID of `kSecPolicyAppleSSL` (1.2.840.113635.100.1.3) as trust settings store it:
/// the OID's DER content bytes, without tag and length.
pub const SSL_POLICY_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x63, 0x64, 0x01, 0x03];

/// The user's login keychain: `login.keychain-db` (macOS 10.12+), else the older `login.keychain`.
pub fn login_keychain(home: &Path) -> PathBuf {
    let dir = home.join("Library/Keychains");
    let legacy = dir.join("login.keychain");
    if !dir.join("login.keychain-db").exists() && legacy.exists() {
        legacy
    } else {
        dir.join("login.keychain-db")
    }
}

/// `security add-trusted-cert [-d] -r trustRoot -p ssl -p basic -k KEYCHAIN FILE`: adds the
/// certificate to the keychain and trusts it as a root for TLS and basic X.509, in the admin
/// trust-settings domain (`-d`) for the machine, in the user's domain otherwise.
pub fn add_trusted_cert_cmd(security: &Path, scope: Scope, keychain: &Path, file: &Path) -> Cmd {
    let mut cmd = Cmd::new(security).arg("add-trusted-cert");
    if scope == Scope::Machine {
        cmd = cmd.arg("-d");
    }
    cmd.args(["-r", "trustRoot", "-p", "ssl", "-p", "basic", "-k"]).arg(keychain).arg(file)
}

/// `security remove-trusted-cert [-d] FILE`: removes the certificate's trust settings from the
/// domain of `scope` (the certificate stays in its keychain).
pub fn remove_trusted_cert_cmd(security: &Path, scope: Scope, file: &Path) -> Cmd {
    let mut cmd = Cmd::new(security).arg("remove-trusted-cert");
    if scope == Scope::Machine {
        cmd = cmd.arg("-d");
    }
    cmd.arg(file)
}

/// `security delete-certificate -Z SHA1 KEYCHAIN`: deletes the certificate with that SHA-1.
pub fn delete_certificate_cmd(security: &Path, sha1_hex: &str, keychain: &Path) -> Cmd {
    Cmd::new(security).args(["delete-certificate", "-Z"]).arg(sha1_hex.to_uppercase()).arg(keychain)
}

/// `security find-certificate -a [-c NAME] -Z -p KEYCHAIN`: every certificate (whose name
/// contains `name`) with its SHA-256 and SHA-1 hashes and its PEM.
pub fn find_certificates_cmd(security: &Path, name: Option<&str>, keychain: &Path) -> Cmd {
    let mut cmd = Cmd::new(security).args(["find-certificate", "-a"]);
    if let Some(name) = name {
        cmd = cmd.arg("-c").arg(name);
    }
    cmd.args(["-Z", "-p"]).arg(keychain)
}

/// `security trust-settings-export [-d] FILE`: writes the trust settings of the domain of `scope`
/// to FILE as an XML property list.
pub fn trust_settings_export_cmd(security: &Path, scope: Scope, file: &Path) -> Cmd {
    let mut cmd = Cmd::new(security).arg("trust-settings-export");
    if scope == Scope::Machine {
        cmd = cmd.arg("-d");
    }
    cmd.arg(file)
}

/// One certificate printed by `security find-certificate -a -Z -p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeychainCert {
    /// SHA-256 of the DER, lower-case hex (older macOS prints no SHA-256 line).
    pub sha256_hex: Option<String>,
    /// SHA-1 of the DER, lower-case hex: what `delete-certificate -Z` and trust settings use.
    pub sha1_hex: String,
    /// The keychain label (`"labl"` attribute), when the output has attributes.
    pub label: Option<String>,
    /// The certificate, from the PEM block.
    pub der: Option<Vec<u8>>,
}

impl KeychainCert {
    /// Whether this is `root`: same bytes, or (without a PEM block) same SHA-256.
    pub fn is(&self, root: &RootCert) -> bool {
        match &self.der {
            Some(der) => *der == root.der,
            None => self.sha256_hex.as_deref() == Some(root.sha256_hex.as_str()),
        }
    }
}

/// Parses `security find-certificate -a -Z [-p]` output: per certificate a `SHA-256 hash:` line
/// (macOS 10.13+), a `SHA-1 hash:` line, with `-p` the PEM, without it the keychain attributes
/// (whose `"labl"` gives the label). A new hash line after a complete entry starts the next one.
pub fn parse_find_certificate(text: &str) -> Vec<KeychainCert> {
    let mut certs: Vec<KeychainCert> = Vec::new();
    let mut current: Option<KeychainCert> = None;
    let mut pem: Option<String> = None;
    let new_cert = || KeychainCert { sha256_hex: None, sha1_hex: String::new(), label: None, der: None };
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(body) = pem.as_mut() {
            body.push_str(trimmed);
            body.push('\n');
            if trimmed.starts_with("-----END ") {
                let der = pem_certificates(body).into_iter().next();
                current.get_or_insert_with(new_cert).der = der;
                pem = None;
            }
        } else if trimmed.starts_with("-----BEGIN CERTIFICATE-----") {
            pem = Some(format!("{trimmed}\n"));
        } else if let Some(hash) = trimmed.strip_prefix("SHA-256 hash:") {
            certs.extend(current.take());
            current = Some(KeychainCert { sha256_hex: Some(normalize_fingerprint(hash)), ..new_cert() });
        } else if let Some(hash) = trimmed.strip_prefix("SHA-1 hash:") {
            let starts_new = current.as_ref().is_none_or(|c| !c.sha1_hex.is_empty() || c.der.is_some());
            if starts_new {
                certs.extend(current.take());
            }
            current.get_or_insert_with(new_cert).sha1_hex = normalize_fingerprint(hash);
        } else if let Some(value) = trimmed.strip_prefix("\"labl\"<blob>=") {
            if let Some(label) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                current.get_or_insert_with(new_cert).label = Some(label.to_string());
            }
        }
    }
    certs.extend(current);
    certs.retain(|c| !c.sha1_hex.is_empty() || c.der.is_some());
    certs
}

/// The trust settings of one certificate in an exported trust-settings property list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertTrust {
    /// The certificate's SHA-1, lower-case hex (the key of its `trustList` entry).
    pub sha1_hex: String,
    /// Whether the settings make it a trusted root for TLS servers.
    pub ssl_trusted: bool,
}

/// Whether one usage constraint (a dict of the `trustSettings` array) applies to TLS: no policy
/// means every policy.
fn applies_to_ssl(constraint: &Value) -> bool {
    let by_oid = match plist::get(constraint, "kSecTrustSettingsPolicy") {
        None => None,
        Some(Value::Data(oid)) => Some(oid.as_slice() == SSL_POLICY_OID),
        Some(_) => Some(false),
    };
    let by_name = match plist::get(constraint, "kSecTrustSettingsPolicyName") {
        None => None,
        Some(Value::String(name)) => Some(name == "sslServer"),
        Some(_) => Some(false),
    };
    // Restricted to one application or one host name: not a general trust.
    let restricted = plist::get(constraint, "kSecTrustSettingsApplication").is_some()
        || plist::get(constraint, "kSecTrustSettingsPolicyString").is_some();
    !restricted && by_oid.or(by_name).unwrap_or(true)
}

/// Evaluates a `trustSettings` array for TLS as macOS does: an empty array trusts the root for
/// everything; otherwise the first constraint that applies to TLS and has a decisive result
/// wins (`kSecTrustSettingsResult` 1 TrustRoot or 2 TrustAsRoot: trusted; 3 Deny: not;
/// 4 Unspecified: keep looking; missing: TrustRoot).
fn ssl_trusted(settings: &[Value]) -> bool {
    if settings.is_empty() {
        return true;
    }
    for constraint in settings.iter().filter(|c| applies_to_ssl(c)) {
        match plist::get(constraint, "kSecTrustSettingsResult").map(Value::as_signed_integer) {
            None | Some(Some(1 | 2)) => return true,
            Some(Some(4)) => continue,
            _ => return false,
        }
    }
    false
}

/// Parses `security trust-settings-export` output: `trustList` maps each certificate's SHA-1
/// (upper-case hex) to a dict whose `trustSettings` array holds the usage constraints.
pub fn parse_trust_settings(text: &str) -> Result<Vec<CertTrust>, StoreError> {
    let bad = |why: String| StoreError::Unexpected(format!("unexpected trust settings from security: {why}"));
    let top = plist::parse(text).map_err(bad)?;
    let Some(Value::Dictionary(list)) = plist::get(&top, "trustList") else {
        return Err(bad("no trustList".into()));
    };
    Ok(list
        .iter()
        .map(|(sha1, entry)| CertTrust {
            sha1_hex: normalize_fingerprint(sha1),
            ssl_trusted: match plist::get(entry, "trustSettings") {
                Some(Value::Array(settings)) => ssl_trusted(settings),
                _ => false,
            },
        })
        .collect())
}

/// Whether a failed `security` run only said "nothing there": no matching certificate, or no
/// trust settings in the domain.
pub fn is_not_found(out: &Output) -> bool {
    let text = format!("{}{}", out.stderr, out.stdout);
    text.contains("could not be found") || text.contains("No Trust Settings were found")
}

/// The OS trust store of macOS for one scope: a keychain and a trust-settings domain.
#[derive(Debug, Clone)]
pub struct KeychainStore {
    scope: Scope,
    keychain: PathBuf,
    security: Option<PathBuf>,
    is_root: bool,
    /// Running as root for another user (under sudo).
    for_other_user: bool,
}

impl KeychainStore {
    /// The store for `ctx.scope`: the login keychain of `ctx.home`, or the System keychain.
    pub fn new(ctx: &StoreContext) -> KeychainStore {
        let keychain = match ctx.scope {
            Scope::User => login_keychain(&ctx.home),
            Scope::Machine => PathBuf::from(SYSTEM_KEYCHAIN),
        };
        let security = Some(PathBuf::from(SECURITY)).filter(|p| p.is_file());
        KeychainStore {
            scope: ctx.scope,
            keychain,
            security,
            is_root: ctx.is_root,
            for_other_user: ctx.owner.is_some(),
        }
    }

    fn security(&self) -> Result<&Path, StoreError> {
        self.security
            .as_deref()
            .ok_or_else(|| StoreError::ToolMissing { tool: SECURITY.into(), package: None })
    }

    /// Certificates in our keychain; `name` narrows to labels containing it.
    fn certificates(&self, name: Option<&str>) -> Result<Vec<KeychainCert>, StoreError> {
        let cmd = find_certificates_cmd(self.security()?, name, &self.keychain);
        let out = cmd.output()?;
        if out.success {
            Ok(parse_find_certificate(&out.stdout))
        } else if is_not_found(&out) {
            Ok(Vec::new())
        } else {
            Err(cmd.failed(&out))
        }
    }

    /// Our root's entries in the keychain (normally one).
    fn ours(&self, root: &RootCert) -> Result<Vec<KeychainCert>, StoreError> {
        Ok(self.certificates(None)?.into_iter().filter(|c| c.is(root)).collect())
    }

    /// The trust settings of our scope's domain.
    fn trust_settings(&self) -> Result<Vec<CertTrust>, StoreError> {
        let file = TempFile::new(b"", ".plist")?;
        let cmd = trust_settings_export_cmd(self.security()?, self.scope, file.path());
        let out = cmd.output()?;
        if !out.success {
            return if is_not_found(&out) { Ok(Vec::new()) } else { Err(cmd.failed(&out)) };
        }
        let text = std::fs::read_to_string(file.path()).map_err(crate::fsutil::io_err(file.path()))?;
        parse_trust_settings(&text)
    }

    /// Runs commands that change the store: through sudo for the machine scope.
    fn change(&self, why: &str, cmds: &[Cmd]) -> Result<(), StoreError> {
        match self.scope {
            Scope::Machine => run_as_root(self.is_root, "system", why, cmds).map(drop),
            Scope::User => cmds.iter().try_for_each(|c| c.run().map(drop)),
        }
    }

    fn domain(&self) -> &'static str {
        match self.scope {
            Scope::User => "user trust settings",
            Scope::Machine => "admin trust settings",
        }
    }
}

impl TrustStore for KeychainStore {
    fn kind(&self) -> &'static str {
        "system"
    }

    fn location(&self) -> String {
        format!("{} ({}, {} scope)", self.keychain.display(), self.domain(), self.scope.as_str())
    }

    fn detect(&self) -> Detection {
        if self.security.is_none() {
            return Detection::Absent { reason: format!("{SECURITY} not found (not macOS?)"), fix: None };
        }
        if self.scope == Scope::User && self.for_other_user {
            return Detection::Absent {
                reason: "user trust settings must be changed by the user, not under sudo".into(),
                fix: Some("run localca without sudo, or use the machine scope".into()),
            };
        }
        if !self.keychain.exists() {
            return Detection::Absent {
                reason: format!("no keychain at {}", self.keychain.display()),
                fix: None,
            };
        }
        Detection::Present
    }

    /// The root is in the keychain and the domain's trust settings trust it for TLS.
    fn is_installed(&self, root: &RootCert) -> Result<bool, StoreError> {
        let ours = self.ours(root)?;
        if ours.is_empty() {
            return Ok(false);
        }
        let settings = self.trust_settings()?;
        Ok(ours.iter().any(|c| settings.iter().any(|t| t.sha1_hex == c.sha1_hex && t.ssl_trusted)))
    }

    fn install(&self, root: &RootCert) -> Result<(), StoreError> {
        if self.is_installed(root)? {
            return Ok(());
        }
        let mut pem = RootPemFile::new(root, self.is_root)?;
        let add = add_trusted_cert_cmd(self.security()?, self.scope, &self.keychain, pem.path());
        if self.scope == Scope::User {
            crate::runner::note(
                "macOS will ask you to confirm the change to your certificate trust settings",
            );
        }
        let why = format!("trusting the root in {}", self.keychain.display());
        if let Err(e) = self.change(&why, &[add]) {
            if matches!(e, StoreError::NeedsRoot { .. }) {
                pem.keep();
            }
            return Err(e);
        }
        if !self.is_installed(root)? {
            return Err(StoreError::Unexpected(format!(
                "security added the root to {} but the {} do not trust it for TLS",
                self.keychain.display(),
                self.domain()
            )));
        }
        Ok(())
    }

    /// Removes the root's trust settings (when the domain has any for it), then every copy of the
    /// certificate in the keychain, by SHA-1.
    fn uninstall(&self, root: &RootCert) -> Result<(), StoreError> {
        let ours = self.ours(root)?;
        if ours.is_empty() {
            return Ok(());
        }
        let security = self.security()?;
        let settings = self.trust_settings()?;
        let has_settings = ours.iter().any(|c| settings.iter().any(|t| t.sha1_hex == c.sha1_hex));
        let mut pem = RootPemFile::new(root, self.is_root)?;
        let mut cmds = Vec::new();
        if has_settings {
            cmds.push(remove_trusted_cert_cmd(security, self.scope, pem.path()));
        }
        let mut sha1s: Vec<&str> = ours.iter().map(|c| c.sha1_hex.as_str()).collect();
        sha1s.dedup();
        cmds.extend(sha1s.iter().map(|sha1| delete_certificate_cmd(security, sha1, &self.keychain)));
        if has_settings && self.scope == Scope::User {
            crate::runner::note(
                "macOS will ask you to confirm the change to your certificate trust settings",
            );
        }
        let why = format!("removing the root from {}", self.keychain.display());
        if let Err(e) = self.change(&why, &cmds) {
            if matches!(e, StoreError::NeedsRoot { .. }) {
                pem.keep();
            }
            return Err(e);
        }
        if !self.ours(root)?.is_empty() {
            return Err(StoreError::Unexpected(format!(
                "security deleted the root from {} but it is still listed",
                self.keychain.display()
            )));
        }
        Ok(())
    }

    /// Certificates whose label contains `localca` (our roots' common name starts with it).
    fn localca_roots(&self) -> Result<Vec<FoundRoot>, StoreError> {
        if self.security.is_none() {
            return Ok(Vec::new());
        }
        Ok(self
            .certificates(Some("localca"))?
            .into_iter()
            .filter_map(|c| {
                let label = c.label.unwrap_or_else(|| format!("localca root (SHA-1 {})", c.sha1_hex));
                Some(FoundRoot { label, der: c.der? })
            })
            .collect())
    }
}

/// `$JAVA_HOME`, else what `/usr/libexec/java_home` prints (the default JDK), if any.
pub fn java_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(home));
    }
    let out = Cmd::new("/usr/libexec/java_home").output().ok().filter(|o| o.success)?;
    parse_java_home(&out.stdout)
}

/// The path `/usr/libexec/java_home` printed (its first line), if it printed one.
pub fn parse_java_home(stdout: &str) -> Option<PathBuf> {
    stdout.lines().map(str::trim).find(|l| l.starts_with('/')).map(PathBuf::from)
}

/// The Firefox application folder on macOS.
pub fn firefox_dir(home: &Path) -> PathBuf {
    home.join("Library/Application Support/Firefox")
}

/// Every macOS store for `ctx`: the keychain of the scope; the NSS database of each Firefox
/// profile that ignores the OS store (through Homebrew's certutil; without it, detect() says
/// `brew install nss`); and each Java keystore (or a stand-in saying no JDK was found).
pub fn macos_stores(ctx: &StoreContext) -> Vec<Box<dyn TrustStore>> {
    use crate::firefox::{firefox_profiles, ProfileTrust};
    use crate::java;
    use crate::nss::{NssLocation, NssStore};

    let mut stores: Vec<Box<dyn TrustStore>> = vec![Box::new(KeychainStore::new(ctx))];
    // The user's folders are read as the user under sudo (see `privilege`).
    let profiles = {
        let _user = crate::privilege::AsUser::enter(ctx.owner);
        firefox_profiles(&firefox_dir(&ctx.home))
    };
    for profile in profiles {
        if let ProfileTrust::NeedsNss(why) = profile.trust {
            let location = NssLocation {
                dir: profile.dir,
                label: format!("Firefox profile {}: {why}", profile.name),
                create_on_install: false,
            };
            stores.push(Box::new(NssStore::new(location, ctx.owner)));
        }
    }
    stores.extend(java::stores(java::discover(java_home().as_deref()), ctx.is_root));
    stores
}
