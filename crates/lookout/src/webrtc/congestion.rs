//! What the viewer's RTCP says about the path (str0m's egress statistics, once a second):
//! NACKs (RFC 4585 6.2.1), PLI/FIR, packets lost and the loss fraction from receiver reports
//! (RFC 3550 6.4.1), the round-trip time. Every report is logged at debug; the totals go to
//! `/metrics` (PLI and FIR are counted as key-frame requests); a peer clearly congested gets an info line, at most one per
//! [`CONGESTED_LOG_EVERY`] per peer with the count of those left out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use str0m::stats::MediaEgressStats;

/// A report interval in which the viewer lost this fraction of the packets (receiver
/// reports' "fraction lost"), or NACKed as many, is congestion, not the odd lost packet: 5 %
/// is where browsers' send-side estimators (GCC) start cutting the rate (10 %).
const CONGESTED_LOSS: f32 = 0.05;
/// One congestion line per peer at most this often.
pub const CONGESTED_LOG_EVERY: Duration = Duration::from_secs(30);

/// Totals over every peer, for `/metrics`.
#[derive(Debug, Default)]
pub struct CongestionTotals {
    pub nacks: AtomicU64,
    pub packets_lost: AtomicU64,
    /// Report intervals in which a peer was congested.
    pub congested: AtomicU64,
}

/// One peer's last report, to turn str0m's running totals into per-interval changes.
#[derive(Debug, Default)]
pub struct PeerCongestion {
    packets: u64,
    nacks: u64,
    plis: u64,
    firs: u64,
    lost: u64,
    last_logged: Option<Instant>,
    not_logged: u64,
}

impl PeerCongestion {
    /// Takes one egress report: adds its changes to `totals`, and returns the info line to
    /// log when the peer is congested and none was logged lately.
    pub fn report(
        &mut self,
        s: &MediaEgressStats,
        totals: &CongestionTotals,
        now: Instant,
    ) -> Option<String> {
        let lost = s.remote.as_ref().map_or(self.lost, |r| r.packets_lost);
        let d = |new: u64, old: &mut u64| {
            let change = new.saturating_sub(*old);
            *old = new.max(*old);
            change
        };
        let packets = d(s.packets, &mut self.packets);
        let nacks = d(s.nacks, &mut self.nacks);
        let plis = d(s.plis, &mut self.plis);
        let firs = d(s.firs, &mut self.firs);
        let lost = d(lost, &mut self.lost);
        totals.nacks.fetch_add(nacks, Ordering::Relaxed);
        totals.packets_lost.fetch_add(lost, Ordering::Relaxed);
        let loss = s.loss.unwrap_or(0.0);
        // Packets are u64 counts of one second: far inside f32's exact range.
        #[allow(clippy::cast_precision_loss)]
        let nack_share = if packets == 0 {
            0.0
        } else {
            nacks as f32 / packets as f32
        };
        tracing::debug!(
            "WebRTC egress: {packets} packets, {nacks} NACKs, {plis} PLIs, {firs} FIRs, {lost} lost, loss {:.1} %, rtt {:?}",
            loss * 100.0,
            s.rtt
        );
        if loss < CONGESTED_LOSS && nack_share < CONGESTED_LOSS {
            return None;
        }
        totals.congested.fetch_add(1, Ordering::Relaxed);
        if self
            .last_logged
            .is_some_and(|t| now.duration_since(t) < CONGESTED_LOG_EVERY)
        {
            self.not_logged += 1;
            return None;
        }
        let also = match std::mem::take(&mut self.not_logged) {
            0 => String::new(),
            n => format!(" ({n} more congested seconds since the last line)"),
        };
        self.last_logged = Some(now);
        Some(format!(
            "the viewer's network is congested: {:.0} % of packets lost, {nacks} NACKs for {packets} packets, round trip {}{also}; a lower bitrate or resolution for this camera would help",
            loss * 100.0,
            s.rtt
                .map_or_else(|| "unknown".to_owned(), |r| format!("{} ms", r.as_millis()))
        ))
    }
}
