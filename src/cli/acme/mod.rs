//! `localca acme serve`: a local ACME server issuing from the local CA.

mod catch_up;
mod issuer;
mod recorder;
mod service;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use localca::{CaHome, CertResolver, Identity};
use localca_server::acme::{AcmeServer, Config, Store};
use localca_server::workers::{self, Workers};
use localca_server::{listen, serve, shutdown, tls};

use super::args::AcmeServeArgs;
use super::Failure;

/// The ACME store's file in the CA home.
pub const STORE_FILE: &str = "acme.sqlite";

pub fn serve(identity: &Identity, home: &CaHome, args: AcmeServeArgs) -> Result<(), Failure> {
    let days = args.days.unwrap_or(localca_server::acme::DEFAULT_DAYS);
    localca::LeafProfile { days, ..localca::LeafProfile::default() }.check()?;
    if args.install_service {
        return service::install(identity, home, &args);
    }
    if args.uninstall_service {
        return service::uninstall();
    }
    let root = Arc::new(home.load()?);
    let store_path = home.path().join(STORE_FILE);
    let store = Store::open(&store_path).map_err(|e| {
        let busy = e.to_string().contains("locked");
        Failure::new(
            format!("{}: {e}", store_path.display()),
            busy.then_some("another `localca acme serve` is using this CA home; stop it first"),
        )
    })?;
    let listener = listen::bind(args.listen).map_err(|e| {
        Failure::new(
            format!("cannot listen on {}: {e}", args.listen),
            Some("pick another address with --listen 127.0.0.1:PORT"),
        )
    })?;
    let local = listener.local_addr().map_err(|e| Failure::new(e.to_string(), None))?;
    if !listen::is_loopback(&local) {
        eprintln!(
            "warning: listening on {local}, reachable from other machines: anyone who reaches it can get \
             certificates from your CA for names they can validate"
        );
    }
    let authority = url_authority(&local);
    catch_up::catch_up(home, &store, &authority);
    let mut config = Config::new(authority.clone());
    config.http01_port = args.http_01_port;
    config.tlsalpn01_port = args.tls_alpn_01_port;
    config.days = days;
    if let Some(secs) = args.order_lifetime_secs {
        config.order_lifetime = Duration::from_secs(secs);
    }
    let resolver = Arc::new(CertResolver::new(root.clone()));
    // Dropped when `serve` returns, after the server stopped: records what is still pending.
    let (_recorder, feed) = recorder::Recorder::start(home.clone(), root.fingerprint_hex());
    let issuer = issuer::LocalIssuer { root: root.clone(), inventory: feed };
    let server = Arc::new(AcmeServer::new(store, issuer, config));
    localca_server::log::set_quiet(args.quiet);
    print_banner(home, &authority, &args, days, &root);

    let runtime = localca_server::runtime().map_err(|e| Failure::new(e.to_string(), None))?;
    runtime
        .block_on(async move {
            let stop = shutdown::Shutdown::on_signals()?;
            // HTTP/1.1 only: every ACME client speaks it, and HTTP/2 (hpack, a task per stream,
            // flow control) cost more server CPU per order than the requests themselves.
            let tls = tls::server_config(resolver, tls::ALPN_H1);
            let handler = Arc::new(localca_server::acme::AcmeHandler(server));
            // Thread-per-core, as the proxy: a connection and the validations its requests
            // start stay on one thread, so a request costs no cross-thread wake-ups, and clients
            // with several connections get both cores.
            let worker_stop = stop.clone();
            let serve = move |feed| {
                serve::Server::fed(feed, Some(tls.clone()), handler.clone()).run(worker_stop.clone())
            };
            let workers = Workers::spawn(workers::count(), serve)?;
            workers.accept(vec![listener], stop).await
        })
        .map_err(|e| Failure::new(format!("ACME server: {e}"), None))?;
    eprintln!("ACME server stopped");
    Ok(())
}

/// `localhost:PORT` for loopback listeners (the name the serving certificate and clients use),
/// the address itself otherwise.
fn url_authority(local: &SocketAddr) -> String {
    match local {
        _ if listen::is_loopback(local) => format!("localhost:{}", local.port()),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
        SocketAddr::V4(v4) => v4.to_string(),
    }
}

/// Prints where the server is and how to point clients at it. Write errors are ignored: a
/// service's stdout may be closed, and the server must not die of it.
fn print_banner(home: &CaHome, authority: &str, args: &AcmeServeArgs, days: u32, root: &localca::RootCa) {
    use std::io::Write;
    let directory = format!("https://{authority}/directory");
    let root_pem = home.cert_path();
    let root_pem = root_pem.display();
    let (http, alpn) = (args.http_01_port, args.tls_alpn_01_port);
    let text = format!(
        "localca ACME server: {directory}\n\
         \x20 certificates valid {days} days, for names within: {}\n\
         \x20 validates http-01 on port {http} and tls-alpn-01 on port {alpn} of the client\n\
         Clients:\n\
         \x20 lego:    LEGO_CA_CERTIFICATES={root_pem} lego --server {directory} --email you@example.test \
         --accept-tos --domains app.localhost --http --http.port :{http} run\n\
         \x20 certbot: REQUESTS_CA_BUNDLE={root_pem} certbot certonly --standalone --server {directory} \
         --http-01-port {http} -d app.localhost\n\
         \x20 Caddy:   tls {{ ca {directory}\n                 ca_root {root_pem} }}\n\
         Stop with Ctrl-C.\n",
        permitted(root)
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn permitted(root: &localca::RootCa) -> String {
    match root.name_constraints() {
        Some(set) => set.to_string(),
        None => "any name (this root has no name constraints)".into(),
    }
}
