//! `lookout nginx-site`: an nginx server block that terminates HTTPS with a Let's Encrypt
//! certificate and proxies to Lookout's unix socket or loopback port, with the settings MJPEG
//! streams need (no buffering, long timeouts) and the forwarded headers Lookout trusts.

use super::Generated;
use crate::config::Config;
use crate::listen::ListenSpec;
use crate::web::TrustedProxy;
use lookout_core::Error;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The name used when `--server-name` is not given: obviously a placeholder.
pub const PLACEHOLDER_NAME: &str = "lookout.example.org";

/// Where certbot `--webroot` writes HTTP-01 challenges by default in our docs.
pub const DEFAULT_WEBROOT: &str = "/var/www/letsencrypt";

/// Debian's and Raspberry Pi OS's nginx workers run as this user and group.
const NGINX_GROUP: &str = "www-data";

/// Where nginx sends requests.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Upstream {
    Unix(PathBuf),
    /// nginx connects to `connect`; Lookout listens on `bound` (a wildcard, perhaps).
    Tcp {
        connect: SocketAddr,
        bound: SocketAddr,
    },
}

/// The first unix socket of `server.listen`, else the first plain-HTTP TCP address (a
/// wildcard address becomes loopback: nginx runs on this machine). HTTPS listeners and
/// systemd's sockets are skipped: nginx would have to speak TLS to one, and the other's
/// address is not in the config.
fn upstream(listen: &[ListenSpec]) -> Option<Upstream> {
    let unix = listen.iter().find_map(|l| match l {
        ListenSpec::Unix(p) => Some(Upstream::Unix(p.clone())),
        _ => None,
    });
    unix.or_else(|| {
        listen.iter().find_map(|l| match l {
            ListenSpec::Tcp { addr, tls: false } if addr.port() != 0 => {
                let ip = match addr.ip() {
                    IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                    ip => ip,
                };
                Some(Upstream::Tcp {
                    connect: SocketAddr::new(ip, addr.port()),
                    bound: *addr,
                })
            }
            _ => None,
        })
    })
}

/// Whether `server.trusted_proxies` covers `ip` (the address nginx connects from).
fn trusts_ip(trusted: &[TrustedProxy], ip: IpAddr) -> bool {
    trusted.iter().any(|t| t.contains(ip))
}

/// A host name nginx and certbot accept as `server_name` / `-d`.
fn valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*'))
}

/// A path nginx reads as one plain token: no spaces, quotes, `;`, braces, `$` or `#`.
fn nginx_safe_path(p: &Path) -> Option<&str> {
    let s = p.to_str()?;
    let ok = p.is_absolute()
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, ';' | '{' | '}' | '"' | '\'' | '$' | '#' | '\\')
        });
    ok.then_some(s)
}

