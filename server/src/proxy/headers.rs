//! Request and response headers across the proxy, per RFC 9110 §7.6.1 and RFC 7239.

use std::net::{IpAddr, SocketAddr};

use hyper::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, FORWARDED, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE,
    TRAILER, TRANSFER_ENCODING, UPGRADE,
};

/// Hop-by-hop headers that never pass a proxy, besides those named in `Connection`.
/// `HeaderName`s, not strings: a string name is parsed again on every lookup.
static HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The protocol a request asks to switch to (`Upgrade: websocket` with `Connection: upgrade`).
pub fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let connection_says_upgrade = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    connection_says_upgrade.then(|| headers.get(UPGRADE).cloned()).flatten()
}

/// Removes hop-by-hop headers; when `upgrade` is some, puts back `Connection: upgrade` and
/// `Upgrade`, which the next hop needs to switch protocols.
pub fn remove_hop_by_hop(headers: &mut HeaderMap, upgrade: Option<HeaderValue>) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    // Most messages carry none of them: look before removing (each removal hashes the name).
    if headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        for name in &HOP_BY_HOP {
            headers.remove(name);
        }
    }
    if let Some(protocol) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
    }
}

/// Adds `X-Forwarded-For` (appended), `X-Forwarded-Proto`, `X-Forwarded-Host` and `Forwarded`
/// (appended, RFC 7239) for a request from `peer` for `host` over https.
pub fn add_forwarded(headers: &mut HeaderMap, peer: SocketAddr, host: &str, local: SocketAddr) {
    let client = peer.ip().to_canonical();
    let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(before) => format!("{before}, {client}"),
        None => client.to_string(),
    };
    set(headers, &X_FORWARDED_FOR, &xff);
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("https"));
    set(headers, &X_FORWARDED_HOST, host);
    let element = format!(
        "for={};host={};proto=https;by={}",
        node(client),
        quoted(host),
        node(local.ip().to_canonical())
    );
    let forwarded = match headers.get(FORWARDED).and_then(|v| v.to_str().ok()) {
        Some(before) => format!("{before}, {element}"),
        None => element,
    };
    set(headers, &FORWARDED, &forwarded);
}

/// A node in RFC 7239 syntax: IPv6 addresses are quoted and bracketed.
fn node(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    }
}

/// A value as an RFC 7239 quoted-string when it is not a token (a port's colon makes it so).
fn quoted(value: &str) -> String {
    if value.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn set(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_listed_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        remove_hop_by_hop(&mut h, None);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn upgrade_survives_when_asked() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        h.insert(UPGRADE, HeaderValue::from_static("websocket"));
        let up = upgrade_protocol(&h);
        assert_eq!(up.as_ref().unwrap(), "websocket");
        remove_hop_by_hop(&mut h, up);
        assert_eq!(h.get(CONNECTION).unwrap(), "upgrade");
        assert_eq!(h.get(UPGRADE).unwrap(), "websocket");
    }

    #[test]
    fn forwarded_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        let peer: SocketAddr = "[::1]:5000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:443".parse().unwrap();
        add_forwarded(&mut h, peer, "myapp.test:8443", local);
        assert_eq!(h.get("x-forwarded-for").unwrap(), "203.0.113.7, ::1");
        assert_eq!(h.get("x-forwarded-proto").unwrap(), "https");
        assert_eq!(h.get("x-forwarded-host").unwrap(), "myapp.test:8443");
        assert_eq!(
            h.get("forwarded").unwrap(),
            "for=\"[::1]\";host=\"myapp.test:8443\";proto=https;by=127.0.0.1"
        );
    }
}
