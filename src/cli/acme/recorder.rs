//! Records what `localca acme serve` issues and revokes in the inventory, off the request path.
//!
//! The issuer only appends each event to a list under a lock, waking the thread only when it is
//! idle (no futex wake per issuance under load). The thread rewrites `inventory.json` under the
//! CA lock: at once when it has been idle, and under load at most every [`MIN_GAP`] (or 20 times
//! the last rewrite's cost, when the file has grown), so a burst of orders costs one rewrite.
//! Stopping the server flushes what is left; a SIGKILL can lose the events of the last gap from
//! the inventory (`acme.sqlite` still has them, and the next start catches up).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use localca::{AcmeIssued, CaHome, Inventory, LeafRecord};
use time::OffsetDateTime;

/// Shortest time between two rewrites of the inventory. Each rewrite is the whole file: at 200 ms
/// it cost 0.05 ms of CPU per order over a 2,400-order run, at 1 s 0.02 ms (thread CPU time).
const MIN_GAP: Duration = Duration::from_secs(1);
/// The gap is at least this many times the last rewrite's cost (at most 5% of one core).
const GAP_PER_COST: u32 = 20;

enum Event {
    Issued(AcmeIssued),
    Revoked { leaf_der: Vec<u8>, reason: u8, at: OffsetDateTime },
}

/// What the issuer and the thread share. Events are appended under the lock; the thread is
/// woken only when it sleeps with nothing to do (`idle`), so under load an event costs no
/// wake-up: the thread takes the whole batch when its gap is over.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<Event>,
    idle: bool,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, event: Event) {
        let mut state = self.lock();
        state.pending.push(event);
        if state.idle {
            state.idle = false;
            self.wake.notify_one();
        }
    }
}

/// The issuer's end: hands events to the recording thread.
pub struct Feed(Arc<Shared>);

impl Feed {
    /// An issued certificate.
    pub fn issued(&self, issued: AcmeIssued) {
        self.0.push(Event::Issued(issued));
    }

    /// A revoked certificate.
    pub fn revoked(&self, leaf_der: &[u8], reason: u8) {
        let at = OffsetDateTime::now_utc();
        self.0.push(Event::Revoked { leaf_der: leaf_der.to_vec(), reason, at });
    }
}

/// The recording thread; dropping it flushes what is pending and waits for the thread.
pub struct Recorder {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts the thread recording into `home` leaves signed by the root `root_sha256`.
    pub fn start(home: CaHome, root_sha256: String) -> (Recorder, Feed) {
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("acme-inventory".into())
            .spawn(move || run(&home, &root_sha256, &theirs))
            .expect("start the inventory thread");
        (Recorder { shared: shared.clone(), thread: Some(thread) }, Feed(shared))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(home: &CaHome, root_sha256: &str, shared: &Shared) {
    let mut gap = MIN_GAP;
    let mut last: Option<Instant> = None;
    let mut state = shared.lock();
    loop {
        // Idle: sleep until an event (or the stop) arrives.
        while state.pending.is_empty() && !state.stop {
            state.idle = true;
            state = shared.wake.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.idle = false;
        // Gather what arrives until `gap` after the last rewrite (nothing to wait for when idle).
        let deadline = last.map_or_else(Instant::now, |t| t + gap);
        while !state.stop {
            let wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                break;
            }
            state = shared.wake.wait_timeout(state, wait).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
        let events = std::mem::take(&mut state.pending);
        let stop = state.stop;
        drop(state);
        if !events.is_empty() {
            let started = Instant::now();
            flush(home, root_sha256, events);
            gap = MIN_GAP.max(started.elapsed() * GAP_PER_COST);
            last = Some(Instant::now());
        }
        if stop {
            return;
        }
        state = shared.lock();
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
        // Issued leaves go in by runs, one pass over the inventory each; a revocation applies
        // after the leaves issued before it.
        let mut run = Vec::new();
        for event in events {
            match event {
                Event::Issued(issued) => run.push(LeafRecord::from_acme(&issued, root_sha256)),
                Event::Revoked { leaf_der, reason, at } => {
                    inventory.insert_acme_all(std::mem::take(&mut run));
                    if let Some(serial) = localca::serial_hex(&leaf_der) {
                        inventory.mark_revoked(&serial, reason, at);
                    }
                }
            }
        }
        inventory.insert_acme_all(run);
    });
    if let Err(e) = result {
        eprintln!(
            "warning: {count} ACME certificate event(s) not recorded in {}: {e}",
            Inventory::path(home).display()
        );
    }
}
