//! Errors as RFC 7807 problem documents with the ACME error types (RFC 8555 §6.7).

use hyper::StatusCode;
use serde::Serialize;

use super::Identifier;

/// The ACME error types this server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request's nonce was missing, used, or never issued.
    BadNonce,
    /// The request was not well formed.
    Malformed,
    /// The client lacks authorisation for the request.
    Unauthorized,
    /// The JWS algorithm is not supported.
    BadSignatureAlgorithm,
    /// The request names an account that does not exist.
    AccountDoesNotExist,
    /// The server will not issue for the identifier.
    RejectedIdentifier,
    /// The identifier type is not supported.
    UnsupportedIdentifier,
    /// Finalize before every authorization is valid.
    OrderNotReady,
    /// The CSR is unacceptable.
    BadCsr,
    /// A contact URL is unsupported.
    UnsupportedContact,
    /// A contact URL is invalid.
    InvalidContact,
    /// The certificate is already revoked.
    AlreadyRevoked,
    /// The revocation reason is not allowed.
    BadRevocationReason,
    /// The server could not connect to the validation target.
    Connection,
    /// The response received did not match the challenge.
    IncorrectResponse,
    /// The name could not be resolved.
    Dns,
    /// The TLS connection for validation failed.
    Tls,
    /// Something failed inside the server.
    ServerInternal,
}

impl Kind {
    fn urn(self) -> &'static str {
        match self {
            Kind::BadNonce => "badNonce",
            Kind::Malformed => "malformed",
            Kind::Unauthorized => "unauthorized",
            Kind::BadSignatureAlgorithm => "badSignatureAlgorithm",
            Kind::AccountDoesNotExist => "accountDoesNotExist",
            Kind::RejectedIdentifier => "rejectedIdentifier",
            Kind::UnsupportedIdentifier => "unsupportedIdentifier",
            Kind::OrderNotReady => "orderNotReady",
            Kind::BadCsr => "badCSR",
            Kind::UnsupportedContact => "unsupportedContact",
            Kind::InvalidContact => "invalidContact",
            Kind::AlreadyRevoked => "alreadyRevoked",
            Kind::BadRevocationReason => "badRevocationReason",
            Kind::Connection => "connection",
            Kind::IncorrectResponse => "incorrectResponse",
            Kind::Dns => "dns",
            Kind::Tls => "tls",
            Kind::ServerInternal => "serverInternal",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Kind::Unauthorized | Kind::OrderNotReady => StatusCode::FORBIDDEN,
            Kind::ServerInternal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A problem document: the ACME error type, a sentence for people, and the HTTP status. Boxed,
/// so results carrying one stay small.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<Document>);

/// The members of a problem document.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// `urn:ietf:params:acme:error:…`
    #[serde(rename = "type")]
    pub type_urn: String,
    /// What went wrong, for people.
    pub detail: String,
    /// The HTTP status, repeated in the body as RFC 7807 suggests.
    pub status: u16,
    /// The JWS algorithms accepted (with badSignatureAlgorithm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<&'static str>>,
    /// Per-identifier problems (with rejectedIdentifier).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subproblems: Vec<Subproblem>,
    #[serde(skip)]
    kind: Option<Kind>,
    #[serde(skip)]
    location: Option<String>,
}

/// A problem about one identifier of a request.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Subproblem {
    /// `urn:ietf:params:acme:error:…`
    #[serde(rename = "type")]
    pub type_urn: String,
    /// What is wrong with this identifier.
    pub detail: String,
    /// The identifier.
    pub identifier: Identifier,
}

impl Problem {
    /// A problem of `kind` with the default status of that kind.
    pub fn new(kind: Kind, detail: impl Into<String>) -> Problem {
        Problem(Box::new(Document {
            type_urn: format!("urn:ietf:params:acme:error:{}", kind.urn()),
            detail: detail.into(),
            status: kind.status().as_u16(),
            algorithms: None,
            subproblems: Vec::new(),
            kind: Some(kind),
            location: None,
        }))
    }

    /// The same problem with another HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Problem {
        self.status = status.as_u16();
        self
    }

    /// The same problem pointing at a resource (a Location header), such as the account that
    /// already holds a key.
    pub fn located(mut self, url: String) -> Problem {
        self.location = Some(url);
        self
    }

    /// The resource the problem points at.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The ACME type, when the problem was made here.
    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    /// A `malformed` problem.
    pub fn malformed(detail: impl Into<String>) -> Problem {
        Problem::new(Kind::Malformed, detail)
    }

    /// A `malformed` 404 for a resource that does not exist.
    pub fn not_found(what: &str) -> Problem {
        Problem::malformed(format!("no such {what}")).with_status(StatusCode::NOT_FOUND)
    }

    /// An `unauthorized` problem.
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(Kind::Unauthorized, detail)
    }

    /// A `serverInternal` problem; the cause goes to the log, not to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Problem {
        eprintln!("error: ACME server: {cause}");
        Problem::new(Kind::ServerInternal, "internal error; the server's log says more")
    }

    /// A subproblem about `identifier` (kept in the problem's list).
    pub fn subproblem(kind: Kind, detail: impl Into<String>, identifier: Identifier) -> Subproblem {
        Subproblem {
            type_urn: format!("urn:ietf:params:acme:error:{}", kind.urn()),
            detail: detail.into(),
            identifier,
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a problem serialises")
    }
}

impl std::ops::Deref for Problem {
    type Target = Document;
    fn deref(&self) -> &Document {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut Document {
        &mut self.0
    }
}

impl From<super::store::StoreError> for Problem {
    fn from(e: super::store::StoreError) -> Problem {
        Problem::internal(e)
    }
}
