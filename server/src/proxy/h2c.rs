//! Why an `h2c://` upstream failed. The usual cause is an HTTP/1.1 dev server given as h2c: it
//! answers HTTP/2's connection preface with an HTTP/1 error and hangs up, which the HTTP/2
//! client only reports as a closed connection. On that error path the proxy asks the upstream
//! directly and says so in plain words.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::routes::{Scheme, Upstream};

/// What an HTTP/2 client sends first (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The frame type of SETTINGS.
const SETTINGS: u8 = 4;
/// How long asking the upstream may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `why` an upstream request failed, with the fix added when `upstream` is h2c and answers
/// the HTTP/2 preface with something other than HTTP/2 (`connect_failed`: nothing answered at
/// all, so there is nothing to ask).
pub async fn explain(upstream: &Upstream, connect_failed: bool, why: String) -> String {
    if upstream.scheme != Scheme::H2c || connect_failed || !answers_other_than_h2(&upstream.authority).await {
        return why;
    }
    format!(
        "{why}; it answers HTTP/2's preface with something else, so it does not speak HTTP/2 without TLS \
         (h2c): for an HTTP/1.1 server, route to http://{} instead",
        upstream.authority
    )
}

/// Whether the server at `authority` answers the HTTP/2 preface with bytes that are not the
/// SETTINGS frame an HTTP/2 server must send first (a 9-byte frame header of type 4). False
/// when it cannot tell (no connection, no answer, timeout).
async fn answers_other_than_h2(authority: &str) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect(authority).await.ok()?;
        stream.write_all(PREFACE).await.ok()?;
        let mut head = [0u8; 9];
        let mut got = 0;
        while got < head.len() {
            match stream.read(&mut head[got..]).await.ok()? {
                0 => break,
                n => got += n,
            }
        }
        (got > 0).then(|| got < head.len() || head[3] != SETTINGS)
    };
    matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A one-connection server that reads the preface and answers `reply` (then hangs up).
    async fn server(reply: &'static [u8]) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut preface = [0u8; PREFACE.len()];
            let _ = stream.read_exact(&mut preface).await;
            let _ = stream.write_all(reply).await;
        });
        Upstream { scheme: Scheme::H2c, authority }
    }

    #[test]
    fn tells_an_http1_server_from_an_h2c_one() {
        crate::runtime().unwrap().block_on(async {
            let http1 = server(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n").await;
            let why = explain(&http1, false, "connection closed".into()).await;
            assert!(why.starts_with("connection closed; "), "{why}");
            assert!(why.contains(&format!("route to http://{} instead", http1.authority)), "{why}");
            // An empty SETTINGS frame, as an HTTP/2 server sends first: the error stays as it was.
            let h2 = server(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]).await;
            assert_eq!(explain(&h2, false, "stream reset".into()).await, "stream reset");
            let silent = server(b"").await;
            assert_eq!(explain(&silent, false, "closed".into()).await, "closed");
            let http = Upstream { scheme: Scheme::Http, ..server(b"HTTP/1.1 400 x\r\n\r\n").await };
            assert_eq!(explain(&http, false, "x".into()).await, "x", "only h2c upstreams are asked");
        });
    }
}
