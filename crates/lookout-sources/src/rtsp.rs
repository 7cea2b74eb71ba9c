//! An IP camera over RTSP (RFC 2326) through `retina`, a pure-Rust client: the camera's first
//! H.264 video stream is passed on without decoding, or else its MJPEG stream (RFC 2435) as JPEG
//! frames. TCP-interleaved (default) or UDP transport; Basic or Digest credentials, which never
//! reach a log line or the API.
//!
//! One `run` is one RTSP session: it ends with an error when the camera refuses, hangs up or
//! sends nothing for `stall_timeout`, and the supervisor's backoff is the reconnect.

mod error;
mod h264;

use crate::{BoxFuture, FrameSink, Source};
use futures_util::StreamExt;
use lookout_core::Error;
use retina::client::{
    Credentials as RetinaCredentials, InitialTimestampPolicy, PlayOptions, Session, SessionGroup,
    SessionOptions, SetupOptions, TcpTransportOptions, TeardownPolicy, Transport,
    UdpTransportOptions,
};
use retina::codec::CodecItem;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

pub use self::h264::{H264Units, rescale_to_90k};

/// A camera's user name and password (from `password_file` or `password_env`).
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// How RTP packets travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtspTransport {
    /// Interleaved in the RTSP TCP connection (RFC 2326 §10.12): through NAT and firewalls,
    /// nothing lost.
    #[default]
    Tcp,
    /// Separate UDP ports: less delay on a clean LAN, but a lost packet costs a GOP.
    Udp,
}

impl RtspTransport {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

#[derive(Clone)]
pub struct RtspSource {
    /// `rtsp://host[:port]/path`, never with userinfo.
    url: Url,
    credentials: Option<Credentials>,
    pub transport: RtspTransport,
    /// A session that sends no frame this long is ended (and restarted by the supervisor).
    pub stall_timeout: Duration,
    /// For each of DESCRIBE, SETUP and PLAY.
    pub request_timeout: Duration,
    /// Sessions of this camera that may still need a TEARDOWN (UDP, buggy servers): the next
    /// session waits for them, as a camera allows few sessions at once.
    group: Arc<SessionGroup>,
}

impl std::fmt::Debug for RtspSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("RtspSource")
            .field("url", &self.url.as_str())
            .field(
                "username",
                &self.credentials.as_ref().map(|c| c.username.as_str()),
            )
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// How long a stale session's TEARDOWN may hold up the next session.
const TEARDOWN_WAIT: Duration = Duration::from_secs(5);
/// retina refuses a jump of the RTP clock larger than this (a camera restarted under us).
const MAX_TIMESTAMP_JUMP_SECS: u32 = 10;

impl RtspSource {
    /// Errors (kind `InvalidInput`) on a URL that is not `rtsp://host/...` or holds a user name
    /// or password: those go in `credentials`, so that the URL can be shown and logged.
    pub fn new(
        url: &str,
        credentials: Option<Credentials>,
        transport: RtspTransport,
    ) -> Result<Self, Error> {
        let url = parse_url(url)?;
        Ok(Self {
            url,
            credentials,
            transport,
            stall_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            group: Arc::new(SessionGroup::default()),
        })
    }

    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    async fn session(&self, sink: &FrameSink) -> Result<(), Error> {
        let url = self.url.as_str();
        // A session ended by the last run may still be tearing down.
        let _ = tokio::time::timeout(TEARDOWN_WAIT, self.group.await_teardown()).await;
        let options = SessionOptions::default()
            .creds(self.credentials.as_ref().map(|c| RetinaCredentials {
                username: c.username.clone(),
                password: c.password.clone(),
            }))
            .session_group(self.group.clone())
            .user_agent(format!("Lookout/{}", env!("CARGO_PKG_VERSION")))
            .teardown(TeardownPolicy::Auto);
        let mut session = self
            .step("DESCRIBE", Session::describe(self.url.clone(), options))
            .await?;
        let (index, codec) = pick_stream(session.streams()).ok_or_else(|| {
            let offered: Vec<String> = session
                .streams()
                .iter()
                .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
                .collect();
            Error::invalid(format!(
                "RTSP camera {url} offers no H.264 or MJPEG video (it offers {}): choose another stream in the camera's settings, or use a `command` source with ffmpeg",
                if offered.is_empty() { "nothing".to_owned() } else { offered.join(", ") }
            ))
        })?;
        // The API and stream.mp4 learn what this camera sends (the config cannot say).
        sink.hub().set_sends_h264_only(codec == Codec::H264);
        // Until it connects again, stream.mp4 answers at once for an MJPEG camera (404)
        // instead of starting it and waiting for H.264.
        sink.hub().set_may_send_h264(codec == Codec::H264);
        let clock_hz = session.streams()[index].clock_rate_hz();
        let transport = match self.transport {
            RtspTransport::Tcp => Transport::Tcp(TcpTransportOptions::default()),
            RtspTransport::Udp => Transport::Udp(UdpTransportOptions::default()),
        };
        self.step(
            "SETUP",
            session.setup(index, SetupOptions::default().transport(transport)),
        )
        .await?;
        let play = PlayOptions::default()
            // Cameras' RTP-Info is often missing or wrong; one stream needs no sync.
            .initial_timestamp(InitialTimestampPolicy::Permissive)
            .enforce_timestamps_with_max_jump_secs(
                NonZeroU32::new(MAX_TIMESTAMP_JUMP_SECS).unwrap_or(NonZeroU32::MIN),
            );
        let playing = self.step("PLAY", session.play(play)).await?;
        let mut frames = playing
            .demuxed()
            .map_err(|e| error::from_retina(&e, "PLAY", url))?;
        tracing::info!(
            camera = sink.hub().id(),
            url,
            codec = codec.name(),
            transport = self.transport.name(),
            "RTSP session playing"
        );
        // A new session's clock starts anywhere: the track continues its time from the last
        // picture and waits for a key frame (a session may start mid-GOP).
        if codec == Codec::H264 {
            sink.hub().video().mark_broken();
        }
        let mut h264 = H264Units::new(sink.hub().id(), clock_hz);
        loop {
            let item = match tokio::time::timeout(self.stall_timeout, frames.next()).await {
                Err(_) => {
                    return Err(Error::new(
                        lookout_core::ErrorKind::Timeout,
                        format!(
                            "RTSP camera {url} sent no frame for {} ms",
                            self.stall_timeout.as_millis()
                        ),
                    ));
                }
                Ok(None) => {
                    return Err(Error::unavailable(format!(
                        "RTSP camera {url} ended the session"
                    )));
                }
                Ok(Some(Err(e))) => return Err(error::from_retina(&e, "streaming", url)),
                Ok(Some(Ok(item))) => item,
            };
            let CodecItem::VideoFrame(frame) = item else {
                continue; // RTCP sender reports; audio and metadata are not set up.
            };
            let captured_at = SystemTime::now();
            match codec {
                Codec::Jpeg => {
                    sink.publish_jpeg(frame.into_data().into(), captured_at);
                }
                Codec::H264 => {
                    let (loss, key, rtp_time) = (
                        frame.loss(),
                        frame.is_random_access_point(),
                        frame.timestamp().timestamp(),
                    );
                    h264.publish(sink, frame.into_data(), loss, key, rtp_time, captured_at);
                }
            }
        }
    }

