//! Validation: [`ConfigFile`] → [`Config`], with errors tied to lines of the file.

use super::file::{AuthMode, AuthSection, CameraSection, RedirectHttp, TlsSection};
use super::sources::{RosConfig, SourceConfig};
use super::{ConfigError, ConfigFile};
use crate::auth::limiter::LimiterPolicy;
use crate::auth::password::HashCost;
use crate::auth::sessions::SessionPolicy;
use crate::listen::{ListenSpec, SocketPermissions};
use crate::tls::CertFiles;
use crate::web::TrustedProxy;
use lookout_core::redact::mask_url_secrets;
use lookout_sources::SupervisorConfig;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` for the built-in demo.
    pub origin: Option<PathBuf>,
    pub auth: AuthConfig,
    /// Set from `server.data_dir`, else the default; `--data-dir` replaces it.
    pub data_dir: PathBuf,
    /// What was on disk, with defaults filled in (`lookout config check` prints it).
    pub file: ConfigFile,
    pub server: ServerConfig,
    /// Set when `[tls]` names certificate files.
    pub tls: Option<TlsConfig>,
    /// Set when `[acme]` asks for certificates from a CA.
    pub acme: Option<AcmeConfig>,
    pub alerts: std::sync::Arc<crate::alerts::AlertConfig>,
    /// ROS transports and web_video_server's on-demand topics.
    pub ros: RosConfig,
    pub cameras: Vec<CameraConfig>,
}

#[derive(Debug, Clone)]
pub struct AcmeConfig {
    pub domains: Vec<String>,
    pub contact: Option<String>,
    pub directory_url: String,
    pub directory_ca: Option<PathBuf>,
    pub renew_before: Duration,
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub files: CertFiles,
    /// The certificate as loaded (and checked) when the config was read.
    pub initial: rustls::sign::CertifiedKey,
    pub reload_every: Duration,
    pub redirect_http: RedirectHttp,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub mode: AuthMode,
    pub sessions: SessionPolicy,
    pub limiter: LimiterPolicy,
    pub cost: HashCost,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<ListenSpec>,
    /// `""` or `/cam` (no trailing slash).
    pub base_path: String,
    pub trusted_proxies: Vec<TrustedProxy>,
    pub socket: SocketPermissions,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub request_timeout: Duration,
    pub write_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub snapshot_timeout: Duration,
    /// `server.hsts_max_age_s` as set; `None` for the default policy.
    pub hsts_max_age_s: Option<u64>,
    pub variant_memory_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct CameraConfig {
    pub id: String,
    pub name: String,
    pub quality: u8,
    pub supervisor: SupervisorConfig,
    pub source: SourceConfig,
    pub motion: Option<MotionSettings>,
}

#[derive(Debug, Clone)]
pub struct MotionSettings {
    pub detector: lookout_core::motion::MotionConfig,
    /// Frames closer together than this are not analysed.
    pub min_interval: Duration,
}

pub(super) struct Ctx<'a> {
    path: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn err(
        &self,
        offset: Option<usize>,
        msg: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(self.path, self.text, offset, msg, fix)
    }

    /// Offset of the line that sets `key` (first match), for errors in `[server]`.
    pub(super) fn key_offset(&self, key: &str) -> Option<usize> {
        self.key_offset_from(0, key)
    }

    /// Offset of the first line setting `key` after the `n`-th (0-based) line that is
    /// exactly `header` (`[smtp]`, `[[alert]]`): errors point into the right table.
    pub(super) fn key_in(&self, header: &str, n: usize, key: &str) -> Option<usize> {
        let mut offset = 0;
        let mut seen = 0;
        for line in self.text.split_inclusive('\n') {
            if line.trim() == header {
                if seen == n {
                    return self.key_offset_from(offset, key).or(Some(offset));
                }
                seen += 1;
            }
            offset += line.len();
        }
        self.key_offset(key)
    }

    fn key_offset_from(&self, from: usize, key: &str) -> Option<usize> {
        let mut offset = from;
        for line in self.text.get(from..).unwrap_or("").split_inclusive('\n') {
            let t = line.trim_start();
            if t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
            {
                return Some(offset + (line.len() - t.len()));
            }
            offset += line.len();
        }
        None
    }
}

pub(super) fn resolve(file: ConfigFile, path: &str, text: &str) -> Result<Config, ConfigError> {
    let cx = Ctx { path, text };
    let s = &file.server;
    let mut listen = Vec::new();
    for addr in &s.listen {
        listen.push(addr.parse::<ListenSpec>().map_err(|e| {
            cx.err(
                cx.key_offset("listen"),
                format!("server.listen: {e}"),
                "e.g. \"127.0.0.1:8080\", \"[::]:8080\", \"https://0.0.0.0:443\", \"unix:/run/lookout/http.sock\"",
            )
        })?);
    }
    let mut trusted_proxies = Vec::new();
    for p in &s.trusted_proxies {
        trusted_proxies.push(p.parse::<TrustedProxy>().map_err(|e| {
            cx.err(
                cx.key_offset("trusted_proxies"),
                format!("server.trusted_proxies: {e}"),
                "list your reverse proxy's address, e.g. [\"127.0.0.1\", \"unix\"]",
            )
        })?);
    }
    let socket_mode = u32::from_str_radix(&s.socket_mode, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| {
            cx.err(
                cx.key_offset("socket_mode"),
                format!(
                    "server.socket_mode {:?} is not an octal file mode",
                    s.socket_mode
                ),
                "write e.g. \"0660\" (owner and group may connect)",
            )
        })?;
    let positive = |key: &str, v: u64| {
        if v == 0 {
            Err(cx.err(
                cx.key_offset(key),
                format!("server.{key} must be above 0"),
                "remove the key to use the default",
            ))
        } else {
            Ok(Duration::from_millis(v))
        }
    };
    if s.max_connections == 0 {
        return Err(cx.err(
            cx.key_offset("max_connections"),
            "server.max_connections must be above 0",
            "remove the key to use the default (1000)",
        ));
    }
    if s.max_connections_per_address == 0 {
        return Err(cx.err(
            cx.key_offset("max_connections_per_address"),
            "server.max_connections_per_address must be above 0",
            "remove the key to use the default (100)",
        ));
    }
    // hyper's smallest read buffer is 8 KiB; below that it would panic.
    if !(8192..=1 << 20).contains(&s.max_header_bytes) {
        return Err(cx.err(
            cx.key_offset("max_header_bytes"),
            format!(
                "server.max_header_bytes is {}; it must be 8192..=1048576",
                s.max_header_bytes
            ),
            "remove the key to use the default (16384)",
        ));
    }
    if !(8..=1000).contains(&s.max_headers) {
        return Err(cx.err(
            cx.key_offset("max_headers"),
            format!(
                "server.max_headers is {}; it must be 8..=1000",
                s.max_headers
            ),
            "remove the key to use the default (64)",
        ));
    }
    if s.snapshot_timeout_ms >= s.request_timeout_ms {
        return Err(cx.err(
            cx.key_offset("snapshot_timeout_ms"),
            format!(
                "server.snapshot_timeout_ms ({}) must be below server.request_timeout_ms ({})",
                s.snapshot_timeout_ms, s.request_timeout_ms
            ),
            "lower snapshot_timeout_ms or raise request_timeout_ms",
        ));
    }
    if !(1..=1 << 20).contains(&s.variant_memory_mb) {
        return Err(cx.err(
            cx.key_offset("variant_memory_mb"),
            format!(
                "server.variant_memory_mb is {}; it must be 1..=1048576",
                s.variant_memory_mb
            ),
            "remove the key to use the default (128)",
        ));
    }
    let base_path = s.base_path.trim_end_matches('/').to_owned();
    let base_ok = base_path.is_empty()
        || (base_path.starts_with('/')
            && !base_path.contains("//")
            && !base_path.split('/').any(|seg| seg == "." || seg == "..")
            && base_path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b)));
    if !base_ok {
        return Err(cx.err(
            cx.key_offset("base_path"),
            format!("server.base_path {:?} is not a plain URL path", s.base_path),
            "write it like \"/cam\" (letters, digits, - _ . ~ and /)",
        ));
    }
    let server = ServerConfig {
        listen,
        base_path,
        trusted_proxies,
        socket: SocketPermissions {
            mode: socket_mode,
            group: s.socket_group.clone(),
        },
        max_connections: s.max_connections,
        max_connections_per_address: s.max_connections_per_address,
        request_timeout: positive("request_timeout_ms", s.request_timeout_ms)?,
        write_timeout: positive("write_timeout_ms", s.write_timeout_ms)?,
        header_read_timeout: positive("header_read_timeout_ms", s.header_read_timeout_ms)?,
        max_header_bytes: s.max_header_bytes,
        max_headers: s.max_headers,
        snapshot_timeout: positive("snapshot_timeout_ms", s.snapshot_timeout_ms)?,
        hsts_max_age_s: s.hsts_max_age_s,
        variant_memory_bytes: s.variant_memory_mb << 20,
    };
    if file.cameras.is_empty() {
        return Err(cx.err(
            None,
            "no cameras configured",
            "add a [[camera]] table; `lookout config example` shows one",
        ));
    }
    let mut seen = HashSet::new();
    let mut cameras = Vec::new();
    for spanned in &file.cameras {
        let offset = Some(spanned.span().start);
        let cam = spanned.get_ref();
        if !valid_id(&cam.id) {
            return Err(cx.err(
                offset,
                format!("camera id {:?} is not valid", cam.id),
                "use 1 to 64 letters, digits, '-' or '_' (it appears in URLs)",
            ));
        }
        if !seen.insert(cam.id.clone()) {
            return Err(cx.err(
                offset,
                format!("camera id {:?} is used twice", cam.id),
                "give each [[camera]] its own id",
            ));
        }
        cameras.push(camera(&cx, offset, cam)?);
    }
    let ros = super::sources::ros(&cx, &file)?;
    let auth = auth(&cx, &file.auth)?;
    let tls = tls(&cx, &file.tls)?;
    let alerts = std::sync::Arc::new(alerts(&cx, &file)?);
    if let Some(p) = &file.public_address
        && (!(p.url.starts_with("http://") || p.url.starts_with("https://"))
            || p.url.parse::<http::Uri>().is_err())
    {
        return Err(cx.err(
            cx.key_in("[public_address]", 0, "url"),
            format!(
                "public_address.url {:?} is not an http(s) URL",
                mask_url_secrets(&p.url)
            ),
            "use a service that answers with your address, e.g. \"https://api.ipify.org\"",
        ));
    }
    let acme = match &file.acme {
        Some(a) => Some(acme(&cx, a)?),
        None => None,
    };
    if tls.is_some() && acme.is_some() {
        return Err(cx.err(
            cx.key_offset("domains"),
            "both [tls] certificate files and [acme] are set",
            "keep one: tls.cert/tls.key for certificates you manage, or [acme] for automatic ones",
        ));
    }
    if tls.is_none()
        && acme.is_none()
        && let Some(spec) = server
            .listen
            .iter()
            .find(|l| matches!(l, ListenSpec::Tcp { tls: true, .. }))
    {
        return Err(cx.err(
            cx.key_offset("listen"),
            format!("server.listen has {spec} but there is no certificate"),
            "add an [acme] table (automatic certificates), or set tls.cert and tls.key to your PEM files",
        ));
    }
    let data_dir = s
        .data_dir
        .clone()
        .unwrap_or_else(lookout_store::default_data_dir);
    Ok(Config {
        origin: None,
        auth,
        data_dir,
        file,
        server,
        tls,
        acme,
        alerts,
        ros,
        cameras,
    })
}

fn alerts(cx: &Ctx<'_>, file: &ConfigFile) -> Result<crate::alerts::AlertConfig, ConfigError> {
    use crate::alerts::{AlertConfig, AlertRule, Channel, parse_quiet_hours};
    use crate::events::EventKind;
    let a = &file.alerts;
    if a.retry_initial_seconds == 0
        || a.retry_max_seconds < a.retry_initial_seconds
        || a.retry_max_seconds > 7 * 86_400
    {
        return Err(cx.err(
            cx.key_offset("retry_initial_seconds"),
            "alerts.retry_initial_seconds must be at least 1 and at most retry_max_seconds, which is at most 604800 (a week)",
            "remove both keys to use the defaults (30 and 3600)",
        ));
    }
    if a.give_up_after_hours == 0 {
        return Err(cx.err(
            cx.key_offset("give_up_after_hours"),
            "alerts.give_up_after_hours must be at least 1",
            "remove it to use the default (72)",
        ));
    }
    let ev = &file.events;
    if ev.keep_days == 0 || ev.keep_days.saturating_mul(24) < a.give_up_after_hours {
        return Err(cx.err(
            cx.key_offset("keep_days"),
            format!(
                "events.keep_days ({}) must be at least 1 and cover alerts.give_up_after_hours ({} h): deleting an event drops its undelivered alerts",
                ev.keep_days, a.give_up_after_hours
            ),
            "raise keep_days or lower give_up_after_hours",
        ));
    }
    if ev.max_snapshot_mib == 0 {
        return Err(cx.err(
            cx.key_offset("max_snapshot_mib"),
            "events.max_snapshot_mib must be at least 1",
            "remove it to use the default (500)",
        ));
    }
    let mut rules = Vec::new();
    let mut names = HashSet::new();
    for (n, r) in file.alert_rules.iter().enumerate() {
        let key = |k: &str| cx.key_in("[[alert]]", n, k);
        let at = key("name");
        if r.name.is_empty() || !names.insert(r.name.clone()) {
            return Err(cx.err(
                at,
                format!("[[alert]] name {:?} is empty or used twice", r.name),
                "give each [[alert]] its own name (it is how deliveries are recorded)",
            ));
        }
        if r.max_per_hour == 0 {
            return Err(cx.err(
                key("max_per_hour"),
                format!("[[alert]] {:?}: max_per_hour must be at least 1", r.name),
                "remove it to use the default (20), or delete the rule to send nothing",
            ));
        }
        let kinds = match &r.kinds {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|k| {
                        EventKind::parse(k).ok_or_else(|| {
                            cx.err(
                                key("kinds"),
                                format!("[[alert]] {:?}: unknown event kind {k:?}", r.name),
                                "use \"motion\", \"camera_offline\", \"camera_online\" or \"public_address_changed\"",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        if let Some(cams) = &r.cameras
            && let Some(c) = cams
                .iter()
                .find(|c| !file.cameras.iter().any(|k| &k.get_ref().id == *c))
        {
            return Err(cx.err(
                key("cameras"),
                format!("[[alert]] {:?}: no camera {c:?}", r.name),
                "list ids of [[camera]] tables",
            ));
        }
        let quiet_hours = match &r.quiet_hours {
            None => None,
            Some(q) => Some(parse_quiet_hours(q).ok_or_else(|| {
                cx.err(
                    key("quiet_hours"),
                    format!("[[alert]] {:?}: quiet_hours {q:?} is not FROM-TO", r.name),
                    "write local times like \"22:00-07:00\"",
                )
            })?),
        };
        let w = match (&r.webhook, &r.email) {
            (Some(w), None) => w,
            (None, Some(mail)) => {
                if file.smtp.is_none() {
                    return Err(cx.err(
                        key("to"),
                        format!(
                            "[[alert]] {:?} sends email but there is no [smtp] table",
                            r.name
                        ),
                        "add [smtp] with host, from and credentials (docs/ref/config.md)",
                    ));
                }
                let mut to = Vec::new();
                for addr in &mail.to {
                    to.push(addr.parse::<lettre::message::Mailbox>().map_err(|e| {
                        cx.err(
                            key("to"),
                            format!(
                                "[[alert]] {:?}: {addr:?} is not an email address: {e}",
                                r.name
                            ),
                            "write \"me@example.org\" or \"Me <me@example.org>\"",
                        )
                    })?);
                }
                if to.is_empty() {
                    return Err(cx.err(
                        key("to"),
                        format!("[[alert]] {:?}: email.to is empty", r.name),
                        "list at least one recipient",
                    ));
                }
                rules.push(AlertRule {
                    name: r.name.clone(),
                    kinds,
                    cameras: r.cameras.clone(),
                    quiet_hours,
                    max_per_hour: r.max_per_hour,
                    channel: Channel::Email { to },
                });
                continue;
            }
            _ => {
                return Err(cx.err(
                    at,
                    format!(
                        "[[alert]] {:?} needs exactly one of [alert.webhook] or [alert.email]",
                        r.name
                    ),
                    "write one destination per rule; add another [[alert]] for a second one",
                ));
            }
        };
        if !(w.url.starts_with("http://") || w.url.starts_with("https://"))
            || w.url.parse::<http::Uri>().is_err()
        {
            return Err(cx.err(
                key("url"),
                format!(
                    "[[alert]] {:?}: webhook url {:?} is not an http(s) URL",
                    r.name,
                    mask_url_secrets(&w.url)
                ),
                "write e.g. \"https://hooks.example.org/lookout\"",
            ));
        }
        let secret = match (&w.secret_file, &w.secret_env) {
            (Some(f), None) => std::fs::read_to_string(f)
                .map(|s| s.trim().to_owned())
                .map_err(|e| {
                    cx.err(
                        key("secret_file"),
                        format!("cannot read the webhook secret {}: {e}", f.display()),
                        "check the path and that Lookout may read it",
                    )
                })?,
            (None, Some(v)) => std::env::var(v).map_err(|_| {
                cx.err(
                    key("secret_env"),
                    format!("the environment variable {v} (webhook secret) is not set"),
                    "set it in the service's environment, or use secret_file",
                )
            })?,
            _ => {
                return Err(cx.err(
                    key("url"),
                    format!("[[alert]] {:?}: the webhook needs exactly one of secret_file or secret_env", r.name),
                    "receivers check the HMAC-SHA256 signature made with this secret",
                ));
            }
        };
        if secret.len() < 16 {
            return Err(cx.err(
                key("url"),
                format!(
                    "[[alert]] {:?}: the webhook secret is shorter than 16 characters",
                    r.name
                ),
                "make one with `openssl rand -hex 32`",
            ));
        }
        rules.push(AlertRule {
            name: r.name.clone(),
            kinds,
            cameras: r.cameras.clone(),
            quiet_hours,
            max_per_hour: r.max_per_hour,
            channel: Channel::Webhook {
                url: w.url.clone(),
                secret,
            },
        });
    }
    Ok(AlertConfig {
        retry_initial: Duration::from_secs(a.retry_initial_seconds),
        retry_max: Duration::from_secs(a.retry_max_seconds),
        give_up_after: Duration::from_secs(a.give_up_after_hours.saturating_mul(3600)),
        rules,
        smtp: match &file.smtp {
            Some(s) => Some(smtp(cx, s)?),
            None => None,
        },
    })
}

fn smtp(
    cx: &Ctx<'_>,
    s: &super::file::SmtpSection,
) -> Result<crate::alerts::email::SmtpConfig, ConfigError> {
    use crate::alerts::email::{Security, SmtpConfig};
    let security = match s.security.as_str() {
        "starttls" => Security::StartTls,
        "tls" => Security::Tls,
        "none" => Security::None,
        other => {
            return Err(cx.err(
                cx.key_in("[smtp]", 0, "security"),
                format!("smtp.security {other:?} is not known"),
                "write \"starttls\" (port 587), \"tls\" (port 465) or \"none\" (a local relay)",
            ));
        }
    };
    if s.port == Some(0) {
        return Err(cx.err(
            cx.key_in("[smtp]", 0, "port"),
            "smtp.port 0 is not a port",
            "remove it to use the default of the security mode (587, 465 or 25)",
        ));
    }
    let port = s.port.unwrap_or(match security {
        Security::StartTls => 587,
        Security::Tls => 465,
        Security::None => 25,
    });
    let password = match (&s.password_file, &s.password_env) {
        (Some(f), None) => Some(
            std::fs::read_to_string(f)
                .map(|p| p.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|e| {
                    cx.err(
                        cx.key_in("[smtp]", 0, "password_file"),
                        format!("cannot read the SMTP password {}: {e}", f.display()),
                        "check the path and that Lookout may read it",
                    )
                })?,
        ),
        (None, Some(v)) => Some(std::env::var(v).map_err(|_| {
            cx.err(
                cx.key_in("[smtp]", 0, "password_env"),
                format!("the environment variable {v} (SMTP password) is not set"),
                "set it in the service's environment, or use password_file",
            )
        })?),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(cx.err(
                cx.key_in("[smtp]", 0, "password_env"),
                "smtp.password_file and smtp.password_env are both set",
                "keep one",
            ));
        }
    };
    let local = ["localhost", "127.0.0.1", "::1"].contains(&s.host.as_str());
    if security == Security::None && s.username.is_some() && !local {
        return Err(cx.err(
            cx.key_in("[smtp]", 0, "security"),
            format!(
                "smtp.security = \"none\" would send the password to {} unencrypted",
                s.host
            ),
            "use \"starttls\" (port 587) or \"tls\" (port 465); \"none\" with a login is only for a relay on this machine",
        ));
    }
    if password.is_some() != s.username.is_some() {
        return Err(cx.err(
            cx.key_in("[smtp]", 0, "host"),
            "smtp.username and a password go together",
            "set both (AUTH) or neither (a relay that needs no login)",
        ));
    }
    let from = s.from.parse::<lettre::message::Mailbox>().map_err(|e| {
        cx.err(
            cx.key_in("[smtp]", 0, "from"),
            format!("smtp.from {:?} is not an email address: {e}", s.from),
            "write \"Lookout <cam@example.org>\"",
        )
    })?;
    Ok(SmtpConfig {
        host: s.host.clone(),
        port,
        security,
        username: s.username.clone(),
        password,
        from,
        ca_file: s.ca_file.clone(),
        link_base: s.link_base.clone(),
    })
}

fn acme(cx: &Ctx<'_>, a: &super::file::AcmeSection) -> Result<AcmeConfig, ConfigError> {
    if a.domains.is_empty() {
        return Err(cx.err(
            cx.key_in("[acme]", 0, "domains"),
            "acme.domains is empty",
            "list the names the certificate is for, e.g. domains = [\"cam.example.org\"]",
        ));
    }
    for d in &a.domains {
        let ok = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !ok {
            return Err(cx.err(
                cx.key_in("[acme]", 0, "domains"),
                format!("acme.domains: {d:?} is not a DNS name HTTP-01 can validate"),
                "write full names like \"cam.example.org\" (no wildcards, no addresses)",
            ));
        }
    }
    let directory_url = match a.directory.as_str() {
        "letsencrypt" => instant_acme::LetsEncrypt::Production.url().to_owned(),
        "letsencrypt-staging" => instant_acme::LetsEncrypt::Staging.url().to_owned(),
        url if url.starts_with("https://") => url.to_owned(),
        other => {
            return Err(cx.err(
                cx.key_in("[acme]", 0, "directory"),
                format!("acme.directory {other:?} is not known"),
                "write \"letsencrypt\", \"letsencrypt-staging\" or the https:// URL of an ACME directory",
            ));
        }
    };
    if !(1..=89).contains(&a.renew_before_days) {
        return Err(cx.err(
            cx.key_in("[acme]", 0, "renew_before_days"),
            format!(
                "acme.renew_before_days is {}; it must be 1..=89",
                a.renew_before_days
            ),
            "remove the key to use the default (30)",
        ));
    }
    if let Some(ca) = &a.directory_ca
        && !ca.is_file()
    {
        return Err(cx.err(
            cx.key_in("[acme]", 0, "directory_ca"),
            format!("acme.directory_ca {} is not a readable file", ca.display()),
            "point it at the PEM certificate of the CA that signed the directory's HTTPS",
        ));
    }
    Ok(AcmeConfig {
        domains: a.domains.clone(),
        contact: a.contact.clone(),
        directory_url,
        directory_ca: a.directory_ca.clone(),
        renew_before: Duration::from_secs(a.renew_before_days * 86_400),
    })
}

fn tls(cx: &Ctx<'_>, t: &TlsSection) -> Result<Option<TlsConfig>, ConfigError> {
    let (cert, key) = match (&t.cert, &t.key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => {
            return Err(cx.err(
                cx.key_in("[tls]", 0, "cert")
                    .or(cx.key_in("[tls]", 0, "key")),
                "tls.cert and tls.key go together",
                "set both: the certificate chain (fullchain.pem) and its private key (privkey.pem)",
            ));
        }
    };
    let initial = crate::tls::load(&cert, &key).map_err(|e| {
        cx.err(
            cx.key_in("[tls]", 0, "cert"),
            e.chain().to_string(),
            "check the paths and that Lookout may read both files",
        )
    })?;
    if t.reload_check_seconds == 0 {
        return Err(cx.err(
            cx.key_in("[tls]", 0, "reload_check_seconds"),
            "tls.reload_check_seconds must be at least 1",
            "remove the key to use the default (10)",
        ));
    }
    Ok(Some(TlsConfig {
        files: CertFiles { cert, key },
        initial,
        reload_every: Duration::from_secs(t.reload_check_seconds),
        redirect_http: t.redirect_http,
    }))
}

fn auth(cx: &Ctx<'_>, a: &AuthSection) -> Result<AuthConfig, ConfigError> {
    // Ten years is plenty and keeps every later sum of seconds far from overflowing.
    let in_range = |key: &str, v: u64, max: u64| {
        if v == 0 || v > max {
            Err(cx.err(
                cx.key_offset(key),
                format!("auth.{key} is {v}; it must be 1..={max}"),
                "remove the key to use the default",
            ))
        } else {
            Ok(v)
        }
    };
    let idle = in_range(
        "session_idle_minutes",
        a.session_idle_minutes,
        10 * 366 * 24 * 60,
    )?;
    let max_hours = in_range("session_max_hours", a.session_max_hours, 10 * 366 * 24)?;
    let remember_days = in_range("remember_me_days", a.remember_me_days, 10 * 366)?;
    let cost = HashCost {
        memory_kib: a.argon2_memory_kib,
        iterations: a.argon2_iterations,
        parallelism: a.argon2_parallelism,
    };
    // Argon2's own limits: at least 8 KiB per lane, 1 pass, 1 lane.
    if cost.iterations == 0 || cost.parallelism == 0 || cost.memory_kib < 8 * cost.parallelism {
        return Err(cx.err(
            cx.key_offset("argon2_memory_kib"),
            "auth.argon2_* parameters are below Argon2's minimum",
            "remove them to use OWASP's parameters (19456 KiB, 2 iterations, 1 lane)",
        ));
    }
    Ok(AuthConfig {
        mode: a.mode,
        sessions: SessionPolicy {
            idle: Duration::from_secs(idle * 60),
            max_age: Duration::from_secs(max_hours * 3600),
            remember: Duration::from_secs(remember_days * 86_400),
        },
        limiter: LimiterPolicy {
            free_failures: a.login_free_failures,
            max_lock: Duration::from_secs(a.login_max_lock_seconds.max(1)),
        },
        cost,
    })
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn camera(
    cx: &Ctx<'_>,
    at: Option<usize>,
    cam: &CameraSection,
) -> Result<CameraConfig, ConfigError> {
    let id = &cam.id;
    let bad = |msg: String, fix: &str| cx.err(at, format!("camera {id:?}: {msg}"), fix);
    if !(1..=100).contains(&cam.quality) {
        return Err(bad(
            format!("quality is {}; it must be 1..=100", cam.quality),
            "80 is a good default",
        ));
    }
    let source = super::sources::source(cx, at, cam)?;
    let motion = match &cam.motion {
        None => None,
        Some(m) => Some(motion(cx, m)?),
    };
    Ok(CameraConfig {
        id: id.clone(),
        name: cam.name.clone().unwrap_or_else(|| id.clone()),
        quality: cam.quality,
        motion,
        supervisor: SupervisorConfig {
            // Motion detection watches when nobody else does.
            keep_warm: cam.keep_warm || cam.motion.is_some(),
            idle_linger: Duration::from_millis(cam.idle_linger_ms),
            keep_last_frame: match &source {
                super::sources::SourceConfig::Ros(r) => r.keep_last_frame,
                _ => Duration::ZERO,
            },
            ..SupervisorConfig::default()
        },
        source,
    })
}

fn motion(cx: &Ctx<'_>, m: &super::file::MotionSection) -> Result<MotionSettings, ConfigError> {
    use lookout_core::motion::{MaskZone, MotionConfig};
    let bad = |key: &str, msg: String, fix: &str| cx.err(cx.key_offset(key), msg, fix);
    if !(m.analyse_fps > 0.0 && m.analyse_fps <= 60.0) {
        return Err(bad(
            "analyse_fps",
            format!(
                "motion.analyse_fps is {}; it must be above 0 and at most 60",
                m.analyse_fps
            ),
            "remove it to use the default (5)",
        ));
    }
    if !(m.cooldown_seconds >= 0.0 && m.cooldown_seconds <= 3600.0) {
        return Err(bad(
            "cooldown_seconds",
            format!(
                "motion.cooldown_seconds is {}; it must be 0..=3600",
                m.cooldown_seconds
            ),
            "remove it to use the default (5)",
        ));
    }
    let mut zones = Vec::new();
    for z in &m.zones {
        let points = z.points.iter().map(|[x, y]| (*x, *y)).collect();
        zones.push(match z.kind.as_str() {
            "include" => MaskZone::include(points),
            "exclude" => MaskZone::exclude(points),
            other => {
                return Err(bad(
                    "kind",
                    format!("motion zone kind {other:?} is not known"),
                    "write \"include\" or \"exclude\"",
                ));
            }
        });
    }
    let detector = MotionConfig {
        threshold_fraction: m.threshold_percent / 100.0,
        min_frames: m.min_frames,
        cooldown: Duration::from_secs_f64(m.cooldown_seconds),
        zones,
        ..MotionConfig::default()
    };
    detector.validate().map_err(|e| {
        bad(
            "threshold_percent",
            format!("[camera.motion]: {e}"),
            "zone points are 0..1 pairs, at least 3 per zone; threshold_percent is 0..100",
        )
    })?;
    Ok(MotionSettings {
        detector,
        min_interval: Duration::from_secs_f64(1.0 / m.analyse_fps),
    })
}
