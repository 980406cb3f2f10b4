//! Fingerprints as people type them: any unambiguous prefix of 8 or more hex digits (like git's
//! abbreviated commits), with or without colons, in either case.

use crate::error::{Error, Result};

/// Fewest hex digits accepted as a fingerprint prefix.
pub const MIN_PREFIX: usize = 8;

/// Normalises a typed fingerprint (drops `:`, spaces and a trailing `…`; lower-case) and checks
/// it is 8 to 64 hex digits. [`Error::BadFingerprint`] otherwise.
pub fn normalise(typed: &str) -> Result<String> {
    let hex: String = typed
        .trim_end_matches('…')
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() < MIN_PREFIX || hex.len() > 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::BadFingerprint { typed: typed.into() });
    }
    Ok(hex)
}

/// The one fingerprint among `candidates` that starts with `prefix` (already normalised).
/// [`Error::UnknownFingerprint`] when none does, [`Error::AmbiguousFingerprint`] when several do.
pub fn resolve<'a>(prefix: &str, candidates: impl IntoIterator<Item = &'a str>) -> Result<&'a str> {
    let mut found: Vec<&str> = candidates.into_iter().filter(|c| c.starts_with(prefix)).collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::UnknownFingerprint { prefix: prefix.into() }),
        many => Err(Error::AmbiguousFingerprint {
            prefix: prefix.into(),
            matches: many.iter().map(|f| f[..16].to_string()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(normalise("C9:3E:50:74:68").unwrap(), "c93e507468");
        assert_eq!(normalise("c93e5074683b9bb2…").unwrap(), "c93e5074683b9bb2");
        assert!(normalise("c93e507").is_err());
        assert!(normalise("c93e507x").is_err());
        let a = "aaaa1111".repeat(8);
        let b = "aaaa2222".repeat(8);
        let list = [a.as_str(), b.as_str(), a.as_str()];
        assert_eq!(resolve("aaaa1111", list).unwrap(), a);
        assert!(matches!(resolve("aaaa", list), Err(Error::AmbiguousFingerprint { .. })));
        assert!(matches!(resolve("bbbbbbbb", list), Err(Error::UnknownFingerprint { .. })));
    }
}
