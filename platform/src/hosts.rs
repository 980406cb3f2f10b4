//! The hosts file's localca block: names mapped to 127.0.0.1 and ::1 between two marker lines.
//! Every byte outside the block stays as it was; the file keeps its owner and mode.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// The first line of the block.
pub const BEGIN: &str = "# BEGIN localca: names for local development (managed by `localca hosts`)";
/// The last line of the block.
pub const END: &str = "# END localca";

/// The hosts file of this system (`LOCALCA_HOSTS_FILE` overrides it, for tests).
pub fn default_path() -> PathBuf {
    if let Some(path) = std::env::var_os("LOCALCA_HOSTS_FILE") {
        return PathBuf::from(path);
    }
    #[cfg(windows)]
    {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        PathBuf::from(root).join("System32\\drivers\\etc\\hosts")
    }
    #[cfg(not(windows))]
    PathBuf::from("/etc/hosts")
}

/// The block's position in `text`: byte range from the start of BEGIN's line to the end of
/// END's line (its newline included).
fn block_range(text: &str) -> Option<(usize, usize)> {
    let start = line_start(text, |l| l.starts_with(BEGIN))?;
    let end_line = start + line_start(&text[start..], |l| l == END)?;
    let end = text[end_line..].find('\n').map_or(text.len(), |i| end_line + i + 1);
    Some((start, end))
}

fn line_start(text: &str, is_it: impl Fn(&str) -> bool) -> Option<usize> {
    let mut offset = 0;
    for l in text.split_inclusive('\n') {
        if is_it(l.trim_end_matches(['\n', '\r'])) {
            return Some(offset);
        }
        offset += l.len();
    }
    None
}

/// The names in the block, sorted.
pub fn managed_names(text: &str) -> BTreeSet<String> {
    let Some((start, end)) = block_range(text) else { return BTreeSet::new() };
    text[start..end]
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::to_string)
        .collect()
}

/// `text` with the block holding exactly `names` (no block when empty). A block is added at
/// the end; when the file did not end in a newline, the block's first line says so, and
/// removing the block takes that newline away again.
pub fn with_names(text: &str, names: &BTreeSet<String>) -> String {
    let added_newline = format!("{BEGIN} (newline added)");
    let (before, after) = match block_range(text) {
        Some((start, end)) if text[start..].starts_with(&added_newline) => {
            (text[..start].strip_suffix('\n').unwrap_or(&text[..start]), &text[end..])
        }
        Some((start, end)) => (&text[..start], &text[end..]),
        None => (text, ""),
    };
    if names.is_empty() {
        return format!("{before}{after}");
    }
    let mut out = before.to_string();
    let begin = if out.is_empty() || out.ends_with('\n') {
        BEGIN.to_string()
    } else {
        out.push('\n');
        added_newline
    };
    out.push_str(&begin);
    out.push('\n');
    for name in names {
        out.push_str(&format!("127.0.0.1\t{name}\n::1\t{name}\n"));
    }
    out.push_str(END);
    out.push('\n');
    out.push_str(after);
    out
}

/// Writes `text` over the hosts file at `path`, keeping its owner and mode: a temporary file
/// renamed over it, or, where the file is a mount point (containers, test sandboxes) and
/// cannot be replaced, rewritten in place.
pub fn write(path: &Path, text: &str) -> Result<(), StoreError> {
    let io = |source| StoreError::Io { path: path.to_path_buf(), source };
    let meta = fs::metadata(path).map_err(io)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".localca-hosts-{}.tmp", std::process::id()));
    let replaced = (|| -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.set_permissions(meta.permissions())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()))?;
        }
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    match replaced {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            // EBUSY / EXDEV: a bind-mounted file cannot be renamed over; write it in place.
            if matches!(e.raw_os_error(), Some(16) | Some(18)) {
                let mut file = fs::OpenOptions::new().write(true).truncate(true).open(path).map_err(io)?;
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)
            } else {
                Err(io(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn add_and_remove_leave_other_bytes_alone() {
        for original in ["127.0.0.1 localhost\n# me\n", "127.0.0.1 localhost", "", "a\r\nb\r\n"] {
            let added = with_names(original, &set(&["b.test", "a.test"]));
            assert!(added.starts_with(original.trim_end_matches('\n')), "{added:?}");
            assert_eq!(managed_names(&added), set(&["a.test", "b.test"]));
            let changed = with_names(&added, &set(&["a.test"]));
            assert_eq!(managed_names(&changed), set(&["a.test"]));
            assert_eq!(with_names(&changed, &set(&[])), original);
        }
    }

    #[test]
    fn block_in_the_middle_stays_in_place() {
        let text = format!("x\n{BEGIN}\n127.0.0.1\ta.test\n::1\ta.test\n{END}\ny\n");
        assert_eq!(with_names(&text, &set(&[])), "x\ny\n");
        assert_eq!(
            with_names(&text, &set(&["c.test"])),
            format!("x\n{BEGIN}\n127.0.0.1\tc.test\n::1\tc.test\n{END}\ny\n")
        );
    }
}
