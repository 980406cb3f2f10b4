//! Leaves issued by `localca acme serve`, as the inventory records them: the ACME account that
//! ordered them, their names, serial, fingerprint and end of validity, and no file paths (the ACME
//! client keeps the files, and renews them itself).
//!
//! The inventory keeps one record per account and name set: a renewal by the client replaces the
//! record of the certificate it renews. A revoked leaf stays, marked revoked, until then. ACME
//! leaves that expired more than [`ACME_KEEP_EXPIRED_DAYS`] days ago are dropped, so clients that
//! stopped renewing do not grow the file forever.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::inventory::{serial_hex, Inventory, LeafRecord};
use crate::names::SubjectName;
use crate::root::sha256_hex;

/// How long an expired ACME leaf stays listed (as expired) before the inventory drops it.
pub const ACME_KEEP_EXPIRED_DAYS: i64 = 30;

/// Where an ACME leaf came from, and whether it was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmeOrigin {
    /// The account URL the server gave the client (`https://localhost:PORT/acme/acct/ID`).
    pub account: String,
    /// When it was revoked through `revokeCert` (RFC 3339), if it was.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The RFC 5280 reason code given at revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<u8>,
}

impl AcmeOrigin {
    /// The account's id: the last segment of its URL, the same whatever host and port the client
    /// used to reach the server.
    pub fn account_id(&self) -> &str {
        self.account.rsplit('/').next().unwrap_or(&self.account)
    }
}

/// What makes two ACME leaves the same certificate renewed: the account's id and the sorted names.
type AcmeKey = (String, Vec<String>);

fn acme_key(record: &LeafRecord) -> Option<AcmeKey> {
    let origin = record.acme.as_ref()?;
    let mut names = record.all_names();
    names.sort();
    Some((origin.account_id().to_string(), names))
}

/// One certificate the ACME server issued, as the issuer hands it over.
#[derive(Debug, Clone)]
pub struct AcmeIssued {
    /// The leaf, DER.
    pub leaf_der: Vec<u8>,
    /// Its names, in order.
    pub names: Vec<SubjectName>,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Validity asked for, in days.
    pub days: u32,
    /// The account URL of the order.
    pub account: String,
    /// When it was signed.
    pub issued_at: OffsetDateTime,
}

impl LeafRecord {
    /// The record of an ACME leaf signed by the root `root_sha256`: no paths, `key_type` `csr`
    /// (the key stayed with the client), the account in `acme`.
    pub fn from_acme(issued: &AcmeIssued, root_sha256: &str) -> LeafRecord {
        LeafRecord {
            serial: serial_hex(&issued.leaf_der).unwrap_or_default(),
            sha256: Some(sha256_hex(&issued.leaf_der)),
            names: issued.names.iter().map(ToString::to_string).collect(),
            uris: Vec::new(),
            key_type: "csr".into(),
            days: issued.days,
            client: false,
            p12_custom_password: false,
            not_after: issued.not_after,
            issued_at: issued.issued_at,
            root_sha256: root_sha256.to_string(),
            cert: None,
            key: None,
            p12: None,
            pending_serial: None,
            acme: Some(AcmeOrigin {
                account: issued.account.clone(),
                revoked_at: None,
                revocation_reason: None,
            }),
        }
    }

    /// Whether `localca acme serve` issued it (its client keeps the files and renews it).
    pub fn is_acme(&self) -> bool {
        self.acme.is_some()
    }

    /// Whether it was revoked through ACME.
    pub fn is_revoked(&self) -> bool {
        self.acme.as_ref().is_some_and(|a| a.revoked_at.is_some())
    }
}

impl Inventory {
    /// Adds an ACME leaf. It replaces the record of the same account for the same names (the
    /// client renewed that certificate), and ACME leaves expired more than
    /// [`ACME_KEEP_EXPIRED_DAYS`] days ago are dropped.
    pub fn insert_acme(&mut self, record: LeafRecord) {
        self.insert_acme_all(vec![record]);
    }

