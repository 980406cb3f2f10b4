//! `localca list` and `localca renew`, the inventory record made by `cert`, and the one-line
//! expiry warnings of `cert` and `status`.

use localca::{
    CaHome, FileState, Inventory, IssuedLeaf, LeafProfile, LeafRecord, OutputPaths, Renewal, RootCertificate,
};
use serde_json::json;

use super::args::{ListArgs, RenewArgs};
use super::Failure;

/// Leaves expiring within this many days get a warning from `cert` and `status`.
const LEAF_WARN_DAYS: i64 = 30;
/// A root expiring within this many days gets a warning.
const ROOT_WARN_DAYS: i64 = 365;

/// Records a leaf `cert` wrote. A damaged inventory is reported in one line; the certificate is
/// issued all the same. Outputs that are not regular files (devices, pipes) are not recorded.
pub fn record_issued(
    home: &CaHome,
    root: &localca::RootCa,
    leaf: &IssuedLeaf,
    profile: &LeafProfile,
    from_csr: bool,
    p12_password: &str,
    paths: &OutputPaths,
) {
    let files = [&paths.cert, &paths.key, &paths.p12];
    if !files.iter().copied().flatten().all(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file())) {
        return;
    }
    let custom = p12_password != localca::DEFAULT_P12_PASSWORD;
    let record = LeafRecord::new(leaf, profile, from_csr, custom, paths, &root.fingerprint_hex());
    if let Err(e) = Inventory::record(home, record) {
        eprintln!("warning: the certificate was issued but not recorded for `localca list`/`renew`: {e}");
    }
}

/// One line each about leaves expiring soon and a root near its end.
pub fn warn_expiring(home: &CaHome, root: &RootCertificate, except_serial: Option<&str>) {
    if let Ok(inventory) = Inventory::load(home) {
        let soon: Vec<&LeafRecord> = inventory
            .leaves
            .iter()
            .filter(|l| Some(l.serial.as_str()) != except_serial && !l.is_acme())
            .filter(|l| l.days_left() <= LEAF_WARN_DAYS && l.file_state() == FileState::Ok)
            .collect();
        if let Some(first) = soon.iter().min_by_key(|l| l.not_after) {
            eprintln!(
                "warning: {} certificate(s) expire within {LEAF_WARN_DAYS} days (first: {} on {}); run `localca renew`",
                soon.len(),
                first.main_path().display(),
                first.not_after.date()
            );
        }
    }
    let root_days = (root.not_after() - time::OffsetDateTime::now_utc()).whole_days();
    if root_days <= ROOT_WARN_DAYS {
        eprintln!(
            "warning: the root expires on {} ({root_days} days); run `localca ca rotate` before then",
            root.not_after().date()
        );
    }
}

pub fn list(home: &CaHome, args: ListArgs) -> Result<(), Failure> {
    let inventory = Inventory::load(home)?;
    let current = home.load_certificate().ok().map(|r| r.fingerprint_hex());
    let rows: Vec<(&LeafRecord, FileState)> = inventory
        .leaves
        .iter()
        .filter(|l| args.expiring.is_none_or(|d| l.days_left() <= i64::from(d)))
        .map(|l| (l, l.file_state()))
        .collect();
    if args.json {
        let leaves: Vec<_> = rows
            .iter()
            .map(|(l, state)| {
                let path = |p: &Option<localca::StoredPath>| {
                    p.as_ref().map(|p| p.path().to_string_lossy().into_owned())
                };
                json!({
                    "serial": l.serial,
                    "names": l.all_names(),
                    "key_type": l.key_type,
                    "days": l.days,
                    "client": l.client,
                    "not_after": rfc3339(l.not_after),
                    "issued_at": rfc3339(l.issued_at),
                    "days_left": l.days_left(),
                    "root_sha256": l.root_sha256,
                    "current_root": current.as_deref() == Some(l.root_sha256.as_str()),
                    "cert": path(&l.cert),
                    "key": path(&l.key),
                    "p12": path(&l.p12),
                    "state": state_word(l, state),
                    "problem": state.explain(l),
                    "sha256": l.sha256,
                    "issued_via": if l.is_acme() { "acme" } else { "cert" },
                    "acme": l.acme.as_ref().map(|a| json!({
                        "account": a.account,
                        "account_id": a.account_id(),
                        "revoked_at": a.revoked_at.map(rfc3339),
                        "revocation_reason": a.revocation_reason,
                    })),
                })
            })
            .collect();
        let doc = json!({ "inventory": Inventory::path(home), "leaves": leaves });
        println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "No certificates recorded{}.",
            if args.expiring.is_some() { " expire in that window" } else { "" }
        );
        return Ok(());
    }
    println!("{:<12} {:<10} {:>5}  {:<30} FILE", "STATE", "EXPIRES", "DAYS", "NAMES");
    for (l, state) in &rows {
        let mut word = state_word(l, state).to_string();
        if word == "ok" && l.days_left() < 0 {
            word = "expired".into();
        }
        let file = match &l.acme {
            Some(a) => format!("issued via ACME, account {}", a.account),
            None => l.main_path().display().to_string(),
        };
        println!(
            "{word:<12} {:<10} {:>5}  {:<30} {file}",
            l.not_after.date().to_string(),
            l.days_left(),
            l.all_names().join(","),
        );
        if let Some(problem) = state.explain(l) {
            println!("             ! {problem}");
        }
        if l.is_acme() && current.as_deref().is_some_and(|c| c != l.root_sha256) {
            println!(
                "             ! issued by an earlier root; its ACME client gets one from the current root \
                 at its next renewal (once `localca acme serve` was restarted)"
            );
        } else if current.as_deref().is_some_and(|c| c != l.root_sha256) {
            println!(
                "             ! issued by an earlier root; `localca renew {}` re-issues it",
                l.main_path().display()
            );
        }
    }
    Ok(())
}

