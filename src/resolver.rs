//! Certificates issued on the fly, per SNI name, for rustls servers: [`CertResolver`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::leaf::{KeyType, LeafProfile};
use crate::names::SubjectName;
use crate::root::RootCa;

/// Validity of the leaves a [`CertResolver`] issues, in days: short, since they are never stored.
pub const RESOLVER_LEAF_DAYS: u32 = 7;

/// Most names kept at once; past it the cache starts over (a client sending random names
/// must not grow memory without bound).
const MAX_CACHED: usize = 4096;

/// A rustls [`ResolvesServerCert`] that issues a P-256 leaf for each SNI name from a [`RootCa`]
/// held in memory.
///
/// - Leaves live only in memory, never on disk, and are cached per name.
/// - They are short-lived ([`RESOLVER_LEAF_DAYS`] by default) and reissued, in memory, once
///   less than a third of their life is left, at the next handshake for that name.
/// - A name outside the root's name constraints gets no certificate: the handshake fails.
/// - A client that sends no SNI (it connected to an IP address) gets the leaf for the
///   fallback names, `localhost`, `127.0.0.1` and `::1` unless [`CertResolver::with_fallback`]
///   says otherwise.
///
/// ```no_run
/// use std::sync::Arc;
/// use localca::{CaHome, CertResolver, Identity};
///
/// let home = CaHome::locate(&Identity::current())?;
/// let resolver = Arc::new(CertResolver::new(Arc::new(home.load()?)));
/// let config = rustls::ServerConfig::builder().with_no_client_auth().with_cert_resolver(resolver);
/// # Ok::<(), localca::Error>(())
/// ```
pub struct CertResolver {
    root: Arc<RootCa>,
    days: u32,
    fallback: Vec<SubjectName>,
    cache: Mutex<HashMap<String, Cached>>,
}

#[derive(Clone)]
struct Cached {
    key: Arc<CertifiedKey>,
    renew_at: OffsetDateTime,
}

impl std::fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertResolver")
            .field("root", &self.root)
            .field("days", &self.days)
            .finish_non_exhaustive()
    }
}

impl CertResolver {
    /// A resolver issuing from `root`, leaves valid [`RESOLVER_LEAF_DAYS`] days.
    pub fn new(root: Arc<RootCa>) -> CertResolver {
        let fallback = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|n| SubjectName::parse(n).expect("valid names"))
            .filter(|n| root.name_constraints().is_none_or(|set| set.permits(n)))
            .collect();
        CertResolver { root, days: RESOLVER_LEAF_DAYS, fallback, cache: Mutex::new(HashMap::new()) }
    }

    /// Leaves valid `days` days (1 to [`crate::MAX_LEAF_DAYS`]).
    pub fn with_days(mut self, days: u32) -> Result<CertResolver> {
        LeafProfile { days, ..LeafProfile::default() }.check()?;
        self.days = days;
        Ok(self)
    }

    /// The names of the leaf given to clients that send no SNI; none means no certificate.
    pub fn with_fallback(mut self, names: Vec<SubjectName>) -> CertResolver {
        self.fallback = names;
        self
    }

    /// The root this resolver issues from.
    pub fn root(&self) -> &RootCa {
        &self.root
    }

    /// The certificate for the SNI name `server_name`, from the cache or newly issued.
    /// Fails when the name is not a valid DNS name or lies outside the root's constraints.
    pub fn certificate_for(&self, server_name: &str) -> Result<Arc<CertifiedKey>> {
        let name = SubjectName::parse(server_name)?;
        if !matches!(name, SubjectName::Dns(_) | SubjectName::Ip(_)) {
            return Err(Error::InvalidName {
                name: server_name.to_string(),
                reason: "a TLS server name must be a host name".to_string(),
                suggestion: None,
            });
        }
        self.cached_or_issue(&name.to_string(), std::slice::from_ref(&name))
    }

    fn cached_or_issue(&self, cache_key: &str, names: &[SubjectName]) -> Result<Arc<CertifiedKey>> {
        let now = OffsetDateTime::now_utc();
        if let Some(hit) = self.cache.lock().expect("cache lock").get(cache_key) {
            if now < hit.renew_at {
                return Ok(hit.key.clone());
            }
        }
        // Issued outside the lock: two first handshakes for one name may both issue; one wins.
        let profile = LeafProfile { key_type: KeyType::EcdsaP256, days: self.days, client: false };
        let leaf = self.root.issue(names, &profile)?;
        let pkcs8 = leaf.key_pkcs8_der.as_ref().expect("issue makes a key").clone();
        let signing = rustls::crypto::ring::sign::any_ecdsa_type(&PrivateKeyDer::Pkcs8(
            PrivatePkcs8KeyDer::from(pkcs8),
        ))
        .map_err(|e| Error::Crypto(e.to_string()))?;
        let certified = Arc::new(CertifiedKey::new(vec![CertificateDer::from(leaf.cert_der)], signing));
        // Renew once a third of the life is left.
        let life = Duration::days(i64::from(self.days));
        let renew_at = leaf.not_after - life / 3;
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(cache_key.to_string(), Cached { key: certified.clone(), renew_at });
        Ok(certified)
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match client_hello.server_name() {
            Some(name) => self.certificate_for(name).ok(),
            None if self.fallback.is_empty() => None,
            None => self.cached_or_issue("", &self.fallback.clone()).ok(),
        }
    }
}