    /// Adds ACME leaves in order, as many [`Inventory::insert_acme`] calls would, with one pass
    /// over the inventory (per-leaf passes made a burst of N orders cost N × the inventory).
    pub fn insert_acme_all(&mut self, records: Vec<LeafRecord>) {
        let cutoff = OffsetDateTime::now_utc() - Duration::days(ACME_KEEP_EXPIRED_DAYS);
        let mut acme = Vec::with_capacity(records.len());
        for record in records {
            match acme_key(&record) {
                Some(key) => acme.push((key, record)),
                None => {
                    // Not an ACME leaf: the ones before it go in first, as they came.
                    self.insert_acme_keyed(std::mem::take(&mut acme), cutoff);
                    self.insert(record);
                }
            }
        }
        self.insert_acme_keyed(acme, cutoff);
    }

    fn insert_acme_keyed(&mut self, records: Vec<(AcmeKey, LeafRecord)>, cutoff: OffsetDateTime) {
        if records.is_empty() {
            return;
        }
        let keys: std::collections::HashSet<&AcmeKey> = records.iter().map(|(k, _)| k).collect();
        self.leaves.retain(|r| match &r.acme {
            None => true,
            Some(_) if r.not_after < cutoff => false,
            Some(_) => acme_key(r).is_none_or(|k| !keys.contains(&k)),
        });
        drop(keys);
        // A record is replaced by a later one of the batch with its key, and an expired one by
        // any later record, as one insert after another would do.
        let last = records.len() - 1;
        let mut later_keys = std::collections::HashSet::new();
        let mut kept: Vec<LeafRecord> = Vec::with_capacity(records.len());
        for (i, (key, record)) in records.into_iter().enumerate().rev() {
            let fresh = later_keys.insert(key);
            if fresh && (i == last || record.not_after >= cutoff) {
                kept.push(record);
            }
        }
        self.leaves.extend(kept.into_iter().rev());
    }

    /// Adds an ACME leaf found in the ACME store but missing here (issued before ACME leaves
    /// were recorded, or just before the server was killed), unless the inventory has it or a
    /// later leaf of the same account and names (its renewal). Pass only the newest leaf of each
    /// account and name set. Whether it was added.
    pub fn restore_acme(&mut self, record: LeafRecord) -> bool {
        let Some(origin) = &record.acme else { return false };
        let mut names = record.all_names();
        names.sort();
        let superseded = self.leaves.iter().any(|r| {
            r.serial == record.serial
                || r.acme.as_ref().is_some_and(|a| a.account_id() == origin.account_id())
                    && r.not_after > record.not_after
                    && {
                        let mut theirs = r.all_names();
                        theirs.sort();
                        theirs == names
                    }
        });
        if !superseded {
            self.insert_acme(record);
        }
        !superseded
    }

