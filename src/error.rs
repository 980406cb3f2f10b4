//! The library's error type: every failure names what is wrong, and [`Error::hint`] says what to do.

use std::path::PathBuf;

/// Everything that can go wrong in localca's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// No home folder could be found to put the CA in.
    #[error("cannot find a home folder for the CA ($HOME is not set)")]
    NoHomeFolder,
    /// The CA home holds no CA yet.
    #[error("no CA in {}", .home.display())]
    NoCa {
        /// The CA home that was looked at.
        home: PathBuf,
    },
    /// `ca create` on a home that already holds a root.
    #[error("a CA already exists in {}", .home.display())]
    CaExists {
        /// The CA home.
        home: PathBuf,
    },
    /// A file of the CA cannot be used; it is left exactly as it is.
    #[error("damaged CA: {}: {problem}", .path.display())]
    DamagedCa {
        /// The file that is wrong.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A name given for a certificate is not a valid host name, IP address, email address or URI.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: String,
        /// A suggestion, such as the name the user probably meant.
        suggestion: Option<String>,
    },
    /// A name is valid but outside the root's name constraints.
    #[error(
        "{name} is outside {} name constraints (permitted: {permitted})",
        if *.existing_root { "this CA's" } else { "the default" }
    )]
    NameNotPermitted {
        /// The refused name.
        name: String,
        /// The permitted set, for people to read.
        permitted: String,
        /// The `--permit` value that would cover the name.
        permit: String,
        /// Whether the CA exists (else the constraints are those a new root would get).
        existing_root: bool,
    },
    /// A `--permit` value is neither a DNS suffix nor an IP range.
    #[error("invalid --permit {value:?}: {reason}")]
    InvalidPermit {
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A certificate request without any name to put in the certificate.
    #[error("no names given: name at least one host, IP address, email address or URI")]
    NoNames,
    /// A validity outside what clients accept.
    #[error("--days {0} is out of range: use 1 to 825 (Apple refuses TLS leaves longer than 825 days)")]
    InvalidDays(u32),
    /// A certificate signing request that cannot be used.
    #[error("CSR {}: {problem}", .path.display())]
    InvalidCsr {
        /// The CSR file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The OS keyring holding (or meant to hold) the root key did not answer.
    #[error("{keyring} is unavailable: {reason}")]
    Keyring {
        /// What went wrong, in the user's terms.
        reason: String,
        /// Which keyring.
        keyring: &'static str,
    },
    /// Building or signing a certificate failed inside the crypto library.
    #[error("certificate generation failed: {0}")]
    Crypto(String),
    /// `--fingerprint` is not 8 to 64 hex digits.
    #[error("--fingerprint {typed:?}: give at least 8 hex digits of the root's SHA-256 fingerprint")]
    BadFingerprint {
        /// The value as typed.
        typed: String,
    },
    /// No installed localca root has a fingerprint starting with these digits.
    #[error("no localca root whose fingerprint starts with {prefix} is installed")]
    UnknownFingerprint {
        /// The normalised prefix.
        prefix: String,
    },
    /// Several installed localca roots have fingerprints starting with these digits.
    #[error("{prefix} is ambiguous: it starts the fingerprints of {}", .matches.join("…, ") + "…")]
    AmbiguousFingerprint {
        /// The normalised prefix.
        prefix: String,
        /// The first 16 digits of each match.
        matches: Vec<String>,
    },
    /// An option that shapes a new root was given, but the root exists and is not like that.
    #[error("{option} only applies when a root is created, and the existing root does not have it (it permits: {permitted})")]
    RootOptionNotApplied {
        /// The option as the user would type it (`--permit mycorp.dev`).
        option: String,
        /// What the existing root permits.
        permitted: String,
    },
    /// A CA home that others could have changed (owner, permissions, links): refused.
    #[error("refusing the CA home: {}: {problem}", .path.display())]
    UnsafeCaHome {
        /// The folder or file that is wrong.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// The command that fixes it.
        fix: String,
    },
    /// `--delete-ca` on a folder that holds no CA: nothing in it is touched.
    #[error("{} is not a CA home (no root.pem): nothing was deleted", .path.display())]
    NotCaHome {
        /// The folder.
        path: PathBuf,
    },
    /// The inventory of issued certificates cannot be read; it is left exactly as it is.
    #[error("damaged inventory: {}: {problem}", .path.display())]
    DamagedInventory {
        /// The inventory file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A rotation, import or team-root operation that cannot go on; the message says where it
    /// stopped and what is still in place.
    #[error("{0}")]
    Stopped(String),
    /// A `CertResolver` lifetime or renewal margin that cannot work.
    #[error("leaf lifetime {lifetime:?} with renewal {renew_before:?} before expiry: {reason}")]
    InvalidLifetime {
        /// The lifetime asked for.
        lifetime: std::time::Duration,
        /// The renewal margin asked for.
        renew_before: std::time::Duration,
        /// Why it cannot work.
        reason: &'static str,
    },
}

impl Error {
    /// What the user can do about this error, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoCa { .. } => Some("create one with `localca ca create` or `localca install`".into()),
            Error::CaExists { .. } => {
                Some("`localca ca show` describes it; `localca uninstall --delete-ca` removes it".into())
            }
            Error::DamagedCa { .. } => Some(
                "localca never replaces a CA on its own: restore the file from a backup, or move the \
                 CA home away (`localca ca path`) to start over with a new root"
                    .into(),
            ),
            Error::InvalidName { suggestion: Some(s), .. } => Some(format!("did you mean {s}?")),
            Error::NameNotPermitted { permit, existing_root, .. } => {
                Some(crate::permits::not_permitted_hint(permit, *existing_root))
            }
            Error::BadFingerprint { .. } | Error::UnknownFingerprint { .. } => {
                Some("`localca status` lists the localca roots installed, with their fingerprints".into())
            }
            Error::AmbiguousFingerprint { .. } => Some("give more digits".into()),
            Error::RootOptionNotApplied { option, .. } => Some(format!(
                "a root's constraints are fixed when it is created: `localca ca rotate {option}` replaces \
                 it with a root that has them"
            )),
            Error::NoHomeFolder => Some("set HOME, or LOCALCA_HOME to the CA folder".into()),
            Error::Keyring { .. } => Some(
                "run localca inside a desktop session with the keyring unlocked (or under \
                 `dbus-run-session` with an unlocked gnome-keyring), or create the CA with \
                 `--key-storage file`; a CA whose key is in the keyring can be moved with \
                 `localca ca move-key --to file` where the keyring is reachable"
                    .into(),
            ),
            Error::UnsafeCaHome { fix, .. } => {
                Some(format!("if it is your CA, run: {fix}; otherwise point LOCALCA_HOME elsewhere"))
            }
            Error::DamagedInventory { .. } => Some(
                "the certificates themselves still work; fix or move the file away (localca then \
                 starts a new, empty inventory)"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Whether this is a usage error (the command line asks for something impossible): the
    /// command exits 2 for these, as for clap's own.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::NoNames | Error::InvalidDays(_) | Error::BadFingerprint { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn damaged(path: impl Into<PathBuf>, problem: impl Into<String>) -> Error {
        Error::DamagedCa { path: path.into(), problem: problem.into() }
    }
}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Error {
        Error::Crypto(e.to_string())
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
