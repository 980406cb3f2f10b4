//! Name constraints: the set of names a root may vouch for, so that a leaked root key cannot be
//! used to impersonate real sites.

use std::fmt;
use std::net::IpAddr;

use rcgen::{CidrSubnet, GeneralSubtree, NameConstraints};
use x509_parser::extensions::GeneralName;

use crate::error::{Error, Result};
use crate::names::{parse_dns, SubjectName};

/// DNS suffixes every root permits: reserved or special-use names that no public site can have.
/// `example.com`, `example.net` and `example.org` are reserved by RFC 2606 for documentation: no
/// real site can use them, and they are the names most tutorials use.
pub const DEFAULT_DNS: &[&str] = &[
    "localhost",
    "test",
    "example",
    "invalid",
    "local",
    "internal",
    "home.arpa",
    "example.com",
    "example.net",
    "example.org",
];

/// IP ranges every root permits: loopback, private and link-local networks.
pub const DEFAULT_IP: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// An IP network: an address with its host bits cleared, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses `addr/prefix` (or a bare address, meaning just that address).
    pub fn parse(s: &str) -> Option<IpRange> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = s.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then(|| IpRange { network: mask(addr, prefix), prefix })
    }

    /// Whether `ip` lies in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }

    fn from_address_and_mask(bytes: &[u8]) -> Option<IpRange> {
        let (addr, mask_bytes): (IpAddr, &[u8]) = match bytes.len() {
            8 => (<[u8; 4]>::try_from(&bytes[..4]).ok()?.into(), &bytes[4..]),
            32 => (<[u8; 16]>::try_from(&bytes[..16]).ok()?.into(), &bytes[16..]),
            _ => return None,
        };
        let prefix = mask_bytes.iter().map(|b| b.count_ones()).sum::<u32>() as u8;
        Some(IpRange { network: mask(addr, prefix), prefix })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

/// The permitted subtrees of a root: DNS suffixes and IP ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameConstraintSet {
    dns: Vec<String>,
    ip: Vec<IpRange>,
}

impl Default for NameConstraintSet {
    fn default() -> Self {
        NameConstraintSet {
            dns: DEFAULT_DNS.iter().map(|s| s.to_string()).collect(),
            ip: DEFAULT_IP.iter().map(|s| IpRange::parse(s).expect("valid default range")).collect(),
        }
    }
}

impl NameConstraintSet {
    /// Adds a `--permit` value: a DNS suffix (`mycorp.dev`) or an IP range (`203.0.113.0/24`).
    pub fn permit(&mut self, value: &str) -> Result<()> {
        if value.contains('/') || value.parse::<IpAddr>().is_ok() {
            let range = IpRange::parse(value).ok_or_else(|| Error::InvalidPermit {
                value: value.into(),
                reason: "not an IP range like 203.0.113.0/24 or 2001:db8::/32".into(),
            })?;
            if !self.ip.contains(&range) {
                self.ip.push(range);
            }
            return Ok(());
        }
        let suffix = value.strip_prefix('.').unwrap_or(value);
        let suffix = parse_dns(suffix, false).map_err(|e| Error::InvalidPermit {
            value: value.into(),
            reason: match e {
                Error::InvalidName { reason, .. } => reason,
                other => other.to_string(),
            },
        })?;
        if !self.dns.contains(&suffix) {
            self.dns.push(suffix);
        }
        Ok(())
    }

    /// The DNS suffixes permitted (each covers itself and every name below it).
    pub fn dns_suffixes(&self) -> &[String] {
        &self.dns
    }

    /// The IP ranges permitted.
    pub fn ip_ranges(&self) -> &[IpRange] {
        &self.ip
    }

    /// Drops the IP subtrees: the root then constrains DNS names only and vouches for any IP
    /// address (`--no-ip-constraints`, for clients such as Bun whose verifier rejects IP names
    /// under IP constraints).
    pub fn without_ip_constraints(mut self) -> Self {
        self.ip.clear();
        self
    }

