//! Thread-per-core serving: each worker thread runs its own single-threaded tokio runtime and
//! serves the connections one acceptor hands it in turn.
//!
//! Why not one multi-threaded runtime: a proxied request hops between the client connection's
//! task and the upstream connection's task several times. On a work-stealing runtime those
//! hops often cross threads (a futex wake-up each, and cache lines moving between cores); on
//! one thread they are a queue push. Why one acceptor that deals connections round-robin:
//! when every worker waits on the same listening socket, the kernel wakes whichever is
//! awake, and a burst of connections (a benchmark's 32, a browser's 6) lands on one thread
//! (measured: all of them). SO_REUSEPORT would balance too, but would also let a second
//! `localca proxy` of the same user bind the same port and take half of the connections.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::log;
use crate::serve::Feed;
use crate::shutdown::Shutdown;

/// How many worker threads to run: one per core, at most four (a development server does not
/// need more, and each thread keeps its own upstream connections).
pub fn count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4)
}

/// The worker threads, and the way to hand them connections.
pub struct Workers {
    feeds: Vec<UnboundedSender<(TcpStream, SocketAddr)>>,
    handles: Vec<JoinHandle<io::Result<()>>>,
}

impl Workers {
    /// Starts `threads` workers, each running `serve` (given its [`Feed`]) on a
    /// single-threaded runtime until the future returns.
    pub fn spawn<F, Fut>(threads: usize, serve: F) -> io::Result<Workers>
    where
        F: Fn(Feed) -> Fut + Send + Sync + Clone + 'static,
        Fut: Future<Output = io::Result<()>>,
    {
        let mut workers = Workers { feeds: Vec::new(), handles: Vec::new() };
        for index in 0..threads.max(1) {
            let (feed_tx, feed) = unbounded_channel();
            let serve = serve.clone();
            let handle =
                std::thread::Builder::new().name(format!("localca-worker-{index}")).spawn(move || {
                    let runtime = crate::runtime()?;
                    runtime.block_on(serve(feed))
                })?;
            workers.feeds.push(feed_tx);
            workers.handles.push(handle);
        }
        Ok(workers)
    }

    /// Accepts on `listeners` and deals the connections to the workers in turn, until
    /// `shutdown` fires; then closes the listeners (new connections are refused) and waits for
    /// the workers to drain and stop. Runs on the caller's runtime.
    pub async fn accept(self, listeners: Vec<TcpListener>, shutdown: Shutdown) -> io::Result<()> {
        let feeds: Arc<[UnboundedSender<(TcpStream, SocketAddr)>]> = self.feeds.into();
        let next = Arc::new(AtomicUsize::new(0));
        let mut loops = Vec::new();
        for listener in listeners {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let (feeds, next) = (feeds.clone(), next.clone());
            loops.push(tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, peer)) => {
                            let Ok(stream) = stream.into_std() else { continue };
                            let worker = next.fetch_add(1, Ordering::Relaxed) % feeds.len();
                            let _ = feeds[worker].send((stream, peer));
                        }
                        Err(e) => {
                            // Out of file descriptors and the like: back off instead of spinning.
                            log::warn(&format!("accept failed: {e}"));
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    }
                }
            }));
        }
        shutdown.wait().await;
        for task in &loops {
            task.abort();
        }
        for task in loops {
            let _ = task.await;
        }
        drop(feeds);
        let handles = self.handles;
        let joined = tokio::task::spawn_blocking(move || join(handles)).await;
        joined.unwrap_or_else(|e| Err(io::Error::other(e)))
    }
}

/// Waits for every worker; the first error wins. A worker that panicked is an error too.
fn join(handles: Vec<JoinHandle<io::Result<()>>>) -> io::Result<()> {
    let mut result = Ok(());
    for handle in handles {
        let outcome = handle.join().unwrap_or_else(|_| Err(io::Error::other("a worker thread panicked")));
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}
