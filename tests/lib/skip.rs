/// Records that a test did not run its checks, and why: printed now, and appended to the file named by
/// `$LOCALCA_SKIP_LOG` (one `kind\ttest\treason` line) so `tests/run` lists every skip in its summary.
/// `fixable` says whether `tests/run` could have removed the reason (a package it installs, root it has);
/// under `CI=true` such a skip fails the run.
pub fn skip(test: &str, reason: &str, fixable: bool) {
    eprintln!("SKIPPED {test}: {reason}");
    if let Ok(log) = std::env::var("LOCALCA_SKIP_LOG") {
        use std::io::Write;
        let kind = if fixable { "fixable" } else { "env" };
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
            let _ = writeln!(f, "{kind}\t{test}\t{reason}");
        }
    }
}
