//! `localca check URL|HOST[:PORT]`: what the server sends, and whether clients here accept it.

use std::io::IsTerminal;

use localca::check::{self, rfc3339, ChainsTo, Report, Roots, Target};
use localca::trust::{self, Outcome, StoreReport};
use localca::{CaHome, Identity};
use serde_json::json;

use super::args::CheckArgs;
use super::trust::{detail, state_word};
use super::Failure;

impl From<check::CheckError> for Failure {
    fn from(e: check::CheckError) -> Failure {
        Failure::new(e.to_string(), e.hint().as_deref())
    }
}

/// Colour for a terminal, never with `NO_COLOR` (https://no-color.org).
struct Paint(bool);

impl Paint {
    fn detect() -> Paint {
        Paint(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31;1", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32;1", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

pub fn run(identity: &Identity, home: &CaHome, args: CheckArgs) -> Result<(), Failure> {
    let target = Target::parse(&args.target)?;
    // The OS roots must be the OS's, not the files `localca env` points SSL_CERT_FILE at.
    super::env::forget_own_variables(home);
    let mut notes = Vec::new();
    let ours = match home.load_certificate() {
        Ok(root) => Some(root),
        Err(localca::Error::NoCa { .. }) => None,
        Err(e) => {
            notes.push(format!("the localca root could not be read, so it was not used: {e}"));
            None
        }
    };
    let stores = trust::stores(identity, None, Default::default());
    let ours_fp = ours.as_ref().map(|r| r.fingerprint_hex());
    let mut roots =
        Roots { localca: ours.as_ref().map(|r| r.certificate_der().to_vec()), ..Roots::default() };
    for store in stores.iter().filter(|s| s.detect() == localca::platform::Detection::Present) {
        for found in store.localca_roots().unwrap_or_default() {
            let fp = trust::sha256_hex(&found.der);
            if Some(&fp) != ours_fp.as_ref() && !roots.earlier_localca.contains(&found.der) {
                roots.earlier_localca.push(found.der);
            }
        }
    }
    let (os, unreadable) = check::os_roots();
    roots.os = os;
    let report = check::check(&target, args.connect, &roots)?;

    // For a localca chain: which stores on this machine trust the root.
    let store_reports = match (&report.chains_to, &ours) {
        (Some(ChainsTo::Localca), Some(root)) => trust::status(&stores, &trust::root_cert(root)),
        _ => Vec::new(),
    };
    for r in &store_reports {
        if matches!(r.outcome, Outcome::NotInstalled) {
            notes.push(format!(
                "the root is not in the {} store ({}): {} will refuse this server; fix: localca install",
                r.kind,
                r.location,
                clients_of(r.kind)
            ));
        }
    }
    if unreadable > 0 {
        notes.push(format!("{unreadable} part(s) of the OS store could not be read"));
    }

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&report, &store_reports, &notes)).expect("JSON")
        );
    } else {
        print_report(&report, &store_reports, &notes, &Paint::detect());
    }
    if report.ok() {
        Ok(())
    } else {
        Err(Failure::new(
            format!("clients on this machine will refuse {}", report.target),
            Some("see the problems above, each with its fix"),
        ))
    }
}

fn clients_of(kind: &str) -> &'static str {
    match kind {
        "system" => "curl, OpenSSL, Python, Go and the OS's own clients",
        "nss" => "Firefox and Chromium",
        "java" => "Java",
        _ => "clients that read it",
    }
}

fn protocol(p: &str) -> String {
    match p {
        "TLSv1_3" => "TLS 1.3".into(),
        "TLSv1_2" => "TLS 1.2".into(),
        other => other.into(),
    }
}

fn chains_to_word(c: Option<ChainsTo>) -> Option<&'static str> {
    c.map(|c| match c {
        ChainsTo::Localca => "localca",
        ChainsTo::Os => "os",
    })
}

fn to_json(report: &Report, stores: &[StoreReport], notes: &[String]) -> serde_json::Value {
    json!({
        "target": report.target.to_string(),
        "host": report.target.host,
        "port": report.target.port,
        "address": report.address.to_string(),
        "protocol": protocol(&report.protocol),
        "cipher_suite": report.cipher_suite,
        "alpn": report.alpn,
        "chain": report.chain.iter().map(|c| json!({
            "subject": c.subject,
            "issuer": c.issuer,
            "sans": c.sans,
            "not_before": rfc3339(c.not_before),
            "not_after": rfc3339(c.not_after),
            "sha256": c.sha256,
            "ca": c.is_ca,
        })).collect::<Vec<_>>(),
        "name_matches": report.name_matches,
        "chains_to": chains_to_word(report.chains_to),
        "stores": stores.iter().map(|r| json!({
            "store": r.kind, "location": r.location, "state": state_word(&r.outcome), "detail": detail(&r.outcome),
        })).collect::<Vec<_>>(),
        "problems": report.problems.iter().map(|p| json!({
            "code": p.code, "message": p.message, "fix": p.fix,
        })).collect::<Vec<_>>(),
        "warnings": report.warnings.iter().map(|p| json!({
            "code": p.code, "message": p.message, "fix": p.fix,
        })).collect::<Vec<_>>(),
        "notes": notes,
        "ok": report.ok(),
    })
}

fn print_report(report: &Report, stores: &[StoreReport], notes: &[String], paint: &Paint) {
    println!("{} (connected to {})", report.target, report.address);
    let alpn = report.alpn.as_deref().map(|a| format!(", ALPN {a}")).unwrap_or_else(|| ", no ALPN".into());
    println!("  TLS:    {}, {}{alpn}", protocol(&report.protocol), report.cipher_suite);
    println!("  Chain sent by the server:");
    for (i, c) in report.chain.iter().enumerate() {
        println!("    {i} {}", c.subject);
        println!("        issuer: {}", c.issuer);
        if !c.sans.is_empty() {
            println!("        names:  {}", c.sans.join(", "));
        }
        println!("        valid:  {} to {}", rfc3339(c.not_before), rfc3339(c.not_after));
    }
    let name = if report.name_matches {
        paint.green(&format!("valid for {}", report.target.host))
    } else {
        paint.red(&format!("NOT valid for {}", report.target.host))
    };
    println!("  Name:   {name}");
    let trust = match report.chains_to {
        Some(ChainsTo::Localca) => paint.green("chains to the localca root"),
        Some(ChainsTo::Os) => paint.green("chains to a root in the OS store"),
        None => paint.red("chains to no root trusted here"),
    };
    println!("  Trust:  {trust}");
    for r in stores {
        println!("    {:<7} {:<13} {}", r.kind, state_word(&r.outcome), r.location);
    }
    for w in &report.warnings {
        println!("{} {} [{}]", paint.yellow("warning:"), w.message, w.code);
        println!("  fix: {}", w.fix);
    }
    for note in notes {
        println!("  {} {note}", paint.yellow("note:"));
    }
    if report.ok() {
        println!("{}", paint.green("OK: clients on this machine will accept this certificate."));
        return;
    }
    for p in &report.problems {
        println!("{} {} [{}]", paint.red("problem:"), p.message, p.code);
        println!("  fix: {}", p.fix);
    }
}
