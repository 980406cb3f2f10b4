//! Windows: the `Root` certificate store, changed through crypt32.
//!
//! [`Scope::User`] uses `CurrentUser\Root` (no administrator rights; Windows itself asks the
//! user to confirm each add and delete in a dialog), [`Scope::Machine`] uses
//! `LocalMachine\Root` (an elevated process). Our root is found by comparing each certificate's
//! DER bytes with ours, never by a hash property (not every provider computes one), and every
//! change is committed (`CERT_STORE_CTRL_COMMIT`) so it persists for other processes.

use std::ffi::c_void;
use std::path::PathBuf;
use std::ptr;

use windows_sys::Win32::Security::Cryptography::{
    CertAddEncodedCertificateToStore, CertCloseStore, CertControlStore, CertDeleteCertificateFromStore,
    CertDuplicateCertificateContext, CertEnumCertificatesInStore, CertFreeCertificateContext,
    CertGetCertificateContextProperty, CertGetNameStringW, CertOpenStore, CertSetCertificateContextProperty,
    CERT_CONTEXT, CERT_FRIENDLY_NAME_PROP_ID, CERT_NAME_SIMPLE_DISPLAY_TYPE, CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_CTRL_COMMIT, CERT_STORE_PROV_SYSTEM_W, CERT_STORE_READONLY_FLAG,
    CERT_SYSTEM_STORE_CURRENT_USER, CERT_SYSTEM_STORE_LOCAL_MACHINE, CRYPT_INTEGER_BLOB, HCERTSTORE,
    PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

use crate::advice::AdviceStore;
use crate::context::{Scope, StoreContext};
use crate::firefox::{firefox_profiles, ProfileTrust, ENTERPRISE_ROOTS_PREF};
use crate::java;
use crate::{Detection, FoundRoot, RootCert, StoreError, TrustStore};

const ENCODING: u32 = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;

/// `ERROR_CANCELLED`: the user answered No in Windows' confirmation dialog.
const ERROR_CANCELLED: i32 = 1223;

/// A UTF-16, NUL-terminated copy of `s`.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn store_name(scope: Scope) -> &'static str {
    match scope {
        Scope::User => r"CurrentUser\Root",
        Scope::Machine => r"LocalMachine\Root",
    }
}

/// The last Win32 error of a crypt32 call, as a [`StoreError`] naming the call.
fn last_error(call: &str, scope: Scope) -> StoreError {
    let err = std::io::Error::last_os_error();
    let stderr = if err.raw_os_error() == Some(ERROR_CANCELLED) {
        "the confirmation dialog was declined".to_string()
    } else {
        err.to_string()
    };
    StoreError::Command { command: format!("{call} ({})", store_name(scope)), stderr }
}

/// An open system store, closed on drop.
struct Store {
    handle: HCERTSTORE,
    scope: Scope,
}

impl Store {
    /// Opens the `Root` system store of `scope`; `write` asks for write access (which fails
    /// without elevation for the machine store).
    fn open(scope: Scope, write: bool) -> Result<Store, StoreError> {
        let location = match scope {
            Scope::User => CERT_SYSTEM_STORE_CURRENT_USER,
            Scope::Machine => CERT_SYSTEM_STORE_LOCAL_MACHINE,
        };
        // Not CERT_STORE_OPEN_EXISTING_FLAG: a fresh profile (a new wine prefix) may have no
        // registry key for the user's Root store yet; opening creates it, as Windows does.
        let mut flags = location;
        if !write {
            flags |= CERT_STORE_READONLY_FLAG;
        }
        let name = wide("Root");
        // SAFETY: the provider is the system-store one, whose parameter is a NUL-terminated
        // UTF-16 name that outlives the call.
        let handle = unsafe { CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, name.as_ptr().cast()) };
        if handle.is_null() {
            return Err(last_error("CertOpenStore", scope));
        }
        Ok(Store { handle, scope })
    }

    /// Calls `f` with each certificate in the store, until it returns `false`. The context is
    /// only valid during the call.
    fn each(&self, mut f: impl FnMut(*const CERT_CONTEXT) -> bool) {
        let mut ctx: *const CERT_CONTEXT = ptr::null();
        loop {
            // SAFETY: `ctx` is null or the previous context of this enumeration, which the call
            // frees; the store handle is open.
            ctx = unsafe { CertEnumCertificatesInStore(self.handle, ctx) };
            if ctx.is_null() {
                return;
            }
            if !f(ctx) {
                // SAFETY: ending the enumeration early: free the context it returned.
                unsafe { CertFreeCertificateContext(ctx) };
                return;
            }
        }
    }

    /// Every certificate of the store: (DER, friendly name or subject name).
    fn certificates(&self) -> Vec<(Vec<u8>, String)> {
        let mut certs = Vec::new();
        self.each(|ctx| {
            // SAFETY: `ctx` is a valid context from the enumeration.
            certs.push(unsafe { (der_of(ctx).to_vec(), label_of(ctx)) });
            true
        });
        certs
    }

    /// How many certificates hold exactly `der`.
    fn count(&self, der: &[u8]) -> usize {
        let mut n = 0;
        self.each(|ctx| {
            // SAFETY: `ctx` is a valid context from the enumeration.
            if unsafe { der_of(ctx) } == der {
                n += 1;
            }
            true
        });
        n
    }

    /// Persists changes (the system-store providers already did on real Windows; the call is
    /// then a no-op, but a delete under wine needs it).
    fn commit(&self) -> Result<(), StoreError> {
        // SAFETY: open store handle; COMMIT takes no parameter.
        let ok = unsafe { CertControlStore(self.handle, 0, CERT_STORE_CTRL_COMMIT, ptr::null()) };
        if ok == 0 {
            return Err(last_error("CertControlStore(COMMIT)", self.scope));
        }
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by CertOpenStore and is closed once.
        unsafe { CertCloseStore(self.handle, 0) };
    }
}

