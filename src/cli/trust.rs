//! `localca install`, `uninstall` and `status`: one line per store.

use std::io::{BufRead, IsTerminal, Write};

use localca::trust::{self, Outcome, StoreReport};
use localca::{CaHome, Identity};
use serde_json::json;

use super::args::{RootArgs, StoreArgs};
use super::{announce_new_root, check_root_args, root_profile, Failure};

fn selected(args: &StoreArgs) -> Option<&[String]> {
    (!args.stores.is_empty()).then_some(args.stores.as_slice())
}

fn scope(args: &StoreArgs) -> localca::platform::Scope {
    args.scope.parse().unwrap_or_default()
}

/// The stores `args` selects on this machine.
pub(super) fn selected_stores(
    identity: &Identity,
    args: &StoreArgs,
) -> Vec<Box<dyn localca::platform::TrustStore>> {
    trust::stores(identity, selected(args), scope(args))
}

pub(super) fn print_reports(reports: &[StoreReport]) {
    for r in reports {
        let (what, detail) = match &r.outcome {
            Outcome::Installed => ("installed", None),
            Outcome::AlreadyInstalled => ("already installed", None),
            Outcome::Removed => ("removed", None),
            Outcome::NotInstalled => ("not installed", None),
            Outcome::Skipped { reason, fix: Some(fix) } => {
                ("skipped", Some(format!("{reason}; to use it: {fix}")))
            }
            Outcome::Skipped { reason, fix: None } => ("skipped", Some(reason.clone())),
            Outcome::ToolMissing { reason, fix } => ("NOT DONE", Some(format!("{reason}; fix: {fix}"))),
            Outcome::Failed(error) => ("FAILED", Some(error.clone())),
        };
        println!("  {:<7} {what:<17} {}", r.kind, r.location);
        if let Some(detail) = detail {
            println!("          {detail}");
        }
    }
}

pub(super) fn failures(reports: &[StoreReport], what: &str) -> Result<(), Failure> {
    let failed: Vec<&str> = reports.iter().filter(|r| r.outcome.is_failure()).map(|r| r.kind).collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        format!("could not {what} the root in: {}", failed.join(", ")),
        Some("see the lines above for each store's fix"),
    ))
}

pub fn install(
    identity: &Identity,
    home: &CaHome,
    stores: &StoreArgs,
    root_args: &RootArgs,
) -> Result<(), Failure> {
    // Installing needs only the certificate: the key (perhaps in the keyring) is read only when
    // the CA has to be created.
    let root = match home.load_certificate() {
        Err(localca::Error::NoCa { .. }) => {
            let (root, created) = home.load_or_create(&root_profile(identity, root_args)?)?;
            if let Some(creation) = &created {
                announce_new_root(home, &root, creation);
            }
            (*root).clone()
        }
        other => {
            let root = other?;
            check_root_args(root.name_constraints(), root_args)?;
            root
        }
    };
    let mut cert = trust::root_cert(&root);
    // Printed commands name the CA's own root.pem, not a temporary copy.
    cert.pem_file = std::path::absolute(home.cert_path()).ok();
    if root.name_constraints().is_none() && !home.created_unconstrained_here(&cert.sha256_hex) {
        eprintln!(
            "warning: this root has no name constraints and was not created here with \
             --no-name-constraints: whoever made it can impersonate any website to this machine"
        );
    }
    let stores = trust::stores(identity, selected(stores), scope(stores));
    println!("Installing {} ({}…):", cert.nickname, &cert.sha256_hex[..16]);
    let lock = store_lock()?;
    let reports = with_progress(&stores, "installing in", |one| trust::install(one, &cert));
    drop(lock);
    print_reports(&reports);
    let any_trusted =
        reports.iter().any(|r| matches!(r.outcome, Outcome::Installed | Outcome::AlreadyInstalled));
    if any_trusted && !home.is_marked_installed(&cert.sha256_hex) {
        home.set_installed(Some(&cert.sha256_hex))?;
    }
    if any_trusted {
        super::env::refresh_files(home, Some(&root));
    }
    failures(&reports, "install")
}

