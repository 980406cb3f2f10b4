//! Output files for an issued leaf: mkcert-compatible names, atomic writes, PKCS#12, and a warning
//! when a key lands in a git work tree that would commit it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::atomic_file::{Mode, Owner};
use crate::error::{Error, Result};
use crate::leaf::IssuedLeaf;
use crate::names::SubjectName;
use crate::output_target::{self, same_file};
use crate::root::RootCa;

/// Default PKCS#12 password, the one Java's tools and mkcert use.
pub const DEFAULT_P12_PASSWORD: &str = "changeit";

/// Where to write a leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputPaths {
    /// The certificate (PEM). `None` when only a PKCS#12 file is written.
    pub cert: Option<PathBuf>,
    /// The private key (PEM, 0600). `None` for CSRs and PKCS#12-only output.
    pub key: Option<PathBuf>,
    /// A PKCS#12 bundle (key, leaf, root), 0600.
    pub p12: Option<PathBuf>,
}

/// Longest first-name part of a default file stem. File names are limited to 255 bytes, and the
/// stem still gets `+N`, `-client`, `-key.pem` and the temp file's `.` + `.PID-N.tmp` around it.
const MAX_STEM_NAME: usize = 180;

/// The file name stem mkcert would use: `<first>[+N][-client]`, with `*` as `_wildcard` and any
/// character unsafe in a file name replaced by `_`. A first name too long for a file name is cut
/// and given `~` and 8 hex digits of its SHA-256, so it stays recognisable and distinct.
pub fn default_stem(names: &[SubjectName], client: bool) -> String {
    let first = names.first().map(SubjectName::to_string).unwrap_or_default();
    let mut stem: String = first
        .replace('*', "_wildcard")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._@+-".contains(c) { c } else { '_' })
        .collect();
    if stem.len() > MAX_STEM_NAME {
        let hash = crate::root::sha256_hex(stem.as_bytes());
        stem = format!("{}~{}", &stem[..MAX_STEM_NAME - 9], &hash[..8]);
    }
    if names.len() > 1 {
        stem.push_str(&format!("+{}", names.len() - 1));
    }
    if client {
        stem.push_str("-client");
    }
    stem
}

/// Checks that every output path can be written (see [`output_target::classify`]) and that the
/// PKCS#12 file is not also the certificate or key, without writing anything: run it before a
/// CA is created, so a bad output path creates nothing.
pub fn check_outputs(paths: &OutputPaths) -> Result<()> {
    for path in [&paths.cert, &paths.key, &paths.p12].into_iter().flatten() {
        output_target::classify(path)?;
    }
    if let Some(p12) = &paths.p12 {
        if [&paths.cert, &paths.key].into_iter().flatten().any(|p| same_file(p, p12)) {
            return Err(Error::io(
                p12,
                std::io::Error::other("the PKCS#12 file cannot also be the certificate or key file"),
            ));
        }
    }
    Ok(())
}

/// Whether the certificate and key go to one file (the same path however spelled).
pub fn combined_output(paths: &OutputPaths) -> bool {
    matches!((&paths.cert, &paths.key), (Some(c), Some(k)) if same_file(c, k))
}

/// Writes the leaf's files. The key is written before the certificate; each regular file
/// atomically; devices, FIFOs and `-` (standard output) as streams. When the certificate and key
/// paths name the same file, one 0600 file holds both.
pub fn write_leaf(
    leaf: &IssuedLeaf,
    root: &RootCa,
    paths: &OutputPaths,
    p12_password: &str,
    owner: Option<Owner>,
) -> Result<()> {
    check_outputs(paths)?;
    let key_pem = leaf.key_pem();
    let combined = key_pem.as_ref().filter(|_| combined_output(paths));
    let contents: Vec<(&Path, Vec<u8>, Mode)> = [
        match (combined, &key_pem, &paths.key) {
            (Some(key), _, Some(path)) => {
                Some((path.as_path(), format!("{}{key}", leaf.cert_pem).into_bytes(), Mode::Secret))
            }
            (None, Some(key), Some(path)) => Some((path.as_path(), key.clone().into_bytes(), Mode::Secret)),
            _ => None,
        },
        match &paths.cert {
            Some(path) if combined.is_none() => {
                Some((path.as_path(), leaf.cert_pem.clone().into_bytes(), Mode::Public))
            }
            _ => None,
        },
        match &paths.p12 {
            Some(path) => Some((path.as_path(), pkcs12(leaf, root, p12_password, path)?, Mode::Secret)),
            None => None,
        },
    ]
    .into_iter()
    .flatten()
    .collect();
    // Key first, as listed; one round of fsyncs for all of them.
    let files: Vec<(&Path, &[u8], Mode)> = contents.iter().map(|(p, c, m)| (*p, c.as_slice(), *m)).collect();
    output_target::write_outputs(&files, owner)
}

