//! `[events]`, `[alerts]`, `[[alert]]`, `[smtp]` and `[public_address]` → the settings of
//! retention, the alert outbox and the public address watcher.

use super::context::Ctx;
use super::file::{AlertRuleSection, ConfigFile, SmtpSection};
use super::secrets::{SecretFrom, read_secret};
use crate::alerts::email::{Security, SmtpConfig};
use crate::alerts::{AlertConfig, AlertRule, Channel, parse_quiet_hours};
use crate::events::EventKind;
use crate::events::public_address::PublicAddressConfig;
use crate::events::retention::Retention;
use lookout_core::redact::mask_url_secrets;
use std::collections::HashSet;
use std::time::Duration;

/// A webhook's signing secret: shorter is guessable.
const MIN_WEBHOOK_SECRET: usize = 16;

pub(super) fn retention(cx: &Ctx<'_>, file: &ConfigFile) -> Retention {
    let (ev, a) = (&file.events, &file.alerts);
    if ev.keep_days == 0 || ev.keep_days.saturating_mul(24) < a.give_up_after_hours {
        cx.report(
            "events.keep_days",
            format!(
                "events.keep_days ({}) must be at least 1 and cover alerts.give_up_after_hours ({} h): deleting an event drops its undelivered alerts",
                ev.keep_days, a.give_up_after_hours
            ),
            "raise keep_days or lower give_up_after_hours",
        );
    }
    if ev.max_snapshot_mib == 0 {
        cx.report(
            "events.max_snapshot_mib",
            "events.max_snapshot_mib must be at least 1",
            "remove it to use the default (500)",
        );
    }
    Retention {
        keep: Duration::from_secs(ev.keep_days.saturating_mul(86_400)),
        max_snapshot_bytes: ev.max_snapshot_mib.saturating_mul(1 << 20),
    }
}

pub(super) fn public_address(cx: &Ctx<'_>, file: &ConfigFile) -> Option<PublicAddressConfig> {
    let p = file.public_address.as_ref()?;
    if !(p.url.starts_with("http://") || p.url.starts_with("https://"))
        || p.url.parse::<http::Uri>().is_err()
    {
        cx.report(
            "public_address.url",
            format!(
                "public_address.url {:?} is not an http(s) URL",
                mask_url_secrets(&p.url)
            ),
            "use a service that answers with your address, e.g. \"https://api.ipify.org\"",
        );
    }
    Some(PublicAddressConfig {
        url: p.url.clone(),
        every: Duration::from_secs(p.check_every_seconds.max(1)),
    })
}

pub(super) fn alerts(cx: &Ctx<'_>, file: &ConfigFile) -> AlertConfig {
    let a = &file.alerts;
    if a.retry_initial_seconds == 0
        || a.retry_max_seconds < a.retry_initial_seconds
        || a.retry_max_seconds > 7 * 86_400
    {
        cx.report(
            "alerts.retry_initial_seconds",
            "alerts.retry_initial_seconds must be at least 1 and at most retry_max_seconds, which is at most 604800 (a week)",
            "remove both keys to use the defaults (30 and 3600)",
        );
    }
    if a.give_up_after_hours == 0 {
        cx.report(
            "alerts.give_up_after_hours",
            "alerts.give_up_after_hours must be at least 1",
            "remove it to use the default (72)",
        );
    }
    let mut rules = Vec::new();
    let mut names = HashSet::new();
    for (n, r) in file.alert_rules.iter().enumerate() {
        let key = |k: &str| format!("alert[{n}].{k}");
        if r.name.is_empty() || !names.insert(r.name.clone()) {
            cx.report(
                &key("name"),
                format!("[[alert]] name {:?} is empty or used twice", r.name),
                "give each [[alert]] its own name (it is how deliveries are recorded)",
            );
        }
        if let Some(rule) = rule(cx, file, r, &key) {
            rules.push(rule);
        }
    }
    AlertConfig {
        retry_initial: Duration::from_secs(a.retry_initial_seconds),
        retry_max: Duration::from_secs(a.retry_max_seconds),
        give_up_after: Duration::from_secs(a.give_up_after_hours.saturating_mul(3600)),
        rules,
        smtp: file.smtp.as_ref().and_then(|s| smtp(cx, s)),
    }
}

