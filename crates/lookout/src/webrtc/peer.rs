//! One peer's task: it owns the peer's `Rtc` and drives it (str0m is sans-I/O) with the
//! datagrams routed to it, its timers and the camera's frames, until DELETE, revocation,
//! shutdown, the source going away, or a timeout (no connection within `connect_timeout`,
//! no consent check for `consent_timeout`: RFC 7675).
//!
//! str0m's rule: after every input (`handle_input`, a `write`), drain `poll_output` until
//! it returns a timeout, before the next input.

use super::congestion::{CongestionTotals, PeerCongestion};
use super::demux::{Demux, stun_local_ufrag};
use super::socket::{Datagram, PeerTx};
use super::tcp::TcpConns;
use lookout_core::{H264DemandGuard, RtpCursor, ViewerHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use str0m::media::{Frequency, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a closing peer may still send its RTCP BYE and DTLS close_notify.
const CLOSE_DRAIN: Duration = Duration::from_millis(100);

/// What every peer shares: the UDP sockets, the TCP connections, the routes, a counter, the
/// shutdown token.
#[derive(Debug)]
pub struct PeerNet {
    pub sockets: Vec<Arc<UdpSocket>>,
    pub tcp: Arc<TcpConns>,
    pub demux: Arc<Demux<PeerTx>>,
    pub keyframe_requests: Arc<AtomicU64>,
    pub congestion: Arc<CongestionTotals>,
    pub shutdown: CancellationToken,
}

pub struct Peer {
    pub id: String,
    pub rtc: Rtc,
    pub mid: Mid,
    pub pt: Pt,
    pub ufrag: String,
    /// This peer's own queue sender, bound to the addresses it is reached at.
    pub tx: PeerTx,
    pub inbound: mpsc::Receiver<Datagram>,
    /// The host candidates given to the peer.
    pub local: Vec<SocketAddr>,
    pub cursor: RtpCursor,
    pub viewer: ViewerHandle,
    /// Keeps a JPEG camera's H.264 encoder running while the peer lives.
    pub _h264_demand: H264DemandGuard,
    pub close: CancellationToken,
    pub revoked: CancellationToken,
    pub connect_timeout: Duration,
    pub consent_timeout: Duration,
    /// Who the viewer is, for log lines (camera and address).
    pub label: String,
}

/// Runs `peer` to its end, forgets its routes and returns why it ended.
pub async fn run<H>(net: Arc<PeerNet>, mut peer: Peer, hold: H) -> &'static str {
    let svc = &*net;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    let reason = drive(svc, &mut peer, &mut addrs).await;
    tracing::debug!("WebRTC peer {} ended: {reason}", peer.id);
    // Tell the browser at once (RTCP BYE, DTLS close_notify) rather than after its own
    // consent timeout.
    if peer.rtc.close().is_ok() {
        let until = Instant::now() + CLOSE_DRAIN;
        while peer.rtc.is_alive() && Instant::now() < until {
            match peer.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    send(svc, t.proto, &t.destination, t.source, &t.contents)
                }
                Ok(Output::Timeout(_)) | Err(_) => break,
                Ok(Output::Event(_)) => {}
            }
        }
    }
    svc.demux.remove(&peer.ufrag, &addrs);
    drop(hold);
    reason
}

