//! A store-like entry that only gives advice: a place that needs the root but that localca cannot
//! (or should not) change itself, such as the Windows store seen from WSL or a Firefox profile
//! that ignores the OS store. `detect()` is always Absent with the reason and the fix, so `status`
//! shows them and `install` skips it.

use crate::{Detection, FoundRoot, RootCert, StoreError, TrustStore};

/// An entry that is never installed into: it tells people what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdviceStore {
    kind: &'static str,
    location: String,
    reason: String,
    fix: Option<String>,
}

impl AdviceStore {
    /// An entry of `kind` for `location`, Absent with `reason` and `fix`.
    pub fn new(kind: &'static str, location: String, reason: String, fix: Option<String>) -> AdviceStore {
        AdviceStore { kind, location, reason, fix }
    }
}

impl TrustStore for AdviceStore {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn detect(&self) -> Detection {
        Detection::Absent { reason: self.reason.clone(), fix: self.fix.clone() }
    }

    /// Unknown to us, so reported as not installed.
    fn is_installed(&self, _root: &RootCert) -> Result<bool, StoreError> {
        Ok(false)
    }

    fn install(&self, _root: &RootCert) -> Result<(), StoreError> {
        let fix = self.fix.as_deref().map(|f| format!("; {f}")).unwrap_or_default();
        Err(StoreError::Unexpected(format!("{}: {}{fix}", self.location, self.reason)))
    }

    /// Nothing was installed by us here.
    fn uninstall(&self, _root: &RootCert) -> Result<(), StoreError> {
        Ok(())
    }

    fn localca_roots(&self) -> Result<Vec<FoundRoot>, StoreError> {
        Ok(Vec::new())
    }
}

/// Whether a Linux kernel release string (`/proc/sys/kernel/osrelease`) is WSL's:
/// `5.15.153.1-microsoft-standard-WSL2`, or `4.4.0-19041-Microsoft` for WSL 1.
pub fn is_wsl_release(osrelease: &str) -> bool {
    let lower = osrelease.to_lowercase();
    lower.contains("microsoft") || lower.contains("wsl")
}

/// Whether we run inside WSL.
pub fn running_in_wsl() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|r| is_wsl_release(&r)).unwrap_or(false)
}

/// The PowerShell line that imports the exported root into the Windows user's store.
pub const WSL_IMPORT_COMMAND: &str =
    r"Import-Certificate -FilePath root.cer -CertStoreLocation Cert:\CurrentUser\Root";

/// The entry shown under WSL: Windows browsers use the Windows store, which Linux tools cannot
/// change; the fix exports the root and imports it from PowerShell.
pub fn wsl_windows_store() -> AdviceStore {
    AdviceStore::new(
        "windows",
        r"Windows certificate store (Cert:\CurrentUser\Root), seen from WSL".into(),
        "running inside WSL: browsers on the Windows side use the Windows certificate store, which \
         localca cannot change from Linux"
            .into(),
        Some(format!(
            "run `localca ca export --der --out root.cer`, then in PowerShell (in that folder): \
             {WSL_IMPORT_COMMAND}"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_wsl_kernels() {
        assert!(is_wsl_release("5.15.153.1-microsoft-standard-WSL2\n"));
        assert!(is_wsl_release("4.4.0-19041-Microsoft\n"));
        assert!(!is_wsl_release("6.1.0-18-amd64\n"));
    }

    #[test]
    fn advice_is_absent_and_uninstall_succeeds() {
        let store = wsl_windows_store();
        let root = RootCert {
            der: vec![0x30],
            sha256_hex: "00".into(),
            nickname: "localca x".into(),
            pem_file: None,
        };
        match store.detect() {
            Detection::Absent { reason, fix } => {
                assert!(reason.contains("Windows certificate store"));
                let fix = fix.unwrap();
                assert!(fix.contains("localca ca export --der --out root.cer"));
                assert!(fix.ends_with(WSL_IMPORT_COMMAND));
            }
            other => panic!("advice is always absent, got {other:?}"),
        }
        assert!(!store.is_installed(&root).unwrap());
        assert!(store.install(&root).is_err());
        store.uninstall(&root).unwrap();
        assert!(store.localca_roots().unwrap().is_empty());
    }
}