/// One `[[alert]]`; `key("url")` is the path of its keys (`alert[1].url`).
fn rule(
    cx: &Ctx<'_>,
    file: &ConfigFile,
    r: &AlertRuleSection,
    key: &impl Fn(&str) -> String,
) -> Option<AlertRule> {
    let mut ok = true;
    let mut bad = |k: &str, msg: String, fix: &str| {
        cx.report(&key(k), msg, fix);
        ok = false;
    };
    if r.max_per_hour == 0 {
        bad(
            "max_per_hour",
            format!("[[alert]] {:?}: max_per_hour must be at least 1", r.name),
            "remove it to use the default (20), or delete the rule to send nothing",
        );
    }
    let kinds = r.kinds.as_ref().map(|list| {
        list.iter()
            .filter_map(|k| {
                let kind = EventKind::parse(k);
                if kind.is_none() {
                    bad(
                        "kinds",
                        format!("[[alert]] {:?}: unknown event kind {k:?}", r.name),
                        "use \"motion\", \"camera_offline\", \"camera_online\" or \"public_address_changed\"",
                    );
                }
                kind
            })
            .collect::<Vec<_>>()
    });
    for c in r.cameras.iter().flatten() {
        if !file.cameras.iter().any(|k| &k.id == c) {
            bad(
                "cameras",
                format!("[[alert]] {:?}: no camera {c:?}", r.name),
                "list ids of [[camera]] tables",
            );
        }
    }
    let quiet_hours = r.quiet_hours.as_ref().and_then(|q| {
        let parsed = parse_quiet_hours(q);
        if parsed.is_none() {
            bad(
                "quiet_hours",
                format!("[[alert]] {:?}: quiet_hours {q:?} is not FROM-TO", r.name),
                "write local times like \"22:00-07:00\"",
            );
        }
        parsed
    });
    let channel = match (&r.webhook, &r.email) {
        (Some(w), None) => webhook(cx, r, w, key),
        (None, Some(mail)) => {
            if file.smtp.is_none() {
                bad(
                    "email.to",
                    format!(
                        "[[alert]] {:?} sends email but there is no [smtp] table",
                        r.name
                    ),
                    "add [smtp] with host, from and credentials (docs/ref/config.md)",
                );
            }
            let mut to = Vec::new();
            for addr in &mail.to {
                match addr.parse::<lettre::message::Mailbox>() {
                    Ok(m) => to.push(m),
                    Err(e) => bad(
                        "email.to",
                        format!(
                            "[[alert]] {:?}: {addr:?} is not an email address: {e}",
                            r.name
                        ),
                        "write \"me@example.org\" or \"Me <me@example.org>\"",
                    ),
                }
            }
            if mail.to.is_empty() {
                bad(
                    "email.to",
                    format!("[[alert]] {:?}: email.to is empty", r.name),
                    "list at least one recipient",
                );
            }
            Some(Channel::Email { to })
        }
        _ => {
            bad(
                "name",
                format!(
                    "[[alert]] {:?} needs exactly one of [alert.webhook] or [alert.email]",
                    r.name
                ),
                "write one destination per rule; add another [[alert]] for a second one",
            );
            None
        }
    };
    let channel = channel?;
    ok.then(|| AlertRule {
        name: r.name.clone(),
        kinds,
        cameras: r.cameras.clone(),
        quiet_hours,
        max_per_hour: r.max_per_hour,
        channel,
    })
}

