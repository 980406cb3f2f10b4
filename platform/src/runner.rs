//! A small command runner shared by the stores: finds tools, runs them without a shell, turns
//! failures into [`StoreError`]s that name the command, and goes through `sudo` when a root-owned
//! store must be changed by a normal user.

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::StoreError;

/// Folders searched after `PATH`: normal users on Debian have no `/usr/sbin` in `PATH`, yet
/// `update-ca-certificates` lives there.
#[cfg(not(target_os = "macos"))]
const EXTRA_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
/// On macOS also Homebrew's folders (Apple Silicon, Intel), and its keg of `nss` for certutil:
/// GUI-started shells may lack them in `PATH`.
#[cfg(target_os = "macos")]
const EXTRA_DIRS: &[&str] = &[
    "/usr/sbin",
    "/usr/bin",
    "/opt/homebrew/bin",
    "/usr/local/bin",
    "/opt/homebrew/opt/nss/bin",
    "/usr/local/opt/nss/bin",
];

/// The only folders whose tools run as root through sudo: the system's own, never the user's
/// `PATH` (a `~/bin/update-ca-certificates` would otherwise run as root, bypassing sudo's
/// `secure_path`).
pub const SYSTEM_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Finds `name` on `PATH`, then in the usual system folders.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    if let Ok(path) = which::which(name) {
        return Some(path);
    }
    EXTRA_DIRS.iter().map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// A command: a program and its arguments, passed as separate argv elements (never through a
/// shell), so paths with spaces or quotes need no escaping.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
}

impl Cmd {
    /// A command running `program` (a path, or a name looked up on `PATH` when run).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Cmd { program: program.into(), args: Vec::new() }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The same command run through `sudo` (with `-n` when no password may be asked).
    fn with_sudo(&self, sudo: &Path, non_interactive: bool) -> Cmd {
        let mut cmd = Cmd::new(sudo);
        if non_interactive {
            cmd = cmd.arg("-n");
        }
        cmd.arg("--").arg(&self.program).args(&self.args)
    }

    /// The command as a shell-like line for people to read or paste.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command and returns what it printed, whatever its exit status. Fails only when
    /// it cannot be started.
    pub fn output(&self) -> Result<Output, StoreError> {
        let mut command = Command::new(&self.program);
        // Started while working as the sudo user: the tool runs fully as that user.
        #[cfg(unix)]
        if let Some(user) = crate::privilege::current_user() {
            crate::privilege::run_as(&mut command, user);
        }
        let out = command
            .args(&self.args)
            // Tools print English so the parsers understand them; Java reads these too.
            .env("LC_ALL", "C")
            .env("LANG", "C")
            // Never let a tool wait for input (a certutil password prompt would hang).
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| StoreError::Command { command: self.display(), stderr: e.to_string() })?;
        Ok(Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs the command; a non-zero exit becomes [`StoreError::Command`].
    pub fn run(&self) -> Result<Output, StoreError> {
        let out = self.output()?;
        if out.success {
            Ok(out)
        } else {
            Err(self.failed(&out))
        }
    }

    /// The error for a run that printed `out` and failed.
    pub fn failed(&self, out: &Output) -> StoreError {
        let mut stderr = out.stderr.trim().to_string();
        // Some tools (keytool) report errors on stdout.
        if stderr.is_empty() {
            stderr = out.stdout.trim().to_string();
        }
        StoreError::Command { command: self.display(), stderr }
    }
}

/// `name` in [`SYSTEM_DIRS`], the first found.
pub fn system_tool(name: &str) -> Option<PathBuf> {
    SYSTEM_DIRS.iter().map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}

/// Whether `path` and every folder above it belong to root and nobody else can write them (a
/// JDK's keytool under /usr/lib/jvm, say): a program root may run.
#[cfg(unix)]
fn root_controlled(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(real) = path.canonicalize() else {
        return false;
    };
    real.ancestors().all(|p| std::fs::metadata(p).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0))
}

#[cfg(not(unix))]
fn root_controlled(_path: &Path) -> bool {
    false
}

impl Cmd {
    /// The same command with a program root may run: a root-controlled absolute path as it is,
    /// else the tool of that name from [`SYSTEM_DIRS`]. Anything else is refused.
    fn for_root(&self) -> Result<Cmd, StoreError> {
        if self.program.is_absolute() && root_controlled(&self.program) {
            return Ok(self.clone());
        }
        let name = self.program.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match system_tool(name) {
            Some(program) => Ok(Cmd { program, args: self.args.clone() }),
            None => Err(StoreError::Unexpected(format!(
                "refusing to run {} as root: it is not in {} and not a root-owned path",
                self.program.display(),
                SYSTEM_DIRS.join(", ")
            ))),
        }
    }
}

