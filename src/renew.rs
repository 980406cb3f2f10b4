//! Re-issuing a recorded leaf in place: same paths, names and options, a new key, written
//! atomically, with the inventory updated.

use crate::error::{Error, Result};
use crate::home::CaHome;
use crate::inventory::{serial_hex, Inventory, LeafRecord};
use crate::leaf_files::{inspect, FileState};
use crate::output::{write_leaf, DEFAULT_P12_PASSWORD};
use crate::root::RootCa;

/// Why an ACME leaf is never re-issued by localca.
pub const ACME_RENEWS: &str = "issued via ACME: its ACME client renews it from `localca acme serve`";

/// What happened to one leaf.
#[derive(Debug)]
pub enum Renewal {
    /// Re-issued; the new record.
    Renewed(Box<LeafRecord>),
    /// Left alone, and why.
    Skipped(String),
}

/// Re-issues `record` with `root` into the same files. `p12_password` is needed only for a
/// bundle whose password was not the default. Leaves whose files are gone or hold someone
/// else's certificate, leaves signed from a CSR and leaves issued through ACME (their client
/// renews them) are skipped with the reason.
pub fn reissue(
    home: &CaHome,
    root: &RootCa,
    record: &LeafRecord,
    p12_password: Option<&str>,
) -> Result<Renewal> {
    if record.is_acme() {
        return Ok(Renewal::Skipped(ACME_RENEWS.into()));
    }
    let Some(profile) = record.profile() else {
        return Ok(Renewal::Skipped(
            "signed from a CSR, whose key localca does not have: sign the request again with \
             `localca cert --csr FILE --cert-file PATH`"
                .into(),
        ));
    };
    match inspect(record) {
        FileState::Ok | FileState::KeyMismatch { .. } => {}
        state @ FileState::Replaced { .. } => {
            return Ok(Renewal::Skipped(format!(
                "{}; left untouched (issue it again with `localca cert` to take the path back)",
                state.explain(record).unwrap_or_default()
            )))
        }
        state => return Ok(Renewal::Skipped(state.explain(record).unwrap_or_default())),
    }
    let password = match (record.p12.is_some() && record.p12_custom_password, p12_password) {
        (true, None) => {
            return Ok(Renewal::Skipped(
                "its PKCS#12 bundle has a password localca does not keep: pass --p12-password".into(),
            ))
        }
        (_, Some(p)) => p,
        (false, None) => DEFAULT_P12_PASSWORD,
    };
    let names = record.subject_names()?;
    let leaf = match root.issue(&names, &profile) {
        Ok(leaf) => leaf,
        Err(e @ Error::NameNotPermitted { .. }) => {
            return Ok(Renewal::Skipped(format!(
                "{e}; rotate to a root that permits it: localca ca rotate --permit SUFFIX"
            )))
        }
        Err(e) => return Err(e),
    };
    let new_serial = serial_hex(&leaf.cert_der).unwrap_or_default();
    let main = record.main_path();
    // Note the serial about to be written: a crash between the files leaves ours either way.
    Inventory::update(home, |inv| {
        if let Some(r) = inv.leaves.iter_mut().find(|r| r.has_file(&main)) {
            r.pending_serial = Some(new_serial.clone());
        }
    })?;
    let paths = record.paths();
    write_leaf(&leaf, root, &paths, password, home.owner())?;
    let mut new =
        LeafRecord::new(&leaf, &profile, false, record.p12_custom_password, &paths, &root.fingerprint_hex());
    // Keep the recorded paths byte for byte (they were absolute already).
    new.cert = record.cert.clone();
    new.key = record.key.clone();
    new.p12 = record.p12.clone();
    Inventory::update(home, |inv| inv.insert(new.clone()))?;
    Ok(Renewal::Renewed(Box::new(new)))
}
