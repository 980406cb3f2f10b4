//! What the proxy answers when it cannot pass a request on: short texts a person understands.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::routes::{RouteTable, Upstream};
use crate::{full, Body};

/// A plain-text response.
pub fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// 502: the upstream refused or failed.
pub fn bad_gateway(route: &str, upstream: &Upstream, why: &str) -> Response<Body> {
    text(
        StatusCode::BAD_GATEWAY,
        format!(
            "502 Bad Gateway: localca proxy could not reach {upstream} for {route}: {why}.\n\
             Is your dev server running on {}?\n",
            upstream.authority
        ),
    )
}

/// 504: the upstream did not answer in time.
pub fn gateway_timeout(route: &str, upstream: &Upstream, after: std::time::Duration) -> Response<Body> {
    text(
        StatusCode::GATEWAY_TIMEOUT,
        format!("504 Gateway Timeout: {upstream} (for {route}) sent no response for {after:?}.\n"),
    )
}

/// 421: no route for this name. The list of routes only when `show_routes` (loopback listeners).
pub fn no_route(host: &str, table: &RouteTable, show_routes: bool) -> Response<Body> {
    let mut body = format!("421 Misdirected Request: localca proxy has no route for {host:?}.\n");
    if show_routes {
        if table.is_empty() {
            body.push_str("It has no routes at all.\n");
        } else {
            body.push_str("Its routes:\n");
            for route in table.routes() {
                body.push_str(&format!("  https://{} -> {}\n", route.name, route.upstream));
            }
        }
    }
    text(StatusCode::MISDIRECTED_REQUEST, body)
}

/// 400: a request the proxy cannot route at all (no host).
pub fn bad_request(why: &str) -> Response<Body> {
    text(StatusCode::BAD_REQUEST, format!("400 Bad Request: {why}\n"))
}
