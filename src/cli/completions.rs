//! `localca completions SHELL` and `localca man`: generated from the clap definition, so they never
//! drift from the real options.

use std::io::Write;

use clap::CommandFactory;

use super::args::Cli;
use super::Failure;

fn written(result: std::io::Result<()>) -> Result<(), Failure> {
    result.map_err(|e| Failure::new(format!("writing to standard output: {e}"), None))
}

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "localca", &mut out);
    written(std::io::stdout().write_all(&out))
}

/// Prints the manual page, with a section for every subcommand.
pub fn man() -> Result<(), Failure> {
    let mut command = Cli::command();
    command.build();
    let mut out = Vec::new();
    written(clap_mangen::Man::new(command.clone()).render(&mut out))?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_string();
        written(writeln!(out, ".SH \"LOCALCA {}\"", name.to_uppercase()))?;
        if let Some(about) = sub.get_about() {
            written(writeln!(out, "{}", roff_escape(&about.to_string())))?;
        }
        let mut section = Vec::new();
        written(clap_mangen::Man::new(sub.clone()).render_options_section(&mut section))?;
        // The options section comes with its own .SH OPTIONS header; keep it as a subsection.
        let section = String::from_utf8_lossy(&section).replacen(".SH OPTIONS", ".SS Options", 1);
        written(out.write_all(section.as_bytes()))?;
    }
    written(std::io::stdout().write_all(&out))
}

fn roff_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .lines()
        .map(|l| if l.starts_with(['.', '\'']) { format!("\\&{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}
