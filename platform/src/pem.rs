//! PEM and fingerprint helpers: just enough base64 to move certificates between stores and the
//! tools that manage them. No crypto: certificates are compared by their DER bytes.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `data` as standard base64 with padding, on one line.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, ignoring whitespace; `None` on any other invalid character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        // Data after padding is malformed.
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // Leftover bits must be the zero filler of a short final group.
    if bits >= 6 || padding > 2 {
        return None;
    }
    Some(out)
}

/// Wraps a DER certificate as PEM, 64 characters a line like OpenSSL, ending with a newline.
pub fn to_pem(der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        // The alphabet is ASCII, so every chunk is valid UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Every `CERTIFICATE` block in `text`, decoded to DER, in order. Malformed blocks are skipped:
/// a bundle with one bad entry still tells us about the others.
pub fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" || line == "-----BEGIN TRUSTED CERTIFICATE-----" {
            body = Some(String::new());
        } else if line.starts_with("-----END ") {
            if let Some(b) = body.take() {
                if let Some(der) = base64_decode(&b) {
                    certs.push(der);
                }
            }
        } else if let Some(b) = body.as_mut() {
            // Skip RFC 1421 headers, if any.
            if !line.contains(':') {
                b.push_str(line);
            }
        }
    }
    certs
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
    fn base64_round_trips_every_length() {
        for len in 0..70u8 {
            let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let enc = base64_encode(&data);
            assert_eq!(base64_decode(&enc).as_deref(), Some(&data[..]), "len {len}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8=\n").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm*="), None);
        assert_eq!(base64_decode("Zm8=Zg"), None);
    }

    #[test]
    fn pem_round_trips_and_skips_other_blocks() {
        let der: Vec<u8> = (0..200u16).map(|i| (i % 251) as u8).collect();
        let pem = to_pem(&der);
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let text = format!("junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{pem}{pem}");
        assert_eq!(pem_certificates(&text), vec![der.clone(), der.clone()]);
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
