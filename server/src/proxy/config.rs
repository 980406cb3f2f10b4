//! The `--config` file: routes in TOML, read at start and polled for changes.
//!
//! ```toml
//! [routes]
//! "myapp.test" = 3000
//! "api.myapp.test" = "127.0.0.1:8080"
//! "*.preview.test" = "http://localhost:5173"
//! ```
//!
//! Polling (twice a second, comparing the bytes) rather than file-system events: it sees
//! editors that replace the file by renaming, works on every file system and platform, and
//! needs no extra crate; half a second is quick enough for a person editing a file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;

use super::routes::{NameCheck, Route, RouteTable};
use crate::log;
use crate::shutdown::Shutdown;

/// How often the file is looked at.
const POLL: Duration = Duration::from_millis(500);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    routes: toml::Table,
}

/// Reads the routes of a config file. The error is one line naming the file.
pub fn load(path: &Path, check: &NameCheck) -> Result<Vec<Route>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, check).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(text: &str, check: &NameCheck) -> Result<Vec<Route>, String> {
    let file: File = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
    file.routes
        .iter()
        .map(|(name, value)| {
            let upstream = match value {
                toml::Value::Integer(port) => port.to_string(),
                toml::Value::String(s) => s.clone(),
                _ => return Err(format!("route {name:?}: the upstream must be a port or a string")),
            };
            Route::new(name, &upstream, check)
        })
        .collect()
}

fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Watches `path` and replaces the routes in `table` (the command line's `fixed` routes plus
/// the file's) whenever its contents change and still make a valid table. A broken file is
/// reported once and the routes in force stay.
pub async fn watch(
    path: PathBuf,
    fixed: Vec<Route>,
    check: NameCheck,
    table: Arc<RwLock<Arc<RouteTable>>>,
    shutdown: Shutdown,
) {
    let mut last = std::fs::read(&path).ok();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.wait() => return,
        }
        let now = std::fs::read(&path).ok();
        if now == last {
            continue;
        }
        last = now;
        let routes = load(&path, &check)
            .and_then(|routes| RouteTable::new(fixed.iter().cloned().chain(routes).collect()));
        match routes {
            Ok(new) => {
                log::info(&format!("{}: reloaded, {} routes", path.display(), new.routes().len()));
                for route in new.routes() {
                    log::info(&format!("  https://{} -> {}", route.name, route.upstream));
                }
                *table.write().expect("routes lock") = Arc::new(new);
            }
            Err(e) => log::warn(&format!("{e}; keeping the previous routes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ports_and_strings_and_refuses_unknown_keys() {
        let check: NameCheck = Arc::new(|n: &str| Ok(n.to_string()));
        let routes = parse("[routes]\n\"a.test\" = 3000\n\"b.test\" = \"https://x.test\"\n", &check).unwrap();
        assert_eq!(routes.len(), 2);
        assert!(parse("[routes]\n\"a.test\" = true\n", &check).is_err());
        assert!(parse("rooutes = 1\n", &check).unwrap_err().contains("rooutes"));
    }
}
