//! The async HTTPS layer of localca and its servers.

#![warn(missing_docs)]

pub mod acme;
