//! Who the client is: the socket peer, or, when the peer is a trusted reverse proxy, what the
//! proxy says in `Forwarded` (RFC 7239) or `X-Forwarded-For/-Proto/-Host`. Headers from any
//! other peer are ignored, so nobody can pick the address rate limits and logs see.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use http::request::Parts;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// The connection a request came on, set by the server for every request.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// `None` over a unix socket.
    pub peer: Option<SocketAddr>,
    pub tls: bool,
    /// Set on plain-HTTP listeners that send browsers to HTTPS: the HTTPS port.
    pub redirect_to_https: Option<u16>,
}

/// A network in `server.trusted_proxies`: an address, a CIDR block, or `unix` for every
/// client of a unix socket (the proxy on this machine, e.g. nginx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedProxy {
    Net { addr: IpAddr, prefix: u8 },
    Unix,
}

impl FromStr for TrustedProxy {
    type Err = lookout_core::Error;

    /// Refusals are `InvalidInput` and say what a proxy entry looks like.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "unix" {
            return Ok(TrustedProxy::Unix);
        }
        let bad = || {
            lookout_core::Error::invalid(format!(
                "{s:?} is not an address or CIDR block (e.g. \"10.0.0.0/8\", \"::1\", \"unix\")"
            ))
        };
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr: IpAddr = ip.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(TrustedProxy::Net { addr, prefix })
    }
}

