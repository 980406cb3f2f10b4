//! The directory (RFC 8555 §7.1.1): the one URL a client is configured with.

use hyper::StatusCode;
use serde_json::json;

use super::{Base, Reply};

/// Where the directory is served.
pub(crate) const PATH: &str = "/directory";

pub(crate) fn directory(base: &Base) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({
            "newNonce": base.url("/acme/new-nonce"),
            "newAccount": base.url("/acme/new-account"),
            "newOrder": base.url("/acme/new-order"),
            "revokeCert": base.url("/acme/revoke-cert"),
            "keyChange": base.url("/acme/key-change"),
            "renewalInfo": base.url("/acme/renewal-info"),
            "meta": {
                "externalAccountRequired": false,
            },
        }),
    )
}
