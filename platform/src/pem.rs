//! PEM and fingerprint helpers: moving certificates between stores and the tools that manage
//! them. PEM and base64 are the `pem` crate's (not crypto: the platform crate stays crypto-free);
//! certificates are compared by their DER bytes.

use pem::{EncodeConfig, LineEnding, Pem};

/// Wraps a DER certificate as PEM, 64 characters a line like OpenSSL, ending with a newline.
pub fn to_pem(der: &[u8]) -> String {
    pem::encode_config(&Pem::new("CERTIFICATE", der), EncodeConfig::new().set_line_ending(LineEnding::LF))
}

/// Every `CERTIFICATE` (or OpenSSL `TRUSTED CERTIFICATE`) block in `text`, decoded to DER, in
/// order. Malformed blocks are skipped: a bundle with one bad entry still tells us about the
/// others (so each block is parsed on its own, where `pem::parse_many` would give up on all).
pub fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    text.match_indices("-----BEGIN ")
        .filter_map(|(at, _)| pem::parse(&text[at..]).ok())
        .filter(|block| matches!(block.tag(), "CERTIFICATE" | "TRUSTED CERTIFICATE"))
        .map(Pem::into_contents)
        .collect()
}

/// Certificates in a file's bytes: PEM blocks if there are any, else the whole file as DER.
pub fn certificates_in_file(bytes: &[u8]) -> Vec<Vec<u8>> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN ") => pem_certificates(text),
        // A DER certificate starts with a SEQUENCE tag.
        _ if bytes.first() == Some(&0x30) => vec![bytes.to_vec()],
        _ => Vec::new(),
    }
}

/// Normalizes a fingerprint as tools print it (`AB:CD:…`) to lower-case hex without separators,
/// the form of [`crate::RootCert::sha256_hex`].
pub fn normalize_fingerprint(text: &str) -> String {
    text.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_skips_other_blocks() {
        let der: Vec<u8> = (0..200u16).map(|i| (i % 251) as u8).collect();
        let pem = to_pem(&der);
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        assert!(
            pem.starts_with("-----BEGIN CERTIFICATE-----\n") && pem.ends_with("-----END CERTIFICATE-----\n")
        );
        assert!(!pem.contains('\r'));
        let text = format!("junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{pem}{pem}");
        assert_eq!(pem_certificates(&text), vec![der.clone(), der.clone()]);
        // A damaged block (bad base64, or no END line) hides neither the block before nor after it.
        let bad = "-----BEGIN CERTIFICATE-----\nZm*=\n-----END CERTIFICATE-----\n";
        let cut = "-----BEGIN CERTIFICATE-----\nZm9v\n";
        let text = format!("{pem}{bad}{cut}{pem}");
        assert_eq!(pem_certificates(&text), vec![der.clone(), der.clone()]);
        let crlf = pem.replace('\n', "\r\n");
        assert_eq!(pem_certificates(&crlf), vec![der.clone()]);
        assert_eq!(certificates_in_file(pem.as_bytes()), vec![der.clone()]);
        let mut raw = der.clone();
        raw[0] = 0x30;
        assert_eq!(certificates_in_file(&raw), vec![raw.clone()]);
    }

    #[test]
    fn fingerprints_normalize() {
        assert_eq!(normalize_fingerprint("9B:BD:0E\n"), "9bbd0e");
    }
}
