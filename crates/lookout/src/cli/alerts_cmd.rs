//! `lookout alerts test`: records a test event, which every `[[alert]]` rule queues, and
//! delivers it at once from this process, printing what each rule's receiver answered.

use super::output::outln;
use crate::alerts::outbox;
use crate::config::Config;
use crate::events::{self, EventKind, NewEvent};
use clap::Subcommand;
use lookout_core::Error;
use lookout_core::error::io_kind;
use lookout_store::Store;
use lookout_store::outbox::{Delivery, deliveries};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test alert through every [[alert]] rule now; exit 1 if one fails.
    Test,
}

pub fn run(cmd: AlertsCommand, config: &Config) -> Result<ExitCode, Error> {
    let AlertsCommand::Test = cmd;
    if config.alerts.rules.is_empty() {
        return Err(Error::invalid(
            "no [[alert]] rules in the config; docs/guide/alerts.md shows how to write one",
        ));
    }
    let store = Store::open(&config.data_dir)?;
    let alerts = config.alerts.clone();
    let event = NewEvent {
        camera: None,
        kind: EventKind::Test,
        details: serde_json::json!({ "message": "a test alert from `lookout alerts test`" }),
        snapshot: None,
    };
    let snapshots = config.data_dir.join("events");
    let id = events::record_blocking(&store, &event, &alerts, &snapshots)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::wrap(io_kind(&e), "cannot start the async runtime", e))?;
    let client = crate::alerts::webhook::client()?;
    runtime.block_on(outbox::deliver_due(&store, &alerts, &client, &snapshots))?;
    let results = store.blocking(|db| deliveries(db, id))?;
    let mut all_ok = true;
    for Delivery {
        rule,
        delivered_at,
        last_error,
    } in results
    {
        match (delivered_at, last_error) {
            (Some(_), _) => outln!("{rule}: delivered"),
            (None, e) => {
                all_ok = false;
                outln!(
                    "{rule}: NOT delivered ({}); the server retries it",
                    e.unwrap_or_else(|| "not tried".into())
                );
            }
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