/// The DER bytes of a certificate context.
///
/// # Safety
/// `ctx` must be a valid certificate context; the slice lives as long as it does.
unsafe fn der_of<'a>(ctx: *const CERT_CONTEXT) -> &'a [u8] {
    let c = &*ctx;
    if c.pbCertEncoded.is_null() {
        return &[];
    }
    std::slice::from_raw_parts(c.pbCertEncoded, c.cbCertEncoded as usize)
}

/// The friendly name of a certificate if it has one, else its subject's simple display name.
///
/// # Safety
/// `ctx` must be a valid certificate context.
unsafe fn label_of(ctx: *const CERT_CONTEXT) -> String {
    let mut size: u32 = 0;
    if CertGetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID, ptr::null_mut(), &mut size) != 0
        && size >= 2
    {
        let mut buf = vec![0u16; size as usize / 2];
        if CertGetCertificateContextProperty(
            ctx,
            CERT_FRIENDLY_NAME_PROP_ID,
            buf.as_mut_ptr().cast(),
            &mut size,
        ) != 0
        {
            let name = String::from_utf16_lossy(&buf).trim_end_matches('\0').to_string();
            if !name.is_empty() {
                return name;
            }
        }
    }
    let len = CertGetNameStringW(ctx, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, ptr::null(), ptr::null_mut(), 0);
    if len <= 1 {
        return String::new();
    }
    let mut buf = vec![0u16; len as usize];
    CertGetNameStringW(ctx, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, ptr::null(), buf.as_mut_ptr(), len);
    String::from_utf16_lossy(&buf).trim_end_matches('\0').to_string()
}

/// The `Root` certificate store of the current user or of the machine.
#[derive(Debug, Clone)]
pub struct WindowsStore {
    scope: Scope,
}

impl WindowsStore {
    /// The store of `scope`.
    pub fn new(scope: Scope) -> WindowsStore {
        WindowsStore { scope }
    }

    /// The one line printed before Windows shows its confirmation dialog (user store only).
    fn announce(&self, what: &str) {
        if self.scope == Scope::User {
            crate::runner::note(&format!(
                "Windows will ask you to confirm {what} the root certificate; answer Yes"
            ));
        }
    }
}

