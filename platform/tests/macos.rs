//! The macOS keychain store's command lines and `security` output parsing, tested on any OS.
//! The recorded outputs below follow the formats of `security` as documented and commonly seen;
//! they were not captured on a Mac.
use localca_platform::macos::*;
use localca_platform::pem::pem_certificates;
use localca_platform::runner::Output;
use localca_platform::{Detection, RootCert, Scope, StoreContext, TrustStore};
use std::path::{Path, PathBuf};

const C_PEM: &str = include_str!("fixtures/c.pem");
const C2_PEM: &str = include_str!("fixtures/c2.pem");
/// SHA-256 of tests/fixtures/c.pem; the SHA-1 lines below are the fixtures' real SHA-1s (`openssl x509 -noout -fingerprint`).
const C_SHA256: &str = "9bbd0e557961e740ac64fd74e43e7ef6b498955a65e1fe9504079610da551967";

fn root() -> RootCert {
    RootCert {
        der: pem_certificates(C_PEM).remove(0),
        sha256_hex: C_SHA256.into(),
        nickname: "localca root@host 9bbd0e55".into(),
        pem_file: None,
    }
}

#[test]
fn command_lines() {
    let sec = Path::new(SECURITY);
    let file = Path::new("/tmp/r oot.pem");
    let sys = Path::new(SYSTEM_KEYCHAIN);
    let login = Path::new("/Users/me/Library/Keychains/login.keychain-db");
    assert_eq!(
        add_trusted_cert_cmd(sec, Scope::Machine, sys, file).display(),
        "/usr/bin/security add-trusted-cert -d -r trustRoot -p ssl -p basic \
         -k /Library/Keychains/System.keychain '/tmp/r oot.pem'"
    );
    assert_eq!(
        add_trusted_cert_cmd(sec, Scope::User, login, file).display(),
        "/usr/bin/security add-trusted-cert -r trustRoot -p ssl -p basic \
         -k /Users/me/Library/Keychains/login.keychain-db '/tmp/r oot.pem'"
    );
    assert_eq!(
        remove_trusted_cert_cmd(sec, Scope::Machine, file).display(),
        "/usr/bin/security remove-trusted-cert -d '/tmp/r oot.pem'"
    );
    assert_eq!(
        remove_trusted_cert_cmd(sec, Scope::User, file).display(),
        "/usr/bin/security remove-trusted-cert '/tmp/r oot.pem'"
    );
    assert_eq!(
        delete_certificate_cmd(sec, "0a1b", sys).display(),
        "/usr/bin/security delete-certificate -Z 0A1B /Library/Keychains/System.keychain"
    );
    assert_eq!(
        find_certificates_cmd(sec, Some("localca"), sys).display(),
        "/usr/bin/security find-certificate -a -c localca -Z -p /Library/Keychains/System.keychain"
    );
    assert_eq!(
        trust_settings_export_cmd(sec, Scope::Machine, Path::new("/tmp/t.plist")).display(),
        "/usr/bin/security trust-settings-export -d /tmp/t.plist"
    );
}

#[test]
fn picks_the_login_keychain() {
    let home = std::env::temp_dir().join(format!("localca-kc-{}", std::process::id()));
    let dir = home.join("Library/Keychains");
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(login_keychain(&home), dir.join("login.keychain-db"));
    std::fs::write(dir.join("login.keychain"), b"").unwrap();
    assert_eq!(login_keychain(&home), dir.join("login.keychain"));
    std::fs::write(dir.join("login.keychain-db"), b"").unwrap();
    assert_eq!(login_keychain(&home), dir.join("login.keychain-db"));
    std::fs::remove_dir_all(&home).unwrap();
}

