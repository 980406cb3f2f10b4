//! Where the root's private key lives: a 0600 file in the CA home, or the OS keyring (Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows) under service `localca` and
//! account = the root's SHA-256 fingerprint.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The keyring service name every localca key is stored under.
pub const KEYRING_SERVICE: &str = "localca";

/// Where a root key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStorage {
    /// `root-key.pem` in the CA home, 0600.
    File,
    /// The OS keyring.
    Keyring,
}

impl fmt::Display for KeyStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyStorage::File => "file",
            KeyStorage::Keyring => "keyring",
        })
    }
}

/// What the user asked for when a root is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyStorageChoice {
    /// The OS keyring when one answers, else a file (and say why).
    #[default]
    Auto,
    /// The OS keyring, or fail.
    Keyring,
    /// A 0600 file in the CA home.
    File,
}

impl FromStr for KeyStorageChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(KeyStorageChoice::Auto),
            "keyring" => Ok(KeyStorageChoice::Keyring),
            "file" => Ok(KeyStorageChoice::File),
            _ => Err(format!("unknown key storage {s:?}; use auto, keyring or file")),
        }
    }
}

/// The name of the OS keyring on this platform, for messages.
pub fn keyring_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "the macOS Keychain"
    } else if cfg!(windows) {
        "the Windows Credential Manager"
    } else {
        "the Secret Service keyring (gnome-keyring, KWallet, KeePassXC)"
    }
}

/// Stores `key_pem` for the root with this fingerprint, replacing any earlier item.
pub fn keyring_store(fingerprint_hex: &str, key_pem: &str) -> Result<()> {
    entry(fingerprint_hex)?.set_password(key_pem).map_err(keyring_error)
}

/// Reads the key of the root with this fingerprint.
pub fn keyring_load(fingerprint_hex: &str) -> Result<String> {
    entry(fingerprint_hex)?.get_password().map_err(keyring_error)
}

/// Deletes the key of the root with this fingerprint; deleting what is not there succeeds.
pub fn keyring_delete(fingerprint_hex: &str) -> Result<()> {
    match entry(fingerprint_hex)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(e)),
    }
}

fn entry(fingerprint_hex: &str) -> Result<keyring::Entry> {
    // The store is set up once per process; its own error says why (no session bus, …).
    if let Err(e) = keyring::Entry::store_status() {
        return Err(Error::Keyring { reason: describe(e), keyring: keyring_name() });
    }
    keyring::Entry::new(KEYRING_SERVICE, fingerprint_hex).map_err(keyring_error)
}

fn keyring_error(e: keyring::Error) -> Error {
    Error::Keyring { reason: describe(&e), keyring: keyring_name() }
}

/// One line saying what went wrong, in the user's terms.
fn describe(e: &keyring::Error) -> String {
    let text = e.to_string();
    if matches!(e, keyring::Error::NoEntry) {
        "the key is not in the keyring".into()
    } else if text.contains("DISPLAY")
        || text.contains("DBUS_SESSION_BUS_ADDRESS")
        || text.contains("Failed to connect to address")
    {
        "no session bus to reach it (is DBUS_SESSION_BUS_ADDRESS set?)".into()
    } else if text.contains("prompt") || text.contains("locked") {
        "the keyring is locked and nothing could prompt to unlock it".into()
    } else if text.contains("result not returned") {
        "the keyring has no unlocked default collection (a new or locked keyring)".into()
    } else {
        text
    }
}