fn webhook(
    cx: &Ctx<'_>,
    r: &AlertRuleSection,
    w: &super::file::WebhookSection,
    key: &impl Fn(&str) -> String,
) -> Option<Channel> {
    let url_ok = (w.url.starts_with("http://") || w.url.starts_with("https://"))
        && w.url.parse::<http::Uri>().is_ok();
    if !url_ok {
        cx.report(
            &key("webhook.url"),
            format!(
                "[[alert]] {:?}: webhook url {:?} is not an http(s) URL",
                r.name,
                mask_url_secrets(&w.url)
            ),
            "write e.g. \"https://hooks.example.org/lookout\"",
        );
    }
    let (from, which, fix) = match (&w.secret_file, &w.secret_env) {
        (Some(f), None) => (
            SecretFrom::File(f),
            "webhook.secret_file",
            "check the path and that Lookout may read it",
        ),
        (None, Some(v)) => (
            SecretFrom::Env(v),
            "webhook.secret_env",
            "set it in the service's environment, or use secret_file",
        ),
        _ => {
            cx.report(
                &key("webhook.url"),
                format!(
                    "[[alert]] {:?}: the webhook needs exactly one of secret_file or secret_env",
                    r.name
                ),
                "receivers check the HMAC-SHA256 signature made with this secret",
            );
            return None;
        }
    };
    let secret = match read_secret(from, "webhook secret") {
        Ok(s) => s,
        Err(e) => {
            cx.report(&key(which), e.message(), fix);
            return None;
        }
    };
    if secret.len() < MIN_WEBHOOK_SECRET {
        cx.report(
            &key(which),
            format!(
                "[[alert]] {:?}: the webhook secret is shorter than {MIN_WEBHOOK_SECRET} characters",
                r.name
            ),
            "make one with `openssl rand -hex 32`",
        );
    }
    url_ok.then(|| Channel::Webhook {
        url: w.url.clone(),
        secret,
    })
}

fn smtp(cx: &Ctx<'_>, s: &SmtpSection) -> Option<SmtpConfig> {
    let mut ok = true;
    let mut bad = |k: &str, msg: String, fix: &str| {
        cx.report(&format!("smtp.{k}"), msg, fix);
        ok = false;
    };
    let security = match s.security.as_str() {
        "starttls" => Security::StartTls,
        "tls" => Security::Tls,
        "none" => Security::None,
        other => {
            bad(
                "security",
                format!("smtp.security {other:?} is not known"),
                "write \"starttls\" (port 587), \"tls\" (port 465) or \"none\" (a local relay)",
            );
            Security::StartTls
        }
    };
    let port = match s.port {
        None => match security {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        },
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p != 0)
            .unwrap_or_else(|| {
                bad(
                    "port",
                    format!(
                        "smtp.port {p} is not a port; it must be {}",
                        super::words::whole(1, 65535)
                    ),
                    "remove it to use the default of the security mode (587, 465 or 25)",
                );
                0
            }),
    };
    let secret = match (&s.password_file, &s.password_env) {
        (Some(f), None) => Some((
            SecretFrom::File(f),
            "password_file",
            "check the path and that Lookout may read it",
        )),
        (None, Some(v)) => Some((
            SecretFrom::Env(v),
            "password_env",
            "set it in the service's environment, or use password_file",
        )),
        (None, None) => None,
        (Some(_), Some(_)) => {
            bad(
                "password_env",
                "smtp.password_file and smtp.password_env are both set".into(),
                "keep one",
            );
            None
        }
    };
    let password = secret.and_then(
        |(from, which, fix)| match read_secret(from, "SMTP password") {
            Ok(p) => Some(p),
            Err(e) => {
                bad(which, e.message().to_owned(), fix);
                None
            }
        },
    );
    let local = ["localhost", "127.0.0.1", "::1"].contains(&s.host.as_str());
    if security == Security::None && s.username.is_some() && !local {
        bad(
            "security",
            format!(
                "smtp.security = \"none\" would send the password to {} unencrypted",
                s.host
            ),
            "use \"starttls\" (port 587) or \"tls\" (port 465); \"none\" with a login is only for a relay on this machine",
        );
    }
    let has_password = s.password_file.is_some() || s.password_env.is_some();
    if has_password != s.username.is_some() {
        bad(
            "host",
            "smtp.username and a password go together".into(),
            "set both (AUTH) or neither (a relay that needs no login)",
        );
    }
    let from = match s.from.parse::<lettre::message::Mailbox>() {
        Ok(m) => Some(m),
        Err(e) => {
            bad(
                "from",
                format!("smtp.from {:?} is not an email address: {e}", s.from),
                "write \"Lookout <cam@example.org>\"",
            );
            None
        }
    };
    let from = from?;
    ok.then(|| SmtpConfig {
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