pub fn renew(home: &CaHome, args: RenewArgs) -> Result<(), Failure> {
    let inventory = Inventory::load(home)?;
    let mut chosen: Vec<&LeafRecord> = Vec::new();
    for target in &args.targets {
        let path = std::path::absolute(target).unwrap_or_else(|_| target.clone());
        let name = target.to_str().and_then(|t| localca::SubjectName::parse(t).ok()).map(|n| n.to_string());
        let matches: Vec<&LeafRecord> = inventory
            .leaves
            .iter()
            .filter(|l| l.has_file(&path) || name.as_ref().is_some_and(|n| l.all_names().contains(n)))
            .collect();
        if matches.is_empty() {
            return Err(Failure::new(
                format!("no recorded certificate has the file or name {}", target.display()),
                Some("`localca list` shows what is recorded"),
            ));
        }
        for m in matches {
            if !chosen.iter().any(|c| std::ptr::eq(*c, m)) {
                chosen.push(m);
            }
        }
    }
    let explicit = !chosen.is_empty();
    if !explicit {
        chosen = inventory.leaves.iter().collect();
    }
    // ACME leaves are renewed by their clients: one line about them, never a failure.
    let (acme, chosen): (Vec<&LeafRecord>, Vec<&LeafRecord>) = chosen.into_iter().partition(|l| l.is_acme());
    if !acme.is_empty() {
        let mut names: Vec<String> = acme.iter().flat_map(|l| l.all_names()).collect();
        names.sort();
        names.dedup();
        let shown =
            if names.len() > 3 { format!("{}, …", names[..3].join(", ")) } else { names.join(", ") };
        println!(
            "skipped  {} certificate(s) issued via ACME ({shown}): their ACME clients renew them from \
             `localca acme serve`",
            acme.len()
        );
    }
    let within = args.within.map(i64::from).or((!explicit && !args.all).then_some(30));
    let root = if chosen.is_empty() { None } else { Some(home.load()?) };
    let (mut renewed, mut skipped, mut refused) = (0, 0, 0);
    for record in chosen {
        let label = record.main_path();
        if let Some(days) = within.filter(|d| record.days_left() > *d) {
            if explicit {
                println!(
                    "skipped  {}: expires in {} days, not within {days}",
                    label.display(),
                    record.days_left()
                );
            }
            skipped += 1;
            continue;
        }
        match localca::reissue(home, root.as_ref().expect("loaded"), record, args.p12_password.as_deref())? {
            Renewal::Renewed(new) => {
                renewed += 1;
                println!(
                    "renewed  {} ({}): expires {}",
                    label.display(),
                    new.all_names().join(", "),
                    new.not_after.date()
                );
            }
            Renewal::Skipped(why) => {
                skipped += 1;
                refused += 1;
                println!("skipped  {}: {why}", label.display());
            }
        }
    }
    if !explicit && skipped > 0 && renewed == 0 && within.is_some() {
        println!(
            "Nothing expires within {} days ({skipped} certificate(s) recorded); `--all` renews them all.",
            within.unwrap_or(30)
        );
    } else {
        println!("{renewed} renewed, {} skipped.", skipped + acme.len());
    }
    if renewed > 0 {
        println!("Servers read certificates at start: restart or reload them to serve the new files.");
    }
    if explicit && refused > 0 {
        return Err(Failure::new(
            format!("{refused} of the certificates named could not be renewed"),
            Some("the `skipped` lines above say why"),
        ));
    }
    Ok(())
}

/// The state shown: `revoked` for a revoked ACME leaf, else what its files say (an ACME leaf
/// has none to check).
fn state_word(leaf: &LeafRecord, state: &FileState) -> &'static str {
    if leaf.is_revoked() {
        "revoked"
    } else {
        state.word()
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}
