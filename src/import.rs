//! Where another tool keeps its CA, for `localca ca import`.

use std::path::PathBuf;

/// mkcert's CA folder, as `mkcert -CAROOT` prints it: `$CAROOT` when set, else `mkcert` in the
/// platform's data folder (`$XDG_DATA_HOME` or `~/.local/share` on Linux, `~/Library/Application
/// Support` on macOS, `%LOCALAPPDATA%` on Windows).
pub fn mkcert_caroot() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CAROOT").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::BaseDirs::new().map(|d| d.data_local_dir().join("mkcert"))
}
