//! An HTTP camera: an upstream multipart MJPEG stream (an IP camera, mjpg-streamer, another
//! Lookout) or a JPEG snapshot URL polled at a set rate. The response's Content-Type decides.
//!
//! Credentials go in an Authorization header (Basic), from the config or the URL's userinfo,
//! which is stripped from the URL before it is used or logged.

use crate::splitter::JpegSplitter;
use crate::{BoxFuture, FrameSink, Source};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lookout_core::{Error, ErrorKind};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Clone)]
pub struct HttpSource {
    /// The URL without userinfo.
    url: Uri,
    auth: Option<HeaderValue>,
    /// Poll rate for snapshot URLs.
    pub poll_fps: f64,
    /// A stream that sends no frame for this long is reconnected.
    pub stall_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_frame_bytes: usize,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("HttpSource")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Splits `user:pass@` off a URL; the URL is returned without it.
pub fn split_userinfo(url: &str) -> Result<(Uri, Option<Credentials>), Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e| Error::invalid(format!("invalid URL: {e}")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(Error::invalid(
                "https:// camera URLs are not supported yet; use http:// or a `command` source running ffmpeg",
            ));
        }
        _ => return Err(Error::invalid("the URL must start with http://")),
    }
    let Some(authority) = uri.authority() else {
        return Err(Error::invalid("the URL has no host"));
    };
    let Some((userinfo, host)) = authority.as_str().rsplit_once('@') else {
        return Ok((uri, None));
    };
    let (userinfo, host) = (userinfo.to_owned(), host.to_owned());
    let (user, pass) = userinfo.split_once(':').unwrap_or((&userinfo, ""));
    let creds = Credentials {
        username: percent_decode(user),
        password: percent_decode(pass),
    };
    let mut parts = uri.into_parts();
    parts.authority = Some(
        host.parse()
            .map_err(|_| Error::invalid("invalid host in URL"))?,
    );
    let uri = Uri::from_parts(parts).map_err(|e| Error::invalid(format!("invalid URL: {e}")))?;
    Ok((uri, Some(creds)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(v)) = (bytes[i], hex) {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl HttpSource {
    pub fn new(url: Uri, creds: Option<Credentials>) -> Self {
        let auth = creds.map(|c| {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            let mut v = HeaderValue::from_str(&format!("Basic {token}"))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            v.set_sensitive(true);
            v
        });
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        Self {
            url,
            auth,
            poll_fps: 2.0,
            stall_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_frame_bytes: 16 << 20,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    async fn get(&self) -> Result<hyper::Response<hyper::body::Incoming>, Error> {
        let mut req = Request::get(self.url.clone()).header(
            http::header::USER_AGENT,
            concat!("lookout/", env!("CARGO_PKG_VERSION")),
        );
        if let Some(auth) = &self.auth {
            req = req.header(http::header::AUTHORIZATION, auth.clone());
        }
        let req = req
            .body(Empty::new())
            .map_err(|e| Error::internal(e.to_string()))?;
        let resp = tokio::time::timeout(self.connect_timeout * 2, self.client.request(req))
            .await
            .map_err(|_| {
                unavailable(format!(
                    "no answer from {} within {:?}",
                    self.url,
                    self.connect_timeout * 2
                ))
            })?
            .map_err(|e| unavailable(format!("cannot reach {}: {e}", self.url)))?;
        match resp.status() {
            StatusCode::OK => Ok(resp),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(unavailable(format!(
                "{} answered {}: check the camera's username and password",
                self.url,
                resp.status()
            ))),
            s => Err(unavailable(format!("{} answered {s}", self.url))),
        }
    }

    async fn run_stream(
        &self,
        sink: &FrameSink,
        resp: hyper::Response<hyper::body::Incoming>,
    ) -> Result<(), Error> {
        let mut body = resp.into_body();
        let mut splitter = JpegSplitter::new(self.max_frame_bytes);
        let mut last_frame = tokio::time::Instant::now();
        loop {
            let deadline = last_frame + self.stall_timeout;
            let next = tokio::time::timeout_at(deadline, body.frame())
                .await
                .map_err(|_| {
                    unavailable(format!(
                        "no frame from {} for {:?}",
                        self.url, self.stall_timeout
                    ))
                })?;
            let Some(frame) = next else {
                return Err(unavailable(format!("{} ended the stream", self.url)));
            };
            let frame = frame.map_err(|e| unavailable(format!("reading {}: {e}", self.url)))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            splitter.push(&data);
            while let Some(f) = splitter.next_frame() {
                match f {
                    Ok(f) => {
                        last_frame = tokio::time::Instant::now();
                        sink.publish_checked(f.jpeg, f.width, f.height, SystemTime::now());
                    }
                    Err(why) => sink.drop_frame(why),
                }
            }
        }
    }

    async fn run_snapshots(
        &self,
        sink: &FrameSink,
        first: hyper::Response<hyper::body::Incoming>,
    ) -> Result<(), Error> {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / self.poll_fps));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut resp = Some(first);
        loop {
            tick.tick().await;
            let r = match resp.take() {
                Some(r) => r,
                None => self.get().await?,
            };
            // A camera that sends headers and then stalls must not hang the source.
            let body = tokio::time::timeout(
                self.stall_timeout,
                Limited::new(r.into_body(), self.max_frame_bytes).collect(),
            )
            .await
            .map_err(|_| {
                unavailable(format!(
                    "{} sent no complete picture within {:?}",
                    self.url, self.stall_timeout
                ))
            })?
            .map_err(|e| unavailable(format!("reading {}: {e}", self.url)))?
            .to_bytes();
            sink.publish_jpeg(body, SystemTime::now());
        }
    }
}

fn unavailable(msg: String) -> Error {
    Error::new(ErrorKind::Unavailable, msg)
}

impl Source for HttpSource {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn frame_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs_f64(1.0 / self.poll_fps))
    }

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let resp = self.get().await?;
            let content_type = resp
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            if content_type.starts_with("multipart/") {
                self.run_stream(sink, resp).await
            } else if content_type.starts_with("image/jpeg")
                || content_type.starts_with("image/jpg")
            {
                self.run_snapshots(sink, resp).await
            } else {
                Err(unavailable(format!(
                    "{} answered with Content-Type {content_type:?}; expected multipart/x-mixed-replace (MJPEG) or image/jpeg",
                    self.url
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_split_off_and_decoded() {
        let (uri, creds) =
            split_userinfo("http://ad%40min:p%3Ass@cam.local:8080/video?x=1").unwrap();
        assert_eq!(uri.to_string(), "http://cam.local:8080/video?x=1");
        let c = creds.unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("ad@min", "p:ss")
        );
        let (uri, creds) = split_userinfo("http://cam/snap.jpg").unwrap();
        assert_eq!(
            (uri.to_string().as_str(), creds.is_none()),
            ("http://cam/snap.jpg", true)
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        assert!(
            split_userinfo("ftp://cam/")
                .unwrap_err()
                .to_string()
                .contains("http://")
        );
        assert!(
            split_userinfo("https://cam/")
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
        assert!(split_userinfo("not a url").is_err());
    }

    #[test]
    fn debug_output_hides_credentials() {
        let (uri, creds) = split_userinfo("http://u:secret@cam/").unwrap();
        let s = HttpSource::new(uri, creds);
        assert!(!format!("{s:?}").contains("secret"));
    }
}
