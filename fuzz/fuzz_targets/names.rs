//! Name parsing and classification: `SubjectName::parse`, `SubjectName::uri`,
//! `NameConstraintSet::permit`/`permits`, and the file name stem a name becomes.
//!
//! Input: lines. Each line is parsed as a name and as a URI, and offered to `permit` on a set that
//! starts as the default one; every name that parsed is then checked against the final set.
//! Beyond "never panics", the oracles are: parsing is idempotent (a parsed name parses back to
//! itself), a DNS name is lower-case ASCII within the length limits, every accepted name can be
//! written as an IA5String, the stem never leaves the current folder, and `permits` agrees with a
//! plain label-suffix check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use localca::{default_stem, NameConstraintSet, SubjectName};

fn check_dns(d: &str) {
    let base = d.strip_prefix("*.").unwrap_or(d);
    assert!(!base.is_empty() && base.len() <= 253, "length of {d:?}");
    for label in base.split('.') {
        assert!(!label.is_empty() && label.len() <= 63, "label of {d:?}");
        assert!(!label.starts_with('-') && !label.ends_with('-'), "hyphen in {d:?}");
        assert!(
            label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "characters of {d:?}"
        );
    }
    if d.starts_with("*.") {
        assert!(base.contains('.'), "wildcard over a TLD: {d:?}");
    }
    assert!(!base.rsplit('.').next().unwrap().bytes().all(|b| b.is_ascii_digit()), "numeric TLD {d:?}");
}

fn check_stem(name: &SubjectName) {
    for client in [false, true] {
        let stem = default_stem(std::slice::from_ref(name), client);
        assert!(!stem.is_empty() && stem != "." && stem != "..", "stem {stem:?}");
        assert!(!stem.contains(['/', '\\', '\0']), "stem {stem:?} leaves the folder");
    }
}

fn permitted_by_suffix(set: &NameConstraintSet, host: &str) -> bool {
    set.dns_suffixes().iter().any(|s| host == s || host.ends_with(&format!(".{s}")))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut set = NameConstraintSet::default();
    let mut names = Vec::new();
    for line in text.split('\n').take(16) {
        match SubjectName::parse(line) {
            Ok(name) => {
                assert!(name.to_string().is_ascii(), "{name:?} is not ASCII");
                match &name {
                    SubjectName::Dns(d) => check_dns(d),
                    SubjectName::Email(e) => {
                        let (local, domain) = e.rsplit_once('@').expect("an @");
                        assert!(!local.is_empty() && local.len() <= 64);
                        check_dns(domain);
                        assert!(!domain.starts_with("*."), "wildcard email domain {e:?}");
                    }
                    SubjectName::Ip(_) => {}
                    SubjectName::Uri(u) => panic!("parse made a URI: {u:?}"),
                }
                let again = SubjectName::parse(&name.to_string());
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&name),
                    "not idempotent: {line:?} -> {name} -> {again:?}"
                );
                check_stem(&name);
                names.push(name);
            }
            Err(e) => {
                let _ = (e.to_string(), e.hint());
            }
        }
        if let Ok(uri) = SubjectName::uri(line) {
            assert!(uri.to_string().bytes().all(|b| b.is_ascii_graphic()), "{uri:?}");
            check_stem(&uri);
            names.push(uri);
        }
        let before = set.clone();
        match set.permit(line) {
            Ok(()) => {
                if let Some(ip) =
                    set.ip_ranges().last().filter(|_| set.ip_ranges().len() > before.ip_ranges().len())
                {
                    let network: std::net::IpAddr =
                        ip.to_string().split('/').next().unwrap().parse().unwrap();
                    assert!(ip.contains(network), "{ip} does not contain its own network");
                    assert!(set.permits(&SubjectName::Ip(network)));
                }
                if let Some(d) = set
                    .dns_suffixes()
                    .last()
                    .filter(|_| set.dns_suffixes().len() > before.dns_suffixes().len())
                {
                    check_dns(d);
                    assert!(set.permits(&SubjectName::Dns(d.clone())), "{d} not permitted after permit");
                }
            }
            Err(e) => assert_eq!(set, before, "a refused permit changed the set: {e}"),
        }
    }
    let _ = set.to_string();
    for name in &names {
        let permitted = set.permits(name);
        if let SubjectName::Dns(d) = name {
            let host = d.strip_prefix("*.").unwrap_or(d);
            assert_eq!(permitted, permitted_by_suffix(&set, host), "permits({d}) disagrees");
        }
        if let SubjectName::Email(e) = name {
            let domain = e.rsplit_once('@').unwrap().1;
            assert_eq!(permitted, permitted_by_suffix(&set, domain), "permits({e}) disagrees");
        }
        let _ = set.check(std::slice::from_ref(name)).map_err(|e| e.to_string());
    }
});
