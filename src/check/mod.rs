//! `localca check`: connect to a TLS server, keep the chain it sends, and say in plain words
//! whether clients on this machine will accept it, and if not, why and what to do.
//!
//! The handshake accepts any certificate (so that a bad one can still be described); the chain is
//! then verified with rustls-webpki against the localca root and, separately, against the OS
//! store's roots, and each way it can fail is named: expired, wrong name, self-signed, unknown
//! issuer, an intermediate the server does not send, an earlier localca root, name constraints.

mod chain;
mod diagnose;
mod handshake;
mod target;

use std::net::{IpAddr, SocketAddr};

use rustls_pki_types::CertificateDer;

pub use chain::{rfc3339, CertInfo};
pub use diagnose::judge;
pub use handshake::Handshake;
pub use target::Target;

/// Why a check could not even look at a certificate.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The target is not a host, host:port or https:// URL.
    #[error("{input:?} is not something to check: {why}")]
    BadTarget {
        /// What was given.
        input: String,
        /// What is wrong with it.
        why: String,
    },
    /// The host name does not resolve.
    #[error("cannot resolve {host}: {why}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's answer.
        why: String,
    },
    /// Nothing answered.
    #[error("cannot connect to {address}: {why}")]
    Connect {
        /// Where.
        address: SocketAddr,
        /// The system's answer.
        why: String,
    },
    /// The TLS handshake failed before the server sent a certificate we could judge.
    #[error("the TLS handshake with {address} failed: {why}")]
    Handshake {
        /// Where.
        address: SocketAddr,
        /// rustls's answer.
        why: String,
    },
}

impl CheckError {
    /// What to try, in one line.
    pub fn hint(&self) -> Option<String> {
        match self {
            CheckError::BadTarget { .. } => Some("give a host, host:port or https:// URL, e.g. myapp.test:8443".into()),
            CheckError::Resolve { .. } => {
                Some("add --connect 127.0.0.1 to reach a name that does not resolve".into())
            }
            CheckError::Connect { .. } => Some("is the server running and listening on that port?".into()),
            CheckError::Handshake { .. } => {
                Some("is it a TLS port? Plain-HTTP servers and servers that require a client certificate fail here".into())
            }
        }
    }
}

/// The roots a chain is judged against.
#[derive(Debug, Default, Clone)]
pub struct Roots {
    /// The current localca root (DER), when there is a CA.
    pub localca: Option<Vec<u8>>,
    /// Earlier localca roots still found in this machine's stores (DER).
    pub earlier_localca: Vec<Vec<u8>>,
    /// The OS store's roots.
    pub os: Vec<CertificateDer<'static>>,
}

/// The OS store's roots, as rustls-native-certs finds them (which honours `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`), and how many could not be read.
pub fn os_roots() -> (Vec<CertificateDer<'static>>, usize) {
    let found = rustls_native_certs::load_native_certs();
    (found.certs, found.errors.len())
}

/// Which roots the chain leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainsTo {
    /// The current localca root.
    Localca,
    /// A root in the OS store.
    Os,
}

/// Something wrong with what the server sent, in plain words, with the fix.
#[derive(Debug, Clone)]
pub struct Problem {
    /// A stable identifier: `expired`, `not-yet-valid`, `name-mismatch`, `self-signed`,
    /// `unknown-issuer`, `missing-intermediate`, `earlier-root`, `name-constraints`,
    /// `not-for-servers`, `invalid`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Everything a check found.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was checked.
    pub target: Target,
    /// Where it connected.
    pub address: SocketAddr,
    /// The negotiated protocol version.
    pub protocol: String,
    /// The negotiated cipher suite.
    pub cipher_suite: String,
    /// The negotiated application protocol.
    pub alpn: Option<String>,
    /// The certificates sent, leaf first.
    pub chain: Vec<CertInfo>,
    /// Whether the leaf is valid for the target's host name.
    pub name_matches: bool,
    /// Which roots the chain leads to, if any trusted one.
    pub chains_to: Option<ChainsTo>,
    /// What is wrong (empty when clients will accept it).
    pub problems: Vec<Problem>,
    /// What will go wrong later, or elsewhere, though clients accept it now (`earlier-root`).
    pub warnings: Vec<Problem>,
}

impl Report {
    /// Whether the certificate is valid for the host and chains to the localca root or an OS root.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.name_matches && self.chains_to.is_some()
    }
}

/// Connects to `target` (at `connect` instead of its resolved address, when given), completes a
/// handshake and judges the chain against `roots`.
pub fn check(target: &Target, connect: Option<IpAddr>, roots: &Roots) -> Result<Report, CheckError> {
    let handshake = handshake::run(target, connect)?;
    Ok(judge(target, handshake, roots, time::OffsetDateTime::now_utc().unix_timestamp()))
}
