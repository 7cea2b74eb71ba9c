//! Running Lookout as a service: the nginx site and systemd unit `lookout nginx-site` and
//! `lookout systemd-unit` print (pure functions of the config, so tests can read them), and
//! systemd's readiness and watchdog protocol (`sd_notify`) for `lookout serve`.

pub mod nginx;
pub mod notify;
pub mod systemd;

/// A generated file and what the operator should know about it (printed on stderr, so the
/// file itself can be redirected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub text: String,
    /// Problems in the config the file cannot fix, each saying what to change.
    pub warnings: Vec<String>,
}
