//! Records what `localca acme serve` issues and revokes in the inventory, off the request path.
//!
//! The issuer only hands each event to a channel (about a microsecond). A thread rewrites
//! `inventory.json` under the CA lock: at once when it has been idle, and under load at most every
//! [`MIN_GAP`] (or 20 times the last rewrite's cost, when the file has grown), so a burst of orders
//! costs one rewrite. Stopping the server flushes what is left; a SIGKILL can lose the events of
//! the last gap from the inventory (`acme.sqlite` still has them).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use localca::{AcmeIssued, CaHome, Inventory, LeafRecord};
use time::OffsetDateTime;

/// Shortest time between two rewrites of the inventory.
const MIN_GAP: Duration = Duration::from_millis(200);
/// The gap is at least this many times the last rewrite's cost (at most 5% of one core).
const GAP_PER_COST: u32 = 20;

enum Event {
    Issued(AcmeIssued),
    Revoked { leaf_der: Vec<u8>, reason: u8, at: OffsetDateTime },
    Stop,
}

/// The issuer's end: sends events to the recording thread.
pub struct Feed(Sender<Event>);

impl Feed {
    /// An issued certificate.
    pub fn issued(&self, issued: AcmeIssued) {
        let _ = self.0.send(Event::Issued(issued));
    }

    /// A revoked certificate.
    pub fn revoked(&self, leaf_der: &[u8], reason: u8) {
        let at = OffsetDateTime::now_utc();
        let _ = self.0.send(Event::Revoked { leaf_der: leaf_der.to_vec(), reason, at });
    }
}

/// The recording thread; dropping it flushes what is pending and waits for the thread.
pub struct Recorder {
    tx: Sender<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts the thread recording into `home` leaves signed by the root `root_sha256`.
    pub fn start(home: CaHome, root_sha256: String) -> (Recorder, Feed) {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("acme-inventory".into())
            .spawn(move || run(&home, &root_sha256, &rx))
            .expect("start the inventory thread");
        (Recorder { tx: tx.clone(), thread: Some(thread) }, Feed(tx))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.tx.send(Event::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(home: &CaHome, root_sha256: &str, rx: &Receiver<Event>) {
    let mut gap = MIN_GAP;
    let mut last: Option<Instant> = None;
    let mut pending: Vec<Event> = Vec::new();
    loop {
        let mut stop = match rx.recv() {
            Ok(Event::Stop) | Err(_) => true,
            Ok(event) => {
                pending.push(event);
                false
            }
        };
        // Gather what arrives until `gap` after the last rewrite (nothing to wait for when idle).
        let deadline = last.map_or_else(Instant::now, |t| t + gap);
        while !stop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => stop = true,
                Ok(event) => pending.push(event),
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        if !pending.is_empty() {
            let started = Instant::now();
            flush(home, root_sha256, std::mem::take(&mut pending));
            gap = MIN_GAP.max(started.elapsed() * GAP_PER_COST);
            last = Some(Instant::now());
        }
        if stop {
            return;
        }
    }
}

/// One rewrite with every pending event, in order. A failure is one warning line; the events
/// stay in the ACME store.
fn flush(home: &CaHome, root_sha256: &str, events: Vec<Event>) {
    let count = events.len();
    // The CA was deleted under the running server: do not bring its folder back for this.
    if !home.cert_path().exists() {
        return eprintln!("warning: {count} ACME certificate event(s) not recorded: the CA is gone");
    }
    let result = Inventory::update(home, |inventory| {
        for event in events {
            match event {
                Event::Issued(issued) => inventory.insert_acme(LeafRecord::from_acme(&issued, root_sha256)),
                Event::Revoked { leaf_der, reason, at } => {
                    if let Some(serial) = localca::serial_hex(&leaf_der) {
                        inventory.mark_revoked(&serial, reason, at);
                    }
                }
                Event::Stop => {}
            }
        }
    });
    if let Err(e) = result {
        eprintln!(
            "warning: {count} ACME certificate event(s) not recorded in {}: {e}",
            Inventory::path(home).display()
        );
    }
}
