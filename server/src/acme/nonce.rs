//! Anti-replay nonces (RFC 8555 §6.5): random, single use, kept in memory. A restart forgets
//! them; clients retry a `badNonce` with the fresh nonce that comes with it, as the RFC requires.
//!
//! Nonces and ids come from rand's thread-local CSPRNG (ChaCha12, seeded and periodically
//! reseeded from the OS): unpredictable like the OS source, without a syscall each.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use super::jws::b64;

/// How many unused nonces are remembered; the oldest are forgotten beyond that.
const CAPACITY: usize = 100_000;

/// The server's outstanding nonces.
#[derive(Debug, Default)]
pub struct Nonces {
    inner: Mutex<Pool>,
}

#[derive(Debug, Default)]
struct Pool {
    live: HashSet<[u8; 16]>,
    order: VecDeque<[u8; 16]>,
}

impl Nonces {
    /// A fresh nonce, base64url.
    pub fn issue(&self) -> String {
        let raw: [u8; 16] = random_bytes();
        let mut pool = self.inner.lock().expect("nonce pool lock");
        if pool.order.len() >= CAPACITY {
            if let Some(old) = pool.order.pop_front() {
                pool.live.remove(&old);
            }
        }
        pool.live.insert(raw);
        pool.order.push_back(raw);
        b64(&raw)
    }

    /// Uses up `nonce`: true when it was issued here and not used before.
    pub fn consume(&self, nonce: &str) -> bool {
        let Ok(bytes) = super::jws::unb64(nonce, "nonce") else { return false };
        let Ok(raw) = <[u8; 16]>::try_from(bytes.as_slice()) else { return false };
        // The entry in `order` stays until it ages out; `live` decides.
        self.inner.lock().expect("nonce pool lock").live.remove(&raw)
    }
}

/// Random identifiers for accounts, orders, authorizations and certificates: 128 bits, base64url.
pub fn random_id() -> String {
    b64(&random_bytes())
}

fn random_bytes() -> [u8; 16] {
    let mut raw = [0u8; 16];
    rand::fill(&mut raw);
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_works_once() {
        let nonces = Nonces::default();
        let n = nonces.issue();
        assert!(nonces.consume(&n));
        assert!(!nonces.consume(&n));
        assert!(!nonces.consume("bm90LWlzc3VlZA"));
    }
}
