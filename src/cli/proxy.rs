//! `localca proxy`: trusted HTTPS in front of dev servers, certificates issued in memory per name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use localca::{CaHome, CertResolver, SubjectName};
use localca_server::proxy::{self, NameCheck, ProxyOptions, Route};

use super::{hosts, Failure};

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Routes NAME=UPSTREAM: UPSTREAM is a port (3000), host:port, or an http://, https:// or h2c:// URL.
    #[arg(value_name = "NAME=UPSTREAM")]
    pub routes: Vec<String>,
    /// Listen here instead of port 443 of 127.0.0.1 and ::1 (repeatable). Non-loopback addresses
    /// make your dev servers reachable from other machines.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// A TOML file with more routes ([routes] "myapp.test" = 3000), reloaded when it changes.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Answer plain HTTP with a redirect to https, on port 80 of 127.0.0.1 or on ADDR.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:80")]
    pub redirect_http: Option<SocketAddr>,
    /// Send the upstream's host:port as Host (for dev servers that only answer to localhost).
    #[arg(long)]
    pub change_host: bool,
    /// Seconds an upstream may stay silent (no response yet, no request bytes sent) before the
    /// client gets a 504.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub upstream_timeout: u64,
    /// Add the route names to the hosts file while the proxy runs (removed at exit).
    #[arg(long)]
    pub hosts: bool,
    /// No line per request.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(home: &CaHome, args: ProxyArgs) -> Result<(), Failure> {
    let root = Arc::new(home.load()?);
    let constraints = root.name_constraints().cloned();
    let strict = move |name: &str| -> Result<String, localca::Error> {
        let parsed = SubjectName::parse(name)?;
        if let Some(set) = &constraints {
            set.check(std::slice::from_ref(&parsed))?;
        }
        Ok(parsed.to_string())
    };
    // Routes on the command line fail with the same message and hint as `cert`.
    let mut routes = Vec::new();
    for text in &args.routes {
        let (name, upstream) = text.split_once('=').ok_or_else(|| {
            Failure::new(
                format!("route {text:?} has no `=`"),
                Some("write NAME=UPSTREAM, e.g. myapp.test=3000"),
            )
        })?;
        let name = strict(name.trim())?;
        let upstream = proxy::Upstream::parse(upstream.trim()).map_err(|e| Failure::new(e, None))?;
        routes.push(Route { name, upstream });
    }
    let name_check: NameCheck = Arc::new(move |name: &str| strict(name).map_err(|e| e.to_string()));
    localca_server::log::set_quiet(args.quiet);
    let options = ProxyOptions {
        routes,
        config: args.config,
        name_check,
        listen: args.listen,
        redirect_http: args.redirect_http,
        change_host: args.change_host,
        upstream_timeout: Duration::from_secs(args.upstream_timeout.max(1)),
        drain: Duration::from_secs(5),
        upstream_roots: vec![root.certificate_der().to_vec()],
        resolver: Arc::new(resolver(root)?),
    };
    let table = proxy::initial_routes(&options).map_err(|e| Failure::new(e.to_string(), None))?;
    let added = if args.hosts {
        let names: Vec<String> = table.routes().iter().map(|r| r.name.clone()).collect();
        Some(hosts::add_for_proxy(&names)?)
    } else {
        None
    };
    let result = proxy::run(options).map_err(|e| Failure::new(e.to_string(), None));
    if let Some(added) = added {
        hosts::remove_after_proxy(&added);
    }
    result
}

/// For tests of in-memory renewal: leaves valid this many seconds, renewed a third before expiry.
const LEAF_LIFETIME_VAR: &str = "LOCALCA_PROXY_LEAF_LIFETIME";

/// The proxy's certificate resolver: 7-day leaves, or [`LEAF_LIFETIME_VAR`] seconds.
fn resolver(root: Arc<localca::RootCa>) -> Result<CertResolver, Failure> {
    let resolver = CertResolver::new(root);
    let Some(value) = std::env::var_os(LEAF_LIFETIME_VAR) else {
        return Ok(resolver);
    };
    let bad = || {
        Failure::new(
            format!("{LEAF_LIFETIME_VAR}={value:?} is not a number of seconds (2 or more)"),
            Some("unset it for the normal 7-day certificates; it exists for tests of renewal"),
        )
    };
    let seconds: u64 =
        value.to_str().and_then(|v| v.trim().parse().ok()).filter(|s| *s >= 2).ok_or_else(bad)?;
    let lifetime = Duration::from_secs(seconds);
    resolver.with_lifetime(lifetime, lifetime / 3).map_err(|e| Failure::new(e.to_string(), None))
}
