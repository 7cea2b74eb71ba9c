//! `[webrtc]` as the program uses it (resolved and checked by `config`).

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebRtcSettings {
    pub enabled: bool,
    /// Media over UDP (the usual way); `false` offers TCP only (networks that block UDP, tests).
    pub udp: bool,
    /// One UDP port for every peer; 0 picks a free one (tests).
    pub udp_port: u16,
    /// ICE over TCP (RFC 6544) as a fallback where UDP is blocked.
    pub tcp: bool,
    /// One TCP port for every peer's ICE-TCP connection; 0 picks a free one (tests).
    pub tcp_port: u16,
    /// Extra host candidates for port forwarding: the router's public address and the port
    /// it forwards (the UDP port when not given).
    pub public_addresses: Vec<PublicAddress>,
    pub max_peers: usize,
    pub max_peers_per_camera: usize,
    pub max_peers_per_user: usize,
    /// A peer not connected (ICE and DTLS) this long after its answer is ended.
    pub connect_timeout: Duration,
    /// A peer from which nothing came this long is ended (RFC 7675 consent: browsers check
    /// every ~5 s).
    pub consent_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicAddress {
    Ip(std::net::IpAddr),
    Addr(SocketAddr),
}

impl Default for WebRtcSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            udp: true,
            udp_port: 8555,
            tcp: true,
            tcp_port: 8555,
            public_addresses: Vec::new(),
            max_peers: 32,
            max_peers_per_camera: 16,
            max_peers_per_user: 8,
            connect_timeout: Duration::from_secs(10),
            consent_timeout: Duration::from_secs(30),
        }
    }
}
