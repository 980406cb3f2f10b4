//! Binding listeners: explicit addresses, or the loopback HTTPS default (port 443 on 127.0.0.1
//! and ::1) with a fallback to the first free port from 8443 when 443 cannot be had.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

/// First port tried when the preferred one cannot be bound.
pub const FALLBACK_FROM: u16 = 8443;
/// How many ports from [`FALLBACK_FROM`] are tried.
const FALLBACK_TRIES: u16 = 100;

/// Listeners bound for one server, and why the port is not the one asked for, if it is not.
#[derive(Debug)]
pub struct Bound {
    /// The listening sockets (non-blocking, ready for tokio).
    pub listeners: Vec<TcpListener>,
    /// One line saying why the preferred port was not used and how to allow it.
    pub fallback_note: Option<String>,
}

impl Bound {
    /// The port every listener shares (they always share one).
    pub fn port(&self) -> u16 {
        self.listeners.first().and_then(|l| l.local_addr().ok()).map_or(0, |a| a.port())
    }

    /// The bound addresses.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }
}

/// Binds one address, non-blocking.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Binds every address in `addrs`, all or nothing.
pub fn bind_all(addrs: &[SocketAddr]) -> io::Result<Bound> {
    let listeners = addrs.iter().map(|a| bind(*a)).collect::<io::Result<Vec<_>>>()?;
    Ok(Bound { listeners, fallback_note: None })
}

/// Binds `port` on 127.0.0.1 and ::1 (::1 only where the machine has IPv6). When that is not
/// allowed or the port is taken, binds the first port from [`FALLBACK_FROM`] where both are free,
/// and says why in [`Bound::fallback_note`].
pub fn bind_loopback(port: u16) -> io::Result<Bound> {
    match bind_loopback_port(port) {
        Ok(listeners) => Ok(Bound { listeners, fallback_note: None }),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied || e.kind() == io::ErrorKind::AddrInUse => {
            let why = if e.kind() == io::ErrorKind::PermissionDenied {
                format!(
                    "port {port} needs privileges (allow it with `sudo setcap cap_net_bind_service=+ep {}` or \
                     `sudo sysctl net.ipv4.ip_unprivileged_port_start={port}`)",
                    std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "localca".into())
                )
            } else {
                format!("port {port} is in use")
            };
            for candidate in FALLBACK_FROM..FALLBACK_FROM.saturating_add(FALLBACK_TRIES) {
                if candidate == port {
                    continue;
                }
                if let Ok(listeners) = bind_loopback_port(candidate) {
                    let note = format!("{why}; using port {candidate} instead");
                    return Ok(Bound { listeners, fallback_note: Some(note) });
                }
            }
            Err(io::Error::new(e.kind(), format!("{why}, and no port from {FALLBACK_FROM} is free")))
        }
        Err(e) => Err(e),
    }
}

fn bind_loopback_port(port: u16) -> io::Result<Vec<TcpListener>> {
    let v4 = bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))?;
    let port = v4.local_addr()?.port();
    match bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)) {
        Ok(v6) => Ok(vec![v4, v6]),
        // No IPv6 on this machine: IPv4 alone.
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => Ok(vec![v4]),
        Err(e) => Err(e),
    }
}

/// Whether an address is only reachable from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}
