//! Leaf certificates: the profile every leaf gets, key generation, and signing with the root.

use std::fmt;
use std::str::FromStr;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
    PublicKeyData, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::names::SubjectName;
use crate::root::{random_serial, RootCa};

/// Longest leaf validity: Apple refuses TLS leaves valid longer than 825 days, even from user roots.
pub const MAX_LEAF_DAYS: u32 = 825;
/// Default leaf validity, a little under Apple's limit.
pub const DEFAULT_LEAF_DAYS: u32 = 820;

/// The key algorithm of a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// ECDSA on P-256 (the default: fast, and accepted everywhere).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// RSA 2048, for clients that still need RSA.
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
}

impl KeyType {
    /// Every key type, in the spelling the command line uses.
    pub const NAMES: &'static [&'static str] = &["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072"];

    fn generate(self) -> Result<KeyPair> {
        match self {
            KeyType::EcdsaP256 => Ok(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?),
            KeyType::EcdsaP384 => Ok(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)?),
            KeyType::Rsa2048 => generate_rsa(2048),
            KeyType::Rsa3072 => generate_rsa(3072),
        }
    }

    fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072)
    }
}

impl FromStr for KeyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ecdsa-p256" => Ok(KeyType::EcdsaP256),
            "ecdsa-p384" => Ok(KeyType::EcdsaP384),
            "rsa-2048" => Ok(KeyType::Rsa2048),
            "rsa-3072" => Ok(KeyType::Rsa3072),
            _ => Err(format!("unknown key type {s:?}; use one of {}", KeyType::NAMES.join(", "))),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048, KeyType::Rsa3072]
            .iter()
            .position(|k| k == self)
            .expect("listed");
        f.write_str(KeyType::NAMES[i])
    }
}

/// ring cannot generate RSA keys: the RustCrypto `rsa` crate makes one, ring signs with it.
fn generate_rsa(bits: usize) -> Result<KeyPair> {
    use rsa::pkcs8::EncodePrivateKey;
    let key =
        rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).map_err(|e| Error::Crypto(e.to_string()))?;
    let der = key.to_pkcs8_der().map_err(|e| Error::Crypto(e.to_string()))?;
    let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    Ok(KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)?)
}

/// What a leaf looks like apart from its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafProfile {
    /// The leaf's key algorithm.
    pub key_type: KeyType,
    /// Validity in days, 1 to [`MAX_LEAF_DAYS`].
    pub days: u32,
    /// Also a TLS client certificate (clientAuth).
    pub client: bool,
}

impl LeafProfile {
    /// Checks the profile on its own (the validity range), before anything is created.
    pub fn check(&self) -> Result<()> {
        if self.days == 0 || self.days > MAX_LEAF_DAYS {
            return Err(Error::InvalidDays(self.days));
        }
        Ok(())
    }
}

impl Default for LeafProfile {
    fn default() -> Self {
        LeafProfile { key_type: KeyType::default(), days: DEFAULT_LEAF_DAYS, client: false }
    }
}

/// An issued leaf: the certificate and, unless it was signed from a CSR, its new private key.
pub struct IssuedLeaf {
    /// The certificate, PEM-encoded.
    pub cert_pem: String,
    /// The certificate, DER-encoded.
    pub cert_der: Vec<u8>,
    /// The private key as PKCS#8 DER (`None` for a CSR: the key stayed with its owner).
    pub key_pkcs8_der: Option<Vec<u8>>,
    /// The names in the certificate, in order.
    pub names: Vec<SubjectName>,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl IssuedLeaf {
    /// The private key, PEM-encoded (PKCS#8), when we generated it.
    pub fn key_pem(&self) -> Option<String> {
        self.key_pkcs8_der.as_ref().map(|der| pem_encode("PRIVATE KEY", der))
    }
}

impl fmt::Debug for IssuedLeaf {
    // Hand-written so the private key can never end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedLeaf")
            .field("names", &self.names)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl RootCa {
    /// Issues a leaf with a new key for `names`, after checking them against the name constraints.
    pub fn issue(&self, names: &[SubjectName], profile: &LeafProfile) -> Result<IssuedLeaf> {
        let params = self.leaf_params(names, profile, profile.key_type.is_rsa())?;
        let key = profile.key_type.generate()?;
        let mut leaf = self.sign(params, &key, names)?;
        leaf.key_pkcs8_der = Some(key.serialize_der());
        Ok(leaf)
    }

    /// Like [`RootCa::issue`], but valid from `not_before` to `not_after` rather than for
    /// `profile.days` (the [`crate::CertResolver`]'s leaves, whose lifetime may be shorter than a day).
    #[cfg(feature = "resolver")]
    pub(crate) fn issue_between(
        &self,
        names: &[SubjectName],
        profile: &LeafProfile,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedLeaf> {
        let mut params = self.leaf_params(names, profile, profile.key_type.is_rsa())?;
        params.not_before = not_before;
        params.not_after = not_after;
        let key = profile.key_type.generate()?;
        let mut leaf = self.sign(params, &key, names)?;
        leaf.key_pkcs8_der = Some(key.serialize_der());
        Ok(leaf)
    }

    /// Checks `names` against the root and the profile, and builds the leaf's parameters.
    pub(crate) fn leaf_params(
        &self,
        names: &[SubjectName],
        profile: &LeafProfile,
        rsa: bool,
    ) -> Result<CertificateParams> {
        if names.is_empty() {
            return Err(Error::NoNames);
        }
        profile.check()?;
        if let Some(set) = self.name_constraints() {
            set.check(names)?;
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "localca development certificate");
        dn.push(DnType::OrganizationalUnitName, self.user_at_host());
        params.distinguished_name = dn;
        params.serial_number = Some(random_serial()?);
        params.subject_alt_names = names.iter().map(san).collect::<Result<_>>()?;
        // Backdated for clock skew; the total stays within `days` so Apple's 825-day rule holds.
        params.not_before = OffsetDateTime::now_utc() - Duration::hours(1);
        params.not_after = params.not_before + Duration::days(i64::from(profile.days));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if rsa {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        let server_names = names.iter().any(|n| !matches!(n, SubjectName::Email(_)));
        if server_names {
            params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if profile.client {
            params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        if names.iter().any(|n| matches!(n, SubjectName::Email(_))) {
            params.extended_key_usages.push(ExtendedKeyUsagePurpose::EmailProtection);
        }
        params.use_authority_key_identifier_extension = true;
        Ok(params)
    }

    /// Signs `params` for the subject key `subject_key` with this root.
    pub(crate) fn sign(
        &self,
        params: CertificateParams,
        subject_key: &impl PublicKeyData,
        names: &[SubjectName],
    ) -> Result<IssuedLeaf> {
        let not_after = params.not_after;
        let cert = params.signed_by(subject_key, &self.issuer)?;
        Ok(IssuedLeaf {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pkcs8_der: None,
            names: names.to_vec(),
            not_after,
        })
    }
}

fn san(name: &SubjectName) -> Result<SanType> {
    let ia5 = |s: &str| s.to_string().try_into().map_err(|e: rcgen::Error| Error::Crypto(e.to_string()));
    Ok(match name {
        SubjectName::Dns(d) => SanType::DnsName(ia5(d)?),
        SubjectName::Ip(ip) => SanType::IpAddress(*ip),
        SubjectName::Email(e) => SanType::Rfc822Name(ia5(e)?),
        SubjectName::Uri(u) => SanType::URI(ia5(u)?),
    })
}

/// PEM armour around DER bytes, 64 columns.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der.to_vec()))
}