    /// One RTSP request, bounded by `request_timeout`.
    async fn step<T>(
        &self,
        name: &str,
        request: impl Future<Output = Result<T, retina::Error>>,
    ) -> Result<T, Error> {
        let url = self.url.as_str();
        match tokio::time::timeout(self.request_timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(error::from_retina(&e, name, url)),
            Err(_) => Err(Error::new(
                lookout_core::ErrorKind::Timeout,
                format!(
                    "RTSP camera {url} did not answer {name} within {} ms",
                    self.request_timeout.as_millis()
                ),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    H264,
    Jpeg,
}

impl Codec {
    fn name(self) -> &'static str {
        match self {
            Self::H264 => "h264",
            Self::Jpeg => "jpeg",
        }
    }
}

/// The first H.264 video stream, else the first MJPEG one.
fn pick_stream(streams: &[retina::client::Stream]) -> Option<(usize, Codec)> {
    let find = |encoding: &str| {
        streams
            .iter()
            .position(|s| s.media() == "video" && s.encoding_name() == encoding)
    };
    find("h264")
        .map(|i| (i, Codec::H264))
        .or_else(|| find("jpeg").map(|i| (i, Codec::Jpeg)))
}

fn parse_url(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|e| {
        Error::invalid(format!(
            "{:?} is not a URL: {e}",
            lookout_core::redact::mask_url_secrets(text)
        ))
    })?;
    if url.scheme() != "rtsp" {
        return Err(Error::invalid(format!(
            "the URL must start with rtsp://, not {}://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "the URL holds a user name or password; put them in username and password_file (or password_env), so that they never show in logs",
        ));
    }
    Ok(url)
}

impl Source for RtspSource {
    fn kind(&self) -> &'static str {
        "rtsp"
    }

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.session(sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::ErrorKind;

    #[test]
    fn urls_with_credentials_or_other_schemes_are_refused() {
        let ok = parse_url("rtsp://192.168.1.20:554/stream1").unwrap();
        assert_eq!(ok.as_str(), "rtsp://192.168.1.20:554/stream1");
        for (bad, says) in [
            (
                "rtsp://viewer:s3cret@192.168.1.20/x",
                "user name or password",
            ),
            ("rtsp://viewer@192.168.1.20/x", "user name or password"),
            ("http://192.168.1.20/x", "must start with rtsp://"),
            ("192.168.1.20/x", "is not a URL"),
        ] {
            let e = parse_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.message().contains(says), "{bad}: {e}");
            assert!(!e.message().contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let source = RtspSource::new(
            "rtsp://127.0.0.1/cam",
            Some(Credentials {
                username: "viewer".into(),
                password: "s3cret".into(),
            }),
            RtspTransport::Tcp,
        )
        .unwrap();
        let text = format!("{source:?}");
        assert!(
            text.contains("viewer") && !text.contains("s3cret"),
            "{text}"
        );
    }
}
