//! `acme serve --install-service` / `--uninstall-service`: keep the ACME server running as a
//! systemd user unit (Linux) or a launchd agent (macOS). The macOS agent is written the same way;
//! launchd itself cannot run here (no macOS machine in CI), so its plist is checked with a real
//! plist parser (Python's plistlib) instead.

use std::path::PathBuf;
use std::process::Command;

use localca::{CaHome, Identity, Mode};

use super::super::args::AcmeServeArgs;
use super::super::Failure;

const UNIT: &str = "localca-acme.service";
const AGENT: &str = "dev.localca.acme";

/// The service file's path on this platform.
fn service_path() -> Result<PathBuf, Failure> {
    let dirs = directories::BaseDirs::new()
        .ok_or_else(|| Failure::new("cannot find the home folder for the service file", Some("set HOME")))?;
    Ok(if cfg!(target_os = "macos") {
        dirs.home_dir().join("Library/LaunchAgents").join(format!("{AGENT}.plist"))
    } else {
        dirs.config_dir().join("systemd/user").join(UNIT)
    })
}

/// The command line the service runs: this binary, the same options, quiet.
fn service_args(args: &AcmeServeArgs) -> Vec<String> {
    let mut list = vec![
        "acme".to_string(),
        "serve".into(),
        "--listen".into(),
        args.listen.to_string(),
        "--http-01-port".into(),
        args.http_01_port.to_string(),
        "--tls-alpn-01-port".into(),
        args.tls_alpn_01_port.to_string(),
        "--quiet".into(),
    ];
    if let Some(days) = args.days {
        list.extend(["--days".into(), days.to_string()]);
    }
    list
}

pub fn install(_identity: &Identity, home: &CaHome, args: &AcmeServeArgs) -> Result<(), Failure> {
    home.load_certificate()?; // a service for a CA that does not exist would only fail at start
    let exe = std::env::current_exe()
        .map_err(|e| Failure::new(format!("cannot find the localca binary: {e}"), None))?;
    let path = service_path()?;
    let text = if cfg!(target_os = "macos") {
        launchd_plist(&exe, &service_args(args), home)
    } else {
        systemd_unit(&exe, &service_args(args), home)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Failure::new(format!("{}: {e}", dir.display()), None))?;
    }
    localca::write_file_atomically(&path, text.as_bytes(), Mode::Public, None)?;
    println!("Wrote {}", path.display());
    let steps: Vec<Vec<String>> = if cfg!(target_os = "macos") {
        vec![vec!["launchctl".into(), "load".into(), "-w".into(), path.display().to_string()]]
    } else {
        vec![
            vec!["systemctl".into(), "--user".into(), "daemon-reload".into()],
            vec!["systemctl".into(), "--user".into(), "enable".into(), "--now".into(), UNIT.into()],
        ]
    };
    run_steps(&steps, "start it")
}

pub fn uninstall() -> Result<(), Failure> {
    let path = service_path()?;
    if !path.exists() {
        println!("No ACME service installed ({} does not exist)", path.display());
        return Ok(());
    }
    let stop: Vec<Vec<String>> = if cfg!(target_os = "macos") {
        vec![vec!["launchctl".into(), "unload".into(), "-w".into(), path.display().to_string()]]
    } else {
        vec![vec!["systemctl".into(), "--user".into(), "disable".into(), "--now".into(), UNIT.into()]]
    };
    let stopped = run_steps(&stop, "stop it");
    std::fs::remove_file(&path).map_err(|e| Failure::new(format!("{}: {e}", path.display()), None))?;
    println!("Removed {}", path.display());
    if !cfg!(target_os = "macos") {
        let _ = Command::new("systemctl").args(["--user", "daemon-reload"]).output();
    }
    stopped
}

/// Runs the service manager's commands; when it is not there (a container, no user session),
/// says what to run instead. The file is in place either way.
fn run_steps(steps: &[Vec<String>], what: &str) -> Result<(), Failure> {
    for step in steps {
        let outcome = Command::new(&step[0]).args(&step[1..]).output();
        let failed = match &outcome {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("").to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = failed {
            let commands: Vec<String> = steps.iter().map(|s| s.join(" ")).collect();
            eprintln!(
                "note: `{}` failed ({why}); {what} in your desktop session with: {}",
                step.join(" "),
                commands.join(" && ")
            );
            return Ok(());
        }
    }
    println!("Done: `{}`", steps.iter().map(|s| s.join(" ")).collect::<Vec<_>>().join(" && "));
    Ok(())
}

fn systemd_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%"))
}

fn systemd_unit(exe: &std::path::Path, args: &[String], home: &CaHome) -> String {
    let command: Vec<String> = std::iter::once(exe.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| systemd_quote(&a))
        .collect();
    format!(
        "# Written by `localca acme serve --install-service`; removed by --uninstall-service.\n\
         [Unit]\n\
         Description=localca ACME server (certificates from the local development CA)\n\
         After=network.target\n\n\
         [Service]\n\
         ExecStart={}\n\
         Environment={}\n\
         Restart=on-failure\n\n\
         [Install]\n\
         WantedBy=default.target\n",
        command.join(" "),
        systemd_quote(&format!("LOCALCA_HOME={}", home.path().display()))
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn launchd_plist(exe: &std::path::Path, args: &[String], home: &CaHome) -> String {
    let program: String = std::iter::once(exe.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| format!("    <string>{}</string>\n", xml_escape(&a)))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
         \x20 <key>Label</key><string>{AGENT}</string>\n\
         \x20 <key>ProgramArguments</key>\n  <array>\n{program}  </array>\n\
         \x20 <key>EnvironmentVariables</key>\n  <dict><key>LOCALCA_HOME</key><string>{}</string></dict>\n\
         \x20 <key>RunAtLoad</key><true/>\n\
         \x20 <key>KeepAlive</key><true/>\n\
         </dict>\n</plist>\n",
        xml_escape(&home.path().display().to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// launchd cannot run here, but the agent's plist can go through a real plist parser
    /// (Python's plistlib): awkward paths and arguments must come back exactly.
    #[test]
    fn launchd_plist_parses_back_to_the_same_command() {
        let exe = std::path::Path::new("/Users/a&b <c>/bin/local\"ca");
        let args = vec!["acme".to_string(), "serve".into(), "--listen".into(), "127.0.0.1:14000".into()];
        let home = CaHome::at("/Users/a&b <c>/Library/Application Support/localca");
        let plist = launchd_plist(exe, &args, &home);
        let script = "import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (tests/run installs it)");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(plist.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "plistlib refused the plist:\n{plist}");
        let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(parsed["Label"], AGENT);
        let program: Vec<&str> =
            parsed["ProgramArguments"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(program, ["/Users/a&b <c>/bin/local\"ca", "acme", "serve", "--listen", "127.0.0.1:14000"]);
        assert_eq!(
            parsed["EnvironmentVariables"]["LOCALCA_HOME"],
            "/Users/a&b <c>/Library/Application Support/localca"
        );
        assert_eq!((parsed["RunAtLoad"].as_bool(), parsed["KeepAlive"].as_bool()), (Some(true), Some(true)));
    }
}
