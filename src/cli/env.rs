//! `localca env`: the exports that make tools which ignore the OS store trust the root.

use std::io::IsTerminal;

use localca::{CaHome, ENV_VARIABLES};

use super::args::EnvArgs;
use super::Failure;

/// Drops `SSL_CERT_FILE`/`SSL_CERT_DIR` from this process when they point into the CA home (a shell
/// that ran `eval "$(localca env)"`): localca must read the real OS store, never its own env files.
pub fn forget_own_variables(home: &CaHome) {
    for name in localca::native_cert_variables_in(home) {
        // Single-threaded at this point: nothing else reads the environment concurrently.
        std::env::remove_var(name);
    }
}

/// Refreshes the env files after `install` (`trusted` = the root) or `uninstall` (`None`); a
/// failure is a warning: the stores themselves are done.
pub fn refresh_files(home: &CaHome, trusted: Option<&localca::RootCertificate>) {
    forget_own_variables(home);
    if let Err(e) = home.write_env_files(trusted) {
        eprintln!("warning: could not update the files `localca env` points at: {e}");
    }
}

fn default_shell() -> &'static str {
    if cfg!(windows) {
        "powershell"
    } else if std::env::var_os("SHELL").is_some_and(|s| s.to_string_lossy().ends_with("fish")) {
        "fish"
    } else {
        "sh"
    }
}

/// `value` quoted for `shell`, so that any path survives `eval`.
fn quote(shell: &str, value: &str) -> String {
    match shell {
        "fish" => format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'")),
        "powershell" => format!("'{}'", value.replace('\'', "''")),
        _ => format!("'{}'", value.replace('\'', r"'\''")),
    }
}

pub fn run(home: &CaHome, args: EnvArgs) -> Result<(), Failure> {
    let shell: &str = match &args.shell {
        Some(s) => s,
        None => default_shell(),
    };
    if args.unset {
        for v in ENV_VARIABLES {
            match shell {
                "fish" => println!("set -e {}", v.name),
                "powershell" => println!("Remove-Item Env:{} -ErrorAction SilentlyContinue", v.name),
                _ => println!("unset {}", v.name),
            }
        }
        return Ok(());
    }
    forget_own_variables(home);
    let root = home.load_certificate()?;
    let installed = home.is_marked_installed(&root.fingerprint_hex());
    // Refresh now: the OS roots may have changed since `install`, and the files must exist
    // before a client is pointed at them.
    home.write_env_files(installed.then_some(&root))?;
    for v in ENV_VARIABLES {
        let path = home.env_file(v.file);
        let path = quote(shell, &path.to_string_lossy());
        match shell {
            "fish" => println!("set -gx {} {path};", v.name),
            "powershell" => println!("$env:{} = {path}", v.name),
            _ => println!("export {}={path};", v.name),
        }
    }
    if !installed {
        eprintln!(
            "note: the root is not installed, so these files do not contain it yet: run `localca install`"
        );
    } else if std::io::stdout().is_terminal() {
        let how = match shell {
            "fish" => "localca env --shell fish | source",
            "powershell" => "localca env --shell powershell | Invoke-Expression",
            _ => "eval \"$(localca env)\"",
        };
        eprintln!("# to apply: {how}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting_survives_quotes_and_backslashes() {
        assert_eq!(quote("sh", "/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(quote("fish", r"C:\x it's"), r"'C:\\x it\'s'");
        assert_eq!(quote("powershell", r"C:\x it's"), r"'C:\x it''s'");
    }
}
