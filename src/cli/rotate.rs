//! `localca ca rotate` and `localca ca import --mkcert`.

use localca::trust::{self, Outcome};
use localca::{
    CaHome, Identity, Inventory, NameConstraintSet, Renewal, RootCertificate, RootProfile, Rotation, Stage,
};

use super::args::{ImportArgs, RotateArgs};
use super::Failure;

/// Says where a rotation stopped and that the old root still works.
fn stopped(step: &str, why: String) -> Failure {
    Failure::new(
        format!("the rotation stopped while {step}: {why}"),
        Some(
            "the old root is still installed, so certificates that worked still work; fix the problem \
             and run `localca ca rotate` again to finish",
        ),
    )
}

/// The new root's profile: the old root's constraints (the defaults when it had none) plus
/// `--permit`; `--no-name-constraints` for none; `--no-ip-constraints` drops the IP subtrees.
fn new_profile(
    identity: &Identity,
    old: &RootCertificate,
    args: &RotateArgs,
) -> Result<RootProfile, Failure> {
    let mut profile = RootProfile::for_identity(identity);
    if args.no_name_constraints {
        profile.name_constraints = None;
        return Ok(profile);
    }
    let mut set = old.name_constraints().cloned().unwrap_or_else(NameConstraintSet::default);
    for permit in &args.permits {
        set.permit(permit)?;
    }
    if args.no_ip_constraints {
        set = set.without_ip_constraints();
    }
    profile.name_constraints = Some(set);
    Ok(profile)
}

pub fn rotate(identity: &Identity, home: &CaHome, args: &RotateArgs) -> Result<(), Failure> {
    let mut rotation = match Rotation::load(home)? {
        Some(r) => {
            if !args.permits.is_empty() || args.no_name_constraints || args.no_ip_constraints {
                eprintln!(
                    "note: finishing the rotation begun earlier; its new root's constraints were fixed then"
                );
            }
            println!("Resuming the rotation to root {}… (done so far: {:?}).", &r.new_sha256[..16], r.stage);
            r
        }
        None => {
            let old = home.load_certificate()?;
            let profile = new_profile(identity, &old, args)?;
            // Refuse, before anything changes, when a recorded leaf could not be re-issued.
            if let Some(set) = &profile.name_constraints {
                for leaf in Inventory::load(home)?.leaves.iter().filter(|l| !l.from_csr()) {
                    if let Err(e) = leaf.subject_names().and_then(|names| set.check(&names)) {
                        return Err(Failure::new(
                            format!("{}: {e}", leaf.main_path().display()),
                            Some("add --permit for it, so its re-issued certificate keeps working"),
                        ));
                    }
                }
            }
            let r = Rotation::begin(home, &profile)?;
            println!("Created a new root {}… to replace {}….", &r.new_sha256[..16], &r.old_sha256[..16]);
            match profile.name_constraints {
                Some(set) => println!("  It can only vouch for: {set}"),
                None => eprintln!("  warning: the new root has no name constraints"),
            }
            r
        }
    };
    let old = trust::root_cert(&rotation.old_root(home)?);
    let new = trust::root_cert(&rotation.new_root(home)?);

    if rotation.stage < Stage::Installed {
        println!("Installing the new root where the old one is:");
        let all = super::trust::selected_stores(identity, &args.stores);
        let had_old = trust::status(&all, &old);
        let holders: Vec<_> = all
            .into_iter()
            .zip(&had_old)
            .filter(|(_, r)| matches!(r.outcome, Outcome::AlreadyInstalled))
            .map(|(s, _)| s)
            .collect();
        if holders.is_empty() {
            println!("  the old root is not installed in any store");
        }
        let reports = trust::install(&holders, &new);
        super::trust::print_reports(&reports);
        let failed: Vec<&str> = reports.iter().filter(|r| r.outcome.is_failure()).map(|r| r.kind).collect();
        if !failed.is_empty() {
            return Err(stopped("installing the new root", format!("not done in {}", failed.join(", "))));
        }
        if !holders.is_empty() {
            home.set_installed(Some(&new.sha256_hex))?;
        }
        rotation.advance(home, Stage::Installed)?;
    }
    if rotation.stage < Stage::Switched {
        rotation.switch(home).map_err(|e| stopped("switching the CA to the new root", e.to_string()))?;
        println!("The CA now signs with the new root.");
    }
    if rotation.stage < Stage::Reissued {
        reissue_all(home, &new.sha256_hex)?;
        rotation.advance(home, Stage::Reissued)?;
    }
    println!("Removing the old root:");
    let reports = trust::uninstall(&super::trust::selected_stores(identity, &args.stores), &old);
    super::trust::print_reports(&reports);
    let failed: Vec<&str> = reports.iter().filter(|r| r.outcome.is_failure()).map(|r| r.kind).collect();
    if !failed.is_empty() {
        return Err(stopped("removing the old root", format!("not done in {}", failed.join(", "))));
    }
    rotation.finish(home)?;
    println!("Done: the root is now {}.", new.sha256_hex);
    Ok(())
}