    /// Whether IP addresses are constrained. A set without IP subtrees leaves them unconstrained
    /// (RFC 5280: a name type without subtrees is not constrained).
    pub fn constrains_ips(&self) -> bool {
        !self.ip.is_empty()
    }

    /// Whether a certificate for `name` would be accepted by clients enforcing these constraints.
    pub fn permits(&self, name: &SubjectName) -> bool {
        match name {
            SubjectName::Dns(d) => self.permits_dns(d.strip_prefix("*.").unwrap_or(d)),
            SubjectName::Ip(ip) => self.permits_ip(*ip),
            // The root carries no email or URI subtrees, so clients do not constrain those names;
            // we still keep them to the permitted hosts, so the root never vouches for a real domain.
            SubjectName::Email(e) => e.rsplit_once('@').is_some_and(|(_, d)| self.permits_dns(d)),
            SubjectName::Uri(u) => match SubjectName::uri_host(u) {
                Some(host) => match host.parse::<IpAddr>() {
                    Ok(ip) => self.permits_ip(ip),
                    Err(_) => parse_dns(host, false).is_ok_and(|h| self.permits_dns(&h)),
                },
                // `mailto:a@evil.com` names evil.com as surely as the email name does.
                None => mailto_domains(u).is_some_and(|domains| {
                    domains.iter().all(|d| parse_dns(d, false).is_ok_and(|d| self.permits_dns(&d)))
                }),
            },
        }
    }

    /// [`Error::NameNotPermitted`] for the first of `names` outside the set; a URI whose host
    /// cannot be told (`urn:…`) is refused with its own reason, as RFC 5280 clients refuse such
    /// a URI under a root with URI constraints.
    pub fn check(&self, names: &[SubjectName]) -> Result<()> {
        self.check_names(names, true)
    }

    /// [`Error::NameNotPermitted`] for the first of `names` outside the constraints a root about to
    /// be created would get.
    pub fn check_before_creation(&self, names: &[SubjectName]) -> Result<()> {
        self.check_names(names, false)
    }

