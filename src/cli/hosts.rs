//! `localca hosts`: names mapped to 127.0.0.1 and ::1 in a managed block of the hosts file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use localca::platform::hosts;
use localca::platform::runner::{run_as_root, Cmd};
use localca::SubjectName;

use super::Failure;

#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// Map names to 127.0.0.1 and ::1.
    #[command(
        after_help = "Examples:\n  localca hosts add myapp.test api.myapp.test\n  sudo localca hosts add myapp.test"
    )]
    Add {
        /// Host names (no wildcards: a hosts file cannot hold them).
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        /// The hosts file (default /etc/hosts).
        #[arg(long, value_name = "FILE", env = "LOCALCA_HOSTS_FILE")]
        file: Option<PathBuf>,
    },
    /// Remove names (or --all) from the managed block.
    #[command(after_help = "Examples:\n  localca hosts remove api.myapp.test\n  localca hosts remove --all")]
    Remove {
        #[arg(value_name = "NAME", required_unless_present = "all")]
        names: Vec<String>,
        /// Remove the whole block.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// The hosts file (default /etc/hosts).
        #[arg(long, value_name = "FILE", env = "LOCALCA_HOSTS_FILE")]
        file: Option<PathBuf>,
    },
    /// List the names in the managed block.
    #[command(after_help = "Example:\n  localca hosts list")]
    List {
        /// The hosts file (default /etc/hosts).
        #[arg(long, value_name = "FILE", env = "LOCALCA_HOSTS_FILE")]
        file: Option<PathBuf>,
    },
}

pub fn run(command: HostsCommand) -> Result<(), Failure> {
    match command {
        HostsCommand::Add { names, file } => {
            let path = file.unwrap_or_else(hosts::default_path);
            let names = parse(&names)?;
            change(&path, |set| set.extend(names.iter().cloned()), "add", &names)?;
            println!("{} now maps to 127.0.0.1 and ::1 in {}", names.join(", "), path.display());
            Ok(())
        }
        HostsCommand::Remove { names, all, file } => {
            let path = file.unwrap_or_else(hosts::default_path);
            let names = if all { Vec::new() } else { parse(&names)? };
            change(
                &path,
                |set| if all { set.clear() } else { set.retain(|n| !names.contains(n)) },
                "remove",
                &names,
            )?;
            Ok(())
        }
        HostsCommand::List { file } => {
            let path = file.unwrap_or_else(hosts::default_path);
            for name in hosts::managed_names(&read(&path)?) {
                println!("{name}");
            }
            Ok(())
        }
    }
}

/// Normalised host names; wildcards and IP addresses are refused with one line.
fn parse(names: &[String]) -> Result<Vec<String>, Failure> {
    names
        .iter()
        .map(|n| match SubjectName::parse(n)? {
            SubjectName::Dns(d) if d.starts_with("*.") => Err(Failure::new(
                format!("{n}: a hosts file cannot hold wildcard names"),
                Some("add each name you use, e.g. localca hosts add a.myapp.test b.myapp.test"),
            )),
            SubjectName::Dns(d) => Ok(d),
            _ => Err(Failure::new(format!("{n}: not a host name"), None)),
        })
        .collect()
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::new(format!("{}: {e}", path.display()), None))
}

/// Applies `edit` to the block's names and writes the file when they changed: directly when
/// we may, else by running this same command through sudo.
fn change(
    path: &Path,
    edit: impl FnOnce(&mut BTreeSet<String>),
    verb: &str,
    names: &[String],
) -> Result<(), Failure> {
    let text = read(path)?;
    let mut set = hosts::managed_names(&text);
    let before = set.clone();
    edit(&mut set);
    if set == before {
        return Ok(());
    }
    let new = hosts::with_names(&text, &set);
    match hosts::write(path, &new) {
        Ok(()) => Ok(()),
        Err(localca::platform::StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::PermissionDenied && !is_root() =>
        {
            let exe = std::env::current_exe().map_err(|e| Failure::new(e.to_string(), None))?;
            let mut cmd = Cmd::new(exe).args(["hosts", verb, "--file"]).arg(path);
            cmd = if verb == "remove" && names.is_empty() { cmd.arg("--all") } else { cmd.args(names) };
            run_as_root(false, "hosts file", &format!("changing {}", path.display()), &[cmd])
                .map(drop)
                .map_err(|e| Failure::new(e.to_string(), None))
        }
        Err(e) => Err(Failure::new(e.to_string(), None)),
    }
}

fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    false
}

/// `proxy --hosts`: adds the routes' plain names (wildcards are said and skipped), returns them.
#[cfg(feature = "server")]
pub fn add_for_proxy(route_names: &[String]) -> Result<Vec<String>, Failure> {
    let (wild, plain): (Vec<&String>, Vec<&String>) = route_names.iter().partition(|n| n.starts_with("*."));
    for name in wild {
        eprintln!("hosts: {name} not added: a hosts file cannot hold wildcard names");
    }
    let plain: Vec<String> =
        plain.into_iter().filter(|n| n.parse::<std::net::IpAddr>().is_err()).cloned().collect();
    if plain.is_empty() {
        return Ok(plain);
    }
    let path = hosts::default_path();
    change(&path, |set| set.extend(plain.iter().cloned()), "add", &plain)?;
    eprintln!("hosts: added {} to {} until the proxy stops", plain.join(", "), path.display());
    Ok(plain)
}

/// `proxy --hosts` at exit: removes what [`add_for_proxy`] added; a failure is only reported.
#[cfg(feature = "server")]
pub fn remove_after_proxy(names: &[String]) {
    if names.is_empty() {
        return;
    }
    let path = hosts::default_path();
    let result = change(&path, |set| set.retain(|n| !names.contains(n)), "remove", names);
    if let Err(e) = result {
        eprintln!(
            "hosts: could not remove {}: {} (run `localca hosts remove --all`)",
            names.join(", "),
            e.message
        );
    }
}
