//! `localca ca …`: path, show, export, create.

use std::io::IsTerminal;

use localca::{CaHome, Identity, KeyMove, KeyStorage, Mode, RootCertificate};
use serde_json::json;

use super::args::CaCommand;
use super::{announce_new_root, root_profile, Failure};

pub fn run(identity: &Identity, home: &CaHome, command: CaCommand) -> Result<(), Failure> {
    match command {
        CaCommand::Path => {
            println!("{}", home.path().display());
            // A path is printed either way; the exit code says whether a CA is there.
            if !home.cert_path().exists() {
                return Err(localca::Error::NoCa { home: home.path().to_path_buf() }.into());
            }
            Ok(())
        }
        CaCommand::Show { json } => {
            let root = checked_root(home)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&describe_json(home, &root)).expect("JSON"));
            } else {
                print!("{}", describe(home, &root));
            }
            Ok(())
        }
        CaCommand::Export { der, out } => {
            let root = checked_root(home)?;
            let bytes = if der {
                root.certificate_der().to_vec()
            } else {
                root.certificate_pem().as_bytes().to_vec()
            };
            match out {
                Some(path) => {
                    localca::write_outputs(&[(&path, &bytes, Mode::Public)], home.owner())?;
                    if !localca::is_std_stream(&path) {
                        eprintln!("Wrote the root certificate to {}", path.display());
                    }
                }
                None if der && std::io::stdout().is_terminal() => {
                    return Err(Failure::new(
                        "refusing to write DER to a terminal",
                        Some("add --out FILE, or redirect the output"),
                    ));
                }
                None => crate::console::out_bytes(&bytes)
                    .map_err(|e| Failure::new(format!("writing to standard output: {e}"), None))?,
            }
            Ok(())
        }
        CaCommand::MoveKey { to } => {
            let to = if to == "keyring" { KeyStorage::Keyring } else { KeyStorage::File };
            let result = home.move_key(to)?;
            let place = key_location(home, &home.load_certificate()?);
            match result {
                KeyMove::Moved => println!("Moved the root key to {place}."),
                KeyMove::AlreadyThere => println!("The root key already is in {place}."),
                KeyMove::MovedOldCopyLeft(why) => {
                    println!("Moved the root key to {place}.");
                    eprintln!(
                        "warning: the old copy in {} could not be deleted ({why}); delete the item \
                         (service {}, account {}) by hand",
                        localca::keyring_name(),
                        localca::KEYRING_SERVICE,
                        home.load_certificate()?.fingerprint_hex()
                    );
                }
            }
            Ok(())
        }
        CaCommand::Create(args) => {
            let profile = root_profile(identity, &args)?;
            let (root, creation) = home.create(&profile)?;
            announce_new_root(home, &root, &creation);
            println!("{}", root.fingerprint_hex());
            Ok(())
        }
        CaCommand::Rotate(args) => super::rotate::rotate(identity, home, &args),
        CaCommand::Import(args) => super::rotate::import_mkcert(home, &args),
    }
}

fn date(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn describe(home: &CaHome, root: &RootCertificate) -> String {
    let constraints = match root.name_constraints() {
        Some(set) => set.to_string(),
        None => "none (this root can vouch for any site)".into(),
    };
    format!(
        "Subject:          {}\nSHA-256:          {}\nValid:            {} to {}\nName constraints: {}\nCertificate:      {}\nKey:              {}\n",
        root.subject(),
        root.fingerprint_hex(),
        date(root.not_before()),
        date(root.not_after()),
        constraints,
        home.cert_path().display(),
        key_location(home, root),
    )
}

fn describe_json(home: &CaHome, root: &RootCertificate) -> serde_json::Value {
    let constraints = root.name_constraints().map(|set| {
        json!({
            "dns": set.dns_suffixes(),
            "ip": set.ip_ranges().iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    });
    json!({
        "home": home.path(),
        "subject": root.subject(),
        "sha256": root.fingerprint_hex(),
        "not_before": date(root.not_before()),
        "not_after": date(root.not_after()),
        "name_constraints": constraints,
        "certificate": home.cert_path(),
        "key": match home.key_storage() {
            KeyStorage::File => json!({ "storage": "file", "path": home.key_path() }),
            KeyStorage::Keyring => json!({
                "storage": "keyring",
                "service": localca::KEYRING_SERVICE,
                "account": root.fingerprint_hex(),
            }),
        },
    })
}

fn key_location(home: &CaHome, root: &RootCertificate) -> String {
    match home.key_storage() {
        KeyStorage::File => format!("a 0600 file, {}", home.key_path().display()),
        KeyStorage::Keyring => format!(
            "{} (service {}, account {})",
            localca::keyring_name(),
            localca::KEYRING_SERVICE,
            root.fingerprint_hex()
        ),
    }
}

/// The root certificate for `show` and `export`, with the whole CA checked when the key is a file
/// (cheap); a key in the keyring is not read, so both work where the keyring is not reachable.
fn checked_root(home: &CaHome) -> Result<RootCertificate, localca::Error> {
    match home.key_storage() {
        KeyStorage::File => home.load().map(|root| (*root).clone()),
        KeyStorage::Keyring => home.load_certificate(),
    }
}