impl TrustStore for WindowsStore {
    fn kind(&self) -> &'static str {
        "system"
    }

    fn location(&self) -> String {
        format!(r"Windows certificate store {}", store_name(self.scope))
    }

    fn detect(&self) -> Detection {
        match Store::open(self.scope, self.scope == Scope::Machine) {
            Ok(_) => Detection::Present,
            Err(e) => Detection::Absent {
                reason: e.to_string(),
                fix: (self.scope == Scope::Machine)
                    .then(|| "run localca from an elevated (administrator) shell".to_string()),
            },
        }
    }

    /// A certificate of the store holds exactly our root's bytes.
    fn is_installed(&self, root: &RootCert) -> Result<bool, StoreError> {
        Ok(Store::open(self.scope, false)?.count(&root.der) > 0)
    }

    fn install(&self, root: &RootCert) -> Result<(), StoreError> {
        if self.is_installed(root)? {
            return Ok(());
        }
        let store = Store::open(self.scope, true)?;
        let len = u32::try_from(root.der.len())
            .map_err(|_| StoreError::Unexpected("certificate too large".into()))?;
        self.announce("adding");
        let mut added: *mut CERT_CONTEXT = ptr::null_mut();
        // SAFETY: the DER buffer outlives the call; `added` receives a context we free below.
        let ok = unsafe {
            CertAddEncodedCertificateToStore(
                store.handle,
                ENCODING,
                root.der.as_ptr(),
                len,
                CERT_STORE_ADD_REPLACE_EXISTING,
                &mut added,
            )
        };
        if ok == 0 {
            return Err(last_error("CertAddEncodedCertificateToStore", self.scope));
        }
        let name = wide(&root.nickname);
        let blob = CRYPT_INTEGER_BLOB { cbData: (name.len() * 2) as u32, pbData: name.as_ptr() as *mut u8 };
        // SAFETY: `added` is the context the add returned; the blob points at `name`, alive here.
        // A missing friendly name is cosmetic, so its result is not checked.
        unsafe {
            CertSetCertificateContextProperty(
                added,
                CERT_FRIENDLY_NAME_PROP_ID,
                0,
                (&blob as *const CRYPT_INTEGER_BLOB).cast::<c_void>(),
            );
            CertFreeCertificateContext(added);
        }
        store.commit()?;
        drop(store);
        if !self.is_installed(root)? {
            return Err(StoreError::Unexpected(format!(
                "the root was added to {} but is not listed afterwards",
                store_name(self.scope)
            )));
        }
        Ok(())
    }

    /// Deletes every certificate whose bytes are our root's, then commits.
    fn uninstall(&self, root: &RootCert) -> Result<(), StoreError> {
        if !self.is_installed(root)? {
            return Ok(());
        }
        let store = Store::open(self.scope, true)?;
        self.announce("deleting");
        // Collect duplicates first and delete after the enumeration: deleting while enumerating
        // is allowed on Windows, but wine's enumeration does not survive it.
        let mut matches: Vec<*const CERT_CONTEXT> = Vec::new();
        store.each(|ctx| {
            // SAFETY: `ctx` is a valid context from the enumeration; the duplicate stays valid
            // after the enumeration moves on, until the delete below frees it.
            unsafe {
                if der_of(ctx) == root.der.as_slice() {
                    matches.push(CertDuplicateCertificateContext(ctx));
                }
            }
            true
        });
        let mut failure = None;
        for dup in matches {
            // SAFETY: `dup` is a duplicate we own; the delete frees it whether it succeeds or not.
            if unsafe { CertDeleteCertificateFromStore(dup) } == 0 && failure.is_none() {
                failure = Some(last_error("CertDeleteCertificateFromStore", self.scope));
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        store.commit()?;
        drop(store);
        if self.is_installed(root)? {
            return Err(StoreError::Unexpected(format!(
                "the root was deleted from {} but is still listed",
                store_name(self.scope)
            )));
        }
        Ok(())
    }

    /// Certificates whose friendly name (or subject name) starts with `localca`.
    fn localca_roots(&self) -> Result<Vec<FoundRoot>, StoreError> {
        Ok(Store::open(self.scope, false)?
            .certificates()
            .into_iter()
            .filter(|(_, label)| label.to_lowercase().starts_with("localca"))
            .map(|(der, label)| FoundRoot { label, der })
            .collect())
    }
}

/// The Firefox application folder: `%APPDATA%\Mozilla\Firefox`.
fn firefox_dir(ctx: &StoreContext) -> PathBuf {
    let appdata = std::env::var_os("APPDATA")
        .filter(|v| !v.is_empty() && ctx.owner.is_none())
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.home.join(r"AppData\Roaming"));
    appdata.join(r"Mozilla\Firefox")
}

/// Every Windows store for `ctx`: the `Root` store of the scope; an advice entry for each
/// Firefox profile that ignores the Windows store (enterprise roots off, or an old Firefox);
/// each Java keystore of `%JAVA_HOME%` or of `java` on `PATH` (or a stand-in).
pub fn windows_stores(ctx: &StoreContext) -> Vec<Box<dyn TrustStore>> {
    let mut stores: Vec<Box<dyn TrustStore>> = vec![Box::new(WindowsStore::new(ctx.scope))];
    for profile in firefox_profiles(&firefox_dir(ctx)) {
        if let ProfileTrust::NeedsNss(why) = profile.trust {
            stores.push(Box::new(AdviceStore::new(
                "firefox",
                format!("Firefox profile {} ({})", profile.name, profile.dir.display()),
                format!("this profile does not use the Windows certificate store: {why}"),
                Some(format!(
                    "in Firefox, open about:config and set {ENTERPRISE_ROOTS_PREF} to true \
                     (and remove any line setting it in the profile's user.js)"
                )),
            )));
        }
    }
    let java_home = std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    stores.extend(java::stores(java::discover(java_home.as_deref()), ctx.is_root));
    stores
}