/// Recorded by hand in the format of `security find-certificate -a -Z -p` on macOS 14 (not
/// captured on a Mac: written from knowledge of the tool's output, with this repository's
/// fixture certificates).
fn find_output() -> String {
    format!(
        "SHA-256 hash: 9BBD0E557961E740AC64FD74E43E7EF6B498955A65E1FE9504079610DA551967\n\
         SHA-1 hash: 01703D0EBD5DE5F717CA23E027632A25E0D765D7\n{C_PEM}\
         SHA-256 hash: CB747A05B63AE953B5D2E8F5492BFD346ADAA71AE28F484A62B1552EF4813569\n\
         SHA-1 hash: F0C7CCC669298F74DF26279264BBE61C5E4EC4DC\n{C2_PEM}"
    )
}

/// Same, without `-p` (attributes instead of PEM), the older format without SHA-256.
const FIND_ATTRIBUTES: &str = r#"SHA-1 hash: 01703D0EBD5DE5F717CA23E027632A25E0D765D7
keychain: "/Library/Keychains/System.keychain"
version: 512
class: 0x80001000 
attributes:
"alis"<blob>="localca root@host"
"cenc"<uint32>=0x00000003 
"ctyp"<uint32>=0x00000001 
"hpky"<blob>=0x0A1B2C3D4E5F60718293A4B5C6D7E8F901234567  "\012\033,=N_`q\202\223\244\265\306\327\350\371\001\0224Eg"
"issu"<blob>=0x3021311F301D06035504030C166C6F63616C636120726F6F7440686F7374  "0!1\0370\035\006\003U\004\003\014\026localca root@host"
"labl"<blob>="localca root@host"
"skid"<blob>=0x0A1B2C3D4E5F60718293A4B5C6D7E8F901234567  "\012\033,=N_`q\202\223\244\265\306\327\350\371\001\0224Eg"
"snbr"<blob>=0x01
"subj"<blob>=0x3021311F301D06035504030C166C6F63616C636120726F6F7440686F7374  "0!1\0370\035\006\003U\004\003\014\026localca root@host"
SHA-1 hash: F0C7CCC669298F74DF26279264BBE61C5E4EC4DC
keychain: "/Library/Keychains/System.keychain"
version: 512
class: 0x80001000 
attributes:
"labl"<blob>="Other Root"
"#;

#[test]
fn parses_find_certificate_with_pem() {
    let certs = parse_find_certificate(&find_output());
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0].sha1_hex, "01703d0ebd5de5f717ca23e027632a25e0d765d7");
    assert_eq!(certs[0].sha256_hex.as_deref(), Some(C_SHA256));
    assert!(certs[0].is(&root()));
    assert_eq!(certs[1].sha1_hex, "f0c7ccc669298f74df26279264bbe61c5e4ec4dc");
    assert_eq!(certs[1].der, Some(pem_certificates(C2_PEM).remove(0)));
    assert!(!certs[1].is(&root()));
    assert!(parse_find_certificate("").is_empty());
}

#[test]
fn parses_find_certificate_with_attributes() {
    let certs = parse_find_certificate(FIND_ATTRIBUTES);
    let summary: Vec<(&str, Option<&str>)> =
        certs.iter().map(|c| (c.sha1_hex.as_str(), c.label.as_deref())).collect();
    assert_eq!(
        summary,
        [
            ("01703d0ebd5de5f717ca23e027632a25e0d765d7", Some("localca root@host")),
            ("f0c7ccc669298f74df26279264bbe61c5e4ec4dc", Some("Other Root")),
        ]
    );
}

