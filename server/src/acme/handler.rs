//! The ACME server as a handler of the shared server layer, with one log line per request.

use std::sync::Arc;
use std::time::Instant;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};

use super::{AcmeServer, Issuer};
use crate::log::{request, RequestLine};
use crate::serve::{ConnInfo, Handler};
use crate::Body;

/// Serves an [`AcmeServer`] through [`crate::serve::Server`].
pub struct AcmeHandler<I: Issuer>(pub Arc<AcmeServer<I>>);

impl<I: Issuer> Handler for AcmeHandler<I> {
    async fn handle(&self, req: Request<Incoming>, _conn: Arc<ConnInfo>) -> Response<Body> {
        if !crate::log::requests_enabled() {
            let response = self.0.handle(req).await;
            return response.map(|body| body.map_err(|never| match never {}).boxed());
        }
        let start = Instant::now();
        let method = req.method().to_string();
        let version = format!("{:?}", req.version());
        let path = req.uri().path().to_string();
        let host = req
            .uri()
            .host()
            .or_else(|| req.headers().get(hyper::header::HOST).and_then(|h| h.to_str().ok()))
            .unwrap_or("")
            .to_string();
        let response = self.0.handle(req).await;
        request(&RequestLine {
            method: &method,
            version: &version,
            host: &host,
            path: &path,
            status: response.status().as_u16(),
            duration: start.elapsed(),
            upstream: "acme",
        });
        response.map(|body| body.map_err(|never| match never {}).boxed())
    }
}
