//! What `localca check` connects to: `https://host[:port][/path]`, `host[:port]`, `[::1]:port`.

use std::fmt;
use std::net::IpAddr;

use rustls_pki_types::ServerName;

use super::CheckError;

/// A host and port to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name (lower case) or IP address, as the certificate must name it.
    pub host: String,
    /// The TCP port (443 unless given).
    pub port: u16,
}

impl Target {
    /// Parses `https://host[:port][/path]`, `host[:port]` or `[v6]:port`.
    pub fn parse(input: &str) -> Result<Target, CheckError> {
        let bad = |why: &str| CheckError::BadTarget { input: input.to_string(), why: why.to_string() };
        let rest = match input.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some((scheme, _)) => return Err(bad(&format!("`check` speaks TLS, not {scheme}: use https://"))),
            None => input,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(bad("user names are not part of a TLS check"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("an IPv6 address needs a closing ]"))?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(|| bad("expected :PORT after ]"))?)),
            }
        } else if authority.matches(':').count() > 1 {
            (authority, None) // a bare IPv6 address
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host name"));
        }
        let port = match port {
            None => 443,
            Some(p) => {
                p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("the port must be 1 to 65535"))?
            }
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let target = Target { host, port };
        target.server_name().map_err(|_| bad("not a valid host name or IP address"))?;
        Ok(target)
    }

    /// The name sent in SNI and checked against the certificate.
    pub fn server_name(&self) -> Result<ServerName<'static>, rustls_pki_types::InvalidDnsNameError> {
        ServerName::try_from(self.host.clone())
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip() {
            Some(IpAddr::V6(_)) => write!(f, "[{}]:{}", self.host, self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = |s: &str| Target::parse(s).map(|t| (t.host, t.port));
        assert_eq!(t("myapp.test").unwrap(), ("myapp.test".into(), 443));
        assert_eq!(t("MyApp.test:8443").unwrap(), ("myapp.test".into(), 8443));
        assert_eq!(t("https://myapp.test:8443/a?b").unwrap(), ("myapp.test".into(), 8443));
        assert_eq!(t("https://[::1]:9000/").unwrap(), ("::1".into(), 9000));
        assert_eq!(t("::1").unwrap(), ("::1".into(), 443));
        assert_eq!(t("127.0.0.1:1").unwrap(), ("127.0.0.1".into(), 1));
        assert!(t("http://myapp.test").is_err());
        assert!(t("myapp.test:0").is_err());
        assert!(t("myapp.test:x").is_err());
        assert!(t("https:///").is_err());
        assert!(t("bad name!").is_err());
    }
}