/// Recorded by hand in the format `security trust-settings-export -d` writes after
/// `add-trusted-cert -d -r trustRoot -p ssl -p basic` (the policy OIDs and names are Apple's,
/// as mkcert writes them too): our root trusted for SSL and basic X.509, a second root denied
/// for SSL, a third with an empty array (trusted for everything), a fourth trusted for S/MIME
/// only.
const TRUST_SETTINGS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>trustList</key>
	<dict>
		<key>01703D0EBD5DE5F717CA23E027632A25E0D765D7</key>
		<dict>
			<key>issuerName</key>
			<data>
			MCExHzAdBgNVBAMMFmxvY2FsY2Egcm9vdEBob3N0
			</data>
			<key>modDate</key>
			<date>2024-05-14T09:21:07Z</date>
			<key>serialNumber</key>
			<data>
			AQ==
			</data>
			<key>trustSettings</key>
			<array>
				<dict>
					<key>kSecTrustSettingsPolicy</key>
					<data>
					KoZIhvdjZAED
					</data>
					<key>kSecTrustSettingsPolicyName</key>
					<string>sslServer</string>
					<key>kSecTrustSettingsResult</key>
					<integer>1</integer>
				</dict>
				<dict>
					<key>kSecTrustSettingsPolicy</key>
					<data>
					KoZIhvdjZAEC
					</data>
					<key>kSecTrustSettingsPolicyName</key>
					<string>basicX509</string>
					<key>kSecTrustSettingsResult</key>
					<integer>1</integer>
				</dict>
			</array>
		</dict>
		<key>F0C7CCC669298F74DF26279264BBE61C5E4EC4DC</key>
		<dict>
			<key>modDate</key>
			<date>2024-05-14T09:22:00Z</date>
			<key>trustSettings</key>
			<array>
				<dict>
					<key>kSecTrustSettingsPolicy</key>
					<data>
					KoZIhvdjZAED
					</data>
					<key>kSecTrustSettingsPolicyName</key>
					<string>sslServer</string>
					<key>kSecTrustSettingsResult</key>
					<integer>3</integer>
				</dict>
			</array>
		</dict>
		<key>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</key>
		<dict>
			<key>trustSettings</key>
			<array/>
		</dict>
		<key>BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB</key>
		<dict>
			<key>trustSettings</key>
			<array>
				<dict>
					<key>kSecTrustSettingsPolicy</key>
					<data>
					KoZIhvdjZAEI
					</data>
					<key>kSecTrustSettingsPolicyName</key>
					<string>SMIME</string>
				</dict>
			</array>
		</dict>
	</dict>
	<key>trustVersion</key>
	<integer>1</integer>
</dict>
</plist>
"#;

#[test]
fn evaluates_trust_settings() {
    let trust = parse_trust_settings(TRUST_SETTINGS).unwrap();
    let summary: Vec<(&str, bool)> = trust.iter().map(|t| (&t.sha1_hex[..4], t.ssl_trusted)).collect();
    assert_eq!(summary, [("0170", true), ("f0c7", false), ("aaaa", true), ("bbbb", false)]);
    assert!(parse_trust_settings("<dict><key>trustVersion</key><integer>1</integer></dict>").is_err());
}

#[test]
fn recognizes_nothing_found() {
    let out = |stderr: &str| Output { success: false, stdout: String::new(), stderr: stderr.into() };
    // What security prints when a search finds nothing, and for an empty trust domain.
    assert!(is_not_found(&out(
        "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain."
    )));
    assert!(is_not_found(&out(
        "SecTrustSettingsCreateExternalRepresentation: No Trust Settings were found."
    )));
    assert!(!is_not_found(&out("security: SecKeychainItemDelete: UNIX[Operation not permitted]")));
}

#[test]
fn reads_java_home_output() {
    assert_eq!(
        parse_java_home("/Library/Java/JavaVirtualMachines/temurin-21.jdk/Contents/Home\n"),
        Some(PathBuf::from("/Library/Java/JavaVirtualMachines/temurin-21.jdk/Contents/Home"))
    );
    assert_eq!(
        parse_java_home("The operation couldn’t be completed. Unable to locate a Java Runtime.\n"),
        None
    );
}

#[test]
fn keychain_store_is_absent_without_security() {
    if Path::new(SECURITY).exists() {
        eprintln!("SKIPPED: this is a Mac");
        return;
    }
    let ctx = StoreContext {
        home: PathBuf::from("/nonexistent"),
        xdg_data_home: None,
        owner: None,
        is_root: false,
        scope: Scope::Machine,
    };
    let store = KeychainStore::new(&ctx);
    assert!(matches!(store.detect(), Detection::Absent { .. }));
    assert!(store.localca_roots().unwrap().is_empty());
    assert!(store.location().starts_with(SYSTEM_KEYCHAIN));
}
