//! Names a certificate is issued for: parsing what the user typed into a DNS name, IP address,
//! email address or URI, with one clear message per kind of mistake.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// One subject alternative name, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectName {
    /// A DNS name in A-label form, lower case, without a trailing dot; may start with `*.`.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
    /// An email address whose domain is in A-label form.
    Email(String),
    /// A URI, as given.
    Uri(String),
}

impl fmt::Display for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectName::Dns(s) | SubjectName::Email(s) | SubjectName::Uri(s) => f.write_str(s),
            SubjectName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl SubjectName {
    /// Classifies and normalises a command-line name: an IP address, an email address, or a DNS
    /// name (UTS-46: case folded, Unicode to A-labels). URIs are not guessed: see [`SubjectName::uri`].
    pub fn parse(input: &str) -> Result<SubjectName> {
        if input.is_empty() {
            return Err(invalid(input, "the name is empty"));
        }
        if input.contains("://") {
            // Far more often a pasted address than a wish for a URI name.
            return Err(Error::InvalidName {
                name: input.into(),
                reason: "this is a URL, not a host name (ask for URI names with --uri)".into(),
                suggestion: SubjectName::uri_host(input).map(String::from),
            });
        }
        if let Ok(ip) = input.parse::<IpAddr>() {
            return Ok(SubjectName::Ip(ip));
        }
        if let Some(inner) = input.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            if inner.parse::<IpAddr>().is_ok() {
                return Err(Error::InvalidName {
                    name: input.into(),
                    reason: "brackets are not part of an IP address".into(),
                    suggestion: Some(inner.into()),
                });
            }
        }
        if let Some((addr, _)) = input.split_once('%') {
            if addr.parse::<IpAddr>().is_ok() {
                return Err(invalid(input, "zone ids (%…) cannot be part of a certificate name"));
            }
        }
        if let Some((addr, _)) = input.split_once('/') {
            if addr.parse::<IpAddr>().is_ok() {
                return Err(invalid(input, "a certificate names addresses, not ranges: list each address"));
            }
        }
        if let Some((local, domain)) = input.rsplit_once('@') {
            return parse_email(input, local, domain);
        }
        if let Some((host, port)) = input.rsplit_once(':') {
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') {
                return Err(Error::InvalidName {
                    name: input.into(),
                    reason: "a port is not part of a certificate name".into(),
                    suggestion: Some(host.into()),
                });
            }
        }
        parse_dns(input, true).map(SubjectName::Dns)
    }

    /// Checks a URI given with `--uri`: a scheme, then no spaces or non-ASCII characters.
    pub fn uri(input: &str) -> Result<SubjectName> {
        let scheme_ok = input.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        if !scheme_ok {
            return Err(invalid(
                input,
                "a URI needs a scheme, like https://myapp.test/ or spiffe://myapp.test/svc",
            ));
        }
        if !input.chars().all(|c| c.is_ascii_graphic()) || input.contains('\\') {
            return Err(invalid(
                input,
                "a URI cannot hold spaces, backslashes or non-ASCII characters (percent-encode them)",
            ));
        }
        // Browsers read `https:evil.com` as host evil.com: for the schemes they know, the host
        // must be written after `//`, so that the host we check is the host they see.
        let scheme = input.split(':').next().unwrap_or_default().to_ascii_lowercase();
        let special = ["http", "https", "ws", "wss", "ftp", "file"].contains(&scheme.as_str());
        if special && SubjectName::uri_host(input).is_none() {
            return Err(invalid(input, format!("a {scheme} URI needs a host after {scheme}://")));
        }
        Ok(SubjectName::Uri(input.into()))
    }

    /// The host a URI names (`https://myapp.test:8443/x` → `myapp.test`), if it has one.
    pub(crate) fn uri_host(uri: &str) -> Option<&str> {
        let rest = uri.split_once("://")?.1;
        let authority = rest.split(['/', '?', '#']).next()?;
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if let Some(v6) = host_port.strip_prefix('[') {
            v6.split(']').next()?
        } else {
            host_port.split(':').next()?
        };
        (!host.is_empty()).then_some(host)
    }
}

fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidName { name: name.into(), reason: reason.into(), suggestion: None }
}

fn parse_email(input: &str, local: &str, domain: &str) -> Result<SubjectName> {
    if local.is_empty() || local.len() > 64 {
        return Err(invalid(input, "an email address needs a local part of 1 to 64 characters before the @"));
    }
    if !local.chars().all(|c| c.is_ascii_graphic() && c != '@') {
        return Err(invalid(input, "the part before the @ can hold only printable ASCII characters"));
    }
    let domain = parse_dns(domain, false).map_err(|e| match e {
        Error::InvalidName { reason, .. } => invalid(input, format!("its domain is invalid: {reason}")),
        other => other,
    })?;
    Ok(SubjectName::Email(format!("{local}@{domain}")))
}

