//! The commands. Each parses what it needs, calls the library and prints.

#[cfg(feature = "server")]
mod acme;
pub mod args;
mod ca;
mod cert;
mod hosts;
mod inventory;
pub mod mkcert;
#[cfg(feature = "server")]
mod proxy;
mod rotate;
mod team;
mod trust;

// The everyday-workflow commands.
mod check;
mod completions;
mod env;

use localca::{CaHome, Identity, NameConstraintSet, RootProfile};

use args::{Cli, Command, RootArgs};

/// A failed command: one line saying what is wrong, and what to do when there is something to say.
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    /// The exit code: 1, or 2 for a usage error.
    pub code: u8,
}

impl From<localca::Error> for Failure {
    fn from(e: localca::Error) -> Failure {
        Failure { hint: e.hint(), message: e.to_string(), code: if e.is_usage() { 2 } else { 1 } }
    }
}

impl Failure {
    pub fn new(message: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure { message: message.into(), hint: hint.map(String::from), code: 1 }
    }

    /// A usage error (exit 2).
    fn usage(message: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure { code: 2, ..Failure::new(message, hint) }
    }
}

/// Runs one command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let identity = Identity::current();
    let home = CaHome::locate(&identity)?;
    if let Some(note) = mkcert::caroot_note(home.path()) {
        eprintln!("{note}");
    }
    match cli.command {
        Command::Cert(args) => cert::run(&identity, &home, args),
        Command::Ca(command) => ca::run(&identity, &home, command),
        Command::Install { stores, trust: Some(file), .. } => team::install(&identity, &home, &stores, &file),
        Command::Install { stores, root, trust: None } => trust::install(&identity, &home, &stores, &root),
        Command::Uninstall { stores, trust: Some(which), .. } => {
            team::uninstall(&identity, &home, &stores, &which)
        }
        Command::Uninstall { stores, delete_ca, yes, fingerprint, trust: None } => {
            trust::uninstall(&identity, &home, &stores, delete_ca, yes, fingerprint.as_deref())
        }
        Command::Status { stores, json } => trust::status(&identity, &home, &stores, json),
        Command::Check(args) => check::run(&identity, &home, args),
        Command::Env(args) => env::run(&home, args),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man => completions::man(),
        #[cfg(feature = "server")]
        Command::Proxy(args) => proxy::run(&home, args),
        Command::Hosts(command) => hosts::run(command),
        Command::List(args) => inventory::list(&home, args),
        Command::Renew(args) => inventory::renew(&home, args),
        #[cfg(feature = "server")]
        Command::Acme(args::AcmeCommand::Serve(args)) => acme::serve(&identity, &home, args),
        #[cfg(not(feature = "server"))]
        Command::Acme(_) => Err(Failure::new(
            "this localca was built without the servers",
            Some("build with the default features (`server`)"),
        )),
    }
}

/// The profile a new root would get from these options.
fn root_profile(identity: &Identity, args: &RootArgs) -> Result<RootProfile, Failure> {
    let mut profile = RootProfile::for_identity(identity);
    profile.key_storage = args.key_storage;
    if args.no_name_constraints {
        profile.name_constraints = None;
        return Ok(profile);
    }
    let mut set = NameConstraintSet::default();
    for permit in &args.permits {
        if args.no_ip_constraints && localca::IpRange::parse(permit).is_some() {
            return Err(Failure::usage(
                format!("--permit {permit} contradicts --no-ip-constraints"),
                Some("with --no-ip-constraints every IP address is permitted: drop the IP --permit"),
            ));
        }
        set.permit(permit)?;
    }
    if args.no_ip_constraints {
        set = set.without_ip_constraints();
    }
    profile.name_constraints = Some(set);
    Ok(profile)
}

/// Refuses root-shaping options (`--permit`, `--no-*-constraints`) that an existing root with
/// `constraints` does not already satisfy, instead of silently ignoring them.
fn check_root_args(constraints: Option<&NameConstraintSet>, args: &RootArgs) -> Result<(), Failure> {
    let wishes = localca::RootWishes {
        permits: args.permits.clone(),
        no_name_constraints: args.no_name_constraints,
        no_ip_constraints: args.no_ip_constraints,
    };
    Ok(wishes.check_existing(constraints)?)
}

/// Says what a newly created root is allowed to vouch for, and where its key went.
fn announce_new_root(home: &CaHome, root: &localca::RootCa, creation: &localca::Creation) {
    eprintln!("Created a new local CA in {}", home.path().display());
    match (&creation.key_storage, &creation.keyring_unavailable) {
        (localca::KeyStorage::Keyring, _) => eprintln!(
            "  Its key is in {} (service {}, account {}).",
            localca::keyring_name(),
            localca::KEYRING_SERVICE,
            root.fingerprint_hex()
        ),
        (localca::KeyStorage::File, Some(why)) => eprintln!(
            "  Its key is in a 0600 file, {}: no OS keyring answered: {why}.",
            home.key_path().display()
        ),
        (localca::KeyStorage::File, None) => {
            eprintln!("  Its key is in a 0600 file, {}.", home.key_path().display())
        }
    }
    match root.name_constraints() {
        Some(set) => eprintln!("  It can only vouch for: {set}"),
        None => eprintln!(
            "  warning: it has no name constraints: anyone who obtains its key can impersonate any \
             website to this machine. Keep the key safe, or create a constrained root instead."
        ),
    }
}
