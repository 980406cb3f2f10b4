//! Reading a JKS keystore file directly, so that checking the Java store does not start a JVM
//! (`keytool -list` costs half a second; this costs well under a millisecond). Only reading:
//! keytool still makes every change. Anything this reader does not know (JCEKS, PKCS#12, a
//! secret-key entry, a truncated file) makes it answer `None`, and the caller asks keytool.
//!
//! The format (as written by the JDK's `JavaKeyStore`): magic `FEEDFEED`, version (1 or 2), the
//! entry count, then per entry a tag (1 = private key, 2 = trusted certificate), the alias
//! (u16-prefixed modified UTF-8), a u64 timestamp, and the entry's certificates (in version 2
//! each preceded by its type, e.g. `X.509`), each u32-prefixed; a 20-byte SHA-1 digest ends it.
//!
//! Why not the `jks` crate (checked with 0.3.3, 2026-12): it does read Debian's keystore (all 144
//! entries of `/etc/ssl/certs/java/cacerts`, checking the SHA-1 digest with the password), but it
//! would make the platform crate, which is crypto-free by design (the CLI crate owns all crypto),
//! depend on RustCrypto's `sha1`, and it brings asn1-rs 0.5 with syn 1, nom 7 and thiserror 1, older
//! copies of crates already in the tree, plus by default rand and a p12-keystore release candidate.
//! It is a young single-maintainer crate. For listing certificates, this reader is enough: it needs
//! no password, and keytool, which makes every change, checks the digest.

use crate::java::KeystoreEntry;

const MAGIC: u32 = 0xFEED_FEED;

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self) -> Option<String> {
        let len = self.u16()?;
        // Aliases are ASCII in practice; modified UTF-8 only differs for NUL and non-BMP characters.
        self.take(len).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    fn certificate(&mut self, version: u32) -> Option<Vec<u8>> {
        if version == 2 {
            self.utf()?; // the certificate type, "X.509"
        }
        let len = usize::try_from(self.u32()?).ok()?;
        self.take(len).map(<[u8]>::to_vec)
    }
}

/// The entries of a JKS keystore, or `None` when `bytes` is not a JKS file this reader fully
/// understands.
pub fn parse_jks(bytes: &[u8]) -> Option<Vec<KeystoreEntry>> {
    let mut r = Reader { bytes };
    if r.u32()? != MAGIC {
        return None;
    }
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return None;
    }
    let count = r.u32()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let tag = r.u32()?;
        let alias = r.utf()?;
        r.take(8)?; // timestamp
        let entry = match tag {
            1 => {
                let key_len = usize::try_from(r.u32()?).ok()?;
                r.take(key_len)?;
                let chain_len = r.u32()?;
                let certs = (0..chain_len).map(|_| r.certificate(version)).collect::<Option<Vec<_>>>()?;
                KeystoreEntry { alias, trusted_cert: false, certs }
            }
            2 => KeystoreEntry { alias, trusted_cert: true, certs: vec![r.certificate(version)?] },
            _ => return None,
        };
        entries.push(entry);
    }
    // Exactly the digest must remain; anything else means we misread the file.
    (r.bytes.len() == 20).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn cert(out: &mut Vec<u8>, der: &[u8]) {
        utf(out, "X.509");
        out.extend_from_slice(&(der.len() as u32).to_be_bytes());
        out.extend_from_slice(der);
    }

    fn keystore(trusted: &[(&str, &[u8])], with_key: bool) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(&((trusted.len() + usize::from(with_key)) as u32).to_be_bytes());
        for (alias, der) in trusted {
            out.extend_from_slice(&2u32.to_be_bytes());
            utf(&mut out, alias);
            out.extend_from_slice(&0u64.to_be_bytes());
            cert(&mut out, der);
        }
        if with_key {
            out.extend_from_slice(&1u32.to_be_bytes());
            utf(&mut out, "server");
            out.extend_from_slice(&0u64.to_be_bytes());
            out.extend_from_slice(&3u32.to_be_bytes());
            out.extend_from_slice(b"key");
            out.extend_from_slice(&2u32.to_be_bytes());
            cert(&mut out, b"leaf");
            cert(&mut out, b"ca");
        }
        out.extend_from_slice(&[0u8; 20]);
        out
    }

    #[test]
    fn reads_trusted_and_key_entries() {
        let bytes = keystore(&[("debian:localca-x.pem", b"root-der"), ("other", b"other-der")], true);
        let entries = parse_jks(&bytes).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].alias, "debian:localca-x.pem");
        assert!(entries[0].trusted_cert);
        assert_eq!(entries[0].certs, vec![b"root-der".to_vec()]);
        assert!(!entries[2].trusted_cert);
        assert_eq!(entries[2].certs, vec![b"leaf".to_vec(), b"ca".to_vec()]);
    }

    #[test]
    fn anything_unexpected_is_none() {
        let good = keystore(&[("a", b"der")], false);
        assert!(parse_jks(&good[..good.len() - 1]).is_none(), "truncated");
        let mut longer = good.clone();
        longer.push(0);
        assert!(parse_jks(&longer).is_none(), "trailing bytes");
        let mut jceks = good.clone();
        jceks[..4].copy_from_slice(&0xCECE_CECEu32.to_be_bytes());
        assert!(parse_jks(&jceks).is_none(), "JCEKS");
        assert!(parse_jks(b"0\x82").is_none(), "PKCS#12");
    }

    #[test]
    fn agrees_with_keytool_on_a_real_keystore() {
        let path = std::path::Path::new("/etc/ssl/certs/java/cacerts");
        let (Ok(bytes), Some(keytool)) = (std::fs::read(path), crate::runner::find_tool("keytool")) else {
            eprintln!("skipped: no Debian Java keystore or keytool here");
            return;
        };
        let ours = parse_jks(&bytes).expect("Debian's cacerts is JKS");
        let out = crate::runner::Cmd::new(keytool)
            .args(["-J-XX:-UsePerfData", "-list", "-rfc", "-storepass", "changeit", "-keystore"])
            .arg(path)
            .run()
            .unwrap();
        let theirs = crate::java::parse_list_rfc(&out.stdout);
        assert_eq!(ours.len(), theirs.len());
        for entry in &theirs {
            // keytool runs with LC_ALL=C and prints non-ASCII alias characters as '?'.
            let found = ours
                .iter()
                .find(|e| e.certs == entry.certs)
                .unwrap_or_else(|| panic!("{} is missing or differs", entry.alias));
            assert_eq!(found.trusted_cert, entry.trusted_cert, "{}", entry.alias);
            if !entry.alias.contains('?') {
                assert_eq!(found.alias, entry.alias);
            }
        }
    }
}