impl TrustedProxy {
    /// Whether `ip` is in this network (never true for `unix`).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let TrustedProxy::Net { addr, prefix } = *self else {
            return false;
        };
        let ip = canonical(ip);
        match (canonical(addr), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:10.0.0.1` is `10.0.0.1` (a dual-stack listener reports IPv4 peers that way).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[derive(Debug, Default)]
pub struct ProxyTrust {
    pub trusted: Vec<TrustedProxy>,
}

impl ProxyTrust {
    /// Whether `peer` (`None`: a unix socket client) is a trusted proxy.
    pub fn trusts_peer(&self, peer: Option<SocketAddr>) -> bool {
        match peer {
            None => self.trusted.contains(&TrustedProxy::Unix),
            Some(a) => self.trusts_ip(a.ip()),
        }
    }

    fn trusts_ip(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|t| t.contains(ip))
    }
}

/// The client as far as we can tell.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// The client's address: the peer's, or the one a trusted proxy reported.
    pub ip: Option<IpAddr>,
    /// The socket peer's port when `ip` is the peer's own.
    port: Option<u16>,
    /// Whether the client used HTTPS (to us, or to the trusted proxy).
    pub https: bool,
    /// The host the client asked for (`Host`, or the trusted proxy's forwarded host).
    pub host: Option<String>,
}

impl Client {
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// Works out the client of a request that came on `conn`.
    pub fn of(conn: ConnInfo, headers: &HeaderMap, trust: &ProxyTrust) -> Client {
        let host = header(headers, "host").map(str::to_owned);
        let mut client = Client {
            ip: conn.peer.map(|a| canonical(a.ip())),
            port: conn.peer.map(|a| a.port()),
            https: conn.tls,
            host,
        };
        if !trust.trusts_peer(conn.peer) {
            return client;
        }
        let forwarded = forwarded(headers);
        let (chain, proto, fhost) = if forwarded.is_empty() {
            (
                x_forwarded_for(headers),
                last_item(headers, "x-forwarded-proto"),
                last_item(headers, "x-forwarded-host"),
            )
        } else {
            let last = forwarded.last().cloned().unwrap_or_default();
            (
                forwarded.iter().filter_map(|e| e.for_ip).collect(),
                last.proto,
                last.host,
            )
        };
        // The client is the rightmost address no trusted proxy added; proxies we trust may
        // chain, anything left of the first untrusted hop is the client's to invent.
        if let Some(ip) = chain.iter().rev().copied().find(|ip| !trust.trusts_ip(*ip)) {
            client.ip = Some(canonical(ip));
            client.port = None;
        } else if let Some(first) = chain.first() {
            client.ip = Some(canonical(*first));
            client.port = None;
        }
        if let Some(p) = proto {
            client.https = p.eq_ignore_ascii_case("https");
        }
        if let Some(h) = fhost {
            client.host = Some(h);
        }
        client
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (Some(ip), Some(port)) => write!(f, "{}", SocketAddr::new(ip, port)),
            (Some(ip), None) => write!(f, "{ip}"),
            (None, _) => f.write_str("local"),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The last comma-separated item over all fields called `name` (what the nearest proxy set).
fn last_item(headers: &HeaderMap, name: &str) -> Option<String> {
    let fields: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    fields
        .iter()
        .rev()
        .flat_map(|v| v.rsplit(','))
        .map(str::trim)
        .find(|v| !v.is_empty())
        .map(str::to_owned)
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| parse_node(item.trim()))
        .collect()
}

#[derive(Debug, Clone, Default)]
struct ForwardedElement {
    for_ip: Option<IpAddr>,
    proto: Option<String>,
    host: Option<String>,
}

/// RFC 7239 `Forwarded: for=192.0.2.60;proto=https;host=example.org, for="[2001:db8::1]:443"`.
fn forwarded(headers: &HeaderMap) -> Vec<ForwardedElement> {
    let mut out = Vec::new();
    for value in headers.get_all("forwarded").iter() {
        let Ok(value) = value.to_str() else { continue };
        for element in value.split(',') {
            let mut e = ForwardedElement::default();
            for pair in element.split(';') {
                let Some((k, v)) = pair.trim().split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "for" => e.for_ip = parse_node(v),
                    "proto" => e.proto = Some(v.to_owned()),
                    "host" => e.host = Some(v.to_owned()),
                    _ => {}
                }
            }
            out.push(e);
        }
    }
    out
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse().ok())
}

/// Middleware: computes the [`Client`] of every request.
pub async fn identify(
    State(trust): State<Arc<ProxyTrust>>,
    mut req: Request,
    next: Next,
) -> Response {
    let conn = req
        .extensions()
        .get::<ConnInfo>()
        .copied()
        .unwrap_or(ConnInfo {
            peer: None,
            tls: false,
            redirect_to_https: None,
        });
    // HTTP/2 names the host in `:authority`, not in a Host header: give the rest of the
    // program (the Origin check, redirects) one place to look.
    if !req.headers().contains_key(http::header::HOST) {
        let authority = req
            .uri()
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok());
        if let Some(a) = authority {
            req.headers_mut().insert(http::header::HOST, a);
        }
    }
    let client = Client::of(conn, req.headers(), &trust);
    req.extensions_mut().insert(client);
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Client>()
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust(list: &[&str]) -> ProxyTrust {
        ProxyTrust {
            trusted: list.iter().map(|s| s.parse().unwrap()).collect(),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn conn(peer: &str) -> ConnInfo {
        ConnInfo {
            peer: Some(peer.parse().unwrap()),
            tls: false,
            redirect_to_https: None,
        }
    }

    #[test]
    fn cidrs_match_their_networks_only() {
        let t = trust(&["10.0.0.0/8", "::1", "2001:db8::/32"]);
        assert!(t.trusts_ip("10.200.3.4".parse().unwrap()));
        assert!(t.trusts_ip("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!t.trusts_ip("11.0.0.1".parse().unwrap()));
        assert!(t.trusts_ip("::1".parse().unwrap()));
        assert!(t.trusts_ip("2001:db8:ffff::1".parse().unwrap()));
        assert!(!t.trusts_ip("2001:db9::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("nginx".parse::<TrustedProxy>().is_err());
        assert!(trust(&["0.0.0.0/0"]).trusts_ip("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = Client::of(conn("203.0.113.9:5555"), &h, &trust(&["10.0.0.0/8"]));
        assert_eq!(c.ip, Some("203.0.113.9".parse().unwrap()));
        assert!(!c.https);
        assert_eq!(c.to_string(), "203.0.113.9:5555");
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_hops_are_skipped() {
        // The client sent its own X-Forwarded-For: 6.6.6.6; nginx appended the real address.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "cam.example.org"),
        ]);
        let c = Client::of(conn("127.0.0.1:40000"), &h, &trust(&["127.0.0.1"]));
        assert_eq!(c.ip, Some("198.51.100.7".parse().unwrap()));
        assert!(c.https);
        assert_eq!(c.host.as_deref(), Some("cam.example.org"));
        assert_eq!(c.to_string(), "198.51.100.7");
    }

    #[test]
    fn forwarded_header_wins_and_unix_sockets_trust_when_told() {
        let h = headers(&[
            (
                "forwarded",
                r#"for=192.0.2.60;proto=http, for="[2001:db8::7]:4711";proto=https;host=cam.example"#,
            ),
            ("x-forwarded-for", "9.9.9.9"),
        ]);
        let unix = ConnInfo {
            peer: None,
            tls: false,
            redirect_to_https: None,
        };
        let c = Client::of(unix, &h, &trust(&["unix"]));
        assert_eq!(c.ip, Some("2001:db8::7".parse().unwrap()));
        assert!(c.https);
        assert_eq!(c.host.as_deref(), Some("cam.example"));
        let c = Client::of(unix, &h, &trust(&[]));
        assert_eq!(c.ip, None);
        assert_eq!(c.to_string(), "local");
    }
}
