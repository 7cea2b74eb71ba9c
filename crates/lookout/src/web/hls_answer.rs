//! What every HLS answer carries, live or recorded: the playlist's media type, the
//! `Cache-Control` that says who may keep a copy, and the URL token a playlist passes on to
//! its segment and init URIs. (Its own file so `hls` and `hls_recorded` share it without
//! using each other.)

use super::Principal;
use crate::auth::Credential;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, header};

pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// Segments and inits: their URLs never name other bytes.
pub const IMMUTABLE: &str = "max-age=86400, immutable";

/// Who may be served a copy of an answer (caches), and the URL token playlists pass on.
#[derive(Debug, Clone)]
pub struct Audience {
    /// The `?token=` of the request when it is what authorised it: playlists pass it on.
    pub url_token: Option<String>,
    /// A shared cache may keep the answer.
    pub shared: bool,
}

impl Audience {
    /// `headers` are the request's: a token credential is the URL's only when no
    /// `Authorization` header came (the guard takes a Bearer header before `?token=`).
    pub fn of(who: &Principal, query: Option<&str>, headers: &http::HeaderMap) -> Self {
        let url_token = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        });
        match who {
            Principal::Anyone => Audience {
                url_token: None,
                shared: true,
            },
            // The guard tries a session cookie first, then a Bearer header, then `?token=`:
            // a token credential from a request with `?token=` and no Bearer is the URL's.
            // (With a Bearer header, the URL's token may be anything, even wrong: a cache
            // must not serve that URL to others.)
            Principal::User {
                via: Credential::Token { .. },
                ..
            } if url_token.is_some() && !headers.contains_key(header::AUTHORIZATION) => Audience {
                url_token,
                shared: true,
            },
            _ => Audience {
                url_token: None,
                shared: false,
            },
        }
    }

    /// `?token=…` to append to URIs in a playlist, or nothing.
    pub fn uri_suffix(&self) -> String {
        self.url_token.as_ref().map_or_else(String::new, |t| {
            format!(
                "?token={}",
                form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
            )
        })
    }

    /// `Cache-Control` for an answer that may be kept `rest` (`max-age=…`).
    pub fn cache_control(&self, rest: &str) -> HeaderValue {
        let scope = if self.shared { "public" } else { "private" };
        HeaderValue::from_str(&format!("{scope}, {rest}"))
            .unwrap_or(HeaderValue::from_static("no-store"))
    }
}

/// A response with a body, its type and `Cache-Control`.
pub fn respond(body: impl Into<Bytes>, content_type: &'static str, cache: HeaderValue) -> Response {
    let mut resp = Response::new(axum::body::Body::from(body.into()));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, cache);
    resp
}
