//! Thread-per-core serving: each worker thread runs its own single-threaded tokio runtime over
//! its own copy of the listening sockets.
//!
//! Why not one multi-threaded runtime: a proxied request hops between the client connection's
//! task and the upstream connection's task several times. On a work-stealing runtime those
//! hops often cross threads (a futex wake-up each, and cache lines moving between cores); on
//! one thread they are a queue push. The kernel spreads new connections over the threads
//! because every thread waits on the same listening socket, so nothing here balances load by
//! hand. Measured with `benches/proxy-compare`: see README.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::thread::JoinHandle;

/// How many worker threads to run: one per core, at most four (a development server does not
/// need more, and each thread keeps its own upstream connections).
pub fn count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4)
}

/// Starts `threads` workers. Each gets its own copies of `listeners` and runs `serve` on a
/// single-threaded runtime until the future returns. Join the handles to wait for all of them.
pub fn spawn<F, Fut>(
    threads: usize,
    listeners: &[TcpListener],
    serve: F,
) -> io::Result<Vec<JoinHandle<io::Result<()>>>>
where
    F: Fn(Vec<TcpListener>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = io::Result<()>>,
{
    let mut handles = Vec::with_capacity(threads);
    for index in 0..threads {
        // Duplicated descriptors of the same sockets: every worker accepts from the same queue.
        let copies = listeners.iter().map(TcpListener::try_clone).collect::<io::Result<Vec<_>>>()?;
        let serve = serve.clone();
        let handle =
            std::thread::Builder::new().name(format!("localca-worker-{index}")).spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(serve(copies))
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

/// Waits for every worker; the first error wins. A worker that panicked is an error too.
pub fn join(handles: Vec<JoinHandle<io::Result<()>>>) -> io::Result<()> {
    let mut result = Ok(());
    for handle in handles {
        let outcome = handle.join().unwrap_or_else(|_| Err(io::Error::other("a worker thread panicked")));
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}
