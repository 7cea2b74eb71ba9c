//! `lookout systemd-unit`: a hardened systemd service for the current config. Lookout runs
//! as a dynamic user in the `video` group, with its database in `/var/lib/lookout`, its
//! sockets in `/run/lookout`, readiness and watchdog over `sd_notify`, and no capability
//! unless a configured port is below 1024.

use super::Generated;
use crate::config::Config;
use crate::listen::ListenSpec;
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::fmt::Write as _;
use std::path::Path;

/// Where `--install` writes the unit.
pub const UNIT_PATH: &str = "/etc/systemd/system/lookout.service";

/// The service's data directory: systemd makes it (`StateDirectory=lookout`) and gives it
/// to the dynamic user.
pub const STATE_DIR: &str = "/var/lib/lookout";

/// The service's runtime directory (`RuntimeDirectory=lookout`), where sockets belong.
pub const RUNTIME_DIR: &str = "/run/lookout";

/// The unit for `config`, run as `exe`, reading the config at `config_path` (absolute;
/// `None` when Lookout runs without a file).
pub fn systemd_unit(
    config: &Config,
    exe: &Path,
    config_path: Option<&Path>,
) -> Result<Generated, Error> {
    let mut warnings = Vec::new();
    let mut exec = vec![path_arg(exe)?, "serve".to_owned()];
    // The service starts this very file: one under /home (`cargo build` output, a download)
    // fails with status 203/EXEC.
    if let Some(hider) = hidden_by_sandbox(exe) {
        warnings.push(format!(
            "this program is {}, which {hider} hides from the service, so it would not start: install it with `sudo install -m 755 {} /usr/local/bin/lookout` and run `/usr/local/bin/lookout systemd-unit` again (with the same --config)",
            exe.display(),
            exe.display()
        ));
    }
    match config_path {
        Some(p) => {
            exec.push("--config".into());
            exec.push(path_arg(p)?);
            if let Some(hider) = hidden_by_sandbox(p) {
                warnings.push(format!(
                    "the config {} is where {hider} hides it from the service: move it to /etc/lookout/lookout.toml and run this command again with --config /etc/lookout/lookout.toml",
                    p.display()
                ));
            }
        }
        None => warnings.push(
            "no config file: the service will read /etc/lookout/lookout.toml if it exists, else serve the demo camera; write one (`lookout config example`) and pass --config".to_owned(),
        ),
    }
    exec.push("--data-dir".into());
    exec.push(STATE_DIR.into());
    if let Some(d) = config
        .data_dir_in_file
        .as_deref()
        .filter(|d| *d != Path::new(STATE_DIR))
    {
        warnings.push(format!(
            "server.data_dir is {}, but the service keeps its database in {STATE_DIR} (StateDirectory=lookout, --data-dir); move the database there (stop Lookout, copy lookout.db and its -wal file)",
            d.display()
        ));
    }
    for l in &config.server.listen {
        match l {
            ListenSpec::Unix(p) if !p.starts_with(RUNTIME_DIR) => warnings.push(format!(
                "the socket unix:{} is outside {RUNTIME_DIR}, where the service may create files (ProtectSystem=strict); use unix:{RUNTIME_DIR}/http.sock",
                p.display()
            )),
            _ => {}
        }
    }
    if config.tls.is_some() {
        warnings.push(
            "[tls] names key files: the service's dynamic user cannot read root-only files such as /etc/letsencrypt/live/*/privkey.pem; copy them somewhere the service can read (a certbot --deploy-hook), or let nginx do HTTPS (`lookout nginx-site`)".to_owned(),
        );
    }
    let socket_activated = config.server.listen.contains(&ListenSpec::Systemd);
    if socket_activated {
        warnings.push(
            "server.listen has \"systemd\": create /etc/systemd/system/lookout.socket as well (see docs/guide/remote-access.md), then `systemctl enable --now lookout.socket`".to_owned(),
        );
    }
    // Ports below 1024 need CAP_NET_BIND_SERVICE (sockets systemd binds for us do not).
    let low_port = config.server.listen.iter().any(
        |l| matches!(l, ListenSpec::Tcp { addr, .. } if addr.port() != 0 && addr.port() < 1024),
    );
    let mut groups = vec!["video".to_owned()];
    if let Some(g) = &config.server.socket.group {
        // chown(2) to a group needs membership in it, which a dynamic user only has this way.
        if !valid_group(g) {
            return Err(Error::invalid(format!(
                "server.socket_group {g:?} is not a group name systemd accepts"
            )));
        }
        if !groups.contains(g) {
            groups.push(g.clone());
        }
    }

    let origin =
        config_path.map_or_else(|| "no config file".to_owned(), |p| p.display().to_string());
    let mut u = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        u,
        "# Lookout as a systemd service: printed by `lookout systemd-unit` for {origin}.\n\
         # Install: `sudo lookout systemd-unit --install` writes {UNIT_PATH}; then\n\
         #     systemctl daemon-reload\n\
         #     systemctl enable --now lookout\n\
         # The service runs as a user systemd makes up (DynamicUser): the config file must be\n\
         # readable by everyone (chmod 644), and `lookout user ...` commands against its database\n\
         # run as root with --data-dir {STATE_DIR}.\n\
         \n\
         [Unit]\n\
         Description=Lookout camera streaming server\n\
         Wants=network-online.target\n\
         After=network-online.target\n"
    );
    if socket_activated {
        u.push_str("Requires=lookout.socket\nAfter=lookout.socket\n");
    }
    let _ = write!(
        u,
        "\n\
         [Service]\n\
         # Lookout says when it listens (READY=1) and pings the watchdog every 15 s; a hung\n\
         # process is killed and restarted.\n\
         Type=notify\n\
         NotifyAccess=main\n\
         WatchdogSec=30s\n\
         ExecStart={exec}\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         \n\
         DynamicUser=yes\n\
         # video: the cameras (/dev/video*)\n\
         SupplementaryGroups={groups}\n\
         StateDirectory=lookout\n\
         # {RUNTIME_DIR}/http.sock; others (nginx) may enter the directory, the socket's own mode\n\
         # (server.socket_mode, socket_group) says who may connect.\n\
         RuntimeDirectory=lookout\n\
         RuntimeDirectoryMode=0755\n\
         \n",
        exec = exec.join(" "),
        groups = groups.join(" "),
    );
    if low_port {
        let _ = write!(
            u,
            "# A configured port is below 1024: the one capability that allows binding it.\n\
             AmbientCapabilities=CAP_NET_BIND_SERVICE\n\
             CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
        );
    } else {
        u.push_str("CapabilityBoundingSet=\n");
    }
    let _ = write!(
        u,
        "NoNewPrivileges=yes\n\
         # Cameras are devices: keep /dev, allow only video4linux ones.\n\
         PrivateDevices=no\n\
         DeviceAllow=char-video4linux rw\n\
         ProtectSystem=strict\n\
         ProtectHome=yes\n\
         PrivateTmp=yes\n\
         ProtectKernelTunables=yes\n\
         ProtectKernelModules=yes\n\
         ProtectKernelLogs=yes\n\
         ProtectControlGroups=yes\n\
         ProtectClock=yes\n\
         ProtectHostname=yes\n\
         # AF_NETLINK: device enumeration (udev).\n\
         RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n\
         RestrictNamespaces=yes\n\
         RestrictRealtime=yes\n\
         RestrictSUIDSGID=yes\n\
         LockPersonality=yes\n\
         MemoryDenyWriteExecute=yes\n\
         SystemCallArchitectures=native\n\
         SystemCallFilter=@system-service\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    );
    Ok(Generated { text: u, warnings })
}