/// The nginx site for `config`: an HTTPS server for `server_name` proxying to Lookout, and a
/// port-80 server that answers ACME challenges from `webroot` and redirects the rest.
/// Lookout's address is `upstream` when given (the path of a socket systemd passes, which
/// the config cannot name), else taken from `server.listen`; without one it fails.
pub fn nginx_site(
    config: &Config,
    server_name: &str,
    webroot: &Path,
    upstream_given: Option<&ListenSpec>,
) -> Result<Generated, Error> {
    if config.auth.mode == crate::config::AuthMode::None {
        return Err(Error::invalid(
            "auth.mode = \"none\" in the config: published through nginx, everyone could watch and change everything; remove it (logins are the default) and create users with `lookout user add`",
        ));
    }
    if !valid_server_name(server_name) {
        return Err(Error::invalid(format!(
            "--server-name {server_name:?} is not a host name; give the name clients use, e.g. --server-name cam.example.org"
        )));
    }
    let Some(webroot) = nginx_safe_path(webroot) else {
        return Err(Error::invalid(format!(
            "--webroot {}: give an absolute path without spaces, quotes or ;{{}}$#",
            webroot.display()
        )));
    };
    // A socket systemd made (lookout.socket) has the mode and group its unit gives it.
    let mut from_socket_unit = false;
    let upstream = match upstream_given {
        Some(spec) => {
            from_socket_unit = config.server.listen.contains(&ListenSpec::Systemd);
            upstream(std::slice::from_ref(spec)).ok_or_else(|| {
                Error::invalid(format!(
                    "--upstream {spec}: give unix:/PATH or a plain-HTTP address IP:PORT"
                ))
            })?
        }
        None => upstream(&config.server.listen).ok_or_else(|| {
            let listed: Vec<String> = config
                .server
                .listen
                .iter()
                .map(ToString::to_string)
                .collect();
            Error::invalid(format!(
                "nginx needs a unix socket or a plain-HTTP TCP address to proxy to, and server.listen has none it can use ({}); add \"unix:/run/lookout/http.sock\" (or a loopback address such as \"127.0.0.1:8080\") to server.listen, or name the socket systemd passes with --upstream unix:/PATH",
                if listed.is_empty() {
                    "empty".to_owned()
                } else {
                    listed.join(", ")
                }
            ))
        })?,
    };
    let trusted = &config.server.trusted_proxies;
    let mut warnings = Vec::new();
    if server_name == PLACEHOLDER_NAME {
        warnings.push(format!(
            "server_name is the placeholder {PLACEHOLDER_NAME}: pass --server-name with your domain (it also names the certificate)"
        ));
    }
    let (proxy_pass, about_upstream) = match &upstream {
        Upstream::Unix(path) => {
            let Some(path) = nginx_safe_path(path) else {
                return Err(Error::invalid(format!(
                    "the socket path unix:{} has characters nginx cannot take unquoted (spaces, quotes, ;{{}}$#); choose a plain path such as /run/lookout/http.sock",
                    path.display()
                )));
            };
            if !trusted.contains(&TrustedProxy::Unix) {
                warnings.push(
                    "server.trusted_proxies does not include \"unix\": Lookout will ignore nginx's X-Forwarded-* headers, see every client as \"local\" and rate-limit logins for all of them at once; add \"unix\" to server.trusted_proxies".to_owned(),
                );
            }
            let socket = &config.server.socket;
            let permissions = if from_socket_unit {
                format!(
                    "# systemd's lookout.socket creates it, so that unit says who may connect:\n\
                     #     SocketGroup={NGINX_GROUP}\n\
                     #     SocketMode=0660\n"
                )
            } else {
                if socket.group.is_none() && socket.mode & 0o002 == 0 {
                    warnings.push(format!(
                        "nginx's workers (user {NGINX_GROUP}) cannot connect to {path} (mode {:04o}, no server.socket_group): set socket_group = \"{NGINX_GROUP}\" and socket_mode = \"0660\" in [server]",
                        socket.mode
                    ));
                }
                format!(
                    "# nginx's workers run as {NGINX_GROUP} and must be able to write to it: in\n\
                     # lookout.toml, [server] section,\n\
                     #     socket_group = \"{NGINX_GROUP}\"\n\
                     #     socket_mode = \"0660\"\n"
                )
            };
            (
                format!("http://unix:{path}:"),
                format!(
                    "# Upstream: Lookout's unix socket {path}.\n\
                     {permissions}\
                     # Lookout believes the X-Forwarded-* headers nginx sets only because\n\
                     # server.trusted_proxies includes \"unix\" (the default).\n"
                ),
            )
        }
        Upstream::Tcp {
            connect: addr,
            bound,
        } => {
            if !trusts_ip(trusted, addr.ip()) {
                warnings.push(format!(
                    "server.trusted_proxies does not include {ip}, the address nginx connects from: Lookout will ignore nginx's X-Forwarded-* headers and see every client as {ip}; add \"{ip}\" to server.trusted_proxies",
                    ip = addr.ip()
                ));
            }
            if !bound.ip().is_loopback() {
                warnings.push(format!(
                    "Lookout listens on {bound}, which other machines may reach without going through nginx (and its HTTPS); prefer \"unix:/run/lookout/http.sock\" or \"127.0.0.1:{}\" in server.listen",
                    addr.port()
                ));
            }
            (
                format!("http://{addr}"),
                format!(
                    "# Upstream: Lookout on {addr}. Lookout believes the\n\
                     # X-Forwarded-* headers nginx sets only from trusted peers, so\n\
                     # server.trusted_proxies must include \"{ip}\" (the address nginx connects from).\n\
                     # A unix socket is simpler: listen = [\"unix:/run/lookout/http.sock\"].\n",
                    ip = addr.ip()
                ),
            )
        }
    };
    let origin = config.origin.as_ref().map_or_else(
        || "the built-in demo".to_owned(),
        |p| p.display().to_string(),
    );
    let name = server_name;
    // Under server.base_path Lookout answers only below it; the rest of the site is yours.
    let location = format!("{}/", config.server.base_path);
    let w = &config.webrtc;
    let webrtc_ports = match (w.udp, w.tcp) {
        (true, true) => format!(
            "UDP port {}, or its TCP port {} where UDP is blocked",
            w.udp_port, w.tcp_port
        ),
        (false, true) => format!("TCP port {}", w.tcp_port),
        _ => format!("UDP port {}", w.udp_port),
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "# Lookout behind nginx for {name}: printed by `lookout nginx-site` from {origin}.\n\
         #\n\
         # Install: save as /etc/nginx/sites-available/lookout, then\n\
         #     ln -s /etc/nginx/sites-available/lookout /etc/nginx/sites-enabled/lookout\n\
         #     nginx -t && systemctl reload nginx\n\
         # Certificate (Let's Encrypt): nginx refuses this file until the certificate exists, so\n\
         # get the first one before enabling the site, with\n\
         #     certbot certonly --webroot -w {webroot} -d {name}\n\
         # while a port-80 server of its own serves {webroot} (docs/guide/remote-access.md,\n\
         # step 3), or with `certbot certonly --nginx -d {name}`. Not --standalone: its renewals\n\
         # need port 80, which nginx holds. certbot's timer renews through this site's port 80;\n\
         # `--deploy-hook \"systemctl reload nginx\"` makes nginx load the new certificate.\n\
         #\n\
         {about_upstream}\
         \n\
         server {{\n\
         \x20   listen 80;\n\
         \x20   listen [::]:80;\n\
         \x20   server_name {name};\n\
         \n\
         \x20   # Let's Encrypt's HTTP-01 challenges (certbot --webroot -w {webroot}).\n\
         \x20   location /.well-known/acme-challenge/ {{\n\
         \x20       root {webroot};\n\
         \x20   }}\n\
         \n\
         \x20   location / {{\n\
         \x20       return 301 https://$host$request_uri;\n\
         \x20   }}\n\
         }}\n\
         \n\
         server {{\n\
         \x20   # `listen ... ssl http2` works on every nginx; from 1.25.1 on you may write\n\
         \x20   # `listen 443 ssl;` and `http2 on;` instead.\n\
         \x20   listen 443 ssl http2;\n\
         \x20   listen [::]:443 ssl http2;\n\
         \x20   server_name {name};\n\
         \n\
         \x20   ssl_certificate /etc/letsencrypt/live/{name}/fullchain.pem;\n\
         \x20   ssl_certificate_key /etc/letsencrypt/live/{name}/privkey.pem;\n\
         \x20   ssl_protocols TLSv1.2 TLSv1.3;\n\
         \x20   ssl_session_cache shared:lookout_tls:10m;\n\
         \x20   ssl_session_timeout 1d;\n\
         \x20   # Once HTTPS works, browsers may be told to never use plain HTTP here again:\n\
         \x20   # add_header Strict-Transport-Security \"max-age=31536000\" always;\n\
         \n\
         \x20   location {location} {{\n\
         \x20       proxy_pass {proxy_pass};\n\
         \x20       proxy_http_version 1.1;\n\
         \x20       proxy_set_header Connection \"\";\n\
         \x20       # $http_host keeps the port the browser used, which Lookout compares with the\n\
         \x20       # Origin of form posts (a login on :8443 sends Origin https://NAME:8443).\n\
         \x20       proxy_set_header Host $http_host;\n\
         \x20       proxy_set_header X-Real-IP $remote_addr;\n\
         \x20       # nginx appends the client's address; Lookout takes the rightmost address that is\n\
         \x20       # not a trusted proxy, so a client cannot choose its own by sending the header.\n\
         \x20       proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20       proxy_set_header X-Forwarded-Proto $scheme;\n\
         \x20       proxy_set_header X-Forwarded-Host $http_host;\n\
         \x20       # Lookout prefers Forwarded (RFC 7239) to X-Forwarded-*; drop one a client sent.\n\
         \x20       proxy_set_header Forwarded \"\";\n\
         \x20       # MJPEG streams are endless responses: pass each frame on at once, and keep\n\
         \x20       # quiet connections (a snapshot poll, a paused camera) open for an hour.\n\
         \x20       # WebRTC offers (POST .../whep, a few KB) pass here too; their video goes\n\
         \x20       # straight to Lookout's {webrtc_ports}, never through nginx:\n\
         \x20       # forward it on the router (docs/guide/remote-access.md, WebRTC).\n\
         \x20       proxy_buffering off;\n\
         \x20       proxy_request_buffering off;\n\
         \x20       proxy_read_timeout 1h;\n\
         \x20       proxy_send_timeout 1h;\n\
         \x20   }}\n\
         }}\n"
    );
    Ok(Generated {
        text: out,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(server: &str) -> Config {
        let text = format!(
            "[server]\n{server}\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n"
        );
        crate::config::parse(&text, "test.toml").unwrap()
    }

    /// A config listening on `listen` (set after parsing: an `https://` address would need
    /// certificate files to parse).
    fn listening(listen: &[&str], server: &str) -> Config {
        let mut c = config(server);
        c.server.listen = listen.iter().map(|l| l.parse().unwrap()).collect();
        c
    }

    fn site(server: &str) -> Generated {
        nginx_site(
            &config(server),
            "cam.example.org",
            Path::new(DEFAULT_WEBROOT),
            None,
        )
        .unwrap()
    }

    /// The directives of the `location /` block of the HTTPS server.
    fn proxy_block(text: &str) -> &str {
        let https = &text[text.find("listen 443").unwrap()..];
        let start = https.find("location / {").unwrap();
        let end = start + https[start..].find('}').unwrap();
        &https[start..end]
    }

    #[test]
    fn a_unix_socket_is_preferred_and_the_socket_group_is_explained() {
        let g = site(
            "listen = [\"127.0.0.1:8080\", \"unix:/run/lookout/http.sock\"]\nsocket_group = \"www-data\"",
        );
        assert_eq!(g.warnings, Vec::<String>::new());
        let block = proxy_block(&g.text);
        assert!(
            block.contains("proxy_pass http://unix:/run/lookout/http.sock:;"),
            "{block}"
        );
        assert!(g.text.contains("socket_group = \"www-data\""));
        assert!(g.text.contains("socket_mode = \"0660\""));
    }

    #[test]
    fn the_proxy_block_streams_and_forwards_the_client() {
        let g = site("listen = [\"unix:/run/lookout/http.sock\"]\nsocket_group = \"www-data\"");
        let block = proxy_block(&g.text);
        for directive in [
            "proxy_buffering off;",
            "proxy_request_buffering off;",
            "proxy_http_version 1.1;",
            "proxy_read_timeout 1h;",
            "proxy_send_timeout 1h;",
            "proxy_set_header Connection \"\";",
            "proxy_set_header Host $http_host;",
            "proxy_set_header X-Real-IP $remote_addr;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_set_header X-Forwarded-Host $http_host;",
            "proxy_set_header Forwarded \"\";",
        ] {
            assert!(
                block.contains(directive),
                "{directive} missing from\n{block}"
            );
        }
        for line in [
            "listen 443 ssl http2;",
            "ssl_certificate /etc/letsencrypt/live/cam.example.org/fullchain.pem;",
            "ssl_certificate_key /etc/letsencrypt/live/cam.example.org/privkey.pem;",
            "root /var/www/letsencrypt;",
            "return 301 https://$host$request_uri;",
            "server_name cam.example.org;",
        ] {
            assert!(g.text.contains(line), "{line} missing");
        }
    }

    #[test]
    fn a_tcp_upstream_needs_its_address_trusted() {
        let c = listening(&["https://0.0.0.0:8443", "0.0.0.0:8080"], "");
        let g = nginx_site(&c, "cam.example.org", Path::new(DEFAULT_WEBROOT), None).unwrap();
        assert!(proxy_block(&g.text).contains("proxy_pass http://127.0.0.1:8080;"));
        assert!(
            g.text
                .contains("server.trusted_proxies must include \"127.0.0.1\"")
        );
        assert_eq!(g.warnings.len(), 2, "{:?}", g.warnings);
        assert!(g.warnings[0].contains("add \"127.0.0.1\" to server.trusted_proxies"));
        assert!(g.warnings[1].contains("without going through nginx"));

        let g = site("listen = [\"127.0.0.1:8080\"]\ntrusted_proxies = [\"127.0.0.0/8\"]");
        assert_eq!(g.warnings, Vec::<String>::new());
        let g = site("listen = [\"[::1]:8080\"]\ntrusted_proxies = [\"::1\"]");
        assert!(proxy_block(&g.text).contains("proxy_pass http://[::1]:8080;"));
        assert_eq!(g.warnings, Vec::<String>::new());
        let g = site("listen = [\"[::]:8080\"]\ntrusted_proxies = [\"::1\"]");
        assert!(proxy_block(&g.text).contains("proxy_pass http://[::1]:8080;"));
        assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
    }

    #[test]
    fn untrusted_or_unreachable_sockets_are_warned_about() {
        let g = site("listen = [\"unix:/run/lookout/http.sock\"]\ntrusted_proxies = []");
        assert_eq!(g.warnings.len(), 2, "{:?}", g.warnings);
        assert!(g.warnings[0].contains("add \"unix\""));
        assert!(g.warnings[1].contains("socket_group = \"www-data\""));
        let g = site("listen = [\"unix:/run/lookout/http.sock\"]\nsocket_mode = \"0666\"");
        assert_eq!(g.warnings, Vec::<String>::new());
    }

    #[test]
    fn no_usable_listener_is_an_error_saying_what_to_add() {
        for listen in [
            &["https://0.0.0.0:443"][..],
            &["systemd"],
            &["127.0.0.1:0"],
            &[],
        ] {
            let err = nginx_site(
                &listening(listen, ""),
                "cam.example.org",
                Path::new(DEFAULT_WEBROOT),
                None,
            )
            .unwrap_err();
            let err = err.message();
            assert!(err.contains("unix:/run/lookout/http.sock"), "{err}");
            assert!(err.contains("loopback"), "{err}");
        }
    }

    #[test]
    fn bad_names_and_paths_are_refused_and_the_placeholder_warned() {
        let c = config("listen = [\"127.0.0.1:8080\"]\ntrusted_proxies = [\"127.0.0.1\"]");
        let webroot = Path::new(DEFAULT_WEBROOT);
        for bad in ["", "cam.example.org; evil", "a b", "x{"] {
            assert!(nginx_site(&c, bad, webroot, None).is_err(), "{bad:?}");
        }
        assert!(nginx_site(&c, "cam", Path::new("relative"), None).is_err());
        assert!(nginx_site(&c, "cam", Path::new("/var/www/$x"), None).is_err());
        let g = nginx_site(&c, PLACEHOLDER_NAME, webroot, None).unwrap();
        assert!(g.warnings[0].contains("--server-name"), "{:?}", g.warnings);
        let err = nginx_site(
            &config("listen = [\"unix:/run/my socket\"]"),
            "cam",
            webroot,
            None,
        )
        .unwrap_err();
        assert!(err.message().contains("/run/lookout/http.sock"), "{err}");
    }

    #[test]
    fn a_socket_from_systemd_is_named_with_upstream() {
        let c = listening(&["systemd"], "");
        let spec: ListenSpec = "unix:/run/lookout.sock".parse().unwrap();
        let g = nginx_site(&c, "cam", Path::new(DEFAULT_WEBROOT), Some(&spec)).unwrap();
        assert!(proxy_block(&g.text).contains("proxy_pass http://unix:/run/lookout.sock:;"));
        // The socket unit sets the mode, so server.socket_* are not what to change.
        assert!(g.text.contains("SocketGroup=www-data"), "{}", g.text);
        assert_eq!(g.warnings, Vec::<String>::new());
        let bad: ListenSpec = "systemd".parse().unwrap();
        let err = nginx_site(&c, "cam", Path::new(DEFAULT_WEBROOT), Some(&bad)).unwrap_err();
        assert!(err.message().contains("--upstream"), "{err}");
    }
}
