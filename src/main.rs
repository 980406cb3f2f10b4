//! The `localca` command: parses, calls the library, prints. Exit 0 on success, 1 on failure,
//! 2 on a usage error (clap's own).

// Printing that never panics on a closed pipe (see console.rs). Defined before the modules so
// that they replace std's macros everywhere in this binary.
macro_rules! println {
    () => { $crate::console::out(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::console::out(format_args!($($arg)*), true) };
}
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::out(format_args!($($arg)*), false) };
}
macro_rules! eprintln {
    () => { $crate::console::err(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::console::err(format_args!($($arg)*), true) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::console::err(format_args!($($arg)*), false) };
}

mod cli;
mod console;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    let result = cli::run(args).and_then(|()| match console::stdout_error() {
        Some(e) => Err(cli::Failure { message: format!("writing to standard output: {e}"), hint: None }),
        None => Ok(()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            if let Some(hint) = failure.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(1)
        }
    }
}
