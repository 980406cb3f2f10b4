//! The files behind `localca env`: CA files in the CA home that `install` fills and `uninstall`
//! empties, so that a shell configured once (`eval "$(localca env)"`) trusts the root exactly while
//! it is installed.
//!
//! Two files, because the variables differ in what they do (measured on Debian 12):
//! - some *replace* the client's roots (`SSL_CERT_FILE` for httpx and OpenSSL, `REQUESTS_CA_BUNDLE`,
//!   `PIP_CERT`): they point at [`ENV_BUNDLE_FILE`], the OS store's roots plus ours; after
//!   `uninstall` it holds the OS roots alone, so those clients keep working for everything else;
//! - others *add* to the built-in roots (`NODE_EXTRA_CA_CERTS`, `DENO_CERT`): they point at
//!   [`ENV_ROOT_FILE`], ours alone; after `uninstall` it is empty, which Node and Deno accept.
//!
//! Pointing a variable at `root.pem` itself would keep the client trusting after `uninstall`.

use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Mode};
use crate::error::Result;
use crate::home::CaHome;
use crate::root::{sha256_hex, RootCertificate};

/// The OS roots plus the localca root while installed, for variables that replace a client's roots.
pub const ENV_BUNDLE_FILE: &str = "env-ca-bundle.pem";
/// The localca root while installed, empty otherwise, for variables that add to a client's roots.
pub const ENV_ROOT_FILE: &str = "env-localca-root.pem";

/// Which of the two files a variable points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFile {
    /// [`ENV_BUNDLE_FILE`].
    Bundle,
    /// [`ENV_ROOT_FILE`].
    Root,
}

/// An environment variable `localca env` sets: its name, the file, and the clients that read it.
#[derive(Debug, Clone, Copy)]
pub struct EnvVariable {
    /// The variable.
    pub name: &'static str,
    /// The file it points at.
    pub file: EnvFile,
    /// Who reads it.
    pub clients: &'static str,
}

/// The variables, in the order printed.
pub const ENV_VARIABLES: &[EnvVariable] = &[
    EnvVariable { name: "NODE_EXTRA_CA_CERTS", file: EnvFile::Root, clients: "Node.js" },
    EnvVariable { name: "DENO_CERT", file: EnvFile::Root, clients: "Deno" },
    EnvVariable { name: "REQUESTS_CA_BUNDLE", file: EnvFile::Bundle, clients: "Python requests" },
    EnvVariable { name: "SSL_CERT_FILE", file: EnvFile::Bundle, clients: "httpx, Python ssl, OpenSSL" },
    EnvVariable { name: "PIP_CERT", file: EnvFile::Bundle, clients: "pip" },
];

/// The variables that name a CA file or folder for rustls-native-certs (and OpenSSL).
const NATIVE_CERT_VARIABLES: &[&str] = &["SSL_CERT_FILE", "SSL_CERT_DIR"];

impl CaHome {
    /// The path of one of the env files.
    pub fn env_file(&self, file: EnvFile) -> PathBuf {
        self.path().join(match file {
            EnvFile::Bundle => ENV_BUNDLE_FILE,
            EnvFile::Root => ENV_ROOT_FILE,
        })
    }

    /// Whether a path lies inside the CA home (the env files, typically).
    pub fn contains(&self, path: &Path) -> bool {
        path.starts_with(self.path())
    }

    /// Rewrites both env files: with `trusted` (the installed root) in them, or without when
    /// `None`. The OS roots come from rustls-native-certs; every localca root among them is left
    /// out, so that an earlier root does not linger. Call it with `SSL_CERT_FILE`/`SSL_CERT_DIR`
    /// not pointing into the CA home (see `localca env`), or the bundle is rebuilt from itself.
    pub fn write_env_files(&self, trusted: Option<&RootCertificate>) -> Result<()> {
        let mut bundle = String::new();
        let mut seen = std::collections::HashSet::new();
        let ours = trusted.map(|root| root.fingerprint_hex());
        for cert in rustls_native_certs::load_native_certs().certs {
            let fingerprint = sha256_hex(&cert);
            if !seen.insert(fingerprint.clone())
                || Some(&fingerprint) == ours.as_ref()
                || is_localca_root(&cert)
            {
                continue;
            }
            bundle.push_str(&pem::encode(&pem::Pem::new("CERTIFICATE", cert.to_vec())));
        }
        let root = trusted.map(|r| r.certificate_pem().to_string()).unwrap_or_default();
        bundle.push_str(&root);
        self.write_env_file(EnvFile::Bundle, bundle.as_bytes())?;
        self.write_env_file(EnvFile::Root, root.as_bytes())
    }

    /// Writes one env file atomically, unless it already holds exactly `contents` (no fsync then:
    /// a repeated `install` or `env` stays fast).
    fn write_env_file(&self, file: EnvFile, contents: &[u8]) -> Result<()> {
        let path = self.env_file(file);
        if std::fs::read(&path).is_ok_and(|old| old == contents) {
            return Ok(());
        }
        atomic_file::write(&path, contents, Mode::Public, self.owner())
    }
}

/// Whether the CA file variables of this process point into `home` (as they do in a shell that
/// ran `eval "$(localca env)"`); such variables must be dropped before the OS roots are read.
pub fn native_cert_variables_in(home: &CaHome) -> Vec<&'static str> {
    NATIVE_CERT_VARIABLES
        .iter()
        .copied()
        .filter(|v| std::env::var_os(v).is_some_and(|p| home.contains(Path::new(&p))))
        .collect()
}

fn is_localca_root(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, c)| {
        c.subject().iter_organization().any(|o| o.as_str() == Ok("localca development CA"))
    })
}
