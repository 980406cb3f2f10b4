//! `localca ca …`: path, show, export, create.

use std::io::{IsTerminal, Write};

use localca::{CaHome, Identity, Mode, RootCa};
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
            let root = home.load()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&describe_json(home, &root)).expect("JSON"));
            } else {
                print!("{}", describe(home, &root));
            }
            Ok(())
        }
        CaCommand::Export { der, out } => {
            let root = home.load()?;
            let bytes = if der {
                root.certificate_der().to_vec()
            } else {
                root.certificate_pem().as_bytes().to_vec()
            };
            match out {
                Some(path) => {
                    localca::write_file_atomically(&path, &bytes, Mode::Public, home.owner())?;
                    eprintln!("Wrote the root certificate to {}", path.display());
                }
                None if der && std::io::stdout().is_terminal() => {
                    return Err(Failure::new(
                        "refusing to write DER to a terminal",
                        Some("add --out FILE, or redirect the output"),
                    ));
                }
                None => std::io::stdout()
                    .write_all(&bytes)
                    .map_err(|e| Failure::new(format!("writing to standard output: {e}"), None))?,
            }
            Ok(())
        }
        CaCommand::Create(args) => {
            let profile = root_profile(identity, &args)?;
            let root = home.create(&profile)?;
            announce_new_root(home, &root);
            println!("{}", root.fingerprint_hex());
            Ok(())
        }
    }
}

fn date(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn describe(home: &CaHome, root: &RootCa) -> String {
    let constraints = match root.name_constraints() {
        Some(set) => set.to_string(),
        None => "none (this root can vouch for any site)".into(),
    };
    format!(
        "Subject:          {}\nSHA-256:          {}\nValid:            {} to {}\nName constraints: {}\nCertificate:      {}\nKey:              file {}\n",
        root.subject(),
        root.fingerprint_hex(),
        date(root.not_before()),
        date(root.not_after()),
        constraints,
        home.cert_path().display(),
        home.key_path().display(),
    )
}

fn describe_json(home: &CaHome, root: &RootCa) -> serde_json::Value {
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
        "key": { "storage": "file", "path": home.key_path() },
    })
}
