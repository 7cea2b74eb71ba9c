//! The HTTP server's connection counters. Kept in the web layer, which shows them on
//! `/metrics`, so that the server (which counts) imports the web layer and not both ways.

use std::sync::atomic::{AtomicU64, AtomicUsize};

/// Connection counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub open: AtomicUsize,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    /// Refused because their address held `max_connections_per_address` already.
    pub refused_per_address: AtomicU64,
    /// Closed because no request came within `header_read_timeout`.
    pub closed_idle: AtomicU64,
    /// HTTP/2 connections dropped because a response's client took no data of it within
    /// `write_timeout`.
    pub dropped_stalled: AtomicU64,
}
