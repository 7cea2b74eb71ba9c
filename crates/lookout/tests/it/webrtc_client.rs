//! A WebRTC client for the tests: str0m (the server's own stack on the other side, run as a
//! full ICE agent) that posts its offer over WHEP, connects over UDP and keeps what arrives;
//! and the API look-ups the WebRTC tests share.

use crate::support::TestServer;
use lookout::webrtc::str0m;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

/// A WebRTC receiver on loopback.
pub(crate) struct Viewer {
    pub(crate) rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    pub(crate) offer: String,
    /// Once connected, every `drop_every`th datagram from the server is thrown away, as a
    /// congested network would (0: none).
    pub(crate) drop_every: usize,
    received: usize,
}

/// What a viewer saw.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) connected: bool,
    /// Each frame's RTP time, its Annex B bytes and when it arrived.
    pub(crate) frames: Vec<(u64, Vec<u8>)>,
    pub(crate) arrived: Vec<Instant>,
    pub(crate) disconnected: bool,
}

impl Viewer {
    pub(crate) async fn new() -> Self {
        Self::on("127.0.0.1:0").await
    }

    /// A viewer whose one candidate is a UDP socket bound to `bind`.
    pub(crate) async fn on(bind: &str) -> Self {
        let socket = UdpSocket::bind(bind).await.unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        let mut api = rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api.apply().unwrap();
        Self {
            rtc,
            socket,
            local,
            pending: Some(pending),
            offer: offer.to_sdp_string(),
            drop_every: 0,
            received: 0,
        }
    }

    pub(crate) fn accept(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).expect("an SDP answer");
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    /// Drives the client until `done(seen)` or `limit` passes.
    pub(crate) async fn run(
        &mut self,
        seen: &mut Seen,
        limit: Duration,
        done: impl Fn(&Seen) -> bool,
    ) {
        let end = Instant::now() + limit;
        let mut buf = vec![0u8; 2048];
        while Instant::now() < end && !done(seen) {
            let timeout = loop {
                match self.rtc.poll_output().unwrap() {
                    Output::Timeout(t) => break t,
                    Output::Transmit(t) => {
                        let _ = self.socket.send_to(&t.contents, t.destination).await;
                    }
                    Output::Event(e) => match e {
                        Event::Connected => seen.connected = true,
                        Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                        | Event::Closed => seen.disconnected = true,
                        Event::MediaData(m) => {
                            seen.frames.push((m.time.numer(), m.data.to_vec()));
                            seen.arrived.push(Instant::now());
                        }
                        _ => {}
                    },
                }
            };
            let wait = timeout
                .min(end)
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            match tokio::time::timeout(wait, self.socket.recv_from(&mut buf)).await {
                Ok(Ok((n, source))) => {
                    if seen.connected && self.drop_every > 0 {
                        self.received += 1;
                        if self.received.is_multiple_of(self.drop_every) {
                            continue;
                        }
                    }
                    let input = Input::Receive(
                        Instant::now(),
                        Receive {
                            proto: Protocol::Udp,
                            source,
                            destination: self.local,
                            contents: buf[..n].try_into().unwrap(),
                        },
                    );
                    self.rtc.handle_input(input).unwrap();
                }
                _ => self
                    .rtc
                    .handle_input(Input::Timeout(Instant::now()))
                    .unwrap(),
            }
        }
    }
}

/// NAL unit types of an Annex B access unit.
pub(crate) fn nal_types(au: &[u8]) -> Vec<u8> {
    lookout_core::h264::nal_units(au)
        .map(|n| n[0] & 0x1F)
        .collect()
}

pub(crate) async fn peers(srv: &TestServer, camera: &str, headers: &[(&str, &str)]) -> u64 {
    let r = srv
        .get_with(&format!("/api/cameras/{camera}"), headers)
        .await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    v["webrtc"]["peers"].as_u64().expect("webrtc.peers")
}

/// How long until the server has no WebRTC peer for `camera` (at most `limit`).
pub(crate) async fn until_no_peers(
    srv: &TestServer,
    camera: &str,
    headers: &[(&str, &str)],
    limit: Duration,
) -> Duration {
    let start = Instant::now();
    while peers(srv, camera, headers).await > 0 && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

pub(crate) async fn post_offer(
    srv: &TestServer,
    camera: &str,
    sdp: &str,
    headers: &[(&str, &str)],
) -> lookout_bench::Response {
    let mut h = vec![("content-type", "application/sdp")];
    h.extend_from_slice(headers);
    srv.request(
        "POST",
        &format!("/cameras/{camera}/whep"),
        &h,
        Some(sdp.as_bytes()),
    )
    .await
}