/// One `localca: …` line on standard error. A closed stderr (`2>&1 | head -1`) is ignored: a
/// message must never abort a store change half-way, as `eprintln!` would by panicking.
pub fn note(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "localca: {message}");
}

/// Quotes `arg` for a POSIX shell when it holds anything but plainly safe characters.
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Runs `cmds` in order with root privileges.
///
/// When `is_root`, they run directly. Otherwise through `sudo`: if stdin is a terminal, one line
/// on stderr says why before sudo asks for a password; without a terminal, only when sudo needs
/// no password. When neither works, returns [`StoreError::NeedsRoot`] listing the exact commands,
/// so the user can run them.
pub fn run_as_root(is_root: bool, store: &str, why: &str, cmds: &[Cmd]) -> Result<Vec<Output>, StoreError> {
    if is_root {
        return cmds.iter().map(Cmd::run).collect();
    }
    let cmds = cmds.iter().map(Cmd::for_root).collect::<Result<Vec<_>, _>>()?;
    let needs_root = || StoreError::NeedsRoot {
        store: store.to_string(),
        commands: cmds.iter().map(|c| format!("sudo {}", c.display())).collect::<Vec<_>>().join(" && "),
    };
    let Some(sudo) = system_tool("sudo") else {
        return Err(needs_root());
    };
    let non_interactive = if std::io::stdin().is_terminal() {
        note(&format!("{why} needs root; running it with sudo"));
        false
    } else if Cmd::new(&sudo).args(["-n", "true"]).run().is_ok() {
        true
    } else {
        return Err(needs_root());
    };
    cmds.iter().map(|c| c.with_sudo(&sudo, non_interactive).run()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_like_a_shell() {
        let cmd = Cmd::new("certutil")
            .args(["-A", "-d", "sql:/home/a b/.pki/nssdb", "-t", "C,,", "-n"])
            .arg("it's");
        assert_eq!(cmd.display(), r"certutil -A -d 'sql:/home/a b/.pki/nssdb' -t C,, -n 'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn failures_name_the_command_and_its_stderr() {
        let err = Cmd::new("sh").args(["-c", "echo oops >&2; exit 3"]).run().unwrap_err();
        match err {
            StoreError::Command { command, stderr } => {
                assert_eq!(command, "sh -c 'echo oops >&2; exit 3'");
                assert_eq!(stderr, "oops");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cmd::new("/nonexistent/tool").output().is_err());
    }

    #[test]
    fn without_sudo_the_error_lists_the_commands() {
        if find_tool("sudo").is_some() {
            eprintln!("SKIPPED: sudo is installed, it would be used");
            return;
        }
        let cmds = [Cmd::new("install").args(["-m", "0644", "/tmp/a b", "/x"]), Cmd::new("true")];
        match run_as_root(false, "system", "testing", &cmds) {
            Err(StoreError::NeedsRoot { store, commands }) => {
                assert_eq!(store, "system");
                assert_eq!(commands, "sudo /usr/bin/install -m 0644 '/tmp/a b' /x && sudo /usr/bin/true");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn root_runs_only_system_tools() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("update-ca-certificates");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        // A tool from a folder the user controls becomes the system's tool of that name, or is refused.
        let echo = Cmd::new(dir.path().join("echo")).arg("x").for_root().unwrap();
        assert!(SYSTEM_DIRS.iter().any(|d| echo.program == Path::new(d).join("echo")), "{echo:?}");
        let planted = Cmd::new(dir.path().join("no-such-system-tool")).for_root();
        assert!(matches!(planted, Err(StoreError::Unexpected(m)) if m.contains("refusing to run")));
        // A root-owned absolute path (when the tests run as root, the temp folder is not one).
        let sh = Cmd::new("/bin/sh").for_root().unwrap();
        assert!(sh.program.is_absolute());
    }

    #[test]
    fn root_runs_directly() {
        let outs = run_as_root(true, "test", "testing", &[Cmd::new("echo").arg("hi")]).unwrap();
        assert_eq!(outs[0].stdout, "hi\n");
    }
}
