//! Helpers shared by the CLI integration tests: running the real `localca` binary in a private
//! CA home and working folder, reading certificates back, and verifying them with OpenSSL and
//! rustls-webpki.

#![allow(dead_code)] // each test binary uses a different subset

#[cfg(target_os = "linux")]
pub mod sandbox;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::X509Certificate;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_localca");

/// The environment variables that would change who localca thinks it works for.
const FOREIGN_ENV: &[&str] = &["LOCALCA_HOME", "SUDO_USER", "SUDO_UID", "SUDO_GID", "XDG_DATA_HOME"];

/// One test's private world: a temp folder holding the CA home (`home`, not created until
/// localca creates it) and the working folder (`cwd`, created). Removed when dropped.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub cwd: PathBuf,
}

/// What a run of localca did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
}

impl Run {
    /// The lines of stderr starting with `error:`.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("error:")).collect()
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::Builder::new().prefix("localca-test").tempdir().expect("temp dir");
        let home = tmp.path().join("home");
        let cwd = tmp.path().join("cwd");
        fs::create_dir(&cwd).unwrap();
        Env { tmp, home, cwd }
    }

    /// A `localca` command with this env's home and working folder, and no inherited sudo vars.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in(&self.cwd, args)
    }

    /// Like [`Env::command`] with another working folder.
    pub fn command_in(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(cwd).stdin(Stdio::null());
        for var in FOREIGN_ENV {
            cmd.env_remove(var);
        }
        cmd.env("LOCALCA_HOME", &self.home);
        // Never touch the keyring of whoever runs the tests: tests/keyring.rs uses its own.
        cmd.env("LOCALCA_KEY_STORAGE", "file").env_remove("DBUS_SESSION_BUS_ADDRESS");
        cmd
    }

    /// Runs localca and returns what it did.
    pub fn run(&self, args: &[&str]) -> Run {
        run_command(self.command(args))
    }

    /// Runs localca in another working folder.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        run_command(self.command_in(cwd, args))
    }

    /// Runs localca and asserts it succeeded.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "localca {args:?} failed:\n{}", run.stderr);
        run
    }

    /// Runs localca and asserts it failed with exit code 1 and one `error:` line.
    pub fn fail(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 1, "localca {args:?} should fail with 1:\n{}{}", run.stdout, run.stderr);
        assert!(run.stderr.starts_with("error: "), "stderr must start with `error: `: {:?}", run.stderr);
        assert_eq!(run.error_lines().len(), 1, "one error line: {:?}", run.stderr);
        run
    }

    /// Creates the CA (`localca ca create`) and returns the root's DER.
    pub fn create_ca(&self) -> Vec<u8> {
        self.ok(&["ca", "create"]);
        self.root_der()
    }

    pub fn root_pem_path(&self) -> PathBuf {
        self.home.join("root.pem")
    }

    pub fn root_key_path(&self) -> PathBuf {
        self.home.join("root-key.pem")
    }

    pub fn root_der(&self) -> Vec<u8> {
        cert_der_from_file(&self.root_pem_path())
    }

    /// A file in the working folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.cwd.join(name)
    }

    /// The names of the files in the working folder, sorted.
    pub fn cwd_files(&self) -> Vec<String> {
        file_names(&self.cwd)
    }
}

pub fn run_command(mut cmd: Command) -> Run {
    let out = cmd.output().expect("run localca");
    Run {
        code: out.status.code().expect("exit code, not a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout_bytes: out.stdout,
    }
}

/// Sorted names of the entries of `dir` (empty when it does not exist).
/// Whether `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
}

pub fn file_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> =
        entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// One entry of a folder snapshot: its mode, and its bytes (files) or link target (symlinks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir { mode: u32 },
    File { mode: u32, bytes: Vec<u8> },
    Link { target: PathBuf },
}

/// Everything under `dir`, recursively, by relative path (`None`: `dir` does not exist). Two
/// equal snapshots mean byte-identical trees, permissions included.
pub fn snapshot(dir: &Path) -> Option<BTreeMap<PathBuf, Entry>> {
    let meta = fs::symlink_metadata(dir).ok()?;
    let mut map = BTreeMap::new();
    map.insert(PathBuf::new(), Entry::Dir { mode: meta.permissions().mode() & 0o7777 });
    fn walk(base: &Path, dir: &Path, map: &mut BTreeMap<PathBuf, Entry>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(base).unwrap().to_path_buf();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                map.insert(rel, Entry::Link { target: fs::read_link(&path).unwrap() });
            } else if meta.is_dir() {
                map.insert(rel, Entry::Dir { mode });
                walk(base, &path, map);
            } else {
                map.insert(rel, Entry::File { mode, bytes: fs::read(&path).unwrap() });
            }
        }
    }
    walk(dir, dir, &mut map);
    Some(map)
}

/// Mode bits (0o777) of a file, not following symlinks.
pub fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode()
        & 0o777
}

/// The DER of the first certificate in a PEM file.
pub fn cert_der_from_file(path: &Path) -> Vec<u8> {
    let pem = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    cert_der_from_pem(&pem)
}

/// The DER of the first certificate in PEM text.
pub fn cert_der_from_pem(pem: &[u8]) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem).expect("a PEM certificate").to_vec()
}

/// Parses a DER certificate (panics when it does not parse, with nothing left over).
pub fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der).expect("a parsable certificate");
    assert!(rest.is_empty(), "trailing bytes after the certificate");
    cert
}

