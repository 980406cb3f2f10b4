//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use localca::{KeyStorageChoice, KeyType};

/// A local development CA that every client on this machine trusts.
#[derive(Debug, Parser)]
#[command(
    name = "localca",
    version,
    about,
    propagate_version = true,
    after_help = "\
Examples:
  localca install                    create the root (once) and trust it everywhere
  localca cert myapp.test localhost  write myapp.test+1.pem and myapp.test+1-key.pem
  localca uninstall                  remove the root from every store

The CA lives in `localca ca path` ($LOCALCA_HOME overrides it)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Issue a certificate for host names, IP addresses, email addresses or URIs.
    #[command(after_help = "\
Examples:
  localca cert myapp.test '*.myapp.test' localhost 127.0.0.1 ::1
  localca cert --cert-file cert.pem --key-file key.pem localhost
  localca cert --client alice@myapp.test
  localca cert --csr request.csr
  localca cert --p12-file app.p12 myapp.test

Names outside the root's name constraints are refused. Files are named like mkcert's:
<first name>[+N][-client].pem and ...-key.pem in the current folder.")]
    Cert(CertArgs),
    /// Create the root if needed and trust it in every store on this machine.
    #[command(after_help = "\
Examples:
  localca install
  localca install --stores system,nss
  sudo localca install      (system and Java stores need root; files stay yours)

Stores: system (curl, OpenSSL, Python, Go…), nss (Firefox, Chromium), java.")]
    Install {
        #[command(flatten)]
        stores: StoreArgs,
        #[command(flatten)]
        root: RootArgs,
        /// Trust someone else's root (a team's or company's CA, PEM) in the same stores: trust
        /// only, no key. `localca status` lists it.
        #[arg(long, value_name = "FILE.pem")]
        trust: Option<PathBuf>,
    },
    /// Remove the root from every store (the CA itself is kept unless --delete-ca).
    #[command(after_help = "\
Examples:
  localca uninstall
  localca uninstall --delete-ca --yes
  localca uninstall --fingerprint 3f2a…   (an earlier root that `localca status` lists)")]
    Uninstall {
        #[command(flatten)]
        stores: StoreArgs,
        /// Also delete the CA (root certificate and key): certificates it issued stop being trusted.
        #[arg(long)]
        delete_ca: bool,
        /// Do not ask before deleting the CA.
        #[arg(long, requires = "delete_ca")]
        yes: bool,
        /// Remove the localca root whose SHA-256 fingerprint starts with these hex digits (8 or
        /// more, as `install` and `status` print them) instead of the current one.
        #[arg(long, value_name = "SHA256", conflicts_with = "delete_ca")]
        fingerprint: Option<String>,
        /// Remove a root added with `install --trust`, by its file or SHA-256 fingerprint.
        #[arg(long, value_name = "FILE|SHA256", conflicts_with_all = ["delete_ca", "fingerprint"])]
        trust: Option<String>,
    },
    /// Say, store by store, whether the root is trusted and how to fix it.
    #[command(after_help = "Examples:\n  localca status\n  localca status --json")]
    Status {
        #[command(flatten)]
        stores: StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inspect or create the CA itself.
    #[command(
        subcommand,
        after_help = "\
Examples:
  localca ca show
  localca ca export --out root.pem
  localca ca create --permit mycorp.dev"
    )]
    Ca(CaCommand),
    /// Connect to a TLS server and say whether clients here will accept its certificate, and why not.
    #[command(after_help = "\
Examples:
  localca check myapp.test:8443
  localca check https://myapp.test:8443/ --connect 127.0.0.1
  localca check localhost:3000 --json | jq .problems

Exit 0 when the certificate is valid for the host and chains to the localca root or a root
in the OS store; 1 otherwise (each problem is printed with its fix).")]
    Check(CheckArgs),
    /// Print shell exports that make tools ignoring the OS store (Node, Python requests, pip, Deno…) trust the root.
    #[command(after_help = "\
Examples:
  eval \"$(localca env)\"                   sh, bash, zsh
  localca env --shell fish | source
  localca env --shell powershell | Invoke-Expression
  eval \"$(localca env --unset)\"           undo

