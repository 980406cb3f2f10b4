//! The `localca` command: parses, calls the library, prints. Exit 0 on success, 1 on failure,
//! 2 on a usage error (clap's, and ours: no names, --days out of range, mkcert's single-dash flags).

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
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = match cli::mkcert::single_dash_flag(&argv) {
        Some(failure) => Err(failure),
        None => {
            let trust_stores_note = cli::mkcert::adopt_trust_stores();
            let args = cli::args::Cli::parse_from(argv);
            if args.command.uses_stores() {
                if let Some(note) = trust_stores_note {
                    eprintln!("{note}");
                }
            }
            cli::run(args).and_then(|()| match console::stdout_error() {
                Some(e) => Err(cli::Failure::new(format!("writing to standard output: {e}"), None)),
                None => Ok(()),
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            if let Some(hint) = failure.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(failure.code)
        }
    }
}
