//! Who the client is (`lookout::web::client`): `Forwarded` (RFC 7239) and
//! `X-Forwarded-For/-Proto/-Host` from trusted proxies, and the `server.trusted_proxies`
//! entries (`TrustedProxy::from_str`). Every request's headers go through it, and its answer
//! keys rate limits, lockouts and logs.
//!
//! The input is text: the first line the trusted proxies (comma-separated, as in the config),
//! the second the peer (`1.2.3.4:5`, `[::1]:5`, `unix`, with ` tls` after it for HTTPS), then
//! one `name: value` header a line, as a proxy sends them. Checks: no panic; an untrusted
//! peer's forwarding headers change nothing; a client's address is never an IPv4-mapped IPv6
//! one (the rate limits would count one client twice).
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use lookout::web::client::{Client, ConnInfo, ProxyTrust, TrustedProxy};
use std::net::{IpAddr, SocketAddr};

fn setup(text: &str) -> (ProxyTrust, ConnInfo, HeaderMap) {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let trusted = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| t.trim().parse::<TrustedProxy>().ok())
        .collect();
    let peer_line = lines.next().unwrap_or_default();
    let (peer, tls) = match peer_line.strip_suffix(" tls") {
        Some(p) => (p, true),
        None => (peer_line, false),
    };
    let conn = ConnInfo {
        peer: peer.trim().parse::<SocketAddr>().ok(),
        tls,
        redirect_to_https: None,
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(n, v);
        }
    }
    (ProxyTrust { trusted }, conn, headers)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fuzz_target!(|data: &[u8]| {
    let (trust, conn, headers) = setup(&String::from_utf8_lossy(data));
    let client = Client::of(conn, &headers, &trust);
    let _ = client.to_string();
    if let Some(ip) = client.ip {
        assert_eq!(
            ip,
            canonical(ip),
            "a mapped address reached the rate limits"
        );
    }
    let trusted_peer = match conn.peer {
        None => trust.trusted.contains(&TrustedProxy::Unix),
        Some(a) => trust.trusted.iter().any(|t| t.contains(a.ip())),
    };
    if !trusted_peer {
        let host_only: HeaderMap = headers
            .iter()
            .filter(|(n, _)| *n == http::header::HOST)
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let alone = Client::of(conn, &host_only, &trust);
        assert_eq!(
            (client.ip, client.https, &client.host),
            (alone.ip, conn.tls, &alone.host)
        );
        assert_eq!(client.to_string(), alone.to_string());
    }
});
