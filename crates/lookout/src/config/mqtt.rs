//! `[mqtt]` → `mqtt::MqttSettings`: the broker's URL split and checked, the password read
//! by the one secret rule, topic prefixes that are valid MQTT topic levels.

use super::context::Ctx;
use super::file::{ConfigFile, MqttSection};
use super::secrets::{SecretFrom, read_secret};
use crate::mqtt::MqttSettings;
use std::time::Duration;

pub(super) fn mqtt(cx: &Ctx<'_>, file: &ConfigFile) -> Option<MqttSettings> {
    let m: &MqttSection = file.mqtt.as_ref()?;
    let mut ok = true;
    let mut bad = |k: &str, msg: String, fix: &str| {
        cx.report(&format!("mqtt.{k}"), msg, fix);
        ok = false;
    };
    let (tls, host, port) = match broker(&m.url) {
        Ok(parts) => parts,
        Err(why) => {
            bad(
                "url",
                format!(
                    "mqtt.url {:?} {why}",
                    lookout_core::redact::mask_url_secrets(&m.url)
                ),
                "write mqtt://HOST[:PORT] (port 1883) or mqtts://HOST[:PORT] (TLS, port 8883)",
            );
            (false, String::new(), 0)
        }
    };
    let password = match (&m.password_file, &m.password_env) {
        (Some(_), Some(_)) => {
            bad(
                "password_env",
                "mqtt.password_file and mqtt.password_env are both set".into(),
                "keep one",
            );
            None
        }
        (Some(f), None) => read_secret(SecretFrom::File(f), "MQTT password")
            .map_err(|e| {
                bad(
                    "password_file",
                    e.message().to_owned(),
                    "check the path and that Lookout may read it",
                );
            })
            .ok(),
        (None, Some(v)) => read_secret(SecretFrom::Env(v), "MQTT password")
            .map_err(|e| {
                bad(
                    "password_env",
                    e.message().to_owned(),
                    "set it in the service's environment, or use password_file",
                );
            })
            .ok(),
        (None, None) => None,
    };
    if (m.password_file.is_some() || m.password_env.is_some()) && m.username.is_none() {
        bad(
            "username",
            "mqtt has a password but no username".into(),
            "set mqtt.username (the broker's user for Lookout)",
        );
    }
    if m.ca_file.is_some() && !tls {
        bad(
            "ca_file",
            "mqtt.ca_file is set but the broker URL is not mqtts://".into(),
            "use mqtts://HOST:8883, or remove ca_file",
        );
    }
    if m.client_id.is_empty() || m.client_id.len() > 64 {
        bad(
            "client_id",
            format!(
                "mqtt.client_id {:?} must be 1 to 64 characters",
                m.client_id
            ),
            "write a name for this Lookout, e.g. \"lookout-garage\"",
        );
    }
    for (key, value) in [
        ("topic_prefix", &m.topic_prefix),
        ("discovery_prefix", &m.discovery_prefix),
    ] {
        if value.is_empty()
            || value.starts_with('/')
            || value.ends_with('/')
            || value.contains(['+', '#', '\0'])
        {
            bad(
                key,
                format!("mqtt.{key} {value:?} is not a topic prefix"),
                "write topic levels without wildcards (+, #) or a leading or trailing /, e.g. \"lookout\"",
            );
        }
    }
    let mut seconds = |key: &str, value: i64, max: i64| {
        if (1..=max).contains(&value) {
            Duration::from_secs(value.unsigned_abs())
        } else {
            bad(
                key,
                format!(
                    "mqtt.{key} {value} is out of range; it must be {}",
                    super::words::whole(1, max)
                ),
                "remove it for the default",
            );
            Duration::from_secs(1)
        }
    };
    let viewers_every = seconds("viewers_every_seconds", m.viewers_every_seconds, 3600);
    let keep_alive = seconds("keep_alive_seconds", m.keep_alive_seconds, 65535);
    if let Some(url) = &m.configuration_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        bad(
            "configuration_url",
            format!("mqtt.configuration_url {url:?} is not an http(s) URL"),
            "write Lookout's address as people open it, e.g. \"https://cam.example.org\"",
        );
    }
    ok.then(|| MqttSettings {
        host,
        port,
        tls,
        ca_file: m.ca_file.clone(),
        username: m.username.clone(),
        password,
        client_id: m.client_id.clone(),
        topic_prefix: m.topic_prefix.clone(),
        discovery_prefix: m.discovery.then(|| m.discovery_prefix.clone()),
        device_name: m.device_name.clone(),
        configuration_url: m.configuration_url.clone(),
        commands: m.commands,
        viewers_every,
        keep_alive,
    })
}

/// `mqtt[s]://HOST[:PORT]` → (TLS, host, port); else why not.
fn broker(url: &str) -> Result<(bool, String, u16), &'static str> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err("is not an mqtt:// or mqtts:// URL");
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('@') {
        return Err("has credentials in it; they would show in logs");
    }
    if rest.contains(['/', '?', '#']) {
        return Err("has a path; a broker URL is only a host and a port");
    }
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("has an unclosed [")?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err("has something after the ] that is not :PORT"),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err("has no host");
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or("has a port that is not a number from 1 to 65535")?,
    };
    Ok((tls, host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::broker;

    #[test]
    fn broker_urls_split_with_default_ports() {
        assert_eq!(
            broker("mqtt://127.0.0.1"),
            Ok((false, "127.0.0.1".into(), 1883))
        );
        assert_eq!(
            broker("mqtts://b.example:8884/"),
            Ok((true, "b.example".into(), 8884))
        );
        assert_eq!(broker("mqtts://[::1]"), Ok((true, "::1".into(), 8883)));
        assert_eq!(broker("mqtt://[::1]:1999"), Ok((false, "::1".into(), 1999)));
        for bad in [
            "tcp://h",
            "mqtt://",
            "mqtt://u:p@h",
            "mqtt://h:0",
            "mqtt://h:x",
            "mqtt://h/topic",
            "mqtt://[::1",
        ] {
            assert!(broker(bad).is_err(), "{bad}");
        }
    }
}
