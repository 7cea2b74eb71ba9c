//! `[webrtc]` → `webrtc::WebRtcSettings`: limits of at least 1, public addresses that parse.

use super::context::Ctx;
use super::file::ConfigFile;
use crate::webrtc::{PublicAddress, WebRtcSettings};
use std::time::Duration;

pub(super) fn webrtc(cx: &Ctx<'_>, file: &ConfigFile) -> WebRtcSettings {
    let w = &file.webrtc;
    let mut public_addresses = Vec::new();
    for (n, a) in w.public_addresses.iter().enumerate() {
        match parse_public(a) {
            Some(p) => public_addresses.push(p),
            None => cx.report(
                &format!("webrtc.public_addresses[{n}]"),
                format!("{a:?} is not an IP address or IP:PORT"),
                "write the router's public IP (\"203.0.113.7\", \"2001:db8::7\") or IP:PORT when it forwards another port (\"203.0.113.7:18555\", \"[2001:db8::7]:18555\")",
            ),
        }
    }
    for (key, value) in [
        ("max_peers", w.max_peers),
        ("max_peers_per_camera", w.max_peers_per_camera),
        ("max_peers_per_user", w.max_peers_per_user),
    ] {
        if value == 0 {
            cx.report(
                &format!("webrtc.{key}"),
                format!("webrtc.{key} is 0"),
                "set at least 1, or `enabled = false` to turn WebRTC off",
            );
        }
    }
    for (key, value) in [
        ("connect_timeout_ms", w.connect_timeout_ms),
        ("consent_timeout_ms", w.consent_timeout_ms),
    ] {
        if value == 0 {
            cx.report(
                &format!("webrtc.{key}"),
                format!("webrtc.{key} is 0"),
                "set a time in milliseconds (the defaults are 10000 and 30000)",
            );
        }
    }
    if w.enabled && !w.udp && !w.tcp {
        cx.report(
            "webrtc.udp",
            "webrtc.udp and webrtc.tcp are both false: WebRTC would have no way to send video",
            "set udp = true (or tcp = true), or enabled = false to turn WebRTC off",
        );
    }
    WebRtcSettings {
        enabled: w.enabled,
        udp: w.udp,
        udp_port: w.udp_port,
        tcp: w.tcp,
        tcp_port: w.tcp_port,
        public_addresses,
        max_peers: w.max_peers,
        max_peers_per_camera: w.max_peers_per_camera,
        max_peers_per_user: w.max_peers_per_user,
        connect_timeout: Duration::from_millis(w.connect_timeout_ms),
        consent_timeout: Duration::from_millis(w.consent_timeout_ms),
    }
}

fn parse_public(s: &str) -> Option<PublicAddress> {
    if let Ok(ip) = s.parse() {
        return Some(PublicAddress::Ip(ip));
    }
    s.parse().ok().map(PublicAddress::Addr)
}
