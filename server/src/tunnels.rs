//! Upgraded connections (WebSockets and other `Upgrade:` protocols). Once a connection switches
//! protocols it leaves the HTTP server's hands, so the accept loop's drain does not see it;
//! [`Tunnels`] counts these connections, lets them keep working through the drain period after
//! shutdown, and then closes the ones still open, so an idle WebSocket never holds the
//! process up.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::log;
use crate::shutdown::Shutdown;

/// After the drain period, how long closing the remaining tunnels may take.
const CLOSE_GRACE: Duration = Duration::from_millis(200);

/// The open tunnels of a server; clones share the count.
#[derive(Clone, Debug)]
pub struct Tunnels {
    open: Arc<watch::Sender<usize>>,
    close: Shutdown,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels::new()
    }
}

impl Tunnels {
    /// No tunnels yet.
    pub fn new() -> Tunnels {
        let (open, _) = watch::channel(0);
        Tunnels { open: Arc::new(open), close: Shutdown::new() }
    }

    /// How many tunnels are open.
    pub fn open(&self) -> usize {
        *self.open.borrow()
    }

    /// Runs `tunnel` (in practice, copying bytes both ways) as a task counted until it ends,
    /// or until [`Tunnels::drain`] closes it, dropping it and so its connections. Must be
    /// called inside a tokio runtime. A tunnel spawned after the drain ended is closed at once.
    pub fn spawn<F>(&self, tunnel: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.open.send_modify(|n| *n += 1);
        let counted = Counted(self.open.clone());
        let close = self.close.clone();
        tokio::spawn(async move {
            let _counted = counted;
            tokio::select! {
                () = tunnel => {}
                () = close.wait() => {}
            }
        });
    }

    /// Once `shutdown` fires: waits up to `drain` for the open tunnels to end on their own,
    /// then closes the rest. Run it next to [`crate::serve::Server::run`] with the same drain,
    /// so both count from the same moment.
    pub async fn drain(&self, shutdown: &Shutdown, drain: Duration) {
        shutdown.wait().await;
        let mut open = self.open.subscribe();
        if tokio::time::timeout(drain, open.wait_for(|n| *n == 0)).await.is_err() {
            let n = *open.borrow();
            log::info(&format!("closing {n} upgraded connection(s) (WebSockets) still open after {drain:?}"));
        }
        self.close.trigger();
        let _ = tokio::time::timeout(CLOSE_GRACE, open.wait_for(|n| *n == 0)).await;
    }
}

/// Counts one tunnel while it lives.
struct Counted(Arc<watch::Sender<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn kept_through_the_drain_then_closed() {
        crate::runtime().unwrap().block_on(async {
            let tunnels = Tunnels::new();
            let shutdown = Shutdown::new();
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            // One that ends on its own, one that never would.
            tunnels.spawn(async move {
                let _ = done_rx.await;
            });
            tunnels.spawn(std::future::pending());
            assert_eq!(tunnels.open(), 2);
            let drain = tokio::spawn({
                let (tunnels, shutdown) = (tunnels.clone(), shutdown.clone());
                async move { tunnels.drain(&shutdown, Duration::from_millis(300)).await }
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(tunnels.open(), 2, "nothing closed before shutdown");
            let started = Instant::now();
            shutdown.trigger();
            done_tx.send(()).unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(tunnels.open(), 1, "the finished one is no longer counted");
            drain.await.unwrap();
            let took = started.elapsed();
            assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(1300), "{took:?}");
            assert_eq!(tunnels.open(), 0, "the idle one was closed after the drain");
            tunnels.spawn(std::future::pending());
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(tunnels.open(), 0, "one opened after the drain is closed at once");
        });
    }
}
