//! WHEP signalling (draft-ietf-wish-whep, which follows WHIP, RFC 9725): `POST
//! /cameras/{id}/whep` with an SDP offer answers `201 Created` with the SDP answer and the
//! peer's resource URL in `Location`; `DELETE` on that URL ends the peer. Same logins as
//! `stream.mp4` (session cookie, token, Basic), same revocation; a browser session must also
//! send the page's `X-CSRF-Token` from our origin, as for every API write.
//!
//! Not supported, answered `405` by the router: `PATCH` (trickle ICE and ICE restarts are of
//! no use to an ICE-lite server, which learns the viewer's address from its checks; a new
//! POST restarts) and `OPTIONS` (no CORS: the camera page is same-origin, and players such as
//! OBS or GStreamer's whepsrc do not preflight).

use super::auth::csrf::check_api_write;
use super::{ApiError, AppState, Client, Principal};
use crate::webrtc::WebRtcState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::sync::Arc;
use std::time::Duration;

/// An offer is a few KB (Chromium's: ~4 KB with one video m-line); this leaves room for
/// many codecs and candidates.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;
/// When a refused viewer (limits, no key frame yet) may try again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

pub async fn offer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    client: Client,
    who: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    check_api_write(&who, &headers, &client)?;
    let is_sdp = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/sdp"));
    if !is_sdp {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the SDP offer with Content-Type: application/sdp (WHEP)",
        ));
    }
    if body.len() > MAX_OFFER_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("an SDP offer of at most {MAX_OFFER_BYTES} bytes"),
        ));
    }
    let Ok(offer_sdp) = String::from_utf8(body.to_vec()) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the SDP offer is not UTF-8",
        ));
    };
    let svc = running(&state)?;
    if !super::mp4_stream::codecs(&cam.hub).contains(&"h264") {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "camera {:?} has no H.264 to send over WebRTC; watch {}/cameras/{}/stream.mjpeg instead",
                cam.id, state.base, cam.id
            ),
        ));
    }
    let (registration, owner) = match (&who, &state.auth) {
        (Principal::User { via, user }, Some(auth)) => (
            Some(auth.live.register(via.clone(), &cam.id)),
            Some(user.id),
        ),
        _ => (None, None),
    };
    let revoked = registration
        .as_ref()
        .map_or_else(tokio_util::sync::CancellationToken::new, |r| {
            r.revoked.clone()
        });
    let opened = svc
        .open(crate::webrtc::OpenRequest {
            camera: cam.id.clone(),
            hub: cam.hub.clone(),
            offer_sdp,
            owner,
            client_ip: client.ip,
            revoked,
            hold: registration,
        })
        .map_err(refusal)?;
    let location = format!("{}/cameras/{}/whep/{}", state.base, cam.id, opened.id);
    let mut resp = (StatusCode::CREATED, opened.answer_sdp).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub async fn close(
    State(state): State<Arc<AppState>>,
    Path((id, peer)): Path<(String, String)>,
    client: Client,
    who: Principal,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    check_api_write(&who, &headers, &client)?;
    let svc = running(&state)?;
    // Admins may end anyone's peer; others only their own (another's is "not found").
    let owner = match &who {
        Principal::User { user, .. } if !who.is_admin() => Some(user.id),
        _ => None,
    };
    if svc.close(&cam.id, &peer, owner) {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::not_found(format!(
            "no WebRTC session {peer:?} on camera {:?} (it ended, or is not yours)",
            cam.id
        )))
    }
}

fn running(state: &AppState) -> Result<&Arc<crate::webrtc::WebRtc>, ApiError> {
    match &state.webrtc {
        WebRtcState::Running(w) => Ok(w),
        WebRtcState::Off { reason } => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("WebRTC is not available: {reason}; the page plays stream.mp4 instead"),
        )),
    }
}

fn refusal(e: crate::webrtc::OpenError) -> ApiError {
    use crate::webrtc::OpenError;
    match e {
        OpenError::BadOffer(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
        OpenError::Undecodable(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
        OpenError::Full(m) | OpenError::Unavailable(m) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m).with_retry_after(RETRY_AFTER)
        }
    }
}