pub fn uninstall(
    identity: &Identity,
    home: &CaHome,
    stores: &StoreArgs,
    delete_ca: bool,
    yes: bool,
    fingerprint: Option<&str>,
) -> Result<(), Failure> {
    if let Some(typed) = fingerprint {
        let prefix = localca::fingerprint::normalise(typed)?;
        let stores = trust::stores(identity, selected(stores), scope(stores));
        return uninstall_other(home, &stores, &prefix);
    }
    // Asked before any store is touched: a refusal must leave the root installed everywhere.
    if delete_ca
        && !yes
        && home.cert_path().exists()
        && !confirm(&format!(
            "Remove the root from every store and delete the CA in {}? Certificates it issued will \
             stop working. [y/N] ",
            home.path().display()
        ))?
    {
        return Err(Failure::new("the CA was kept", Some("add --yes to delete it without asking")));
    }
    let stores = trust::stores(identity, selected(stores), scope(stores));
    let root = match home.load_certificate() {
        Ok(root) => root,
        Err(localca::Error::NoCa { .. }) => {
            println!("No CA in {}: nothing to uninstall.", home.path().display());
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let mut cert = trust::root_cert(&root);
    cert.pem_file = std::path::absolute(home.cert_path()).ok();
    println!("Removing {} ({}…):", cert.nickname, &cert.sha256_hex[..16]);
    let lock = store_lock()?;
    let reports = with_progress(&stores, "removing from", |one| trust::uninstall(one, &cert));
    drop(lock);
    print_reports(&reports);
    failures(&reports, "remove")?;
    home.set_installed(None)?;
    // Empty the env files a shell may point at; never create them here (a failed delete must
    // leave the CA home as it was).
    let had_env_files = home.env_file(localca::EnvFile::Bundle).exists();
    if had_env_files {
        super::env::refresh_files(home, None);
    }
    if delete_ca {
        let deletion = home.delete()?;
        if deletion.folder_removed {
            println!("Deleted the CA in {}.", home.path().display());
        } else {
            println!(
                "Deleted the CA's files in {}; kept the folder and what localca did not make:",
                home.path().display()
            );
            for path in &deletion.left {
                println!("  {}", path.display());
            }
        }
        if had_env_files {
            eprintln!(
                "note: shells that ran `localca env` now point at deleted files (Python requests fails \
                 without its bundle): run `eval \"$(localca env --unset)\"` there and remove it from your shell profile"
            );
        }
    }
    Ok(())
}

/// Removes the installed localca root whose fingerprint starts with `prefix` (8+ hex digits,
/// normalised): the one `install` printed, or an earlier one that `status` lists.
fn uninstall_other(
    home: &CaHome,
    stores: &[Box<dyn localca::platform::TrustStore>],
    prefix: &str,
) -> Result<(), Failure> {
    let found: Vec<(String, localca::platform::FoundRoot)> = stores
        .iter()
        .flat_map(|s| s.localca_roots().unwrap_or_default())
        .map(|f| (trust::sha256_hex(&f.der), f))
        .collect();
    let fingerprint = localca::fingerprint::resolve(prefix, found.iter().map(|(fp, _)| fp.as_str()))?;
    let (_, root) = found.iter().find(|(fp, _)| fp == fingerprint).expect("resolved from this list");
    let cert = trust::found_root_cert(&root.label, &root.der);
    // Filed under a localca-like label is not enough: only our own roots are ever removed.
    if let Some(why) = localca::our_roots::why_not_localca_root(&root.der) {
        return Err(Failure::new(
            format!("refusing to remove {:?} ({fingerprint}): it is not a localca root ({why})", root.label),
            Some("localca removes only roots it made; remove other certificates with your system's tools"),
        ));
    }
    println!("Removing {} ({}…):", cert.nickname, &cert.sha256_hex[..16]);
    let lock = store_lock()?;
    let reports = trust::uninstall(stores, &cert);
    drop(lock);
    print_reports(&reports);
    failures(&reports, "remove")?;
    if home.is_marked_installed(fingerprint) {
        home.set_installed(None)?;
        super::env::refresh_files(home, None);
    }
    Ok(())
}

/// The machine-wide lock around store changes. Waits (saying so) for another localca; without a
/// usable lock file, warns and goes on unprotected.
fn store_lock() -> Result<Option<localca::store_lock::StoreLock>, Failure> {
    use localca::store_lock::{StoreLock, StoreLockError};
    let on_wait = |path: &std::path::Path| {
        eprintln!(
            "Waiting for another localca to finish changing the trust stores (lock {})…",
            path.display()
        )
    };
    match StoreLock::acquire(on_wait) {
        Ok(lock) => Ok(Some(lock)),
        Err(e @ StoreLockError::Unavailable { .. }) => {
            eprintln!("warning: {e}; going on without it");
            Ok(None)
        }
        Err(e @ StoreLockError::Busy { .. }) => Err(Failure::new(
            e.to_string(),
            Some("if no localca is running, find the holder with `fuser -v` on that file"),
        )),
    }
}

fn confirm(question: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new("refusing to delete the CA without confirmation", Some("add --yes")));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(format!("reading the answer: {e}"), None))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

pub fn status(identity: &Identity, home: &CaHome, stores: &StoreArgs, json: bool) -> Result<(), Failure> {
    let root = home.load_certificate()?;
    let cert = trust::root_cert(&root);
    let stores = trust::stores(identity, selected(stores), scope(stores));
    let reports = trust::status(&stores, &cert);
    let team_roots = localca::team::list(home);
    let mut others = trust::other_roots(&stores, &cert.sha256_hex);
    others.retain(|(.., fp)| !team_roots.iter().any(|t| t.fingerprint_hex() == *fp));
    let trusted_everywhere =
        reports.iter().all(|r| matches!(r.outcome, Outcome::AlreadyInstalled | Outcome::Skipped { .. }));
    if json {
        let rows: Vec<_> = reports
            .iter()
            .map(|r| {
                json!({
                    "store": r.kind,
                    "location": r.location,
                    "state": state_word(&r.outcome),
                    "detail": detail(&r.outcome),
                })
            })
            .collect();
        let others: Vec<_> = others
            .iter()
            .map(|(kind, location, label, fp)| {
                json!({
                    "store": kind, "location": location, "label": label, "sha256": fp,
                })
            })
            .collect();
        let teams: Vec<_> = team_roots
            .iter()
            .map(|t| {
                let reports = trust::status(&stores, &localca::team::store_cert(t));
                let trusted_in: Vec<_> = reports
                    .iter()
                    .filter(|r| matches!(r.outcome, Outcome::AlreadyInstalled))
                    .map(|r| json!({ "store": r.kind, "location": r.location }))
                    .collect();
                json!({ "subject": t.subject(), "sha256": t.fingerprint_hex(), "trusted_in": trusted_in })
            })
            .collect();
        let doc = json!({ "sha256": cert.sha256_hex, "trusted": trusted_everywhere, "stores": rows, "other_roots": others, "trusted_roots": teams });
        println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
    } else {
        println!("Root {} ({}…):", cert.nickname, &cert.sha256_hex[..16]);
        for r in &reports {
            let fix = match &r.outcome {
                Outcome::NotInstalled => " — fix: localca install".to_string(),
                Outcome::Skipped { fix: Some(fix), .. } | Outcome::ToolMissing { fix, .. } => {
                    format!(" — fix: {fix}")
                }
                _ => String::new(),
            };
            println!(
                "  {:<7} {:<12} {}{}{fix}",
                r.kind,
                state_word(&r.outcome),
                r.location,
                detail(&r.outcome).map(|d| format!(" ({d})")).unwrap_or_default()
            );
        }
        for (kind, location, label, fp) in &others {
            println!("  note: an earlier localca root {label:?} is still in {kind} ({location}); remove it with: localca uninstall --fingerprint {fp}");
        }
        for team in &team_roots {
            let reports = trust::status(&stores, &localca::team::store_cert(team));
            let trusted_in: Vec<&str> = reports
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::AlreadyInstalled))
                .map(|r| r.kind)
                .collect();
            println!(
                "Trusted root {} (SHA-256 {}): trusted in {}",
                team.subject(),
                team.fingerprint_hex(),
                if trusted_in.is_empty() { "no store".to_string() } else { trusted_in.join(", ") }
            );
        }
        super::inventory::warn_expiring(home, &root, None);
    }
    if trusted_everywhere {
        Ok(())
    } else {
        Err(Failure::new("the root is not trusted in every store", Some("run `localca install`")))
    }
}

