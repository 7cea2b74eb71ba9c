//! The WebRTC service: the shared UDP port, the DTLS identity, the peers open now with their
//! limits, and [`WebRtc::open`], which answers a WHEP offer and starts the peer's task.

use super::congestion::CongestionTotals;
use super::demux::Demux;
use super::offer::{self, PAYLOADS};
use super::peer::{self, Peer, PeerNet};
use super::settings::{PublicAddress, WebRtcSettings};
use super::socket::{self, PEER_QUEUE};
use super::tcp::{self, TcpConns, TcpShared};
use lookout_core::{CameraHub, Error, RtpCursor};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use str0m::change::SdpOffer;
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::net::{Protocol, TcpType};
use str0m::{Candidate, IceCreds, RtcConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often a peer's RTCP statistics are read (`congestion.rs`).
const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// See the module docs.
pub struct WebRtc {
    settings: WebRtcSettings,
    net: Arc<PeerNet>,
    /// The TCP listeners' addresses (ICE-TCP passive candidates).
    tcp_addrs: Vec<SocketAddr>,
    udp_port: Option<u16>,
    tcp_port: Option<u16>,
    crypto: Arc<CryptoProvider>,
    cert: DtlsCert,
    peers: Mutex<HashMap<String, PeerInfo>>,
    counters: Counters,
}

impl std::fmt::Debug for WebRtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtc")
            .field("udp_port", &self.udp_port)
            .field("tcp_port", &self.tcp_port)
            .field("peers", &self.peers().len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct PeerInfo {
    camera: String,
    owner: Option<i64>,
    close: CancellationToken,
}

/// For `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub unroutable: Arc<AtomicU64>,
    pub setups: AtomicU64,
    pub refused: AtomicU64,
    pub keyframe_requests: Arc<AtomicU64>,
    pub ended: Mutex<BTreeMap<&'static str, u64>>,
    /// NACKs, PLIs, FIRs, packets lost, congested seconds: what viewers' RTCP reported.
    pub congestion: Arc<CongestionTotals>,
}

/// A WHEP offer to answer, with what the peer holds while it lives.
#[derive(Debug)]
pub struct OpenRequest<H> {
    pub camera: String,
    pub hub: Arc<CameraHub>,
    pub offer_sdp: String,
    /// The user the peer belongs to (per-user limit, who may end it); `None` without logins.
    pub owner: Option<i64>,
    /// The viewer's address: the host candidate is the local address towards it.
    pub client_ip: Option<IpAddr>,
    /// Cancelled when the viewer's login is revoked.
    pub revoked: CancellationToken,
    /// Kept by the peer's task until it ends (the live-stream registration).
    pub hold: H,
}

#[derive(Debug)]
pub struct Opened {
    pub id: String,
    pub answer_sdp: String,
}

/// Why an offer was not answered; `web/whep.rs` maps each to its status.
#[derive(Debug)]
pub enum OpenError {
    /// 400: not SDP, or nothing Lookout can send to it.
    BadOffer(String),
    /// 422: the camera's stream cannot be played over WebRTC.
    Undecodable(String),
    /// 503: a limit is reached (the page falls back to MSE).
    Full(String),
    /// 503: no H.264, or an internal failure.
    Unavailable(String),
}

impl WebRtc {
    pub(super) async fn start(
        settings: WebRtcSettings,
        listen_ips: &[IpAddr],
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, Error> {
        let mut ips = socket::addresses_for(listen_ips);
        if ips.is_empty() && !settings.public_addresses.is_empty() {
            // Behind nginx on a unix socket: the operator forwards the UDP port to this
            // machine (public_addresses), so listen on every IPv4 address.
            ips.push(IpAddr::from([0, 0, 0, 0]));
        }
        if ips.is_empty() {
            return Err(Error::unavailable(
                "Lookout listens on no IP address (unix socket or systemd only), so WebRTC has none to bind its UDP port on; set [webrtc] public_addresses to bind it on every IPv4 address",
            ));
        }
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let cert = crypto
            .dtls_provider
            .generate_certificate()
            .ok_or_else(|| Error::internal("cannot make a DTLS certificate for WebRTC"))?;
        let sockets = if settings.udp {
            socket::bind(&ips, settings.udp_port).await?
        } else {
            Vec::new()
        };
        // ICE over TCP is the fallback: without its port, UDP still serves.
        let listeners = if settings.tcp {
            tcp::bind(&ips, settings.tcp_port)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!("WebRTC over TCP is off: {e}");
                    Vec::new()
                })
        } else {
            Vec::new()
        };
        let port_of = |a: Option<SocketAddr>| a.map(|a| a.port());
        let udp_port = port_of(sockets.first().and_then(|s| s.local_addr().ok()));
        let tcp_port = port_of(listeners.first().and_then(|l| l.local_addr().ok()));
        let demux = Arc::new(Demux::new());
        let counters = Counters::default();
        for s in &sockets {
            tokio::spawn(socket::receive(
                s.clone(),
                demux.clone(),
                counters.unroutable.clone(),
                shutdown.clone(),
            ));
        }
        let conns = Arc::new(TcpConns::default());
        let tcp_shared = Arc::new(TcpShared {
            demux: demux.clone(),
            conns: conns.clone(),
            unroutable: counters.unroutable.clone(),
            // A browser opens a connection per candidate pair it checks: a few per peer.
            max_conns: settings.max_peers.saturating_mul(4),
            shutdown: shutdown.clone(),
        });
        let mut bound: Vec<String> = sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .map(|a| format!("UDP {a}"))
            .collect();
        let mut tcp_addrs = Vec::new();
        for l in listeners {
            if let Ok(a) = l.local_addr() {
                bound.push(format!("TCP {a}"));
                tcp_addrs.push(a);
            }
            tokio::spawn(tcp::accept(l, tcp_shared.clone()));
        }
        tracing::info!("WebRTC: {}", bound.join(", "));
        let net = Arc::new(PeerNet {
            sockets,
            tcp: conns,
            demux,
            keyframe_requests: counters.keyframe_requests.clone(),
            congestion: counters.congestion.clone(),
            shutdown,
        });
        Ok(Arc::new(Self {
            settings,
            net,
            tcp_addrs,
            udp_port,
            tcp_port,
            crypto,
            cert,
            peers: Mutex::new(HashMap::new()),
            counters,
        }))
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The UDP port peers use, if UDP is on.
    pub fn udp_port(&self) -> Option<u16> {
        self.udp_port
    }

    /// The TCP port of ICE over TCP, if it is on.
    pub fn tcp_port(&self) -> Option<u16> {
        self.tcp_port
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<String, PeerInfo>> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Peers open now, per camera.
    pub fn peers_per_camera(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for p in self.peers().values() {
            *out.entry(p.camera.clone()).or_insert(0) += 1;
        }
        out
    }

    /// Ends peer `id` if `owner` may (its own peer; `None`: anyone, for admins and no-login
    /// setups). `false`: no such peer (or not `owner`'s: it is not revealed), or it is ending
    /// already: its task forgets it a moment later, and a second DELETE in that moment must
    /// not be told it ended a peer.
    pub fn close(&self, camera: &str, id: &str, owner: Option<i64>) -> bool {
        let peers = self.peers();
        match peers.get(id) {
            Some(p)
                if p.camera == camera
                    && (owner.is_none() || p.owner == owner)
                    && !p.close.is_cancelled() =>
            {
                p.close.cancel();
                true
            }
            _ => false,
        }
    }

    fn forget(&self, id: &str, reason: &'static str) {
        self.peers().remove(id);
        *self
            .counters
            .ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_insert(0) += 1;
    }

    /// Takes a slot for a peer within the limits.
    fn reserve(
        &self,
        id: &str,
        camera: &str,
        owner: Option<i64>,
    ) -> Result<CancellationToken, OpenError> {
        let mut peers = self.peers();
        let s = &self.settings;
        let on_camera = peers.values().filter(|p| p.camera == camera).count();
        let of_user = peers
            .values()
            .filter(|p| owner.is_some() && p.owner == owner)
            .count();
        let full = if peers.len() >= s.max_peers {
            Some(format!(
                "Lookout has {} WebRTC viewers, its limit (webrtc.max_peers)",
                peers.len()
            ))
        } else if on_camera >= s.max_peers_per_camera {
            Some(format!(
                "camera {camera:?} has {on_camera} WebRTC viewers, its limit (webrtc.max_peers_per_camera)"
            ))
        } else if of_user >= s.max_peers_per_user {
            Some(format!(
                "you have {of_user} WebRTC views open, the limit per user (webrtc.max_peers_per_user)"
            ))
        } else {
            None
        };
        if let Some(why) = full {
            return Err(OpenError::Full(why));
        }
        let close = self.net.shutdown.child_token();
        peers.insert(
            id.to_owned(),
            PeerInfo {
                camera: camera.to_owned(),
                owner,
                close: close.clone(),
            },
        );
        Ok(close)
    }

    /// Answers a WHEP offer: checks the camera and the offer, makes the peer and starts its
    /// task. The peer lives until DELETE, revocation, shutdown, a connect or consent timeout.
    pub fn open<H: Send + 'static>(
        self: &Arc<Self>,
        req: OpenRequest<H>,
    ) -> Result<Opened, OpenError> {
        let result = self.try_open(req);
        let counter = match &result {
            Ok(_) => &self.counters.setups,
            Err(_) => &self.counters.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    fn try_open<H: Send + 'static>(
        self: &Arc<Self>,
        req: OpenRequest<H>,
    ) -> Result<Opened, OpenError> {
        let hub = &req.hub;
        let params = hub.video().latest_params();
        if let Some(why) = params.as_deref().and_then(offer::undecodable) {
            return Err(OpenError::Undecodable(why));
        }
        let offer = SdpOffer::from_sdp_string(&req.offer_sdp)
            .map_err(|e| OpenError::BadOffer(format!("the body is not an SDP offer: {e}")))?;
        let creds = IceCreds::new();
        let ufrag = creds.ufrag.clone();
        let mut cfg = RtcConfig::new()
            .set_ice_lite(true)
            .set_local_ice_credentials(creds)
            .set_crypto_provider(self.crypto.clone())
            .set_dtls_cert(self.cert.clone())
            // Egress statistics (NACKs, loss, RTT) for the congestion log and /metrics.
            .set_stats_interval(Some(STATS_INTERVAL))
            .clear_codecs();
        for (pt, rtx, pli) in PAYLOADS {
            cfg.codec_config()
                .add_h264(pt.into(), Some(rtx.into()), true, pli);
        }
        let now = Instant::now();
        let mut rtc = cfg.build(now);
        let mut local = Vec::new();
        for (addr, proto) in self.candidates(req.client_ip) {
            let candidate = match proto {
                Protocol::Udp => Candidate::host(addr, "udp"),
                _ => Candidate::builder()
                    .tcp()
                    .host(addr)
                    .tcptype(TcpType::Passive)
                    .build(),
            };
            match candidate {
                Ok(c) => {
                    if rtc.add_local_candidate(c).is_some() {
                        local.push(addr);
                    }
                }
                Err(e) => tracing::debug!("WebRTC: no candidate for {addr}: {e}"),
            }
        }
        if local.is_empty() {
            return Err(OpenError::Unavailable(
                "WebRTC has no address to offer this viewer; set [webrtc] public_addresses".into(),
            ));
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| OpenError::BadOffer(format!("the offer cannot be answered: {e}")))?;
        let answer_sdp = answer.to_sdp_string();
        let Some(mid) = offer::video_mid(&answer_sdp) else {
            return Err(OpenError::BadOffer(
                "the offer has no video to receive (a recvonly or sendrecv video m-line with H.264)".into(),
            ));
        };
        let pt = rtc
            .writer(mid)
            .and_then(|w| offer::choose_pt(w.payload_params(), params.as_deref()))
            .ok_or_else(|| {
                OpenError::BadOffer(
                    "the offer has no H.264 with packetization-mode=1 for WebRTC; play stream.mp4 instead".into(),
                )
            })?;
        let id = peer_id();
        let close = self.reserve(&id, &req.camera, req.owner)?;
        let (tx, inbound) = mpsc::channel(PEER_QUEUE);
        self.net.demux.add_ufrag(&ufrag, tx.clone());
        let viewer = hub.add_viewer(
            req.client_ip
                .map_or_else(|| "unknown".into(), |ip| ip.to_string()),
            "webrtc".into(),
            None,
        );
        let id_for_task = id.clone();
        let peer = Peer {
            id: id.clone(),
            rtc,
            mid,
            pt,
            ufrag,
            tx,
            inbound,
            local,
            cursor: RtpCursor::new(hub.video()),
            viewer,
            _h264_demand: hub.demand_h264(),
            close,
            revoked: req.revoked,
            connect_timeout: self.settings.connect_timeout,
            consent_timeout: self.settings.consent_timeout,
            label: format!(
                "camera {}, {}",
                req.camera,
                req.client_ip
                    .map_or_else(|| "unknown".into(), |ip| ip.to_string())
            ),
        };
        let (svc, net) = (self.clone(), self.net.clone());
        tokio::spawn(async move {
            let reason = peer::run(net, peer, req.hold).await;
            svc.forget(&id_for_task, reason);
        });
        Ok(Opened { id, answer_sdp })
    }

    /// Host candidates for a viewer at `client`: each bound UDP address and each TCP
    /// listener's (a wildcard one as the local address towards the viewer), then the
    /// configured public addresses.
    fn candidates(&self, client: Option<IpAddr>) -> Vec<(SocketAddr, Protocol)> {
        // An IPv4 viewer of a `[::]` HTTP listener is seen as ::ffff:a.b.c.d.
        let towards = client
            .map(|ip| ip.to_canonical())
            .and_then(socket::local_ip_towards);
        let host = |a: SocketAddr| {
            if !a.ip().is_unspecified() {
                return Some(a);
            }
            match towards {
                Some(ip) if ip.is_ipv4() == a.is_ipv4() => Some(SocketAddr::new(ip, a.port())),
                _ => None,
            }
        };
        let udp = self.net.sockets.iter().filter_map(|s| s.local_addr().ok());
        let mut out: Vec<(SocketAddr, Protocol)> =
            udp.filter_map(host).map(|a| (a, Protocol::Udp)).collect();
        out.extend(
            self.tcp_addrs
                .iter()
                .filter_map(|a| host(*a))
                .map(|a| (a, Protocol::Tcp)),
        );
        for p in &self.settings.public_addresses {
            match *p {
                PublicAddress::Ip(ip) => {
                    if let Some(port) = self.udp_port {
                        out.push((SocketAddr::new(ip, port), Protocol::Udp));
                    }
                    if let Some(port) = self.tcp_port {
                        out.push((SocketAddr::new(ip, port), Protocol::Tcp));
                    }
                }
                // An explicit port is the router's forward of the UDP port.
                PublicAddress::Addr(a) if self.udp_port.is_some() => out.push((a, Protocol::Udp)),
                PublicAddress::Addr(_) => {}
            }
        }
        out.dedup();
        out
    }
}

/// 128 random bits in hex: a peer's resource name cannot be guessed.
fn peer_id() -> String {
    let mut b = [0u8; 16];
    // getrandom fails only without any OS randomness, where nothing secure works; a time
    // based id then still names the peer uniquely (DELETE also checks the owner).
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = t.to_be_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_close_of_an_ending_peer_finds_nothing() {
        let settings = WebRtcSettings {
            udp_port: 0,
            tcp: false,
            ..WebRtcSettings::default()
        };
        let shutdown = CancellationToken::new();
        let svc = WebRtc::start(settings, &[IpAddr::from([127, 0, 0, 1])], shutdown.clone())
            .await
            .unwrap();
        let close = svc.reserve("p1", "cam", Some(7)).unwrap();
        assert!(!svc.close("cam", "p1", Some(8)), "another user's peer");
        assert!(!svc.close("other", "p1", None), "another camera's peer");
        assert!(svc.close("cam", "p1", Some(7)));
        assert!(close.is_cancelled());
        // The peer's task has not forgotten it yet: still counted, but not closable again.
        assert_eq!(svc.peers_per_camera().get("cam"), Some(&1));
        assert!(!svc.close("cam", "p1", None));
        svc.forget("p1", "delete");
        assert!(svc.peers_per_camera().is_empty());
        shutdown.cancel();
    }
}
