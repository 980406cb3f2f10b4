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

/// How far back a leaf's notBefore is set, for clocks a little behind ours.
const BACKDATE: Duration = Duration::hours(1);

/// Most names kept at once; past it the cache starts over (a client sending random names
/// must not grow memory without bound).
const MAX_CACHED: usize = 4096;

/// A rustls [`ResolvesServerCert`] that issues a P-256 leaf for each SNI name from a [`RootCa`]
/// held in memory.
///
/// - Leaves live only in memory, never on disk, and are cached per name.
/// - They are short-lived ([`RESOLVER_LEAF_DAYS`] by default) and reissued, in memory, once
///   less than a third of their life is left, at the next handshake for that name: a client
///   never gets a leaf that expires within that margin. [`CertResolver::with_lifetime`] sets
///   both the lifetime and the margin, down to seconds (for tests of renewal).
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
    /// From issuance to notAfter (notBefore is [`BACKDATE`] earlier still).
    lifetime: Duration,
    /// Reissue once less than this is left.
    renew_before: Duration,
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
            .field("lifetime", &self.lifetime)
            .field("renew_before", &self.renew_before)
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
        let (lifetime, renew_before) = Self::days_lifetime(RESOLVER_LEAF_DAYS);
        CertResolver { root, lifetime, renew_before, fallback, cache: Mutex::new(HashMap::new()) }
    }

    /// Leaves valid `days` days (1 to [`crate::MAX_LEAF_DAYS`]), notBefore included: an hour
    /// in the past, for clocks a little behind. Reissued when a third of that is left.
    pub fn with_days(mut self, days: u32) -> Result<CertResolver> {
        LeafProfile { days, ..LeafProfile::default() }.check()?;
        (self.lifetime, self.renew_before) = Self::days_lifetime(days);
        self.cache.get_mut().expect("cache lock").clear();
        Ok(self)
    }

    /// Leaves valid for `lifetime` from the moment they are issued (notBefore is still an hour
    /// earlier, for clock skew), reissued at the first handshake once less than `renew_before`
    /// is left. Meant for short lifetimes in tests (seconds); `with_days` is the everyday knob.
    /// Refused ([`Error::InvalidLifetime`]) when `lifetime` is under a second or, with the
    /// backdating, over [`crate::MAX_LEAF_DAYS`], or when `renew_before` is zero or not
    /// shorter than `lifetime`.
    pub fn with_lifetime(
        mut self,
        lifetime: std::time::Duration,
        renew_before: std::time::Duration,
    ) -> Result<CertResolver> {
        let invalid = |reason| Error::InvalidLifetime { lifetime, renew_before, reason };
        let max = Duration::days(i64::from(crate::MAX_LEAF_DAYS)) - BACKDATE;
        let (Ok(life), Ok(margin)) = (Duration::try_from(lifetime), Duration::try_from(renew_before)) else {
            return Err(invalid("too long"));
        };
        if life < Duration::SECOND || life > max {
            return Err(invalid("the lifetime must be from 1 second to 825 days less an hour"));
        }
        if margin.is_zero() || margin >= life {
            return Err(invalid("renew more than zero and less than the lifetime before expiry"));
        }
        (self.lifetime, self.renew_before) = (life, margin);
        self.cache.get_mut().expect("cache lock").clear();
        Ok(self)
    }

    /// Lifetime and renewal margin for leaves of `days` days in all.
    fn days_lifetime(days: u32) -> (Duration, Duration) {
        let total = Duration::days(i64::from(days));
        (total - BACKDATE, total / 3)
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
        let profile = LeafProfile { key_type: KeyType::EcdsaP256, days: 1, client: false };
        let leaf = self.root.issue_between(names, &profile, now - BACKDATE, now + self.lifetime)?;
        let pkcs8 = leaf.key_pkcs8_der.as_ref().expect("issue makes a key").clone();
        let signing = rustls::crypto::ring::sign::any_ecdsa_type(&PrivateKeyDer::Pkcs8(
            PrivatePkcs8KeyDer::from(pkcs8),
        ))
        .map_err(|e| Error::Crypto(e.to_string()))?;
        let certified = Arc::new(CertifiedKey::new(vec![CertificateDer::from(leaf.cert_der)], signing));
        let renew_at = leaf.not_after - self.renew_before;
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