The variables point at files in the CA folder that `install` fills and `uninstall` empties, so a
shell configured once stops trusting the root after `localca uninstall`.")]
    Env(EnvArgs),
    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  localca completions bash > ~/.local/share/bash-completion/completions/localca
  localca completions zsh > ~/.zfunc/_localca
  localca completions fish > ~/.config/fish/completions/localca.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = "Example:\n  localca man > ~/.local/share/man/man1/localca.1 && man localca")]
    Man,
    /// Trusted HTTPS in front of dev servers: https://NAME -> UPSTREAM, certificates made in memory.
    #[cfg(feature = "server")]
    #[command(after_help = "\
Examples:
  localca proxy myapp.test=3000                  https://myapp.test -> http://127.0.0.1:3000
  localca proxy myapp.test=3000 api.myapp.test=127.0.0.1:8080 '*.preview.test=5173'
  localca proxy --listen 127.0.0.1:8443 myapp.localhost=3000
  localca proxy --config localca-proxy.toml      routes in a file, reloaded when it changes
  localca proxy --hosts myapp.test=3000          also map myapp.test to 127.0.0.1 while running")]
    Proxy(super::proxy::ProxyArgs),
    /// Map names to 127.0.0.1 and ::1 in the hosts file (a managed block between marker lines).
    #[command(
        subcommand,
        after_help = "Examples:\n  localca hosts add myapp.test api.myapp.test\n  localca hosts list\n  localca hosts remove --all"
    )]
    Hosts(super::hosts::HostsCommand),
    /// List the certificates issued into files, with their state and expiry.
    #[command(after_help = "\
Examples:
  localca list
  localca list --expiring 30
  localca list --json | jq '.leaves[] | select(.state != \"ok\")'

Rows say when files are missing (moved or deleted), replaced by another certificate, or hold a
key that does not match the certificate.")]
    List(ListArgs),
    /// Re-issue certificates in place: same files, names and options, a new key.
    #[command(after_help = "\
Examples:
  localca renew                       every certificate expiring within 30 days
  localca renew --within 90
  localca renew --all
  localca renew myapp.test+1.pem      one certificate, by file or name, whatever its expiry

Servers read certificates when they start: reload them afterwards (nginx -s reload).")]
    Renew(RenewArgs),
    /// A local ACME server (RFC 8555): certbot, lego, Caddy, Traefik and cert-manager get and renew
    /// certificates from the local CA.
    #[command(subcommand)]
    Acme(AcmeCommand),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// https://host[:port]/…, host[:port] or [IPv6]:port (port 443 by default).
    #[arg(value_name = "URL|HOST[:PORT]")]
    pub target: String,
    /// Connect to this IP address instead of resolving the host (SNI and name checks still use the host).
    #[arg(long, value_name = "IP")]
    pub connect: Option<std::net::IpAddr>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The shell to print for (default: fish when $SHELL is fish, powershell on Windows, else sh).
    #[arg(long, value_parser = ["sh", "fish", "powershell"])]
    pub shell: Option<String>,
    /// Print commands that remove the variables instead.
    #[arg(long)]
    pub unset: bool,
}

impl Command {
    /// Whether the command acts on trust stores (so `--stores` and its variables matter).
    pub fn uses_stores(&self) -> bool {
        matches!(self, Command::Install { .. } | Command::Uninstall { .. } | Command::Status { .. })
    }
}

/// `localca list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Only certificates expiring within DAYS days (or already expired).
    #[arg(long, value_name = "DAYS")]
    pub expiring: Option<u32>,
}

/// `localca renew`.
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Certificate, key or PKCS#12 files, or names, of recorded certificates (default: all).
    #[arg(value_name = "PATH|NAME")]
    pub targets: Vec<PathBuf>,
    /// Renew those expiring within DAYS days (default 30 when no PATH|NAME is given).
    #[arg(long, value_name = "DAYS")]
    pub within: Option<u32>,
    /// Renew every recorded certificate, whatever its expiry.
    #[arg(long, conflicts_with_all = ["within", "targets"])]
    pub all: bool,
    /// Password for PKCS#12 bundles made with a password other than the default.
    #[arg(long, value_name = "PASSWORD")]
    pub p12_password: Option<String>,
}

