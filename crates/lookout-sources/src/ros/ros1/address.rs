//! Where our node is reachable: the host we announce to the master in our XML-RPC URI (the
//! master calls it to tell us about publishers; tools like `rosnode` call it too), and the
//! address we listen on.

use http::Uri;
use lookout_core::redact::mask_url_secrets;
use lookout_core::{Error, ErrorKind};
use std::net::{IpAddr, Ipv4Addr};

/// A master URI as ROS wants it: `http://host:port` (a path is allowed and ignored).
pub fn parse_master_uri(uri: &str) -> Result<Uri, Error> {
    let shown = mask_url_secrets(uri);
    let parsed: Uri = uri.parse().map_err(|e| {
        Error::invalid(format!(
            "ROS master URI {shown:?} is not a URI ({e}); expected e.g. http://localhost:11311"
        ))
    })?;
    if parsed.scheme_str() != Some("http") || parsed.host().is_none() {
        return Err(Error::invalid(format!(
            "ROS master URI {shown:?} must be http://host:port, e.g. http://localhost:11311"
        )));
    }
    Ok(parsed)
}

/// The host to announce, in ROS's order: the configured one, `ROS_HOSTNAME`, `ROS_IP`;
/// then 127.0.0.1 when the master runs on this machine (the usual robot setup, and a name
/// the master can always reach); otherwise the address of our interface that routes to the
/// master, which the master can reach where a bare hostname often does not resolve.
pub async fn advertise_host(
    configured: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    master: &Uri,
) -> Result<String, Error> {
    let set = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(h) = set(configured.map(str::to_owned))
        .or_else(|| set(env("ROS_HOSTNAME")))
        .or_else(|| set(env("ROS_IP")))
    {
        return Ok(h);
    }
    let master_host = master.host().unwrap_or("").trim_matches(['[', ']']);
    if is_loopback(master_host) {
        return Ok(Ipv4Addr::LOCALHOST.to_string());
    }
    route_to(master_host, master.port_u16().unwrap_or(11311))
        .await
        .map(|ip| ip.to_string())
        .map_err(|why| {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "cannot tell which of this machine's addresses the ROS master at {} \
                     can reach ({}); set ROS_IP or [ros1] hostname",
                    mask_url_secrets(&master.to_string()),
                    why.message()
                ),
            )
            .with_source(why)
        })
}

/// The local address the system would use to reach `host`. A connected UDP socket sends
/// nothing; connecting only picks the route.
/// Its errors carry the OS error as their cause and say what failed in their message.
async fn route_to(host: &str, port: u16) -> Result<IpAddr, Error> {
    let unavailable = |msg: String| Error::new(ErrorKind::Unavailable, msg);
    let target = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| unavailable(format!("resolving {host}: {e}")).with_source(e))?
        .next()
        .ok_or_else(|| unavailable(format!("{host} resolves to no address")))?;
    let any: IpAddr = match target {
        std::net::SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = tokio::net::UdpSocket::bind((any, 0))
        .await
        .map_err(|e| unavailable(e.to_string()).with_source(e))?;
    socket
        .connect(target)
        .await
        .map_err(|e| unavailable(format!("no route to {target}: {e}")).with_source(e))?;
    socket
        .local_addr()
        .map(|a| a.ip())
        .map_err(|e| unavailable(e.to_string()).with_source(e))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Listen on loopback only when that is all we announce (nothing else could use it); on
/// every interface otherwise, as roscpp does, since a hostname may map to any of them.
pub fn bind_addr(host: &str) -> IpAddr {
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => ip,
        _ if host.eq_ignore_ascii_case("localhost") => Ipv4Addr::LOCALHOST.into(),
        _ => Ipv4Addr::UNSPECIFIED.into(),
    }
}

/// `http://host:port/`, with brackets around an IPv6 address.
pub fn node_uri(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}/")
    } else {
        format!("http://{host}:{port}/")
    }
}

/// A graph name (node or topic) as rosgraph accepts it: letters, digits, '_' and single '/'
/// between parts. A missing leading slash is added: we live in the root namespace.
pub fn graph_name(name: &str, what: &str) -> Result<String, Error> {
    let abs = if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    };
    let valid = abs.len() > 1
        && !abs.ends_with('/')
        && !abs.contains("//")
        && abs
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/');
    if valid {
        Ok(abs)
    } else {
        Err(Error::invalid(format!(
            "{what} {name:?} is not a valid ROS name: use letters, digits, '_' and '/', \
             e.g. /camera/image_raw"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[tokio::test]
    async fn configured_then_ros_hostname_then_ros_ip_then_loopback() {
        let local = parse_master_uri("http://localhost:11311").unwrap();
        let env = |k: &str| match k {
            "ROS_HOSTNAME" => Some("robot.lan".to_owned()),
            "ROS_IP" => Some("10.0.0.5".to_owned()),
            _ => None,
        };
        assert_eq!(advertise_host(Some("me"), env, &local).await.unwrap(), "me");
        assert_eq!(
            advertise_host(Some(" "), env, &local).await.unwrap(),
            "robot.lan"
        );
        let only_ip = |k: &str| (k == "ROS_IP").then(|| "10.0.0.5".to_owned());
        assert_eq!(
            advertise_host(None, only_ip, &local).await.unwrap(),
            "10.0.0.5"
        );
        assert_eq!(
            advertise_host(None, no_env, &local).await.unwrap(),
            "127.0.0.1"
        );
        let v4 = parse_master_uri("http://127.0.0.2:11311/").unwrap();
        assert_eq!(
            advertise_host(None, no_env, &v4).await.unwrap(),
            "127.0.0.1"
        );
    }

    #[test]
    fn listens_on_loopback_only_for_a_loopback_host() {
        assert_eq!(bind_addr("127.0.0.1"), IpAddr::from(Ipv4Addr::LOCALHOST));
        assert_eq!(bind_addr("localhost"), IpAddr::from(Ipv4Addr::LOCALHOST));
        assert_eq!(bind_addr("::1"), "::1".parse::<IpAddr>().unwrap());
        assert_eq!(bind_addr("10.0.0.5"), IpAddr::from(Ipv4Addr::UNSPECIFIED));
        assert_eq!(bind_addr("robot.lan"), IpAddr::from(Ipv4Addr::UNSPECIFIED));
        assert_eq!(node_uri("::1", 5), "http://[::1]:5/");
    }

    #[test]
    fn master_uris_and_names_are_checked() {
        assert!(parse_master_uri("http://127.0.0.1:11311").is_ok());
        for bad in ["", "localhost:11311", "https://m:11311", "http://"] {
            assert!(parse_master_uri(bad).is_err(), "{bad}");
        }
        assert_eq!(graph_name("lookout", "node name").unwrap(), "/lookout");
        assert_eq!(
            graph_name("/cam/image_raw", "topic").unwrap(),
            "/cam/image_raw"
        );
        assert_eq!(graph_name("/cam/0/_raw", "topic").unwrap(), "/cam/0/_raw");
        for bad in ["", "/", "/a//b", "/a/", "/a b", "/a-b", "~a", "/a\u{e9}"] {
            assert!(graph_name(bad, "topic").is_err(), "{bad}");
        }
    }
}
