//! Alert rules and their durable delivery. An event queues one outbox row per matching rule
//! (kinds, cameras, quiet hours, a rate limit) in the event's own transaction; the outbox
//! worker delivers rows, retrying with backoff while the receiver is down, also across
//! restarts and `kill -9` (the rows are in the database). The `(event, rule)` pair is unique,
//! so nothing is queued twice; a crash between a delivery and its record could repeat it, so
//! every delivery carries the same idempotency key (`X-Lookout-Delivery`) each time.

pub mod arming;
pub mod email;
pub mod outbox;
pub mod webhook;

pub use arming::Arming;
use lookout_store::event_kind::EventKind;
use lookout_store::events::NewEvent;
use lookout_store::outbox::{AlertQueue, Target};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct AlertConfig {
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub give_up_after: Duration,
    pub rules: Vec<AlertRule>,
    /// The mail server for email rules.
    pub smtp: Option<email::SmtpConfig>,
}

#[derive(Debug, Clone)]
pub struct AlertRule {
    pub name: String,
    /// `None`: every kind.
    pub kinds: Option<Vec<EventKind>>,
    /// `None`: every camera.
    pub cameras: Option<Vec<String>>,
    /// Minutes after local midnight: from, to (may wrap past midnight).
    pub quiet_hours: Option<(u32, u32)>,
    pub max_per_hour: u32,
    pub channel: Channel,
}

#[derive(Clone)]
pub enum Channel {
    Webhook { url: String, secret: String },
    Email { to: Vec<lettre::message::Mailbox> },
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Webhook { url, .. } => {
                write!(
                    f,
                    "Webhook({})",
                    lookout_core::redact::mask_url_secrets(url)
                )
            }
            Channel::Email { to } => write!(f, "Email({to:?})"),
        }
    }
}

impl AlertRule {
    fn matches(&self, event: &NewEvent) -> bool {
        // A test goes to every rule: that is what it tests.
        if event.kind == EventKind::Test {
            return true;
        }
        let kind_ok = self.kinds.as_ref().is_none_or(|k| k.contains(&event.kind));
        let camera_ok = match (&self.cameras, &event.camera) {
            (None, _) => true,
            (Some(list), Some(c)) => list.contains(c),
            (Some(_), None) => false,
        };
        kind_ok && camera_ok
    }

    fn quiet_now(&self) -> bool {
        let Some((from, to)) = self.quiet_hours else {
            return false;
        };
        let now = local_minutes();
        if from <= to {
            (from..to).contains(&now)
        } else {
            now >= from || now < to
        }
    }
}

/// Minutes since local midnight.
fn local_minutes() -> u32 {
    // SAFETY: localtime_r writes into the struct we own; time() has no preconditions.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        (tm.tm_hour * 60 + tm.tm_min) as u32
    }
}

/// "22:00-07:00" → minutes after midnight.
pub fn parse_quiet_hours(s: &str) -> Option<(u32, u32)> {
    let minutes = |t: &str| {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = s.split_once('-')?;
    Some((minutes(a)?, minutes(b)?))
}

/// Which rules an event goes to: what `lookout_store::events::record` queues in the event's
/// transaction (each under its hourly limit), and the rules it skips for their quiet hours.
#[derive(Debug)]
pub struct Plan<'a> {
    pub queue: Vec<AlertQueue<'a>>,
    pub quiet: Vec<&'a str>,
}

impl Plan<'_> {
    pub fn quiet_rules(&self) -> Vec<String> {
        self.quiet.iter().map(|r| (*r).to_owned()).collect()
    }
}

/// The rules that match `event` and are not in their quiet hours; a test goes to every rule,
/// whatever the hour and however many alerts it sent.
pub fn plan<'a>(config: &'a AlertConfig, event: &NewEvent) -> Plan<'a> {
    let mut plan = Plan {
        queue: Vec::new(),
        quiet: Vec::new(),
    };
    let test = event.kind == EventKind::Test;
    for rule in config.rules.iter().filter(|r| r.matches(event)) {
        if !test && rule.quiet_now() {
            plan.quiet.push(&rule.name);
            continue;
        }
        plan.queue.push(AlertQueue {
            rule: &rule.name,
            target: Target::Alert,
            max_per_hour: (!test).then_some(rule.max_per_hour),
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_store::Store;
    use lookout_store::outbox::deliveries;

    fn rule(name: &str, kinds: Option<Vec<EventKind>>, cameras: Option<Vec<&str>>) -> AlertRule {
        AlertRule {
            name: name.into(),
            kinds,
            cameras: cameras.map(|c| c.into_iter().map(String::from).collect()),
            quiet_hours: None,
            max_per_hour: 3,
            channel: Channel::Webhook {
                url: "http://127.0.0.1:9/".into(),
                secret: "0123456789abcdef".into(),
            },
        }
    }

    fn event(kind: EventKind, camera: &str) -> NewEvent {
        NewEvent {
            camera: Some(camera.into()),
            kind,
            details: serde_json::json!({}),
            snapshot: None,
        }
    }

    #[test]
    fn rules_filter_by_kind_and_camera_and_stop_at_their_hourly_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = AlertConfig {
            rules: vec![
                rule(
                    "offline-front",
                    Some(vec![EventKind::CameraOffline]),
                    Some(vec!["front"]),
                ),
                rule("all", None, None),
            ],
            ..AlertConfig::default()
        };
        let events = dir.path().join("events");
        let record =
            |e: NewEvent| crate::events::record_blocking(&store, &e, &config, &events).unwrap();
        let mut recorded = vec![
            record(event(EventKind::CameraOffline, "front")),
            record(event(EventKind::CameraOffline, "back")),
            record(event(EventKind::Motion, "front")),
        ];
        let queued = |rule: &str, recorded: &[i64]| -> usize {
            recorded
                .iter()
                .map(|&id| store.blocking(|db| deliveries(db, id)).unwrap())
                .filter(|d| d.iter().any(|d| d.rule == rule))
                .count()
        };
        assert_eq!(
            queued("offline-front", &recorded),
            1,
            "only front's offline events"
        );
        assert_eq!(queued("all", &recorded), 3);
        // A windy tree: past max_per_hour (3) events are recorded but not sent...
        for _ in 0..5 {
            recorded.push(record(event(EventKind::Motion, "front")));
        }
        assert_eq!(queued("all", &recorded), 3);
        // ...while a test still goes through.
        recorded.push(record(NewEvent {
            camera: None,
            kind: EventKind::Test,
            details: serde_json::json!({}),
            snapshot: None,
        }));
        assert_eq!(
            (queued("all", &recorded), queued("offline-front", &recorded)),
            (4, 2)
        );
    }

    #[test]
    fn quiet_hours_parse_and_wrap() {
        assert_eq!(parse_quiet_hours("22:00-07:30"), Some((1320, 450)));
        assert_eq!(parse_quiet_hours("7:00-9:00"), Some((420, 540)));
        for bad in ["", "22-7", "25:00-01:00", "10:60-11:00", "10:00"] {
            assert_eq!(parse_quiet_hours(bad), None, "{bad}");
        }
    }
}