/// Validates and normalises a DNS name (optionally a wildcard) to lower-case A-labels.
pub(crate) fn parse_dns(input: &str, allow_wildcard: bool) -> Result<String> {
    let name = input.strip_suffix('.').unwrap_or(input);
    if name.is_empty() {
        return Err(invalid(input, "the name is empty"));
    }
    let (wildcard, base) = match name.strip_prefix("*.") {
        Some(base) if allow_wildcard => (true, base),
        Some(_) => return Err(invalid(input, "a wildcard is not allowed here")),
        None => (false, name),
    };
    if name == "*" {
        return Err(invalid(
            input,
            "`*` alone matches nothing; use *.myapp.test for every name under myapp.test",
        ));
    }
    if base.contains('*') {
        return Err(invalid(input, "a wildcard can only be the whole leftmost label, as in *.myapp.test"));
    }
    if let Some(c) =
        base.chars().find(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        let what = match c {
            ' ' => "a space".to_string(),
            '_' => "an underscore, which host names cannot hold (browsers refuse it in certificates)".into(),
            c if c.is_ascii_control() => "a control character".into(),
            c => format!("{c:?}, which host names cannot hold"),
        };
        return Err(invalid(input, format!("contains {what}")));
    }
    check_labels(input, base)?;
    let ascii = idna::domain_to_ascii_cow(base.as_bytes(), idna::AsciiDenyList::STD3).map_err(|_| {
        invalid(input, "not a valid internationalised name (bad Unicode or invalid xn-- label)")
    })?;
    check_labels(input, &ascii)?;
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid(
            input,
            "all-numeric names are not host names, and this is not a valid IP address",
        ));
    }
    if wildcard && labels.len() < 2 {
        return Err(invalid(
            input,
            format!(
                "*.{ascii} would cover a whole top-level domain, which browsers refuse; use *.myapp.{ascii}"
            ),
        ));
    }
    let max = if wildcard { 251 } else { 253 };
    if ascii.len() > max {
        return Err(invalid(input, "the name is longer than 253 characters"));
    }
    Ok(if wildcard { format!("*.{ascii}") } else { ascii.into_owned() })
}

fn check_labels(input: &str, name: &str) -> Result<()> {
    for label in name.split('.') {
        if label.is_empty() {
            return Err(invalid(input, "it has an empty label (two dots in a row, or a leading dot)"));
        }
        if label.len() > 63 {
            return Err(invalid(input, format!("the label {label:?} is longer than 63 characters")));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(input, format!("the label {label:?} starts or ends with a hyphen")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(s: &str) -> String {
        match SubjectName::parse(s).unwrap() {
            SubjectName::Dns(d) => d,
            other => panic!("{s} parsed as {other:?}"),
        }
    }

    #[test]
    fn normalises() {
        assert_eq!(dns("MyApp.Test."), "myapp.test");
        assert_eq!(dns("MÜNCHEN.test"), "xn--mnchen-3ya.test");
        assert_eq!(dns("*.myapp.test"), "*.myapp.test");
        assert_eq!(SubjectName::parse("::1").unwrap(), SubjectName::Ip("::1".parse().unwrap()));
        assert_eq!(
            SubjectName::parse("0:0:0:0:0:0:0:1").unwrap().to_string(),
            "::1",
            "IPv6 is stored normalised"
        );
        assert_eq!(
            SubjectName::parse("Alice@MyApp.test").unwrap(),
            SubjectName::Email("Alice@myapp.test".into())
        );
    }

    #[test]
    fn refuses_with_suggestions() {
        let e = SubjectName::parse("https://myapp.test:8443/").unwrap_err();
        assert_eq!(e.hint().unwrap(), "did you mean myapp.test?");
        let e = SubjectName::parse("myapp.test:8443").unwrap_err();
        assert_eq!(e.hint().unwrap(), "did you mean myapp.test?");
        for bad in ["*", "*.test", "a.*.test", "foo..test", "-a.test", "300.1.1.1", "a b.test", "10.0.0.0/8"]
        {
            assert!(SubjectName::parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn uri_hosts() {
        assert_eq!(SubjectName::uri_host("https://u@myapp.test:8443/x"), Some("myapp.test"));
        assert_eq!(SubjectName::uri_host("https://[::1]:8443/"), Some("::1"));
        assert_eq!(SubjectName::uri_host("urn:x"), None);
    }
}
