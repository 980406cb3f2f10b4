//! `localca cert`: what it issues (checked with OpenSSL and rustls-webpki), what it refuses, the
//! files it writes, and how the command line behaves. Every test runs the real binary in its own
//! CA home and working folder.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

const DAY: i64 = 86_400;
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_EC_KEY: &str = "1.2.840.10045.2.1";
const OID_RSA_KEY: &str = "1.2.840.113549.1.1.1";

const OID_SKI: &str = "2.5.29.14";
const OID_KU: &str = "2.5.29.15";
const OID_SAN: &str = "2.5.29.17";
const OID_BC: &str = "2.5.29.19";
const OID_NC: &str = "2.5.29.30";
const OID_AKI: &str = "2.5.29.35";
const OID_EKU: &str = "2.5.29.37";

/// KeyUsage bits as x509-parser numbers them.
const KU_DIGITAL_SIGNATURE: u16 = 1;
const KU_KEY_ENCIPHERMENT: u16 = 1 << 2;
const KU_KEY_CERT_SIGN: u16 = 1 << 5;
const KU_CRL_SIGN: u16 = 1 << 6;

/// The extension OIDs of a certificate, sorted.
fn extension_oids(der: &[u8]) -> Vec<String> {
    let mut oids: Vec<String> = parse(der).extensions().iter().map(|e| e.oid.to_id_string()).collect();
    oids.sort();
    oids
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// (key algorithm OID, curve OID or RSA bits) of a certificate's public key.
fn key_kind(der: &[u8]) -> (String, String) {
    let cert = parse(der);
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let detail = match spki.parsed().expect("parsable key") {
        PublicKey::RSA(rsa) => format!("{}", rsa.key_size()),
        PublicKey::EC(_) => spki
            .algorithm
            .parameters
            .as_ref()
            .expect("curve parameter")
            .as_oid()
            .expect("named curve")
            .to_id_string(),
        other => format!("{other:?}"),
    };
    (alg, detail)
}

/// EKU flags: (serverAuth, clientAuth, emailProtection), asserting nothing else is set.
fn eku(der: &[u8]) -> (bool, bool, bool) {
    let cert = parse(der);
    let ext = cert.extended_key_usage().expect("one EKU").expect("an EKU extension");
    let e = ext.value;
    assert!(!e.any && !e.code_signing && !e.time_stamping && !e.ocsp_signing && e.other.is_empty(), "{e:?}");
    assert!(!ext.critical, "EKU is not critical");
    (e.server_auth, e.client_auth, e.email_protection)
}

/// The key usage flags of a certificate, asserting the extension is critical.
fn key_usage(der: &[u8]) -> u16 {
    let cert = parse(der);
    let ext = cert.key_usage().expect("one KU").expect("a KU extension");
    assert!(ext.critical, "KeyUsage must be critical");
    ext.value.flags
}

/// Checks what every leaf has: not a CA, AKI = root SKI, exactly the expected extensions, and
/// signed by the root.
fn assert_leaf_profile(root_der: &[u8], leaf_der: &[u8]) {
    let leaf = parse(leaf_der);
    assert!(leaf.basic_constraints().unwrap().is_none_or(|bc| !bc.value.ca), "a leaf is never a CA");
    assert!(!leaf.is_ca());
    assert_eq!(aki(leaf_der).expect("leaf has an AKI"), ski(root_der).expect("root has an SKI"));
    assert_eq!(extension_oids(leaf_der), sorted(&[OID_AKI, OID_SAN, OID_KU, OID_EKU]));
    assert_eq!(leaf.issuer(), parse(root_der).subject());
    let serial = leaf.raw_serial();
    assert!(serial.len() == 16 && serial[0] & 0x80 == 0 && serial[0] != 0, "serial {serial:02x?}");
}

#[test]
fn issues_a_certificate_both_verifiers_accept() {
    let env = Env::new();
    let run = env.ok(&["cert", "myapp.test", "*.myapp.test", "localhost", "127.0.0.1", "::1"]);

    assert_eq!(env.cwd_files(), ["myapp.test+4-key.pem", "myapp.test+4.pem"]);
    assert_eq!(
        run.stdout.lines().take(6).collect::<Vec<_>>(),
        [
            "Issued a certificate for:",
            "  - myapp.test",
            "  - *.myapp.test",
            "  - localhost",
            "  - 127.0.0.1",
            "  - ::1"
        ]
    );
    assert!(
        run.stderr.starts_with(&format!("Created a new local CA in {}\n", env.home.display())),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("error") && !run.stderr.contains("warning"), "{}", run.stderr);

    let leaf_path = env.file("myapp.test+4.pem");
    let leaf = cert_der_from_file(&leaf_path);
    let root = env.root_der();
    assert_eq!(
        sans(&leaf),
        ["DNS:myapp.test", "DNS:*.myapp.test", "DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    );
    assert_verifies(
        &env.root_pem_path(),
        &leaf_path,
        &["myapp.test", "sub.myapp.test", "other.myapp.test", "localhost", "127.0.0.1", "::1"],
    );
    // A name the certificate does not hold, and one two levels under the wildcard.
    for wrong in ["other.test", "a.b.myapp.test", "127.0.0.2"] {
        let result = webpki_verify(&root, &leaf, webpki::KeyUsage::server_auth(), &[wrong]);
        assert!(matches!(result, Err(webpki::Error::CertNotValidForName(_))), "{wrong}: {result:?}");
    }

    // Leaf profile.
    assert_leaf_profile(&root, &leaf);
    assert_eq!(key_usage(&leaf), KU_DIGITAL_SIGNATURE);
    assert_eq!(eku(&leaf), (true, false, false));
    assert_eq!(key_kind(&leaf), (OID_EC_KEY.into(), OID_P256.into()));
    assert_eq!(validity_seconds(&leaf), 820 * DAY);
    let not_before = parse(&leaf).validity().not_before.timestamp();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(
        (now - 3600 - 120..=now - 3600 + 5).contains(&not_before),
        "backdated one hour: {not_before} vs {now}"
    );

    // Permissions.
    assert_eq!(mode(&env.file("myapp.test+4-key.pem")), 0o600);
    assert_eq!(mode(&leaf_path), 0o644);
    assert_eq!(mode(&env.home), 0o700);
    assert_eq!(mode(&env.root_key_path()), 0o600);
    assert_eq!(mode(&env.root_pem_path()), 0o644);
    assert_eq!(file_names(&env.home), [".lock", "inventory.json", "root-key.pem", "root.pem"]);

    // The key file holds the leaf's key: OpenSSL derives the same public key.
    let from_key = openssl_ok(&env.cwd, &["pkey", "-in", "myapp.test+4-key.pem", "-pubout"]);
    let from_cert = openssl_ok(&env.cwd, &["x509", "-in", "myapp.test+4.pem", "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert);
}

#[test]
fn root_has_the_documented_profile() {
    let env = Env::new();
    let run = env.ok(&["ca", "create"]);
    let root = env.root_der();
    assert_eq!(run.stdout.trim(), sha256_hex(&root), "ca create prints the fingerprint");
    let cert = parse(&root);

    let bc = cert.basic_constraints().unwrap().expect("BasicConstraints");
    assert!(bc.critical && bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, Some(0));
    assert_eq!(key_usage(&root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_eq!(ski(&root).map(|s| s.len()), Some(20));
    assert!(aki(&root).is_none_or(|a| Some(a) == ski(&root)));
    let (critical, subtrees) = permitted_subtrees(&root).expect("name constraints");
    assert!(critical, "name constraints must be critical");
    assert_eq!(subtrees, DEFAULT_SUBTREES);
    assert_eq!(extension_oids(&root), sorted(&[OID_SKI, OID_KU, OID_BC, OID_NC]));
    assert_eq!(key_kind(&root), (OID_EC_KEY.into(), OID_P256.into()));
    assert_eq!(cert.signature_algorithm.algorithm.to_id_string(), "1.2.840.10045.4.3.2", "ecdsa-with-SHA256");
    // 3652 days from now, backdated one hour.
    assert_eq!(validity_seconds(&root), 3652 * DAY + 3600);
    let serial = cert.raw_serial();
    assert!(
        serial.len() == 16 && serial[0] & 0x80 == 0 && serial[0] != 0,
        "positive 16-byte serial: {serial:02x?}"
    );
    assert_eq!(cert.subject(), cert.issuer(), "self-signed");
    let subject = cert.subject().to_string();
    assert!(subject.starts_with("O=localca development CA, OU="), "{subject}");
    assert!(cert.verify_signature(None).is_ok());
    assert_openssl_verifies(&env.root_pem_path(), &env.root_pem_path());
    // A trust anchor rustls accepts.
    let der = rustls_pki_types::CertificateDer::from(root.clone());
    webpki::anchor_from_trusted_cert(&der).expect("usable trust anchor");
}

#[test]
fn names_are_normalised_and_deduplicated() {
    let env = Env::new();
    env.ok(&["cert", "MÜNCHEN.test", "MyApp.TEST.", "0:0::1", "myapp.test", "::1", "Alice@MyApp.TEST"]);
    assert_eq!(env.cwd_files(), ["xn--mnchen-3ya.test+3-key.pem", "xn--mnchen-3ya.test+3.pem"]);
    let path = env.file("xn--mnchen-3ya.test+3.pem");
    let leaf = cert_der_from_file(&path);
    assert_eq!(
        sans(&leaf),
        ["DNS:xn--mnchen-3ya.test", "DNS:myapp.test", "IP:::1", "email:Alice@myapp.test"]
    );
    assert_eq!(eku(&leaf), (true, false, true), "serverAuth and emailProtection");
    assert_verifies(&env.root_pem_path(), &path, &["xn--mnchen-3ya.test", "myapp.test", "::1"]);
}

#[test]
fn default_file_names_are_mkcerts() {
    let env = Env::new();
    env.ok(&["cert", "*.myapp.test"]);
    assert_eq!(env.cwd_files(), ["_wildcard.myapp.test-key.pem", "_wildcard.myapp.test.pem"]);
    let wildcard = env.file("_wildcard.myapp.test.pem");
    assert_eq!(sans(&cert_der_from_file(&wildcard)), ["DNS:*.myapp.test"]);
    assert_verifies(&env.root_pem_path(), &wildcard, &["sub.myapp.test"]);

    let env = Env::new();
    env.ok(&["cert", "--client", "myapp.test", "localhost"]);
    assert_eq!(env.cwd_files(), ["myapp.test+1-client-key.pem", "myapp.test+1-client.pem"]);
    let path = env.file("myapp.test+1-client.pem");
    let leaf = cert_der_from_file(&path);
    assert_eq!(eku(&leaf), (true, true, false));
    assert_eq!(mode(&env.file("myapp.test+1-client-key.pem")), 0o600);
    assert_verifies(&env.root_pem_path(), &path, &["myapp.test", "localhost"]);
    let root = env.root_der();
    assert_eq!(webpki_verify(&root, &leaf, webpki::KeyUsage::client_auth(), &[]), Ok(()));
    let (ok, text) = openssl(
        &env.cwd,
        &["verify", "-purpose", "sslclient", "-CAfile", path_str(&env.root_pem_path()), path_str(&path)],
    );
    assert!(ok, "{text}");

    // An email-only client certificate: no serverAuth.
    let env = Env::new();
    env.ok(&["cert", "--client", "alice@myapp.test"]);
    assert_eq!(env.cwd_files(), ["alice@myapp.test-client-key.pem", "alice@myapp.test-client.pem"]);
    let path = env.file("alice@myapp.test-client.pem");
    let leaf = cert_der_from_file(&path);
    assert_eq!(sans(&leaf), ["email:alice@myapp.test"]);
    assert_eq!(eku(&leaf), (false, true, true));
    assert_openssl_verifies(&env.root_pem_path(), &path);
    let root = env.root_der();
    assert_eq!(webpki_verify(&root, &leaf, webpki::KeyUsage::client_auth(), &[]), Ok(()));
    assert!(matches!(
        webpki_verify(&root, &leaf, webpki::KeyUsage::server_auth(), &[]),
        Err(webpki::Error::RequiredEkuNotFoundContext(_))
    ));
}

#[test]
fn key_types_and_validity() {
    let env = Env::new();
    env.create_ca();
    let root = env.root_der();
    // (flag, expected key kind, key usage)
    let cases: [(&str, (&str, &str), u16); 4] = [
        ("ecdsa-p256", (OID_EC_KEY, OID_P256), KU_DIGITAL_SIGNATURE),
        ("ecdsa-p384", (OID_EC_KEY, OID_P384), KU_DIGITAL_SIGNATURE),
        ("rsa-2048", (OID_RSA_KEY, "2048"), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT),
        ("rsa-3072", (OID_RSA_KEY, "3072"), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT),
    ];
    for (i, (key_type, kind, ku)) in cases.into_iter().enumerate() {
        let name = format!("k{i}.test");
        env.ok(&[
            "cert",
            "--key-type",
            key_type,
            "--cert-file",
            &format!("{key_type}.pem"),
            "--key-file",
            &format!("{key_type}-key.pem"),
            &name,
        ]);
        let path = env.file(&format!("{key_type}.pem"));
        let leaf = cert_der_from_file(&path);
        assert_eq!(key_kind(&leaf), (kind.0.to_string(), kind.1.to_string()), "{key_type}");
        assert_eq!(key_usage(&leaf), ku, "{key_type}");
        assert_leaf_profile(&root, &leaf);
        assert_verifies(&env.root_pem_path(), &path, &[&name]);
        let key_text =
            openssl_ok(&env.cwd, &["pkey", "-in", &format!("{key_type}-key.pem"), "-noout", "-text"]);
        let expected = if key_type.starts_with("rsa") {
            format!("Private-Key: ({} bit", kind.1)
        } else {
            format!("Private-Key: ({} bit)", &key_type[7..])
        };
        assert!(key_text.contains(&expected), "{key_type}: {}", key_text.lines().next().unwrap_or(""));
        assert_eq!(mode(&env.file(&format!("{key_type}-key.pem"))), 0o600);
    }

    for (days, expected) in [("1", DAY), ("825", 825 * DAY), ("90", 90 * DAY)] {
        let file = format!("d{days}.pem");
        env.ok(&["cert", "--days", days, "--cert-file", &file, "--key-file", "d-key.pem", "days.test"]);
        let path = env.file(&file);
        assert_eq!(validity_seconds(&cert_der_from_file(&path)), expected, "--days {days}");
        assert_verifies(&env.root_pem_path(), &path, &["days.test"]);
    }
}

/// A leaf signed directly with the root's key (as anyone holding the key could), bypassing
/// localca's own checks: (PEM, DER).
fn forge_leaf(env: &Env, dns: &[&str], ips: &[&str]) -> (String, Vec<u8>) {
    let ca_key = rcgen::KeyPair::from_pem(&fs::read_to_string(env.root_key_path()).unwrap()).unwrap();
    let issuer =
        rcgen::Issuer::from_ca_cert_pem(&fs::read_to_string(env.root_pem_path()).unwrap(), ca_key).unwrap();
    let mut params =
        rcgen::CertificateParams::new(dns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    for ip in ips {
        params.subject_alt_names.push(rcgen::SanType::IpAddress(ip.parse().unwrap()));
    }
    params.distinguished_name = rcgen::DistinguishedName::new();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(1);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem(), cert.der().to_vec())
}

#[test]
fn verifiers_enforce_the_name_constraints() {
    let env = Env::new();
    let root = env.create_ca();
    let cases: [(&str, &[&str], &[&str], bool); 5] = [
        ("evil", &["evil.com"], &[], false),
        ("public-ip", &["myapp.test"], &["8.8.8.8"], false),
        ("suffix-trick", &["localhost.com"], &[], false),
        ("wildcard", &["*.evil.com"], &[], false),
        (
            "permitted",
            &["ok.test", "*.ok.test", "localhost"],
            &["10.1.2.3", "127.0.0.1", "::1", "fe80::1"],
            true,
        ),
    ];
    for (label, dns, ips, accepted) in cases {
        let (pem, der) = forge_leaf(&env, dns, ips);
        let path = env.file(&format!("{label}.pem"));
        write(&path, &pem);
        let (ok, text) = openssl_verify(&env.root_pem_path(), &path);
        let webpki_result = webpki_verify(&root, &der, webpki::KeyUsage::server_auth(), &[]);
        if accepted {
            assert!(ok, "{label}: openssl rejected a permitted leaf:\n{text}");
            assert_eq!(webpki_result, Ok(()), "{label}");
            let names: Vec<&str> = dns
                .iter()
                .map(|d| d.strip_prefix("*.").map_or(*d, |_| "sub.ok.test"))
                .chain(ips.iter().copied())
                .collect();
            assert_eq!(webpki_verify(&root, &der, webpki::KeyUsage::server_auth(), &names), Ok(()));
        } else {
            assert!(!ok, "{label}: openssl accepted a leaf outside the constraints:\n{text}");
            assert!(text.contains("permitted subtree violation"), "{label}: {text}");
            assert_eq!(webpki_result, Err(webpki::Error::NameConstraintViolation), "{label}");
        }
    }
}

#[test]
fn permit_adds_a_suffix_to_a_new_root() {
    let env = Env::new();
    env.ok(&["cert", "--permit", "mycorp.dev", "--permit", "203.0.113.0/24", "a.mycorp.dev", "203.0.113.7"]);
    let root = env.root_der();
    let (critical, subtrees) = permitted_subtrees(&root).unwrap();
    assert!(critical);
    let mut expected: Vec<&str> = DEFAULT_SUBTREES.to_vec();
    expected.insert(10, "DNS:mycorp.dev");
    expected.push("IP:203.0.113.0/24");
    assert_eq!(subtrees, expected);
    let path = env.file("a.mycorp.dev+1.pem");
    assert_verifies(&env.root_pem_path(), &path, &["a.mycorp.dev", "203.0.113.7"]);

    // The root is kept afterwards; --permit of a name the existing root lacks is refused
    // (tests/constraints_cli.rs), one it already has is fine.
    env.fail(&["cert", "--permit", "other.dev", "b.mycorp.dev"]);
    env.ok(&["cert", "--permit", "mycorp.dev", "b.mycorp.dev"]);
    assert_eq!(env.root_der(), root);
    assert_verifies(&env.root_pem_path(), &env.file("b.mycorp.dev.pem"), &["b.mycorp.dev"]);
    let run = env.fail(&["cert", "a.other.dev"]);
    assert!(run.stderr.contains("a.other.dev is outside this CA's name constraints"), "{}", run.stderr);

    // A forged leaf under a suffix not permitted is still refused by verifiers.
    let (pem, der) = forge_leaf(&env, &["a.other.dev"], &[]);
    write(&env.file("forged.pem"), pem);
    assert!(!openssl_verify(&env.root_pem_path(), &env.file("forged.pem")).0);
    assert_eq!(
        webpki_verify(&root, &der, webpki::KeyUsage::server_auth(), &[]),
        Err(webpki::Error::NameConstraintViolation)
    );
}

#[test]
fn invalid_permit_is_refused_before_anything_is_created() {
    let env = Env::new();
    for bad in ["bad_name", "10.0.0.0/40", "*.dev"] {
        let run = env.fail(&["cert", "--permit", bad, "myapp.test"]);
        assert!(run.stderr.starts_with(&format!("error: invalid --permit {bad:?}")), "{}", run.stderr);
    }
    assert_eq!(snapshot(&env.home), None);
    assert_eq!(env.cwd_files(), Vec::<String>::new());
}

#[test]
fn no_name_constraints_makes_an_unconstrained_root() {
    let env = Env::new();
    let run = env.ok(&["cert", "--no-name-constraints", "evil.com", "8.8.8.8"]);
    assert!(run.stderr.contains("warning: it has no name constraints"), "{}", run.stderr);
    let root = env.root_der();
    assert_eq!(permitted_subtrees(&root), None, "no name constraints extension");
    assert_eq!(extension_oids(&root), sorted(&[OID_SKI, OID_KU, OID_BC]));
    let path = env.file("evil.com+1.pem");
    assert_eq!(sans(&cert_der_from_file(&path)), ["DNS:evil.com", "IP:8.8.8.8"]);
    assert_verifies(&env.root_pem_path(), &path, &["evil.com", "8.8.8.8"]);
    let show = env.ok(&["ca", "show"]);
    assert!(show.stdout.contains("Name constraints: none"), "{}", show.stdout);
}

/// Names (and other arguments) `cert` must refuse, with the text the error line must contain.
fn refused_cases() -> Vec<(Vec<String>, String)> {
    let label64 = "a".repeat(64);
    let long = format!("{}test", format!("{}.", "a".repeat(63)).repeat(4)); // 260 characters
    let mut cases: Vec<(Vec<String>, String)> = Vec::new();
    let mut add = |args: &[&str], mention: &str| {
        cases.push((args.iter().map(|s| s.to_string()).collect(), mention.to_string()))
    };
    // Not a name at all.
    add(&[""], "invalid name \"\"");
    add(&["foo..test"], "foo..test");
    add(&[".test"], ".test");
    add(&["."], "\".\"");
    add(&["--", "-a.test"], "-a.test");
    add(&["--", "-"], "\"-\"");
    add(&["a-.test"], "a-.test");
    add(&[&format!("{label64}.test")], &label64);
    add(&[&long], &long);
    add(&["a b.test"], "a b.test");
    add(&["a_b.test"], "a_b.test");
    add(&["a/b.test"], "a/b.test");
    add(&["a\tb.test"], "a\\tb.test");
    add(&["a\u{1}.test"], "a\\u{1}.test");
    add(&["a\u{7f}.test"], "a\\u{7f}.test");
    add(&["a\nb.test"], "a\\nb.test");
    // Wildcards in the wrong place.
    add(&["*"], "\"*\"");
    add(&["*.test"], "*.test");
    add(&["a.*.test"], "a.*.test");
    add(&["*a.test"], "*a.test");
    add(&["**.test"], "**.test");
    add(&["*.*.test"], "*.*.test");
    // Not IP addresses.
    add(&["300.1.1.1"], "300.1.1.1");
    add(&["1.2.3"], "1.2.3");
    add(&["127.1"], "127.1");
    add(&["10.0.0.0/8"], "10.0.0.0/8");
    add(&["fe80::1%eth0"], "fe80::1%eth0");
    add(&["[::1]"], "[::1]");
    // Pasted addresses.
    add(&["myapp.test:8443"], "myapp.test:8443");
    add(&["https://myapp.test/"], "https://myapp.test/");
    // Bad internationalised names.
    add(&["xn--zz.test"], "xn--zz.test");
    add(&["xn--a.test"], "xn--a.test");
    add(&["\u{FFFD}.test"], "\u{FFFD}.test");
    add(&["\u{301}a.test"], "\\u{301}a.test");
    add(&["a\u{2028}b.test"], "a\\u{2028}b.test");
    add(&["ａ＿b.test"], "ａ＿b.test");
    // Bad email addresses.
    add(&["@myapp.test"], "@myapp.test");
    add(&["a@"], "a@");
    add(&["a@@b.test"], "a@@b.test");
    add(&["a b@myapp.test"], "a b@myapp.test");
    add(&["a@b_c.test"], "a@b_c.test");
    // Valid names outside the default constraints.
    add(&["évil.com"], "xn--vil-9la.com");
    add(&["evil.com"], "evil.com");
    add(&["*.evil.com"], "*.evil.com");
    add(&["localhost.com"], "localhost.com");
    add(&["mytest"], "mytest");
    add(&["8.8.8.8"], "8.8.8.8");
    add(&["172.32.0.1"], "172.32.0.1");
    add(&["2001:db8::1"], "2001:db8::1");
    add(&["alice@gmail.com"], "alice@gmail.com");
    add(&["myapp.test", "evil.com"], "evil.com");
    add(&["--uri", "https://evil.com/x"], "https://evil.com/x");
    // Bad URIs and validity.
    add(&["--uri", "myapp.test"], "myapp.test");
    add(&["--uri", "https://my app.test/"], "https://my app.test/");
    cases
}

#[test]
fn malformed_and_forbidden_names_are_refused_without_side_effects() {
    let empty = Env::new();
    let existing = Env::new();
    existing.create_ca();
    let existing_home = snapshot(&existing.home).expect("home");
    let cases = refused_cases();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for (args, mention) in &cases {
        for (which, env) in [("empty home", &empty), ("existing home", &existing)] {
            let mut full: Vec<&str> = vec!["cert"];
            full.extend(args.iter().map(String::as_str));
            let run = env.run(&full);
            let errors = run.error_lines();
            let problem = if run.code != 1 {
                Some(format!("exit code {}", run.code))
            } else if !run.stderr.starts_with("error: ") || errors.len() != 1 {
                Some("stderr must start with exactly one `error:` line".into())
            } else if !errors[0].contains(mention.as_str()) {
                Some(format!("the error line does not mention {mention:?}"))
            } else if run.stderr.lines().any(|l| !l.starts_with("error: ") && !l.starts_with("hint: ")) {
                Some("stderr has lines other than error/hint".into())
            } else if !run.stdout.is_empty() {
                Some("stdout is not empty".into())
            } else if !env.cwd_files().is_empty() {
                Some(format!("files written: {:?}", env.cwd_files()))
            } else if which == "empty home" && snapshot(&env.home).is_some() {
                Some("the CA home was created".into())
            } else if which == "existing home" && snapshot(&env.home).as_ref() != Some(&existing_home) {
                Some("the CA home changed".into())
            } else {
                None
            };
            if let Some(problem) = problem {
                failures.push(format!("{args:?} on {which}: {problem}\n    stderr: {:?}", run.stderr));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

// Was a bug (fixed): an internationalised name outside the constraints is reported only in its A-label form
// (`xn--vil-9la.com is outside …`), so the error does not mention the name the user typed.
// src/constraints.rs `NameConstraintSet::check` (Error::NameNotPermitted { name: name.to_string() }).
#[test]
fn refusal_of_a_unicode_name_mentions_it_as_typed() {
    let env = Env::new();
    let run = env.fail(&["cert", "évil.com"]);
    assert!(run.error_lines()[0].contains("évil.com"), "{}", run.stderr);
}

#[test]
fn pasted_addresses_get_a_suggestion() {
    let env = Env::new();
    for (input, suggestion) in [
        ("https://myapp.test:8443/", "myapp.test"),
        ("myapp.test:8443", "myapp.test"),
        ("[::1]", "::1"),
        ("https://[::1]:8443/", "::1"),
    ] {
        let run = env.fail(&["cert", input]);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{}", run.stderr);
        assert!(lines[0].starts_with(&format!("error: invalid name {input:?}: ")), "{}", run.stderr);
        assert_eq!(lines[1], format!("hint: did you mean {suggestion}?"));
    }
    assert_eq!(snapshot(&env.home), None);
    assert!(env.cwd_files().is_empty());
}

/// Makes a CSR with openssl in `dir`: a P-256 key in `<stem>-key.pem`, the request in `<stem>.csr`.
fn openssl_csr(dir: &Path, stem: &str, subject: &str, extensions: &[&str]) -> Vec<u8> {
    let key = format!("{stem}-key.pem");
    let csr = format!("{stem}.csr");
    let mut args = vec![
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        subject,
    ];
    for ext in extensions {
        args.extend(["-addext", ext]);
    }
    args.extend(["-keyout", &key, "-out", &csr]);
    openssl_ok(dir, &args);
    pem::parse(fs::read(dir.join(&csr)).unwrap()).unwrap().contents().to_vec()
}

#[test]
fn csr_gets_its_names_and_our_profile_only() {
    let env = Env::new();
    let csr_der = openssl_csr(
        &env.cwd,
        "req",
        "/CN=x",
        &[
            "subjectAltName=DNS:csr.test,IP:127.0.0.1",
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=keyCertSign",
            "extendedKeyUsage=codeSigning",
        ],
    );
    let run = env.ok(&["cert", "--csr", "req.csr"]);
    assert!(run.stdout.contains("  - csr.test\n  - 127.0.0.1\n"), "{}", run.stdout);
    assert_eq!(env.cwd_files(), ["csr.test+1.pem", "req-key.pem", "req.csr"], "no key file for a CSR");
    let path = env.file("csr.test+1.pem");
    let leaf = cert_der_from_file(&path);
    let root = env.root_der();
    assert_eq!(sans(&leaf), ["DNS:csr.test", "IP:127.0.0.1"]);
    assert_leaf_profile(&root, &leaf);
    assert_eq!(key_usage(&leaf), KU_DIGITAL_SIGNATURE, "no keyCertSign");
    assert_eq!(eku(&leaf), (true, false, false), "no codeSigning");
    let (_, csr) = X509CertificationRequest::from_der(&csr_der).unwrap();
    assert_eq!(
        parse(&leaf).public_key().raw,
        csr.certification_request_info.subject_pki.raw,
        "the CSR's key"
    );
    assert_eq!(validity_seconds(&leaf), 820 * DAY);
    assert_verifies(&env.root_pem_path(), &path, &["csr.test", "127.0.0.1"]);

    // DER, with --days and explicit output; --cert-file only (no key).
    write(&env.file("req.der"), &csr_der);
    env.ok(&["cert", "--csr", "req.der", "--days", "30", "--cert-file", "der.pem"]);
    let leaf = cert_der_from_file(&env.file("der.pem"));
    assert_eq!(sans(&leaf), ["DNS:csr.test", "IP:127.0.0.1"]);
    assert_eq!(validity_seconds(&leaf), 30 * DAY);

    // A CN-only request: its CN becomes the SAN.
    openssl_csr(&env.cwd, "cn", "/CN=cn.test", &[]);
    env.ok(&["cert", "--csr", "cn.csr"]);
    let path = env.file("cn.test.pem");
    assert_eq!(sans(&cert_der_from_file(&path)), ["DNS:cn.test"]);
    assert_verifies(&env.root_pem_path(), &path, &["cn.test"]);
}

#[test]
fn bad_csrs_are_refused_and_write_nothing() {
    let env = Env::new();
    openssl_csr(&env.cwd, "evil", "/CN=x", &["subjectAltName=DNS:evil.com"]);
    let good = openssl_csr(&env.cwd, "good", "/CN=x", &["subjectAltName=DNS:good.test"]);
    openssl_csr(&env.cwd, "nocn", "/O=nobody", &[]);
    let mut corrupted = good.clone();
    *corrupted.last_mut().unwrap() ^= 0x01; // last byte of the signature
    write(&env.file("corrupted.der"), &corrupted);
    let mut tampered = good.clone();
    let at = tampered.windows(9).position(|w| w == b"good.test").unwrap();
    tampered[at] = b'f'; // food.test: the signed content changed
    write(&env.file("tampered.der"), &tampered);
    write(
        &env.file("garbage.csr"),
        b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n",
    );
    let mut big = vec![0u8; 60 * 1024 * 1024];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
    }
    big[0] = 0x30;
    write(&env.file("big.csr"), &big);
    drop(big);
    let files = env.cwd_files();

    let cases = [
        ("evil.csr", "evil.com is outside"),
        ("corrupted.der", "its signature does not verify"),
        ("tampered.der", "its signature does not verify"),
        ("nocn.csr", "it names no host"),
        ("garbage.csr", "not a PEM or DER certificate request"),
        ("big.csr", "larger than 65536 bytes"),
        ("missing.csr", "missing.csr"),
    ];
    for (home_state, env_home) in [("empty", false), ("existing", true)] {
        if env_home {
            env.create_ca();
        }
        let before = snapshot(&env.home);
        for (file, message) in cases {
            let started = Instant::now();
            let run = env.fail(&["cert", "--csr", file]);
            assert!(started.elapsed() < Duration::from_secs(3), "{file} took {:?}", started.elapsed());
            assert!(run.error_lines()[0].contains(message), "{file} ({home_state} home): {}", run.stderr);
            assert!(
                file == "evil.csr" || run.error_lines()[0].contains(file),
                "{file}: the error names the file: {}",
                run.stderr
            );
            assert_eq!(env.cwd_files(), files, "{file} wrote something");
            assert_eq!(snapshot(&env.home), before, "{file} changed the CA home ({home_state})");
        }
    }
}

#[test]
fn pkcs12_bundle_is_readable_by_openssl_3() {
    let env = Env::new();
    let run = env.ok(&["cert", "--p12-file", "app.p12", "myapp.test", "localhost"]);
    assert!(run.stdout.contains("The PKCS#12 bundle is at app.p12"), "{}", run.stdout);
    assert_eq!(env.cwd_files(), ["app.p12"]);
    assert_eq!(mode(&env.file("app.p12")), 0o600);
    let text = openssl_ok(&env.cwd, &["pkcs12", "-in", "app.p12", "-passin", "pass:changeit", "-nodes"]);
    let blocks = pem::parse_many(text.as_bytes()).unwrap();
    let certs: Vec<&pem::Pem> = blocks.iter().filter(|p| p.tag() == "CERTIFICATE").collect();
    let keys: Vec<&pem::Pem> = blocks.iter().filter(|p| p.tag() == "PRIVATE KEY").collect();
    assert_eq!((certs.len(), keys.len()), (2, 1), "{text}");
    let root = env.root_der();
    let leaf = certs.iter().map(|c| c.contents().to_vec()).find(|c| *c != root).expect("the leaf");
    assert!(certs.iter().any(|c| c.contents() == root.as_slice()), "the bundle holds the root");
    assert_eq!(sans(&leaf), ["DNS:myapp.test", "DNS:localhost"]);
    assert_eq!(
        webpki_verify(&root, &leaf, webpki::KeyUsage::server_auth(), &["myapp.test", "localhost"]),
        Ok(())
    );
    // The key is the leaf's.
    write(&env.file("k.pem"), pem::encode(keys[0]));
    write(&env.file("c.pem"), pem::encode(&pem::Pem::new("CERTIFICATE", leaf)));
    let from_key = openssl_ok(&env.cwd, &["pkey", "-in", "k.pem", "-pubout"]);
    let from_cert = openssl_ok(&env.cwd, &["x509", "-in", "c.pem", "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert);
    // A wrong password fails.
    assert!(!openssl(&env.cwd, &["pkcs12", "-in", "app.p12", "-passin", "pass:wrong", "-nodes"]).0);

    // --pkcs12 with the default name and a chosen password.
    let env = Env::new();
    env.ok(&["cert", "--pkcs12", "--p12-password", "s3cret", "*.myapp.test"]);
    assert_eq!(env.cwd_files(), ["_wildcard.myapp.test.p12"]);
    assert_eq!(mode(&env.file("_wildcard.myapp.test.p12")), 0o600);
    openssl_ok(&env.cwd, &["pkcs12", "-in", "_wildcard.myapp.test.p12", "-passin", "pass:s3cret", "-nodes"]);
}

#[test]
fn explicit_output_paths_replace_files_and_symlinks() {
    let env = Env::new();
    env.ok(&["cert", "--cert-file", "cert.pem", "--key-file", "key.pem", "localhost"]);
    assert_eq!(env.cwd_files(), ["cert.pem", "key.pem"]);
    assert_eq!(mode(&env.file("key.pem")), 0o600);
    assert_verifies(&env.root_pem_path(), &env.file("cert.pem"), &["localhost"]);
    let first = (fs::read(env.file("cert.pem")).unwrap(), fs::read(env.file("key.pem")).unwrap());

    // Existing files are replaced.
    env.ok(&["cert", "--cert-file", "cert.pem", "--key-file", "key.pem", "localhost"]);
    let second = (fs::read(env.file("cert.pem")).unwrap(), fs::read(env.file("key.pem")).unwrap());
    assert_ne!(first.0, second.0);
    assert_ne!(first.1, second.1);
    assert_eq!(env.cwd_files(), ["cert.pem", "key.pem"], "no temp files left");

    // So are default-named ones.
    env.ok(&["cert", "myapp.test"]);
    let old = fs::read(env.file("myapp.test-key.pem")).unwrap();
    env.ok(&["cert", "myapp.test"]);
    assert_ne!(fs::read(env.file("myapp.test-key.pem")).unwrap(), old);

    // Symlinks at the output paths are replaced; their targets are untouched.
    let outside = env.tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    write(&outside.join("precious-cert"), b"precious cert");
    write(&outside.join("precious-key"), b"precious key");
    fs::set_permissions(outside.join("precious-key"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::remove_file(env.file("cert.pem")).unwrap();
    fs::remove_file(env.file("key.pem")).unwrap();
    std::os::unix::fs::symlink(outside.join("precious-cert"), env.file("cert.pem")).unwrap();
    std::os::unix::fs::symlink(outside.join("precious-key"), env.file("key.pem")).unwrap();
    env.ok(&["cert", "--cert-file", "cert.pem", "--key-file", "key.pem", "localhost"]);
    assert_eq!(fs::read(outside.join("precious-cert")).unwrap(), b"precious cert");
    assert_eq!(fs::read(outside.join("precious-key")).unwrap(), b"precious key");
    assert_eq!(mode(&outside.join("precious-key")), 0o644);
    for f in ["cert.pem", "key.pem"] {
        assert!(
            fs::symlink_metadata(env.file(f)).unwrap().file_type().is_file(),
            "{f} is now a regular file"
        );
    }
    assert_eq!(mode(&env.file("key.pem")), 0o600);
    assert_verifies(&env.root_pem_path(), &env.file("cert.pem"), &["localhost"]);

    // Output into another folder.
    fs::create_dir(env.file("out")).unwrap();
    env.ok(&["cert", "--cert-file", "out/c.pem", "--key-file", "out/k.pem", "localhost"]);
    assert_eq!(file_names(&env.file("out")), ["c.pem", "k.pem"]);
}

#[test]
fn keys_inside_a_git_work_tree_warn_until_ignored() {
    let env = Env::new();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).current_dir(&env.cwd).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q", "."]);
    let top = fs::canonicalize(&env.cwd).unwrap();
    let run = env.ok(&["cert", "myapp.test"]);
    let expected = format!(
        "warning: myapp.test-key.pem holds a private key inside the git work tree {} and git does not ignore it; add this line to {}: /myapp.test-key.pem",
        top.display(),
        top.join(".gitignore").display()
    );
    assert!(run.stderr.lines().any(|l| l == expected), "expected {expected:?} in:\n{}", run.stderr);
    assert_eq!(run.stderr.matches("warning:").count(), 1, "only the key warns: {}", run.stderr);

    write(&env.file(".gitignore"), "/myapp.test-key.pem\n");
    let run = env.ok(&["cert", "myapp.test"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    // In a subfolder, the line names the path from the top of the work tree.
    let sub = env.file("sub");
    fs::create_dir(&sub).unwrap();
    let run = env.run_in(&sub, &["cert", "localhost"]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains(": /sub/localhost-key.pem\n"), "{}", run.stderr);

    // Outside any work tree: no warning.
    let plain = Env::new();
    let run = plain.ok(&["cert", "myapp.test"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

const ALL_COMMANDS: &[&[&str]] = &[
    &[],
    &["cert"],
    &["ca"],
    &["ca", "path"],
    &["ca", "show"],
    &["ca", "export"],
    &["ca", "create"],
    &["proxy"],
    &["hosts"],
    &["hosts", "add"],
    &["hosts", "remove"],
    &["hosts", "list"],
];

#[test]
fn help_and_version() {
    let env = Env::new();
    for command in ALL_COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let run = env.run(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(run.stdout.contains("Usage: localca"), "{args:?}: {}", run.stdout);
        assert!(run.stderr.is_empty());
    }
    let run = env.ok(&["--version"]);
    assert_eq!(run.stdout, format!("localca {}\n", env!("CARGO_PKG_VERSION")));
    let run = env.ok(&["cert", "--version"]);
    assert_eq!(run.stdout, format!("localca-cert {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(snapshot(&env.home), None, "help creates nothing");
    assert!(env.cwd_files().is_empty());
}

// Was a bug (fixed): `localca ca --help` and `localca ca path --help` show no Examples section: the `Ca`
// variant and `CaCommand::Path` in src/cli/args.rs have no `after_help`.
#[test]
fn every_help_has_examples() {
    let env = Env::new();
    let missing: Vec<String> = ALL_COMMANDS
        .iter()
        .filter_map(|command| {
            let mut args = command.to_vec();
            args.push("--help");
            let run = env.run(&args);
            (!run.stdout.contains("Examples") && !run.stdout.contains("Example:")).then(|| args.join(" "))
        })
        .collect();
    assert!(missing.is_empty(), "no examples in the help of: {missing:?}");
}

#[test]
fn usage_errors_exit_2_and_create_nothing() {
    let env = Env::new();
    let cases: &[&[&str]] = &[
        &["cert", "--no-such-flag", "myapp.test"],
        &["--no-such-flag"],
        &[],
        &["frobnicate"],
        &["cert", "--key-type", "dsa", "myapp.test"],
        &["cert", "--days", "many", "myapp.test"],
        &["cert", "--days", "-1", "myapp.test"],
        &["cert", "--csr", "x.csr", "myapp.test"],
        &["cert", "--csr", "x.csr", "--key-type", "rsa-2048"],
        &["cert", "--permit", "a.dev", "--no-name-constraints", "myapp.test"],
        &["ca", "show", "--pem"],
        &["ca"],
        // Usage errors found by localca rather than clap exit 2 as well.
        &["cert"],
        &["cert", "--days", "0", "myapp.test"],
        &["cert", "--days", "826", "myapp.test"],
        &["cert", "--days", "1000", "myapp.test"],
        &["cert", "--no-ip-constraints", "--permit", "10.9.0.0/16", "myapp.test"],
    ];
    for args in cases {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
        assert!(
            run.stderr.starts_with("error: ") || run.stderr.contains("\nUsage: localca"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(snapshot(&env.home), None);
    assert!(env.cwd_files().is_empty());
}

// Was a bug (fixed): a CSR's names are re-classified by their text, not kept with their type: an rfc822Name
// `myapp.test` becomes a DNS name (a TLS server certificate for myapp.test) and a dNSName
// `alice@myapp.test` becomes an email name. src/csr.rs `csr_names` (the `GeneralName::DNSName`
// and `GeneralName::RFC822Name` arms call `SubjectName::parse`).
#[test]
fn csr_names_keep_their_type() {
    for (san, label) in [("email:myapp.test", "email"), ("DNS:alice@myapp.test", "dns")] {
        let env = Env::new();
        openssl_csr(&env.cwd, label, "/CN=x", &[&format!("subjectAltName={san}")]);
        let run = env.run(&["cert", "--csr", &format!("{label}.csr")]);
        let issued: Vec<String> = env
            .cwd_files()
            .iter()
            .filter(|f| !f.starts_with(label))
            .flat_map(|f| sans(&cert_der_from_file(&env.file(f))))
            .collect();
        assert_eq!(run.code, 1, "{san} was issued as {issued:?}");
        assert!(issued.is_empty());
    }
}

// Was a bug (fixed): duplicate names in a CSR end up twice in the certificate: src/csr.rs `csr_names` uses
// `names.dedup()`, which only drops adjacent duplicates (the command line keeps the first of
// each name, src/cli/cert.rs `parse_names`).
#[test]
fn csr_duplicate_names_are_dropped() {
    let env = Env::new();
    openssl_csr(&env.cwd, "dup", "/CN=x", &["subjectAltName=DNS:a.test,DNS:b.test,DNS:A.test"]);
    env.ok(&["cert", "--csr", "dup.csr", "--cert-file", "dup.pem"]);
    assert_eq!(sans(&cert_der_from_file(&env.file("dup.pem"))), ["DNS:a.test", "DNS:b.test"]);
}
