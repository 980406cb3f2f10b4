//! Log lines on stderr: one per request, plus notices. `quiet` silences the request lines only;
//! warnings and errors always show.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences (or restores) the per-request lines.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// One handled request.
#[derive(Debug)]
pub struct RequestLine<'a> {
    /// The request method.
    pub method: &'a str,
    /// The client's HTTP version (`HTTP/1.1`, `HTTP/2`).
    pub version: &'a str,
    /// The host the client asked for.
    pub host: &'a str,
    /// The path and query.
    pub path: &'a str,
    /// The status sent.
    pub status: u16,
    /// Time until the response head was ready.
    pub duration: Duration,
    /// Where the request went (an upstream), or what answered it.
    pub upstream: &'a str,
}

/// Whether request lines are silenced (handlers skip preparing them).
pub fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Prints one request line, unless quiet.
pub fn request(line: &RequestLine<'_>) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    eprintln!(
        "{} {}{} {} {} {:.1}ms -> {}",
        line.method,
        line.host,
        line.path,
        line.version,
        line.status,
        line.duration.as_secs_f64() * 1000.0,
        line.upstream
    );
}

/// Prints a notice (startup, reload, shutdown), unless quiet.
pub fn info(message: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        eprintln!("{message}");
    }
}

/// Prints a warning, always.
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}
