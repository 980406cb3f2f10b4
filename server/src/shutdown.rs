//! One shutdown signal for every task of a server: SIGINT or SIGTERM (Ctrl-C on Windows), or
//! [`Shutdown::trigger`] from code.

use tokio::sync::watch;

/// A cloneable shutdown signal.
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: std::sync::Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A signal that only [`Shutdown::trigger`] fires.
    pub fn new() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        Shutdown { tx: std::sync::Arc::new(tx), rx }
    }

    /// A signal that SIGINT and SIGTERM (Ctrl-C on Windows) fire. Must be called inside a
    /// tokio runtime.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        let shutdown = Shutdown::new();
        let fire = shutdown.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut int = signal(SignalKind::interrupt())?;
            let mut term = signal(SignalKind::terminate())?;
            tokio::spawn(async move {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
                fire.trigger();
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                fire.trigger();
            }
        });
        Ok(shutdown)
    }

    /// Fires the signal.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until the signal fires.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means every sender is gone, which cannot happen while `self` holds one.
        let _ = rx.wait_for(|fired| *fired).await;
    }
}
