//! Standard output and error that never panic.
//!
//! `std`'s `println!` panics when the reader went away (`localca ca show --json | head -c1`), and a
//! panic while printing the panic to a closed stderr aborts: the command dies in the middle of its
//! work, perhaps between two trust stores. Here a closed pipe (EPIPE) only stops the printing: the
//! work goes on and the exit code is the command's own. Any other write error (a full disk behind
//! `> file`) is remembered, and `main` reports it once the command is done.
//!
//! `main.rs` defines `println!`, `print!`, `eprintln!` and `eprint!` on top of these functions,
//! before any other module, so the whole command line uses them.

use std::fmt::Arguments;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A stream that stopped taking output, and why (`None` in the error slot: a closed pipe).
struct Stream {
    gone: AtomicBool,
    error: Mutex<Option<io::Error>>,
}

static STDOUT: Stream = Stream { gone: AtomicBool::new(false), error: Mutex::new(None) };
static STDERR: Stream = Stream { gone: AtomicBool::new(false), error: Mutex::new(None) };

/// Prints to standard output; after a write error, prints nothing more there.
pub fn out(args: Arguments<'_>, newline: bool) {
    let _ = write(&STDOUT, &mut io::stdout().lock(), |w| w.write_fmt(args), newline);
}

/// Prints to standard error; after a write error, prints nothing more there.
pub fn err(args: Arguments<'_>, newline: bool) {
    let _ = write(&STDERR, &mut io::stderr().lock(), |w| w.write_fmt(args), newline);
}

/// Writes raw bytes (a DER certificate) to standard output. A closed pipe is not an error; any
/// other write error is returned.
pub fn out_bytes(bytes: &[u8]) -> io::Result<()> {
    write(&STDOUT, &mut io::stdout().lock(), |w| w.write_all(bytes), false)
}

/// The write error standard output met, other than a closed pipe, if any.
pub fn stdout_error() -> Option<io::Error> {
    STDOUT.error.lock().ok()?.take()
}

fn write(
    stream: &Stream,
    w: &mut dyn Write,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    newline: bool,
) -> io::Result<()> {
    if stream.gone.load(Ordering::Relaxed) {
        return Ok(());
    }
    let result =
        body(w).and_then(|()| if newline { w.write_all(b"\n") } else { Ok(()) }).and_then(|()| w.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            stream.gone.store(true, Ordering::Relaxed);
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            let kind = e.kind();
            let text = e.to_string();
            if let Ok(mut slot) = stream.error.lock() {
                slot.get_or_insert(e);
            }
            Err(io::Error::new(kind, text))
        }
    }
}
