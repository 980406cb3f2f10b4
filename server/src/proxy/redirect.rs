//! `--redirect-http`: plain HTTP answered with 308 to the same URL over https.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST, LOCATION};
use hyper::{Request, Response, StatusCode};

use super::pages;
use crate::serve::{ConnInfo, Handler};
use crate::Body;

/// Redirects every request to https on `https_port`.
pub struct Redirect {
    /// The proxy's TLS port.
    pub https_port: u16,
}

impl Handler for Redirect {
    async fn handle(&self, req: Request<Incoming>, _conn: Arc<ConnInfo>) -> Response<Body> {
        let Some(host) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) else {
            return pages::bad_request("the request names no host");
        };
        let name = match host.parse::<hyper::http::uri::Authority>() {
            Ok(a) => a.host().to_string(),
            Err(_) => return pages::bad_request("the Host header is not valid"),
        };
        let port = if self.https_port == 443 { String::new() } else { format!(":{}", self.https_port) };
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let location = format!("https://{name}{port}{path}");
        let mut response = pages::text(StatusCode::PERMANENT_REDIRECT, format!("Moved to {location}\n"));
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(LOCATION, value);
        }
        response
    }
}
