//! What a root permits, said to people: the `--permit` value that would cover a refused name, and
//! whether options that only shape a new root (`--permit`, `--no-name-constraints`,
//! `--no-ip-constraints`) are already true of an existing root, so that they are never silently
//! ignored.

use std::net::IpAddr;

use crate::constraints::{IpRange, NameConstraintSet};
use crate::error::{Error, Result};
use crate::names::SubjectName;

/// The `--permit` value that covers `name`: the host name itself (without a wildcard label), the
/// domain of an email address, the host of a URI, or the IP address.
pub fn permit_value(name: &SubjectName) -> String {
    match name {
        SubjectName::Dns(d) => d.strip_prefix("*.").unwrap_or(d).to_string(),
        SubjectName::Ip(ip) => ip.to_string(),
        SubjectName::Email(e) => e.rsplit_once('@').map_or(e.as_str(), |(_, d)| d).to_string(),
        SubjectName::Uri(u) => SubjectName::uri_host(u).unwrap_or(u).to_string(),
    }
}

/// The hint for a name outside the constraints: the command that would permit it.
pub(crate) fn not_permitted_hint(permit: &str, existing_root: bool) -> String {
    if existing_root {
        format!(
            "a root's constraints are fixed when it is created: `localca ca rotate --permit {permit}` \
             replaces it with a root that also permits {permit}"
        )
    } else {
        format!(
            "add `--permit {permit}` to this command: the CA it creates will permit {permit} as well as \
             the defaults"
        )
    }
}

/// What the user asked of a root through the options that only apply when one is created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootWishes {
    /// `--permit` values, as typed.
    pub permits: Vec<String>,
    /// `--no-name-constraints`.
    pub no_name_constraints: bool,
    /// `--no-ip-constraints`.
    pub no_ip_constraints: bool,
}

impl RootWishes {
    /// Whether any option was given.
    pub fn any(&self) -> bool {
        !self.permits.is_empty() || self.no_name_constraints || self.no_ip_constraints
    }

    /// `Ok` when an existing root with `constraints` (`None`: unconstrained) already is what these
    /// options ask for; otherwise [`Error::RootOptionNotApplied`] naming the first option it is
    /// not, with the `ca rotate` command that would make such a root.
    pub fn check_existing(&self, constraints: Option<&NameConstraintSet>) -> Result<()> {
        let Some(set) = constraints else {
            return Ok(()); // an unconstrained root already permits everything
        };
        let refuse = |option: String| Err(Error::RootOptionNotApplied { option, permitted: set.to_string() });
        if self.no_name_constraints {
            return refuse("--no-name-constraints".into());
        }
        if self.no_ip_constraints && set.constrains_ips() {
            return refuse("--no-ip-constraints".into());
        }
        for value in &self.permits {
            let covered = match IpRange::parse(value) {
                Some(range) => set.permits_range(&range),
                None if value.parse::<IpAddr>().is_err() && !value.contains('/') => {
                    let suffix = value.trim_start_matches('.');
                    crate::names::parse_dns(suffix, false).is_ok_and(|d| set.permits_dns(&d))
                }
                None => false,
            };
            if !covered {
                return refuse(format!("--permit {value}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permit_values() {
        let v = |s: &str| permit_value(&SubjectName::parse(s).unwrap());
        assert_eq!(v("*.www.example.io"), "www.example.io");
        assert_eq!(v("ceo@bank.com"), "bank.com");
        assert_eq!(v("8.8.8.8"), "8.8.8.8");
    }

    #[test]
    fn wishes_against_an_existing_root() {
        let set = NameConstraintSet::default();
        let wish = |permits: &[&str]| RootWishes {
            permits: permits.iter().map(|s| s.to_string()).collect(),
            ..RootWishes::default()
        };
        assert!(wish(&["test", "a.localhost", "10.1.0.0/16"]).check_existing(Some(&set)).is_ok());
        assert!(wish(&["mycorp.dev"]).check_existing(Some(&set)).is_err());
        assert!(wish(&["10.0.0.0/7"]).check_existing(Some(&set)).is_err());
        let no_ip = RootWishes { no_ip_constraints: true, ..RootWishes::default() };
        assert!(no_ip.check_existing(Some(&set)).is_err());
        assert!(no_ip.check_existing(Some(&set.clone().without_ip_constraints())).is_ok());
        assert!(no_ip.check_existing(None).is_ok());
    }
}