/// The setting of the unit below that hides `p` from the service, if one does: home
/// directories are inaccessible (`ProtectHome=yes`) and `/tmp` is the service's own, empty
/// one (`PrivateTmp=yes`).
fn hidden_by_sandbox(p: &Path) -> Option<&'static str> {
    if ["/home", "/root", "/run/user"]
        .iter()
        .any(|d| p.starts_with(d))
    {
        Some("ProtectHome=yes")
    } else if ["/tmp", "/var/tmp"].iter().any(|d| p.starts_with(d)) {
        Some("PrivateTmp=yes")
    } else {
        None
    }
}

/// A group name as systemd takes it in `SupplementaryGroups=` (a name or a number).
fn valid_group(g: &str) -> bool {
    !g.is_empty()
        && g.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A path as one `ExecStart=` word: quoted when it has characters systemd would split or
/// expand. `%` (specifiers) and `$` (environment) are doubled, quotes and backslashes escaped.
fn path_arg(p: &Path) -> Result<String, Error> {
    let s = p.to_str().ok_or_else(|| {
        Error::invalid(format!(
            "{} is not UTF-8, which a unit file cannot name",
            p.display()
        ))
    })?;
    if !p.is_absolute() {
        return Err(Error::invalid(format!("{s} is not an absolute path")));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{s:?} has control characters, which a unit file cannot name"
        )));
    }
    let escaped = s.replace('%', "%%").replace('$', "$$");
    let plain = escaped
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=,@%$".contains(c));
    Ok(if plain {
        escaped
    } else {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    })
}

