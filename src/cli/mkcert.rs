//! Help for mkcert habits: mkcert's single-dash flags get the double-dash spelling, and its
//! environment variables (`CAROOT`, `TRUST_STORES`) get one line saying what localca uses instead;
//! `TRUST_STORES` values that map onto `--stores` are honoured.

use std::ffi::OsString;
use std::path::Path;

use super::Failure;

/// mkcert's flags, and what a localca user types instead.
const MKCERT_FLAGS: &[(&str, &str)] = &[
    ("cert-file", "--cert-file"),
    ("key-file", "--key-file"),
    ("p12-file", "--p12-file"),
    ("pkcs12", "--pkcs12"),
    ("client", "--client"),
    ("csr", "--csr"),
    ("ecdsa", "nothing: localca's keys are ECDSA P-256 by default (--key-type picks another)"),
    ("install", "`localca install`"),
    ("uninstall", "`localca uninstall`"),
    ("CAROOT", "`localca ca path`"),
    ("help", "--help"),
    ("version", "--version"),
];

/// A usage error for the first mkcert-style single-dash flag in `args` (before any `--`).
pub fn single_dash_flag(args: &[OsString]) -> Option<Failure> {
    for arg in args.iter().skip(1) {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        let Some(name) = arg.strip_prefix('-').filter(|n| !n.starts_with('-')) else { continue };
        let bare = name.split_once('=').map_or(name, |(n, _)| n);
        if let Some((_, instead)) = MKCERT_FLAGS.iter().find(|(flag, _)| *flag == bare) {
            let message = format!("-{bare} is mkcert's spelling; localca's is {instead}");
            let hint =
                instead.starts_with("--").then(|| format!("localca's options take two dashes: {instead}"));
            return Some(Failure::usage(message, hint.as_deref()));
        }
    }
    None
}

/// Maps mkcert's `TRUST_STORES` onto `$LOCALCA_STORES` (what `--stores` reads) when localca's own
/// variable is not set, and returns the one line that says so. Call before parsing.
pub fn adopt_trust_stores() -> Option<String> {
    let value = std::env::var("TRUST_STORES").ok()?;
    if std::env::var_os("LOCALCA_STORES").is_some() {
        return Some(format!(
            "note: TRUST_STORES={value} is mkcert's variable; localca uses LOCALCA_STORES (set) and --stores"
        ));
    }
    let (known, unknown): (Vec<&str>, Vec<&str>) = value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .partition(|v| localca::trust::STORE_KINDS.contains(v));
    let ignored =
        if unknown.is_empty() { String::new() } else { format!(" (ignored: {})", unknown.join(",")) };
    if known.is_empty() {
        return Some(format!(
            "note: TRUST_STORES={value} is mkcert's variable and names none of localca's stores (system, \
             nss, java); using every store found (choose with --stores or LOCALCA_STORES)"
        ));
    }
    let stores = known.join(",");
    // Single-threaded still: nothing else reads the environment yet.
    std::env::set_var("LOCALCA_STORES", &stores);
    Some(format!(
        "note: using mkcert's TRUST_STORES as --stores {stores}{ignored}; localca's own variable is LOCALCA_STORES"
    ))
}

/// The one line for a `CAROOT` that is set (mkcert's CA folder), unless it is localca's CA home.
pub fn caroot_note(home: &Path) -> Option<String> {
    let caroot = std::env::var_os("CAROOT").filter(|v| !v.is_empty())?;
    let same = std::path::absolute(&caroot).is_ok_and(|c| c == home);
    (!same).then(|| {
        format!(
            "note: CAROOT is mkcert's variable and localca does not read it; localca's CA is in {} \
             (set LOCALCA_HOME to choose another folder)",
            home.display()
        )
    })
}