/// A PKCS#12 bundle with PBES2 (PBKDF2, AES-256-CBC) and an HMAC-SHA256 MAC: OpenSSL 3 reads it
/// without `-legacy`, unlike mkcert's RC2/3DES bundles.
fn pkcs12(leaf: &IssuedLeaf, root: &RootCa, password: &str, path: &Path) -> Result<Vec<u8>> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let fail =
        |e: p12_keystore::error::Error| Error::io(path, std::io::Error::other(format!("PKCS#12: {e}")));
    let key_der = leaf.key_pkcs8_der.as_ref().ok_or_else(|| {
        Error::io(path, std::io::Error::other("a PKCS#12 file needs the private key, which a CSR keeps"))
    })?;
    let key = PrivateKey::from_der(key_der).map_err(fail)?;
    let certs = [
        Certificate::from_der(&leaf.cert_der).map_err(fail)?,
        Certificate::from_der(root.certificate_der()).map_err(fail)?,
    ];
    let key_id = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &leaf.cert_der);
    let chain = PrivateKeyChain::new(key_id.as_ref().to_vec(), key, certs);
    let mut store = KeyStore::new();
    store.add_entry("localca", KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().map_err(fail)
}

/// When `file` is inside a git work tree and git would not ignore it, the line to add to that
/// tree's `.gitignore` (and the tree's top folder). `None` when it is ignored or not in a work tree.
pub fn unignored_in_git(file: &Path) -> Option<(PathBuf, String)> {
    let abs = std::path::absolute(file).ok()?;
    let top = abs.ancestors().skip(1).find(|dir| dir.join(".git").exists())?.to_path_buf();
    let ignored = Command::new("git")
        .arg("-C")
        .arg(&top)
        // No fsmonitor: a repository's config must not make us run its commands.
        .args(["-c", "core.fsmonitor=false", "check-ignore", "-q", "--"])
        .arg(&abs)
        .status()
        .is_ok_and(|s| s.success());
    if ignored {
        return None;
    }
    let rel = abs.strip_prefix(&top).ok()?.to_string_lossy().replace('\\', "/");
    Some((top, format!("/{rel}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<SubjectName> {
        list.iter().map(|n| SubjectName::parse(n).unwrap()).collect()
    }

    #[test]
    fn mkcert_compatible_stems() {
        assert_eq!(default_stem(&names(&["myapp.test", "localhost"]), false), "myapp.test+1");
        assert_eq!(default_stem(&names(&["*.myapp.test"]), true), "_wildcard.myapp.test-client");
        assert_eq!(default_stem(&names(&["::1", "127.0.0.1", "a.test"]), false), "__1+2");
        assert_eq!(
            default_stem(&[SubjectName::uri("spiffe://a.test/x").unwrap()], false),
            "spiffe___a.test_x"
        );
        let long = format!("{}.test", ["a".repeat(63), "b".repeat(63), "c".repeat(63)].join("."));
        let stem = default_stem(&names(&[&long, "localhost"]), true);
        assert!(stem.len() < 200 && stem.starts_with("aaaa") && stem.ends_with("-client"), "{stem}");
        assert!(stem.contains('~'));
    }
}
