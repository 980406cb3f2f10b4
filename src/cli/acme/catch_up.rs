//! At start, the inventory catches up with the ACME store: certificates issued before ACME leaves
//! were recorded, or in the last moments before a `kill -9`, and their revocations. Nothing is
//! written when nothing is missing (the usual start costs one query).

use std::collections::{HashMap, HashSet};

use localca::{AcmeIssued, CaHome, Inventory, LeafRecord, SubjectName, ACME_KEEP_EXPIRED_DAYS};
use localca_server::acme::store::{Cert, StoreError};
use localca_server::acme::{Identifier, Store};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

/// Adds what the store has and the inventory lacks; problems are one warning line, never fatal.
pub fn catch_up(home: &CaHome, store: &Store, authority: &str) {
    let now = OffsetDateTime::now_utc();
    let after = now.unix_timestamp() - ACME_KEEP_EXPIRED_DAYS * 86_400;
    let certs = match stored(store, after) {
        Ok(certs) => certs,
        Err(e) => return eprintln!("warning: cannot read the ACME store to update the inventory: {e}"),
    };
    // The newest certificate of each account and name set: the one the inventory keeps.
    let mut newest: HashMap<(&str, Vec<&str>), &str> = HashMap::new();
    for (cert, ids) in &certs {
        let mut names: Vec<&str> = ids.iter().map(|id| id.value.as_str()).collect();
        names.sort_unstable();
        newest.insert((cert.account.as_str(), names), cert.id.as_str());
    }
    let newest: HashSet<&str> = newest.into_values().collect();
    let apply = |inventory: &mut Inventory| {
        let (mut added, mut revoked) = (0, 0);
        let present: HashSet<String> = inventory.leaves.iter().map(|l| l.serial.clone()).collect();
        for (cert, ids) in &certs {
            // Usually every newest certificate is there: nothing to parse.
            let missing = newest.contains(cert.id.as_str()) && !present.contains(&cert.serial);
            if let Some(record) = missing.then(|| record(cert, ids, authority)).flatten() {
                added += usize::from(inventory.restore_acme(record));
            }
            if let Some(reason) = cert.revoked {
                revoked += usize::from(inventory.mark_revoked(&cert.serial, reason, now));
            }
        }
        (added, revoked)
    };
    // A dry run on a copy first, so that a start with nothing missing writes nothing.
    match Inventory::load(home).map(|mut copy| apply(&mut copy)) {
        Ok((0, 0)) => return,
        Ok(_) => {}
        Err(e) => return eprintln!("warning: ACME certificates are not recorded in the inventory: {e}"),
    }
    match Inventory::update(home, apply) {
        Ok((added, revoked)) => eprintln!(
            "note: recorded {added} ACME certificate(s) and {revoked} revocation(s) that {} lacked \
             (issued before an upgrade or a crash)",
            Inventory::path(home).display()
        ),
        Err(e) => eprintln!("warning: ACME certificates are not recorded in the inventory: {e}"),
    }
}

/// The certificates that expire after `after`, in issuance order, with their identifiers.
fn stored(store: &Store, after: i64) -> Result<Vec<(Cert, Vec<Identifier>)>, StoreError> {
    let mut certs = Vec::new();
    for (id, ids) in store.cert_ids_expiring_after(after)? {
        if let Some(cert) = store.cert(&id)? {
            certs.push((cert, ids));
        }
    }
    Ok(certs)
}

/// The inventory record of a stored certificate; `None` when its chain does not parse.
fn record(cert: &Cert, ids: &[Identifier], authority: &str) -> Option<LeafRecord> {
    let chain: Vec<CertificateDer<'_>> =
        CertificateDer::pem_slice_iter(cert.chain_pem.as_bytes()).collect::<Result<_, _>>().ok()?;
    let (leaf, root) = (chain.first()?, chain.last()?);
    let issued = AcmeIssued {
        leaf_der: leaf.to_vec(),
        names: ids.iter().filter_map(|id| SubjectName::parse(&id.value).ok()).collect(),
        not_after: OffsetDateTime::from_unix_timestamp(cert.not_after).ok()?,
        days: u32::try_from((cert.not_after - cert.not_before + 43_200) / 86_400).unwrap_or(0),
        account: format!("https://{authority}/acme/acct/{}", cert.account),
        issued_at: OffsetDateTime::from_unix_timestamp(cert.not_before).ok()?,
    };
    Some(LeafRecord::from_acme(&issued, &localca::trust::sha256_hex(root)))
}