fn reissue_all(home: &CaHome, new_sha256: &str) -> Result<(), Failure> {
    let root = home.load()?;
    let inventory = Inventory::load(home)?;
    // ACME leaves have no files here: their clients renew them, from the new root once
    // `localca acme serve` signs with it.
    let (acme, files): (Vec<_>, Vec<_>) = inventory.leaves.iter().partition(|l| l.is_acme());
    println!("Re-issuing {} recorded certificate(s):", files.len());
    for leaf in files.into_iter().filter(|l| l.root_sha256 != new_sha256) {
        let label = leaf.main_path();
        match localca::reissue(home, &root, leaf, None) {
            Ok(Renewal::Renewed(_)) => println!("  re-issued {}", label.display()),
            Ok(Renewal::Skipped(why)) => {
                println!(
                    "  skipped   {}: {why} (it stops working when the old root is removed)",
                    label.display()
                )
            }
            Err(e) => return Err(stopped(&format!("re-issuing {}", label.display()), e.to_string())),
        }
    }
    let old_acme = acme.iter().filter(|l| l.root_sha256 != new_sha256 && !l.is_revoked()).count();
    if old_acme > 0 {
        println!(
            "  skipped   {old_acme} certificate(s) issued via ACME: ACME clients will get leaves from the new \
             root at their next renewal (restart `localca acme serve` so it signs with the new root; until \
             then those leaves fail where the old root is removed, so force a renewal to switch now)"
        );
    }
    Ok(())
}

pub fn import_mkcert(home: &CaHome, args: &ImportArgs) -> Result<(), Failure> {
    let dir = match &args.mkcert {
        Some(Some(dir)) => dir.clone(),
        _ => localca::mkcert_caroot().ok_or_else(|| {
            Failure::new("cannot find mkcert's CA folder", Some("name it: localca ca import --mkcert DIR"))
        })?,
    };
    let (cert_path, key_path) = (dir.join("rootCA.pem"), dir.join("rootCA-key.pem"));
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| {
            Failure::new(
                format!("{}: {e}", path.display()),
                Some("name mkcert's CA folder (`mkcert -CAROOT` prints it): localca ca import --mkcert DIR"),
            )
        })
    };
    let (cert_pem, key_pem) = (read(&cert_path)?, read(&key_path)?);
    let (root, creation) = home.adopt(&cert_pem, &key_pem, (&cert_path, &key_path), args.key_storage)?;
    println!("Imported mkcert's CA from {} into {}.", dir.display(), home.path().display());
    println!("  Root: {} ({})", root.subject(), root.fingerprint_hex());
    match creation.key_storage {
        localca::KeyStorage::Keyring => println!("  Its key is in {}.", localca::keyring_name()),
        localca::KeyStorage::File => println!("  Its key is in a 0600 file, {}.", home.key_path().display()),
    }
    if root.name_constraints().is_none() {
        eprintln!(
            "warning: mkcert's root has no name constraints: anyone who obtains its key can impersonate \
             any website to machines that trust it; `localca ca rotate` moves to a name-constrained root \
             and re-issues the certificates localca recorded"
        );
    }
    println!("Stores that trust it keep trusting it; `localca install` adds it where it is missing.");
    Ok(())
}
