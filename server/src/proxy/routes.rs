//! Routes: which upstream answers which host name. `NAME=UPSTREAM`, where UPSTREAM is a port,
//! `host:port`, or an `http://`, `https://` or `h2c://` URL.

use std::fmt;
use std::sync::Arc;

/// Checks and normalises a route's name (a host name, `*.` wildcards allowed); the CLI passes
/// one that applies `localca cert`'s rules and the root's name constraints. The error is one
/// line saying what is wrong and what to do.
pub type NameCheck = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// How the proxy talks to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP/1.1 over TCP.
    Http,
    /// HTTP/1.1 (or HTTP/2 by ALPN) over TLS, verified against the OS store and the local root.
    Https,
    /// HTTP/2 without TLS (prior knowledge).
    H2c,
}

/// Where requests for a route go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The protocol.
    pub scheme: Scheme,
    /// `host:port` (IPv6 hosts in brackets).
    pub authority: String,
}

impl Upstream {
    /// Parses `3000`, `host:3000`, `[::1]:3000`, `http://host:3000`, `https://host`,
    /// `h2c://host:3000` (the URL form may end in `/`; other paths are refused).
    pub fn parse(text: &str) -> Result<Upstream, String> {
        let bad = |why: &str| {
            format!("upstream {text:?}: {why}; use a port (3000), host:port (127.0.0.1:3000) or a URL (http://localhost:3000)")
        };
        if let Ok(port) = text.parse::<u16>() {
            if port == 0 {
                return Err(bad("port 0"));
            }
            return Ok(Upstream { scheme: Scheme::Http, authority: format!("127.0.0.1:{port}") });
        }
        let (scheme, rest) = match text.split_once("://") {
            Some(("http", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) => (Scheme::Https, rest),
            Some(("h2c", rest)) => (Scheme::H2c, rest),
            Some((other, _)) => return Err(bad(&format!("unknown scheme {other:?} (http, https or h2c)"))),
            None => (Scheme::Http, text),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad("paths, queries and user names are not supported"));
        }
        let uri: hyper::http::uri::Authority = authority.parse().map_err(|_| bad("not a host:port"))?;
        let default_port = if scheme == Scheme::Https { 443 } else { 80 };
        let port = match uri.port_u16() {
            Some(0) => return Err(bad("port 0")),
            Some(port) => port,
            None if text.contains("://") => default_port,
            None => return Err(bad("no port")),
        };
        Ok(Upstream { scheme, authority: format!("{}:{port}", uri.host()) })
    }

    /// The host part of the authority, without brackets.
    pub fn host(&self) -> &str {
        let host = self.authority.rsplit_once(':').map_or(self.authority.as_str(), |(h, _)| h);
        host.trim_start_matches('[').trim_end_matches(']')
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::H2c => "h2c",
        };
        write!(f, "{scheme}://{}", self.authority)
    }
}

/// One route: a host name (or `*.suffix`) and its upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The name as normalised by the name check.
    pub name: String,
    /// Where its requests go.
    pub upstream: Upstream,
}

impl Route {
    /// Parses `NAME=UPSTREAM`, checking the name with `check`.
    pub fn parse(text: &str, check: &NameCheck) -> Result<Route, String> {
        let Some((name, upstream)) = text.split_once('=') else {
            return Err(format!("route {text:?} has no `=`: write NAME=UPSTREAM, e.g. myapp.test=3000"));
        };
        Route::new(name.trim(), upstream.trim(), check)
    }

    /// A route from its two halves.
    pub fn new(name: &str, upstream: &str, check: &NameCheck) -> Result<Route, String> {
        let name = check(name)?;
        Ok(Route { name, upstream: Upstream::parse(upstream)? })
    }

    fn matches(&self, host: &str) -> bool {
        match self.name.strip_prefix("*.") {
            // As in certificates: the wildcard stands for exactly one label.
            Some(suffix) => host
                .strip_suffix(suffix)
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
            None => host == self.name,
        }
    }
}

/// The routes in force: exact names win over wildcards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    // Shared: a request keeps its route while the table may be replaced by a reload.
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    /// A table from routes; a name given twice is an error.
    pub fn new(routes: Vec<Route>) -> Result<RouteTable, String> {
        for (i, route) in routes.iter().enumerate() {
            if routes[..i].iter().any(|r| r.name == route.name) {
                return Err(format!("{} has two routes: keep one", route.name));
            }
        }
        Ok(RouteTable { routes: routes.into_iter().map(Arc::new).collect() })
    }

    /// The route for a request's host (lower case, no port, no trailing dot).
    pub fn find(&self, host: &str) -> Option<&Arc<Route>> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let exact = self.routes.iter().find(|r| !r.name.starts_with("*.") && r.matches(&host));
        exact.or_else(|| self.routes.iter().find(|r| r.matches(&host)))
    }

    /// Every route, in the order given.
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_name() -> NameCheck {
        Arc::new(|n: &str| Ok(n.to_ascii_lowercase()))
    }

    #[test]
    fn upstreams() {
        let p = |s| Upstream::parse(s).map(|u| u.to_string());
        assert_eq!(p("3000").unwrap(), "http://127.0.0.1:3000");
        assert_eq!(p("localhost:8080").unwrap(), "http://localhost:8080");
        assert_eq!(p("[::1]:8080").unwrap(), "http://[::1]:8080");
        assert_eq!(p("https://api.test").unwrap(), "https://api.test:443");
        assert_eq!(p("h2c://127.0.0.1:50051/").unwrap(), "h2c://127.0.0.1:50051");
        for bad in ["0", "localhost", "ftp://x:1", "http://x:1/app", "http://", "x:99999"] {
            assert!(p(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(Upstream::parse("[::1]:80").unwrap().host(), "::1");
    }

    #[test]
    fn wildcard_matches_one_label_and_exact_wins() {
        let check = any_name();
        let table = RouteTable::new(vec![
            Route::parse("*.preview.test=5173", &check).unwrap(),
            Route::parse("a.preview.test=3000", &check).unwrap(),
        ])
        .unwrap();
        assert_eq!(table.find("a.preview.test").unwrap().upstream.authority, "127.0.0.1:3000");
        assert_eq!(table.find("B.preview.test.").unwrap().upstream.authority, "127.0.0.1:5173");
        assert!(table.find("x.b.preview.test").is_none());
        assert!(table.find("preview.test").is_none());
        assert!(RouteTable::new(vec![(*table.routes()[0]).clone(), (*table.routes()[0]).clone()]).is_err());
    }
}