#[derive(Debug, Args)]
pub struct CertArgs {
    /// Host names (myapp.test, *.myapp.test), IP addresses, or email addresses.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Add a URI name (repeatable), e.g. spiffe://myapp.test/api.
    #[arg(long = "uri", value_name = "URI")]
    pub uris: Vec<String>,
    /// Sign this certificate signing request (PEM or DER) instead of making a new key (`-`: read
    /// it from standard input).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["names", "uris", "key_type", "p12_file", "pkcs12"])]
    pub csr: Option<PathBuf>,
    /// Key type of the new certificate.
    #[arg(long, value_name = "TYPE", value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(KeyType::NAMES), |s: String| s.parse::<KeyType>().expect("listed")))]
    pub key_type: Option<KeyType>,
    /// Validity in days, 1 to 825 (default 820: Apple refuses longer TLS certificates).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Make a client certificate (clientAuth) as well.
    #[arg(long)]
    pub client: bool,
    /// Where to write the certificate (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// Where to write the private key (0600; `-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Write a PKCS#12 bundle (key, certificate, root) to FILE instead of PEM files.
    #[arg(long, value_name = "FILE")]
    pub p12_file: Option<PathBuf>,
    /// Write a PKCS#12 bundle with the default name (<first name>.p12).
    #[arg(long)]
    pub pkcs12: bool,
    /// Password of the PKCS#12 bundle (default: changeit). Other users can read a password given
    /// here in the process list: prefer --p12-password-file or $LOCALCA_P12_PASSWORD.
    #[arg(long, value_name = "PASSWORD")]
    pub p12_password: Option<String>,
    /// Read the PKCS#12 password from the first line of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "p12_password")]
    pub p12_password_file: Option<PathBuf>,
    #[command(flatten)]
    pub root: RootArgs,
}

/// Which trust stores to act on.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// Only these stores (comma-separated): system, nss, java. Default: every store found.
    #[arg(long, env = "LOCALCA_STORES", value_delimiter = ',', value_name = "LIST",
          value_parser = clap::builder::PossibleValuesParser::new(localca::trust::STORE_KINDS))]
    pub stores: Vec<String>,
    /// macOS and Windows: the user's own store (no admin needed) or the machine's (admin).
    #[arg(long, default_value = "user", value_parser = ["user", "machine"])]
    pub scope: String,
}

/// Options that only matter when a new root is created.
#[derive(Debug, Args, Clone)]
pub struct RootArgs {
    /// When creating the root: also permit this DNS suffix (mycorp.dev) or IP range (203.0.113.0/24).
    #[arg(long = "permit", value_name = "NAME")]
    pub permits: Vec<String>,
    /// When creating the root: no name constraints at all (the root can vouch for any site).
    #[arg(long, conflicts_with = "permits")]
    pub no_name_constraints: bool,
    /// When creating the root: keep the DNS constraints but none on IP addresses (the root can
    /// vouch for any IP address). For Bun, whose verifier rejects IP names under IP constraints.
    #[arg(long, conflicts_with = "no_name_constraints")]
    pub no_ip_constraints: bool,
    /// When creating the root: keep its key in the OS keyring (`keyring`), in a 0600 file
    /// (`file`), or in the keyring when one answers, else a file (`auto`).
    #[arg(long, env = "LOCALCA_KEY_STORAGE", value_name = "WHERE", default_value = "auto",
          value_parser = clap::builder::TypedValueParser::map(
              clap::builder::PossibleValuesParser::new(["auto", "keyring", "file"]),
              |s: String| s.parse::<KeyStorageChoice>().expect("listed")))]
    pub key_storage: KeyStorageChoice,
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Print the CA folder.
    #[command(after_help = "Examples:\n  localca ca path\n  ls \"$(localca ca path)\"")]
    Path,
    /// Describe the root: subject, fingerprint, validity, name constraints, where the key is.
    #[command(after_help = "Example:\n  localca ca show --json | jq .sha256")]
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print or save the root certificate (for phones, VMs, containers).
    #[command(
        after_help = "Examples:\n  localca ca export > root.pem\n  localca ca export --der --out root.cer"
    )]
    Export {
        /// DER instead of PEM.
        #[arg(long)]
        der: bool,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Move the root key between the OS keyring and a 0600 file in the CA home.
    #[command(after_help = "Examples:\n  localca ca move-key --to keyring\n  localca ca move-key --to file")]
    MoveKey {
        /// Where the key should be.
        #[arg(long, value_parser = ["keyring", "file"])]
        to: String,
    },
    /// Create the CA now (`cert` and `install` create it when needed).
    #[command(
        after_help = "Examples:\n  localca ca create\n  localca ca create --permit mycorp.dev --permit 203.0.113.0/24"
    )]
    Create(RootArgs),
    /// Replace the root: a new root in every store that has the old one, every recorded
    /// certificate re-issued, then the old root removed. Run it again to finish an interrupted one.
    #[command(after_help = "\
