//! localca: a local development CA that every client on the machine trusts.
//!
//! One persistent root per user, name-constrained to development names (`localhost`, `*.test`,
//! private IP ranges, …) so that a leaked root key cannot impersonate real sites, and leaf
//! certificates signed by it. The same library backs the `localca` command, and Rust projects can
//! use it to issue trusted certificates in their own tests:
//!
//! ```no_run
//! use localca::{CaHome, Identity, LeafProfile, RootProfile, SubjectName};
//!
//! let identity = Identity::current();
//! let home = CaHome::locate(&identity)?;
//! let (root, _created) = home.load_or_create(&RootProfile::for_identity(&identity))?;
//! let names = [SubjectName::parse("myapp.test")?, SubjectName::parse("127.0.0.1")?];
//! let leaf = root.issue(&names, &LeafProfile::default())?;
//! println!("{}", leaf.cert_pem);
//! # Ok::<(), localca::Error>(())
//! ```

#![warn(missing_docs)]

pub use localca_platform as platform;

mod acme_leaf;
mod atomic_file;
pub mod check;
mod constraints;
mod csr;
mod env_files;
mod error;
pub mod fingerprint;
mod home;
mod identity;
mod import;
mod inventory;
mod key_storage;
mod leaf;
mod leaf_files;
mod names;
pub mod our_roots;
mod output;
mod output_target;
mod permits;
mod renew;
#[cfg(feature = "resolver")]
mod resolver;
mod root;
mod rotation;
pub mod store_lock;
pub mod team;
pub mod trust;

pub use acme_leaf::{AcmeIssued, AcmeOrigin, ACME_KEEP_EXPIRED_DAYS};
pub use atomic_file::{Mode, Owner};
pub use constraints::{IpRange, NameConstraintSet, DEFAULT_DNS, DEFAULT_IP};
pub use csr::{CertificateRequest, MAX_CSR_BYTES};
pub use env_files::{
    native_cert_variables_in, EnvFile, EnvVariable, ENV_BUNDLE_FILE, ENV_ROOT_FILE, ENV_VARIABLES,
};
pub use error::{Error, Result};
pub use home::{CaHome, Creation, Deletion, KeyMove, ROOT_CERT_FILE, ROOT_KEY_FILE};
pub use identity::Identity;
pub use import::mkcert_caroot;
pub use inventory::{serial_hex, Inventory, LeafRecord, StoredPath, INVENTORY_FILE};
pub use key_storage::{keyring_name, KeyStorage, KeyStorageChoice, KEYRING_SERVICE};
pub use leaf::{IssuedLeaf, KeyType, LeafProfile, DEFAULT_LEAF_DAYS, MAX_LEAF_DAYS};
pub use leaf_files::FileState;
pub use names::SubjectName;
pub use output::{
    check_outputs, combined_output, default_stem, unignored_in_git, write_leaf, OutputPaths,
    DEFAULT_P12_PASSWORD,
};
pub use output_target::{classify as classify_output, is_std_stream, same_file, write_outputs, Target};
pub use permits::{permit_value, RootWishes};
pub use renew::{reissue, Renewal, ACME_RENEWS};
#[cfg(feature = "resolver")]
pub use resolver::{CertResolver, RESOLVER_LEAF_DAYS};
pub use root::{RootCa, RootCertificate, RootProfile, ROOT_VALIDITY_DAYS};
pub use rotation::{Rotation, Stage};

/// Writes a file atomically (temp file, fsync, rename), for callers outside the library's own outputs.
pub fn write_file_atomically(
    path: &std::path::Path,
    contents: &[u8],
    mode: Mode,
    owner: Option<Owner>,
) -> Result<()> {
    atomic_file::write(path, contents, mode, owner)
}

impl RootProfile {
    /// The default profile for `identity`: the default name constraints, `user@host` in the
    /// subject, the key in the OS keyring when one answers.
    pub fn for_identity(identity: &Identity) -> RootProfile {
        RootProfile {
            name_constraints: Some(NameConstraintSet::default()),
            user_at_host: identity.user_at_host(),
            key_storage: KeyStorageChoice::Auto,
        }
    }
}
