//! Which Linux distribution family we run on, from `/etc/os-release`: only used to name the
//! package that provides a missing tool, and for the NixOS hint.

use std::path::Path;

/// A distribution family, as far as package names and trust-store layouts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distro {
    /// Debian, Ubuntu and derivatives.
    Debian,
    /// Fedora, RHEL, CentOS, Rocky, Alma.
    Fedora,
    /// Arch, Manjaro, EndeavourOS.
    Arch,
    /// openSUSE and SLES.
    Suse,
    /// Alpine Linux.
    Alpine,
    /// NixOS: the system store is declared in the configuration, not changed by tools.
    NixOs,
    /// macOS: NSS tools come from Homebrew.
    MacOs,
    /// Anything else, or no `/etc/os-release`.
    Unknown,
}

impl Distro {
    /// Reads `/etc/os-release` (the standard location; `/usr/lib/os-release` as fallback).
    pub fn detect() -> Distro {
        if cfg!(target_os = "macos") {
            return Distro::MacOs;
        }
        ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| std::fs::read_to_string(Path::new(p)).ok())
            .map(|text| Distro::from_os_release(&text))
            .unwrap_or(Distro::Unknown)
    }

    /// Classifies the text of an os-release file by `ID`, then `ID_LIKE`.
    pub fn from_os_release(text: &str) -> Distro {
        let field = |key: &str| -> String {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_lowercase())
                .next()
                .unwrap_or_default()
        };
        let id = field("ID");
        let like = field("ID_LIKE");
        std::iter::once(id.as_str())
            .chain(like.split_whitespace())
            .find_map(|word| match word {
                "debian" | "ubuntu" => Some(Distro::Debian),
                "fedora" | "rhel" | "centos" => Some(Distro::Fedora),
                "arch" => Some(Distro::Arch),
                "opensuse" | "suse" | "sles" => Some(Distro::Suse),
                w if w.starts_with("opensuse") => Some(Distro::Suse),
                "alpine" => Some(Distro::Alpine),
                "nixos" => Some(Distro::NixOs),
                _ => None,
            })
            .unwrap_or(Distro::Unknown)
    }

    /// The package that provides NSS's `certutil`, for a fix message.
    pub fn certutil_package(self) -> &'static str {
        match self {
            Distro::Debian => "libnss3-tools (apt install libnss3-tools)",
            Distro::Fedora => "nss-tools (dnf install nss-tools)",
            Distro::Arch => "nss (pacman -S nss)",
            Distro::Suse => "mozilla-nss-tools (zypper install mozilla-nss-tools)",
            Distro::Alpine => "nss-tools (apk add nss-tools)",
            Distro::NixOs => "nssTools (add pkgs.nssTools)",
            Distro::MacOs => "nss (brew install nss)",
            Distro::Unknown => {
                "the NSS tools: libnss3-tools (Debian/Ubuntu), nss-tools (Fedora/RHEL), \
                 nss (Arch), mozilla-nss-tools (openSUSE)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_id_and_id_like() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                      VERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(Distro::from_os_release(debian), Distro::Debian);
        assert_eq!(Distro::from_os_release("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"), Distro::Debian);
        assert_eq!(Distro::from_os_release("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"), Distro::Fedora);
        assert_eq!(
            Distro::from_os_release("ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n"),
            Distro::Suse
        );
        assert_eq!(Distro::from_os_release("ID=nixos\n"), Distro::NixOs);
        assert_eq!(Distro::from_os_release("ID=gentoo\n"), Distro::Unknown);
        // VERSION_ID must not be mistaken for ID.
        assert_eq!(Distro::from_os_release("VERSION_ID=arch\n"), Distro::Unknown);
    }
}
