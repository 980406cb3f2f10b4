//! The `localca` command: parses, calls the library, prints. Exit 0 on success, 1 on failure,
//! 2 on a usage error (clap's, and ours: no names, --days out of range, mkcert's single-dash flags).

mod cli;

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
            cli::run(args)
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
