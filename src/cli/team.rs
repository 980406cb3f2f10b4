//! `localca install --trust FILE` and `localca uninstall --trust FILE|FINGERPRINT`: someone
//! else's root in the same stores, trust only.

use localca::{team, trust, CaHome, Identity};

use super::args::StoreArgs;
use super::Failure;

pub fn install(
    identity: &Identity,
    home: &CaHome,
    args: &StoreArgs,
    file: &std::path::Path,
) -> Result<(), Failure> {
    let root = team::read(file)?;
    if home.load_certificate().is_ok_and(|ours| ours.fingerprint_hex() == root.fingerprint_hex()) {
        return Err(Failure::new(
            format!("{} is this machine's own localca root", file.display()),
            Some("`localca install` installs it"),
        ));
    }
    let cert = team::store_cert(&root);
    println!("Trusting {} ({}):", root.subject(), cert.sha256_hex);
    if root.name_constraints().is_none() {
        eprintln!("note: this root has no name constraints: it can vouch for any website");
    }
    let copy = team::add(home, &root)?;
    let reports = trust::install(&super::trust::selected_stores(identity, args), &cert);
    super::trust::print_reports(&reports);
    println!(
        "A copy is kept in {}; `localca uninstall --trust {}` removes it.",
        copy.display(),
        cert.sha256_hex
    );
    super::trust::failures(&reports, "install")
}

pub fn uninstall(identity: &Identity, home: &CaHome, args: &StoreArgs, which: &str) -> Result<(), Failure> {
    let path = std::path::Path::new(which);
    let fingerprint = if path.is_file() {
        team::read(path)?.fingerprint_hex()
    } else {
        let fp = which.replace(':', "").to_ascii_lowercase();
        if fp.len() != 64 || !fp.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Failure::new(
                format!("{which:?} is neither a certificate file nor a SHA-256 fingerprint"),
                Some("`localca status` lists the trusted roots with their fingerprints"),
            ));
        }
        fp
    };
    let Some(root) = team::find(home, &fingerprint)? else {
        return Err(Failure::new(
            format!("no root with fingerprint {fingerprint} was added with `install --trust`"),
            Some("`localca status` lists the trusted roots; `localca uninstall --fingerprint` removes earlier localca roots"),
        ));
    };
    let cert = team::store_cert(&root);
    println!("Removing {} ({}):", root.subject(), cert.sha256_hex);
    let reports = trust::uninstall(&super::trust::selected_stores(identity, args), &cert);
    super::trust::print_reports(&reports);
    super::trust::failures(&reports, "remove")?;
    team::remove(home, &fingerprint)?;
    Ok(())
}