Examples:
  localca ca rotate                      same constraints, a fresh root
  localca ca rotate --permit mycorp.dev  a root that also permits *.mycorp.dev
  localca ca rotate                      (again) finishes a rotation that stopped part-way

Until it is done the old root stays installed, so nothing that works stops working.")]
    Rotate(RotateArgs),
    /// Adopt an existing CA (mkcert's) so that roots already trusted keep working.
    #[command(after_help = "\
Examples:
  localca ca import --mkcert                 from $(mkcert -CAROOT)
  localca ca import --mkcert ~/ca/mkcert

mkcert roots have no name constraints: `localca ca rotate` later moves to a constrained root.")]
    Import(ImportArgs),
}

/// `localca ca rotate`.
#[derive(Debug, Args, Clone)]
pub struct RotateArgs {
    /// The new root also permits this DNS suffix or IP range (repeatable).
    #[arg(long = "permit", value_name = "NAME")]
    pub permits: Vec<String>,
    /// The new root has no name constraints at all.
    #[arg(long, conflicts_with = "permits")]
    pub no_name_constraints: bool,
    /// The new root keeps its DNS constraints but none on IP addresses (for Bun, which rejects
    /// IP names under IP constraints).
    #[arg(long, conflicts_with = "no_name_constraints")]
    pub no_ip_constraints: bool,
    #[command(flatten)]
    pub stores: StoreArgs,
}

/// `localca ca import`.
#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// Import mkcert's CA from DIR (default: $CAROOT, else mkcert's own default folder).
    #[arg(long, value_name = "DIR", num_args = 0..=1, required = true)]
    pub mkcert: Option<Option<PathBuf>>,
    /// Where to keep the imported key.
    #[arg(long, env = "LOCALCA_KEY_STORAGE", value_name = "WHERE", default_value = "auto",
          value_parser = clap::builder::TypedValueParser::map(
              clap::builder::PossibleValuesParser::new(["auto", "keyring", "file"]),
              |s: String| s.parse::<KeyStorageChoice>().expect("listed")))]
    pub key_storage: KeyStorageChoice,
}

#[derive(Debug, Subcommand)]
pub enum AcmeCommand {
    /// Serve ACME over HTTPS; its own certificate comes from the local CA.
    #[command(after_help = "\
Examples:
  localca acme serve
  localca acme serve --listen 127.0.0.1:14000 --http-01-port 5002 --days 30
  localca acme serve --install-service     (a systemd user unit; a launchd agent on macOS)

Clients validate with http-01 (the server fetches http://NAME:PORT/.well-known/acme-challenge/…)
or tls-alpn-01. Names under .localhost reach this machine; other names must resolve to the client.")]
    Serve(AcmeServeArgs),
}

#[derive(Debug, Args, Clone)]
pub struct AcmeServeArgs {
    /// Address to listen on. Anything but loopback is reachable from other machines (a warning says so).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:14000")]
    pub listen: std::net::SocketAddr,
    /// Port of the client that http-01 validation connects to.
    #[arg(long = "http-01-port", value_name = "PORT", default_value_t = 80)]
    pub http_01_port: u16,
    /// Port of the client that tls-alpn-01 validation connects to.
    #[arg(long = "tls-alpn-01-port", value_name = "PORT", default_value_t = 443)]
    pub tls_alpn_01_port: u16,
    /// Validity of issued certificates in days, 1 to 825 (default 7: ACME clients renew).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// No line per request on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Install and start a service running this command (systemd user unit; launchd agent on macOS).
    #[arg(long, conflicts_with = "uninstall_service")]
    pub install_service: bool,
    /// Stop and remove the service.
    #[arg(long)]
    pub uninstall_service: bool,
    /// How long pending orders live, in seconds (for tests of expiry).
    #[arg(long, hide = true, value_name = "SECS")]
    pub order_lifetime_secs: Option<u64>,
}