    fn check_names(&self, names: &[SubjectName], existing_root: bool) -> Result<()> {
        match names.iter().find(|n| !self.permits(n)) {
            Some(SubjectName::Uri(u))
                if SubjectName::uri_host(u).is_none() && mailto_domains(u).is_none() =>
            {
                Err(Error::InvalidName {
                    name: u.clone(),
                    reason: "a URI without a host (scheme://host/…) cannot be checked against this \
                             root's name constraints; name a permitted host, like spiffe://myapp.test/svc"
                        .into(),
                    suggestion: None,
                })
            }
            Some(name) => Err(Error::NameNotPermitted {
                name: as_typed(name),
                permitted: self.to_string(),
                permit: crate::permits::permit_value(name),
                existing_root,
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn permits_dns(&self, name: &str) -> bool {
        self.dns.iter().any(|s| name == s || name.strip_suffix(s.as_str()).is_some_and(|p| p.ends_with('.')))
    }

    fn permits_ip(&self, ip: IpAddr) -> bool {
        self.ip.is_empty() || self.ip.iter().any(|r| r.contains(ip))
    }

    /// Whether every address of `range` is permitted.
    pub(crate) fn permits_range(&self, range: &IpRange) -> bool {
        self.ip.is_empty() || self.ip.iter().any(|r| r.prefix <= range.prefix && r.contains(range.network))
    }

    /// The extension as rcgen encodes it. DNS subtrees carry no leading dot: RFC 5280's form, and
    /// the one OpenSSL, NSS and rustls-webpki all read as "this name and everything below it".
    pub(crate) fn to_rcgen(&self) -> NameConstraints {
        let dns = self.dns.iter().map(|d| GeneralSubtree::DnsName(d.clone()));
        let ip = self
            .ip
            .iter()
            .map(|r| GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(r.network, r.prefix)));
        NameConstraints { permitted_subtrees: dns.chain(ip).collect(), excluded_subtrees: Vec::new() }
    }

    /// Reads the permitted subtrees back from a parsed certificate (`None`: unconstrained).
    pub(crate) fn from_certificate(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Self> {
        let ext = cert.name_constraints().ok()??;
        let mut set = NameConstraintSet { dns: Vec::new(), ip: Vec::new() };
        for subtree in ext.value.permitted_subtrees.iter().flatten() {
            match &subtree.base {
                GeneralName::DNSName(d) => set.dns.push(d.trim_start_matches('.').to_ascii_lowercase()),
                GeneralName::IPAddress(b) => set.ip.extend(IpRange::from_address_and_mask(b)),
                _ => {}
            }
        }
        Some(set)
    }
}

/// The domains of the addresses in a `mailto:` URI (`None`: not a mailto URI, or one naming no
/// address). Percent-escapes are decoded first, so `mailto:a%40evil.com` is `evil.com` too.
fn mailto_domains(uri: &str) -> Option<Vec<String>> {
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("mailto") {
        return None;
    }
    let to = percent_decode(rest.split('?').next().unwrap_or_default());
    let domains: Vec<String> = to
        .split(',')
        .filter(|a| !a.is_empty())
        .map(|a| a.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default())
        .collect();
    (!domains.is_empty()).then_some(domains)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A name as the user would recognise it: `évil.com (xn--vil-9la.com)` for an internationalised name.
fn as_typed(name: &SubjectName) -> String {
    let ascii = name.to_string();
    if !ascii.contains("xn--") {
        return ascii;
    }
    match idna::domain_to_unicode(&ascii) {
        (unicode, Ok(())) if unicode != ascii => format!("{unicode} ({ascii})"),
        _ => ascii,
    }
}

impl fmt::Display for NameConstraintSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut all: Vec<String> =
            self.dns.iter().cloned().chain(self.ip.iter().map(IpRange::to_string)).collect();
        if self.ip.is_empty() {
            all.push("any IP address".into());
        }
        f.write_str(&all.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> SubjectName {
        SubjectName::parse(s).unwrap()
    }

    #[test]
    fn default_set() {
        let set = NameConstraintSet::default();
        for ok in [
            "localhost",
            "app.localhost",
            "myapp.test",
            "*.myapp.test",
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "x@myapp.test",
        ] {
            assert!(set.permits(&name(ok)), "{ok}");
        }
        for bad in ["evil.com", "mytest", "8.8.8.8", "172.32.0.1", "x@gmail.com", "localhost.com"] {
            assert!(!set.permits(&name(bad)), "{bad}");
        }
        for ok in ["mailto:a@myapp.test", "spiffe://myapp.test/x", "https://127.0.0.1:8443/"] {
            assert!(set.permits(&SubjectName::uri(ok).unwrap()), "{ok}");
        }
        for bad in [
            "mailto:a@evil.com",
            "MAILTO:a%40evil.com",
            "mailto:a@myapp.test,b@evil.com",
            "mailto:?subject=x",
            "urn:x",
        ] {
            assert!(!set.permits(&SubjectName::uri(bad).unwrap()), "{bad}");
        }
    }

    #[test]
    fn rfc2606_names_and_no_ip_constraints() {
        let set = NameConstraintSet::default();
        for ok in ["example.com", "www.example.org", "example.net", "a.example"] {
            assert!(set.permits(&name(ok)), "{ok}");
        }
        assert!(!set.permits(&name("myexample.com")));
        let wide = set.without_ip_constraints();
        assert!(wide.permits(&name("8.8.8.8")) && !wide.permits(&name("evil.com")));
        assert!(wide.to_string().ends_with("any IP address"));
    }

    #[test]
    fn permit_adds() {
        let mut set = NameConstraintSet::default();
        set.permit(".MyCorp.dev").unwrap();
        set.permit("203.0.113.7/24").unwrap();
        assert!(set.permits(&name("a.mycorp.dev")));
        assert!(set.permits(&name("203.0.113.200")));
        assert!(set.permit("10.0.0.0/40").is_err());
        assert!(set.permit("bad_name").is_err());
        assert_eq!(IpRange::parse("203.0.113.7/24").unwrap().to_string(), "203.0.113.0/24");
    }
}
