//! Records of the `log` crate (RustDDS, ros2-client, rustls…) into our `tracing` log.
//!
//! RustDDS and ros2-client log their own workings loudly: a ROS 2 participant on a machine
//! without multicast writes ~240 warnings in its first 12 s ("send_message_to_readers: No
//! locators for RtpsReaderProxy…" about itself), and ~30 INFO lines for each participant it
//! meets. What an operator must know about ROS 2 (no publisher, a QoS mismatch, broken
//! messages) Lookout says itself. So their records are taken one level down (ERROR as WARN,
//! WARN as INFO, INFO as DEBUG, DEBUG as TRACE), and at INFO and WARN at most one line a
//! minute per module is written, with the number held back. `LOOKOUT_LOG=info,rustdds=debug`
//! adds their INFO lines. Records of other crates pass unchanged, as tracing-log passes them.

use lookout_core::log_limiter::LogLimiter;
use lookout_core::{Error, ErrorKind};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tracing::Level;
use tracing::level_filters::LevelFilter;

/// One line a minute per module for the lowered WARN and INFO.
const INTERVAL: Duration = Duration::from_secs(60);
/// Modules with a limiter of their own; others share the last one (RustDDS has ~40).
const MAX_LIMITERS: usize = 128;

/// Installs `subscriber` as the global one and the bridge as `log`'s logger.
pub fn init<S>(subscriber: S) -> Result<(), Error>
where
    S: tracing::Subscriber + Send + Sync + 'static,
{
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| Error::wrap(ErrorKind::Internal, "installing the log", e))?;
    log::set_boxed_logger(Box::new(Bridge::default()))
        .map_err(|e| Error::wrap(ErrorKind::Internal, "installing the log bridge", e))?;
    // Records above what any filter lets through are not even formatted; a lowered record
    // needs one level more.
    log::set_max_level(match LevelFilter::current().into_level() {
        None => log::LevelFilter::Off,
        Some(Level::ERROR) => log::LevelFilter::Warn,
        Some(Level::WARN) => log::LevelFilter::Info,
        Some(Level::INFO) => log::LevelFilter::Debug,
        Some(_) => log::LevelFilter::Trace,
    });
    Ok(())
}

#[derive(Default)]
struct Bridge {
    tracer: tracing_log::LogTracer,
    limiters: Mutex<HashMap<String, LogLimiter>>,
}

/// The crates whose records are lowered, and the target they are written under.
fn lowered_target(target: &str) -> Option<&'static str> {
    let from = |krate: &str| {
        target == krate
            || target
                .strip_prefix(krate)
                .is_some_and(|rest| rest.starts_with("::"))
    };
    if from("rustdds") {
        Some("rustdds")
    } else if from("ros2_client") {
        Some("ros2_client")
    } else {
        None
    }
}

fn lowered(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::WARN,
        log::Level::Warn => Level::INFO,
        log::Level::Info => Level::DEBUG,
        log::Level::Debug | log::Level::Trace => Level::TRACE,
    }
}

impl Bridge {
    /// `Some(held back)` when a line of `module` at this level may be written now.
    fn allow(&self, module: &str) -> Option<u64> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        let key = if limiters.len() < MAX_LIMITERS || limiters.contains_key(module) {
            module
        } else {
            "(other modules)"
        };
        limiters
            .entry(key.to_owned())
            .or_insert_with(|| LogLimiter::new(INTERVAL))
            .allow()
    }
}

/// Writes one event at a level and target known only at run time (tracing's macros want
/// both constant).
macro_rules! event_at {
    ($target:literal, $level:expr, $($rest:tt)+) => {
        match $level {
            Level::ERROR => tracing::error!(target: $target, $($rest)+),
            Level::WARN => tracing::warn!(target: $target, $($rest)+),
            Level::INFO => tracing::info!(target: $target, $($rest)+),
            Level::DEBUG => tracing::debug!(target: $target, $($rest)+),
            _ => tracing::trace!(target: $target, $($rest)+),
        }
    };
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        match lowered_target(metadata.target()) {
            Some(_) => LevelFilter::current() >= lowered(metadata.level()),
            None => self.tracer.enabled(metadata),
        }
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(target) = lowered_target(record.target()) else {
            self.tracer.log(record);
            return;
        };
        let level = lowered(record.level());
        if LevelFilter::current() < level {
            return;
        }
        let module = record.target();
        let held_back = if level <= Level::INFO {
            match self.allow(module) {
                Some(n) => n,
                None => return,
            }
        } else {
            0
        };
        let text = record.args();
        match (target, held_back) {
            ("rustdds", 0) => event_at!("rustdds", level, module, "{text}"),
            ("rustdds", n) => {
                event_at!(
                    "rustdds",
                    level,
                    module,
                    "{text} ({n} more from here not logged)"
                )
            }
            (_, 0) => event_at!("ros2_client", level, module, "{text}"),
            (_, n) => event_at!(
                "ros2_client",
                level,
                module,
                "{text} ({n} more from here not logged)"
            ),
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dds_crates_are_lowered_and_others_are_not() {
        assert_eq!(lowered_target("rustdds"), Some("rustdds"));
        assert_eq!(lowered_target("rustdds::rtps::writer"), Some("rustdds"));
        assert_eq!(
            lowered_target("ros2_client::distributions"),
            Some("ros2_client")
        );
        assert_eq!(lowered_target("rustdds_extra"), None);
        assert_eq!(lowered_target("rustls::client"), None);
        assert_eq!(lowered(log::Level::Error), Level::WARN);
        assert_eq!(lowered(log::Level::Warn), Level::INFO);
        assert_eq!(lowered(log::Level::Info), Level::DEBUG);
    }

    #[test]
    fn a_module_gets_one_line_a_minute_and_a_count() {
        let bridge = Bridge::default();
        assert_eq!(bridge.allow("rustdds::rtps::writer"), Some(0));
        for _ in 0..239 {
            assert_eq!(bridge.allow("rustdds::rtps::writer"), None);
        }
        // Another module has its own allowance.
        assert_eq!(bridge.allow("rustdds::network::udp_listener"), Some(0));
        // Past the limit, new modules share one.
        for i in 0..MAX_LIMITERS {
            bridge.allow(&format!("rustdds::m{i}"));
        }
        assert_eq!(bridge.allow("rustdds::late_one"), None);
        assert_eq!(bridge.allow("rustdds::late_two"), None);
    }
}
