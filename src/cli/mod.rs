//! The commands. Each parses what it needs, calls the library and prints.

#[cfg(feature = "server")]
mod acme;
pub mod args;
mod ca;
mod cert;
mod trust;

use localca::{CaHome, Identity, NameConstraintSet, RootProfile};

use args::{Cli, Command, RootArgs};

/// A failed command: one line saying what is wrong, and what to do when there is something to say.
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
}

impl From<localca::Error> for Failure {
    fn from(e: localca::Error) -> Failure {
        Failure { hint: e.hint(), message: e.to_string() }
    }
}

impl Failure {
    fn new(message: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure { message: message.into(), hint: hint.map(String::from) }
    }
}

/// Runs one command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let identity = Identity::current();
    let home = CaHome::locate(&identity)?;
    match cli.command {
        Command::Cert(args) => cert::run(&identity, &home, args),
        Command::Ca(command) => ca::run(&identity, &home, command),
        Command::Install { stores, root } => trust::install(&identity, &home, &stores, &root),
        Command::Uninstall { stores, delete_ca, yes, fingerprint } => {
            trust::uninstall(&identity, &home, &stores, delete_ca, yes, fingerprint.as_deref())
        }
        Command::Status { stores, json } => trust::status(&identity, &home, &stores, json),
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
        set.permit(permit)?;
    }
    profile.name_constraints = Some(set);
    Ok(profile)
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