async fn drive(svc: &PeerNet, p: &mut Peer, addrs: &mut Vec<SocketAddr>) -> &'static str {
    let started = tokio::time::Instant::now();
    let mut last_consent = tokio::time::Instant::now();
    let mut media = false;
    let mut congestion = PeerCongestion::default();
    loop {
        // Drain until str0m says when it next wants time.
        let deadline = loop {
            match p.rtc.poll_output() {
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Transmit(t)) => {
                    send(svc, t.proto, &t.destination, t.source, &t.contents)
                }
                Ok(Output::Event(e)) => match e {
                    Event::Connected => media = true,
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        return "consent lost";
                    }
                    Event::KeyframeRequest(_) => {
                        svc.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                        p.cursor.request_key_frame();
                    }
                    Event::MediaEgressStats(s) => {
                        if let Some(line) = congestion.report(&s, &svc.congestion, Instant::now()) {
                            tracing::info!("WebRTC peer {} ({}): {line}", p.id, p.label);
                        }
                    }
                    Event::PeerStats(s) => {
                        tracing::debug!(
                            "WebRTC peer {}: sent {} bytes, egress loss {:?}, rtt {:?}",
                            p.id,
                            s.peer_bytes_tx,
                            s.egress_loss_fraction,
                            s.rtt
                        );
                    }
                    Event::EgressBitrateEstimate(b) => {
                        tracing::debug!("WebRTC peer {}: bandwidth estimate {b:?}", p.id);
                    }
                    Event::Closed => return "closed by the viewer",
                    _ => {}
                },
                Err(e) => {
                    tracing::debug!("WebRTC peer {}: {e}", p.id);
                    return "error";
                }
            }
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        tokio::select! {
            biased;
            () = p.close.cancelled() => {
                return if svc.shutdown.is_cancelled() { "shutdown" } else { "delete" };
            }
            () = p.revoked.cancelled() => return "revoked",
            () = tokio::time::sleep_until(started + p.connect_timeout), if !media => {
                return "connect timeout";
            }
            () = tokio::time::sleep_until(last_consent + p.consent_timeout) => return "consent timeout",
            d = p.inbound.recv() => {
                let Some(d) = d else { return "error" };
                let destination = local_destination(&p.local, d.destination);
                let Ok(contents): Result<str0m::net::DatagramRecv<'_>, _> =
                    d.bytes.as_slice().try_into()
                else {
                    continue;
                };
                let input = Input::Receive(d.at, Receive {
                    proto: d.proto,
                    source: d.source,
                    destination,
                    contents,
                });
                // A STUN request that passes the peer's integrity check (its password):
                // consent (RFC 7675), and the address it came from is the peer's.
                let is_stun = stun_local_ufrag(&d.bytes) == Some(p.ufrag.as_str());
                if is_stun && p.rtc.accepts(&input) {
                    last_consent = tokio::time::Instant::now();
                    // A TCP connection is the peer's already (`tcp.rs`); UDP datagrams from
                    // this address are from now on.
                    if d.proto == Protocol::Udp && !addrs.contains(&d.source) {
                        addrs.push(d.source);
                        svc.demux.add_addr(d.source, p.tx.clone());
                    }
                }
                if let Err(e) = p.rtc.handle_input(input) {
                    tracing::debug!("WebRTC peer {}: {e}", p.id);
                    return "error";
                }
            }
            f = p.cursor.next(), if media => {
                let Some(f) = f else { return "camera gone" };
                let data = f.frame.annex_b();
                let len = data.len();
                let Some(writer) = p.rtc.writer(p.mid) else { return "error" };
                let time = MediaTime::new(f.rtp_time_90k, Frequency::NINETY_KHZ);
                if let Err(e) = writer.write(p.pt, f.frame.published, time, data) {
                    tracing::debug!("WebRTC peer {}: {e}", p.id);
                    return "error";
                }
                p.viewer.record_sent(len);
            }
            () = tokio::time::sleep_until(deadline) => {
                if let Err(e) = p.rtc.handle_input(Input::Timeout(Instant::now())) {
                    tracing::debug!("WebRTC peer {}: {e}", p.id);
                    return "error";
                }
            }
        }
    }
}

/// A datagram's destination as the peer's ICE agent knows it: a wildcard socket's address is
/// the candidate of that port and family.
fn local_destination(local: &[SocketAddr], d: SocketAddr) -> SocketAddr {
    if !d.ip().is_unspecified() {
        return d;
    }
    local
        .iter()
        .find(|a| a.port() == d.port() && a.is_ipv4() == d.is_ipv4())
        .copied()
        .unwrap_or(d)
}

/// Sends on the viewer's TCP connection, or from the UDP socket bound to `source` (or to its
/// family's wildcard); a full send buffer drops the datagram, as UDP may.
fn send(
    svc: &PeerNet,
    proto: Protocol,
    destination: &SocketAddr,
    source: SocketAddr,
    bytes: &[u8],
) {
    if proto != Protocol::Udp {
        svc.tcp.send(*destination, bytes);
        return;
    }
    let socket = svc
        .sockets
        .iter()
        .find(|s| s.local_addr().is_ok_and(|a| a == source))
        .or_else(|| {
            svc.sockets.iter().find(|s| {
                s.local_addr()
                    .is_ok_and(|a| a.ip().is_unspecified() && a.is_ipv4() == destination.is_ipv4())
            })
        })
        .or_else(|| {
            svc.sockets.iter().find(|s| {
                s.local_addr()
                    .is_ok_and(|a| a.is_ipv4() == destination.is_ipv4())
            })
        });
    if let Some(s) = socket {
        let _ = s.try_send_to(bytes, *destination);
    }
}