    /// Marks the ACME leaf with serial `serial` revoked (`reason`: RFC 5280 code). False when the
    /// inventory has no such leaf (one replaced by its renewal) or it was marked already.
    pub fn mark_revoked(&mut self, serial: &str, reason: u8, at: OffsetDateTime) -> bool {
        let found = self.leaves.iter_mut().filter(|r| r.serial == serial).find_map(|r| r.acme.as_mut());
        match found {
            Some(origin) if origin.revoked_at.is_none() => {
                origin.revoked_at = Some(at);
                origin.revocation_reason = Some(reason);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(account: &str, names: &[&str], serial: u8) -> LeafRecord {
        let mut r = LeafRecord::from_acme(
            &AcmeIssued {
                leaf_der: Vec::new(),
                names: names.iter().map(|n| SubjectName::parse(n).unwrap()).collect(),
                not_after: OffsetDateTime::now_utc() + Duration::days(7),
                days: 7,
                account: account.into(),
                issued_at: OffsetDateTime::now_utc(),
            },
            "root",
        );
        r.serial = format!("{serial:02x}");
        r
    }

    #[test]
    fn a_renewal_replaces_the_same_account_and_names_only() {
        let mut inv = Inventory::default();
        inv.insert_acme(issued("https://localhost:1/acme/acct/A", &["a.test", "b.test"], 1));
        inv.insert_acme(issued("https://localhost:1/acme/acct/B", &["a.test", "b.test"], 2));
        inv.insert_acme(issued("https://localhost:1/acme/acct/A", &["a.test"], 3));
        // Same account on another port, names in another order: the renewal of serial 1.
        inv.insert_acme(issued("https://localhost:2/acme/acct/A", &["b.test", "a.test"], 4));
        let serials: Vec<&str> = inv.leaves.iter().map(|r| r.serial.as_str()).collect();
        assert_eq!(serials, ["02", "03", "04"]);
    }

    #[test]
    fn a_batch_ends_as_inserts_one_after_another() {
        let mut expired = issued("u/A", &["gone.test"], 9);
        expired.not_after = OffsetDateTime::now_utc() - Duration::days(ACME_KEEP_EXPIRED_DAYS + 1);
        let start = vec![issued("u/A", &["a.test"], 1), issued("u/B", &["a.test"], 2), expired];
        let batch = || {
            vec![
                issued("u/A", &["a.test"], 3),
                issued("u/C", &["c.test"], 4),
                issued("u/A", &["a.test"], 5),
                issued("u/B", &["b.test"], 6),
            ]
        };
        let mut one_by_one = Inventory { version: 0, leaves: start.clone() };
        batch().into_iter().for_each(|r| one_by_one.insert_acme(r));
        let mut batched = Inventory { version: 0, leaves: start };
        batched.insert_acme_all(batch());
        let serials = |inv: &Inventory| inv.leaves.iter().map(|r| r.serial.clone()).collect::<Vec<_>>();
        assert_eq!(serials(&batched), ["02", "04", "05", "06"]);
        assert_eq!(serials(&batched), serials(&one_by_one));
    }

    #[test]
    fn restoring_skips_what_is_there_or_was_renewed() {
        let mut inv = Inventory::default();
        inv.insert_acme(issued("u/A", &["a.test"], 2));
        let mut older = issued("u/A", &["a.test"], 1);
        older.not_after -= Duration::days(1);
        assert!(!inv.restore_acme(older), "its renewal is there");
        assert!(!inv.restore_acme(issued("u/A", &["a.test"], 2)), "it is there");
        assert!(inv.restore_acme(issued("u/B", &["a.test"], 3)));
        assert_eq!(inv.leaves.len(), 2);
    }

    #[test]
    fn long_expired_acme_leaves_are_dropped_and_revocation_is_marked() {
        let mut inv = Inventory::default();
        let mut old = issued("u/A", &["old.test"], 1);
        old.not_after = OffsetDateTime::now_utc() - Duration::days(ACME_KEEP_EXPIRED_DAYS + 1);
        inv.insert_acme(old);
        inv.insert_acme(issued("u/A", &["new.test"], 2));
        assert_eq!(inv.leaves.len(), 1);
        assert!(!inv.mark_revoked("01", 0, OffsetDateTime::now_utc()));
        assert!(inv.mark_revoked("02", 4, OffsetDateTime::now_utc()));
        assert!(!inv.mark_revoked("02", 4, OffsetDateTime::now_utc()), "marked once");
        assert!(inv.leaves[0].is_revoked());
        assert_eq!(inv.leaves[0].acme.as_ref().unwrap().revocation_reason, Some(4));
    }

    #[test]
    fn records_without_the_new_fields_still_load() {
        let old = r#"{"version":1,"leaves":[{"serial":"01","names":["a.test"],"key_type":"ecdsa-p256",
            "days":30,"client":false,"not_after":"2030-01-01T00:00:00Z","issued_at":"2029-01-01T00:00:00Z",
            "root_sha256":"ab","cert":"/x/a.pem","key":"/x/a-key.pem","p12":null}]}"#;
        let inv: Inventory = serde_json::from_str(old).unwrap();
        assert!(!inv.leaves[0].is_acme());
        assert_eq!(inv.leaves[0].sha256, None);
        let acme = r#"{"leaves":[{"serial":"02","names":["b.test"],"key_type":"csr","days":7,"client":false,
            "not_after":"2030-01-01T00:00:00Z","issued_at":"2029-01-01T00:00:00Z","root_sha256":"ab",
            "acme":{"account":"https://localhost:14000/acme/acct/XYZ"}}]}"#;
        let inv: Inventory = serde_json::from_str(acme).unwrap();
        assert_eq!(inv.leaves[0].acme.as_ref().unwrap().account_id(), "XYZ");
        assert!(inv.leaves[0].files().is_empty());
    }
}