/// The SANs of a certificate as strings: `DNS:x`, `IP:x`, `email:x`, `URI:x`.
pub fn sans(der: &[u8]) -> Vec<String> {
    let cert = parse(der);
    let Some(ext) = cert.subject_alternative_name().expect("one SAN extension") else {
        return Vec::new();
    };
    ext.value.general_names.iter().map(general_name).collect()
}

/// A general name as `DNS:x`, `IP:x`, `email:x`, `URI:x` (or the parser's description).
pub fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::RFC822Name(e) => format!("email:{e}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        GeneralName::IPAddress(b) => match b.len() {
            4 => format!("IP:{}", std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap())),
            16 => format!("IP:{}", std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap())),
            8 | 32 => {
                let (addr, mask) = b.split_at(b.len() / 2);
                let prefix: u32 = mask.iter().map(|m| m.count_ones()).sum();
                let addr: std::net::IpAddr = if addr.len() == 4 {
                    <[u8; 4]>::try_from(addr).unwrap().into()
                } else {
                    <[u8; 16]>::try_from(addr).unwrap().into()
                };
                format!("IP:{addr}/{prefix}")
            }
            _ => format!("IP:{b:02x?}"),
        },
        other => format!("{other}"),
    }
}

/// The subject key identifier of a certificate.
pub fn ski(der: &[u8]) -> Option<Vec<u8>> {
    parse(der).extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
        _ => None,
    })
}

/// The key identifier in the authority key identifier of a certificate.
pub fn aki(der: &[u8]) -> Option<Vec<u8>> {
    parse(der).extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0.to_vec()),
        _ => None,
    })
}

/// NotAfter − NotBefore, in seconds.
pub fn validity_seconds(der: &[u8]) -> i64 {
    let cert = parse(der);
    cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()
}

/// Runs `openssl` with `args` in `dir`; returns (success, stdout + stderr).
pub fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Runs `openssl` and panics when it fails; returns its stdout + stderr.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

/// `openssl verify -CAfile ca leaf`: (accepted, output).
pub fn openssl_verify(ca: &Path, leaf: &Path) -> (bool, String) {
    let (ok, text) = openssl(Path::new("/"), &["verify", "-CAfile", path_str(ca), path_str(leaf)]);
    // `openssl verify` prints "<file>: OK" only on success; check both signals.
    (ok && text.contains(": OK"), text)
}

/// Asserts `openssl verify -CAfile ca leaf` accepts the leaf.
pub fn assert_openssl_verifies(ca: &Path, leaf: &Path) {
    let (ok, text) = openssl_verify(ca, leaf);
    assert!(ok, "openssl verify rejected {}:\n{text}", leaf.display());
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Verifies `leaf_der` for `usage` with `root_der` as the only trust anchor, with rustls-webpki,
/// then checks that it is valid for each of `names` (DNS names or IP addresses).
pub fn webpki_verify(
    root_der: &[u8],
    leaf_der: &[u8],
    usage: webpki::KeyUsage,
    names: &[&str],
) -> Result<(), webpki::Error> {
    let root = CertificateDer::from(root_der.to_vec());
    let anchor = webpki::anchor_from_trusted_cert(&root)?;
    let leaf = CertificateDer::from(leaf_der.to_vec());
    let ee = webpki::EndEntityCert::try_from(&leaf)?;
    ee.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &[anchor], &[], UnixTime::now(), usage, None, None)?;
    for name in names {
        let server_name = ServerName::try_from(*name).unwrap_or_else(|e| panic!("{name}: {e}"));
        ee.verify_is_valid_for_subject_name(&server_name)?;
    }
    Ok(())
}

/// Asserts both OpenSSL and rustls-webpki accept the leaf at `leaf` (PEM) under the root at
/// `root` (PEM) for TLS servers, and that webpki finds it valid for each of `names`.
pub fn assert_verifies(root: &Path, leaf: &Path, names: &[&str]) {
    assert_openssl_verifies(root, leaf);
    let result = webpki_verify(
        &cert_der_from_file(root),
        &cert_der_from_file(leaf),
        webpki::KeyUsage::server_auth(),
        names,
    );
    assert_eq!(result, Ok(()), "webpki rejected {}", leaf.display());
}

/// The default permitted subtrees, as [`general_name`] prints them.
pub const DEFAULT_SUBTREES: &[&str] = &[
    "DNS:localhost",
    "DNS:test",
    "DNS:example",
    "DNS:invalid",
    "DNS:local",
    "DNS:internal",
    "DNS:home.arpa",
    "DNS:example.com",
    "DNS:example.net",
    "DNS:example.org",
    "IP:127.0.0.0/8",
    "IP:::1/128",
    "IP:10.0.0.0/8",
    "IP:172.16.0.0/12",
    "IP:192.168.0.0/16",
    "IP:169.254.0.0/16",
    "IP:fc00::/7",
    "IP:fe80::/10",
];

/// The permitted subtrees of a root, and whether the extension is critical (`None`: absent).
pub fn permitted_subtrees(der: &[u8]) -> Option<(bool, Vec<String>)> {
    let cert = parse(der);
    let ext = cert.name_constraints().expect("at most one name constraints extension")?;
    assert!(ext.value.excluded_subtrees.is_none(), "no excluded subtrees expected");
    let permitted = ext.value.permitted_subtrees.as_ref().expect("permitted subtrees");
    Some((ext.critical, permitted.iter().map(|s| general_name(&s.base)).collect()))
}

/// SHA-256 fingerprint of `der`, lower-case hex.
pub fn sha256_hex(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path`.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

// `skip(test, reason, fixable)`: shared with the platform crate's tests.
include!("../lib/skip.rs");