pub(super) fn state_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::AlreadyInstalled | Outcome::Installed => "trusted",
        Outcome::NotInstalled | Outcome::Removed => "not-installed",
        Outcome::Skipped { .. } => "absent",
        Outcome::ToolMissing { .. } => "tool-missing",
        Outcome::Failed(_) => "error",
    }
}

pub(super) fn detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Skipped { reason, .. } | Outcome::ToolMissing { reason, .. } => Some(reason.clone()),
        Outcome::Failed(e) => Some(e.clone()),
        _ => None,
    }
}

/// Runs `op` store by store, saying on stderr which store it is working on when stderr is a
/// terminal (some stores take seconds: a Java keystore, many Firefox profiles); the line is
/// cleared afterwards, so only the report remains.
fn with_progress(
    stores: &[Box<dyn localca::platform::TrustStore>],
    what: &str,
    op: impl Fn(&[Box<dyn localca::platform::TrustStore>]) -> Vec<StoreReport>,
) -> Vec<StoreReport> {
    let show = stores.len() > 1 && std::io::stderr().is_terminal();
    let mut reports = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        if show {
            eprint!("\r\x1b[K{what} {} ({}/{})…", store.kind(), i + 1, stores.len());
        }
        reports.extend(op(std::slice::from_ref(store)));
    }
    if show {
        eprint!("\r\x1b[K");
    }
    reports
}
