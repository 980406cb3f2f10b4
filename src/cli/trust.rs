//! `localca install`, `uninstall` and `status`: one line per store.

use std::io::{BufRead, IsTerminal, Write};

use localca::trust::{self, Outcome, StoreReport};
use localca::{CaHome, Identity};
use serde_json::json;

use super::args::{RootArgs, StoreArgs};
use super::{announce_new_root, root_profile, Failure};

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
        other => other?,
    };
    let cert = trust::root_cert(&root);
    let stores = trust::stores(identity, selected(stores), scope(stores));
    println!("Installing {} ({}…):", cert.nickname, &cert.sha256_hex[..16]);
    let reports = trust::install(&stores, &cert);
    print_reports(&reports);
    let any_trusted =
        reports.iter().any(|r| matches!(r.outcome, Outcome::Installed | Outcome::AlreadyInstalled));
    if any_trusted && !home.is_marked_installed(&cert.sha256_hex) {
        home.set_installed(Some(&cert.sha256_hex))?;
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
    let stores = trust::stores(identity, selected(stores), scope(stores));
    if let Some(fp) = fingerprint {
        return uninstall_other(&stores, &fp.replace(':', "").to_ascii_lowercase());
    }
    let root = match home.load_certificate() {
        Ok(root) => root,
        Err(localca::Error::NoCa { .. }) => {
            println!("No CA in {}: nothing to uninstall.", home.path().display());
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let cert = trust::root_cert(&root);
    println!("Removing {} ({}…):", cert.nickname, &cert.sha256_hex[..16]);
    let reports = trust::uninstall(&stores, &cert);
    print_reports(&reports);
    failures(&reports, "remove")?;
    home.set_installed(None)?;
    if delete_ca {
        if !yes
            && !confirm(&format!(
                "Delete the CA in {}? Certificates it issued will stop working. [y/N] ",
                home.path().display()
            ))?
        {
            return Err(Failure::new("the CA was kept", Some("add --yes to delete it without asking")));
        }
        home.delete()?;
        println!("Deleted the CA in {}.", home.path().display());
    }
    Ok(())
}

fn uninstall_other(
    stores: &[Box<dyn localca::platform::TrustStore>],
    fingerprint: &str,
) -> Result<(), Failure> {
    let found: Vec<_> = stores
        .iter()
        .flat_map(|s| s.localca_roots().unwrap_or_default())
        .find(|f| trust::sha256_hex(&f.der) == fingerprint)
        .into_iter()
        .collect();
    let Some(found) = found.first() else {
        println!("No localca root with fingerprint {fingerprint} is installed.");
        return Ok(());
    };
    let cert = trust::found_root_cert(&found.label, &found.der);
    println!("Removing {} ({}…):", cert.nickname, &cert.sha256_hex[..16]);
    let reports = trust::uninstall(stores, &cert);
    print_reports(&reports);
    failures(&reports, "remove")
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

fn state_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::AlreadyInstalled | Outcome::Installed => "trusted",
        Outcome::NotInstalled | Outcome::Removed => "not-installed",
        Outcome::Skipped { .. } => "absent",
        Outcome::ToolMissing { .. } => "tool-missing",
        Outcome::Failed(_) => "error",
    }
}

fn detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Skipped { reason, .. } | Outcome::ToolMissing { reason, .. } => Some(reason.clone()),
        Outcome::Failed(e) => Some(e.clone()),
        _ => None,
    }
}