/// Writes `text` to `path` (through a temporary file, so a unit is never half-written); the
/// error says what to do.
pub fn install(text: &str, path: &Path) -> Result<(), Error> {
    let shown = path.display();
    let dir = path
        .parent()
        .ok_or_else(|| Error::invalid(format!("{shown} has no parent directory")))?;
    let tmp = dir.join(".lookout.service.tmp");
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                Error::wrap(ErrorKind::PermissionDenied, format!("cannot write {shown}: {e}; run it as root: sudo lookout systemd-unit --install (with the same --config)"), e)
            }
            // The message says it all; "No such file or directory" after it would not help.
            std::io::ErrorKind::NotFound => Error::not_found(format!(
                "cannot write {shown}: {} does not exist; is this a systemd system? Print the unit without --install and put it where your init system wants it",
                dir.display()
            )),
            _ => Error::wrap(io_kind(&e), format!("cannot write {shown}"), e),
        }
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

    fn unit(server: &str) -> Generated {
        systemd_unit(
            &config(server),
            Path::new("/usr/local/bin/lookout"),
            Some(Path::new("/etc/lookout/lookout.toml")),
        )
        .unwrap()
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn the_unit_is_hardened_and_notifies() {
        let g = unit("listen = [\"unix:/run/lookout/http.sock\", \"127.0.0.1:8080\"]");
        assert_eq!(g.warnings, Vec::<String>::new());
        let l = lines(&g.text);
        for want in [
            "[Service]",
            "Type=notify",
            "NotifyAccess=main",
            "WatchdogSec=30s",
            "ExecStart=/usr/local/bin/lookout serve --config /etc/lookout/lookout.toml --data-dir /var/lib/lookout",
            "DynamicUser=yes",
            "SupplementaryGroups=video",
            "StateDirectory=lookout",
            "RuntimeDirectory=lookout",
            "RuntimeDirectoryMode=0755",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "NoNewPrivileges=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
            "RestrictNamespaces=yes",
            "LockPersonality=yes",
            "MemoryDenyWriteExecute=yes",
            "SystemCallFilter=@system-service",
            "CapabilityBoundingSet=",
            "DeviceAllow=char-video4linux rw",
            "PrivateDevices=no",
            "Restart=on-failure",
            "RestartSec=2",
            "WantedBy=multi-user.target",
        ] {
            assert!(l.contains(&want), "{want:?} missing from\n{}", g.text);
        }
        assert!(!g.text.contains("AmbientCapabilities"));
        assert!(!g.text.contains("lookout.socket\n"));
    }

    #[test]
    fn a_port_below_1024_gets_only_net_bind_service() {
        let g = unit("listen = [\"0.0.0.0:80\", \"0.0.0.0:8080\"]");
        let l = lines(&g.text);
        assert!(l.contains(&"AmbientCapabilities=CAP_NET_BIND_SERVICE"));
        assert!(l.contains(&"CapabilityBoundingSet=CAP_NET_BIND_SERVICE"));
        assert!(!l.contains(&"CapabilityBoundingSet="));
        // systemd binds socket-activated ports itself.
        let g = unit("listen = [\"systemd\"]");
        assert!(lines(&g.text).contains(&"CapabilityBoundingSet="));
        assert!(lines(&g.text).contains(&"Requires=lookout.socket"));
        assert!(g.warnings[0].contains("lookout.socket"), "{:?}", g.warnings);
    }

    #[test]
    fn the_socket_group_joins_the_supplementary_groups() {
        let g = unit("listen = [\"unix:/run/lookout/http.sock\"]\nsocket_group = \"www-data\"");
        assert!(lines(&g.text).contains(&"SupplementaryGroups=video www-data"));
        let bad = systemd_unit(
            &config("socket_group = \"a b\""),
            Path::new("/usr/bin/lookout"),
            None,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn paths_the_sandbox_hides_are_warned_about() {
        let c = config("listen = [\"unix:/srv/lookout.sock\"]\ndata_dir = \"/srv/lookout\"");
        let g = systemd_unit(
            &c,
            Path::new("/usr/bin/lookout"),
            Some(Path::new("/home/pi/lookout.toml")),
        )
        .unwrap();
        assert_eq!(g.warnings.len(), 3, "{:?}", g.warnings);
        assert!(g.warnings[0].contains("ProtectHome"));
        assert!(g.warnings[0].contains("/home/pi/lookout.toml"));
        assert!(g.warnings[1].contains("server.data_dir"));
        assert!(g.warnings[2].contains("unix:/run/lookout/http.sock"));
        let g = systemd_unit(&c, Path::new("/usr/bin/lookout"), None).unwrap();
        assert!(g.warnings[0].contains("no config file"));
        assert!(
            lines(&g.text)
                .contains(&"ExecStart=/usr/bin/lookout serve --data-dir /var/lib/lookout")
        );
    }

    #[test]
    fn a_program_the_sandbox_hides_is_warned_about() {
        let c = config("listen = [\"127.0.0.1:8080\"]");
        let conf = Some(Path::new("/etc/lookout/lookout.toml"));
        for (exe, hider) in [
            ("/home/pi/lookout/target/release/lookout", "ProtectHome=yes"),
            ("/root/.cargo/bin/lookout", "ProtectHome=yes"),
            ("/tmp/lookout", "PrivateTmp=yes"),
            ("/var/tmp/x/lookout", "PrivateTmp=yes"),
        ] {
            let g = systemd_unit(&c, Path::new(exe), conf).unwrap();
            assert_eq!(g.warnings.len(), 1, "{exe}: {:?}", g.warnings);
            let w = &g.warnings[0];
            assert!(
                w.contains(exe) && w.contains(hider) && w.contains("/usr/local/bin/lookout"),
                "{w}"
            );
        }
        for exe in [
            "/usr/local/bin/lookout",
            "/usr/bin/lookout",
            "/opt/homely/lookout",
        ] {
            let g = systemd_unit(&c, Path::new(exe), conf).unwrap();
            assert_eq!(g.warnings, Vec::<String>::new(), "{exe}");
        }
    }

    #[test]
    fn exec_start_words_are_quoted_and_escaped() {
        assert_eq!(
            path_arg(Path::new("/opt/look out/bin")).unwrap(),
            "\"/opt/look out/bin\""
        );
        assert_eq!(
            path_arg(Path::new("/a/100%/$HOME")).unwrap(),
            "/a/100%%/$$HOME"
        );
        assert_eq!(path_arg(Path::new("/a/\"q\\")).unwrap(), "\"/a/\\\"q\\\\\"");
        assert!(path_arg(Path::new("relative")).is_err());
        assert!(path_arg(Path::new("/a\nb")).is_err());
    }

    #[test]
    fn install_writes_the_file_or_says_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookout.service");
        install("[Unit]\n", &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[Unit]\n");
        install("[Unit]\nDescription=new\n", &path).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("new"));
        let err = install("x", &dir.path().join("missing/lookout.service")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.message().contains("does not exist"), "{err}");
    }
}
