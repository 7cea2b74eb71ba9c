//! Who is asking: the credentials of a request (session cookie, API token as Bearer or
//! `?token=`, HTTP Basic) resolved into a [`Principal`], and the guard every route passes.
//! Who may sign in is decided with the accounts (`crate::auth`); this module reads requests
//! and answers them.

pub mod cookies;
pub mod csrf;
pub mod login;

use super::{ApiError, AppState, Client};
use crate::auth::login_policy::DATABASE_RETRY;
use crate::auth::{AuthState, Credential, Principal, Role, sessions, tokens};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::{HeaderValue, header};
use lookout_core::Error;
use std::net::IpAddr;
use std::sync::Arc;

/// `503` for a request whose credentials could not be checked because the database failed:
/// never "wrong password" (which would count towards a lock) and never anonymous.
fn database_unavailable(doing: &str, e: Error) -> Response {
    ApiError::database(doing, e)
        .with_retry_after(DATABASE_RETRY)
        .into_response()
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Principal>()
            .cloned()
            .unwrap_or(Principal::Anonymous))
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anybody: the login page and its assets, `/healthz`.
    Public,
    /// A signed-in user; a browser without a session is sent to the login page.
    Page,
    /// A signed-in user or a program with credentials; without them, 401.
    Viewer,
    /// An admin.
    Admin,
}

/// The client's address (through trusted proxies), for the login limiter.
fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<Client>().and_then(|c| c.ip)
}

/// The route guard: resolves the principal, enforces `access`, and hands the principal on.
pub async fn guard(
    State((state, access)): State<(Arc<AppState>, Access)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let principal = match &state.auth {
        None => Principal::Anyone,
        Some(auth) => match resolve(auth, &parts).await {
            Ok(p) => p,
            // A locked-out client still gets the login page and /healthz.
            Err(_) if access == Access::Public => Principal::Anonymous,
            Err(resp) => return resp,
        },
    };
    let allowed = match (access, &principal) {
        (Access::Public, _) | (_, Principal::Anyone) => true,
        (_, Principal::Anonymous) => false,
        (Access::Admin, Principal::User { user, .. }) => user.role == Role::Admin,
        (Access::Page | Access::Viewer, Principal::User { .. }) => true,
    };
    if !allowed {
        return refuse(access, &principal, &parts, &state.base);
    }
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

fn refuse(access: Access, principal: &Principal, parts: &Parts, base: &str) -> Response {
    if let Principal::User { user, .. } = principal {
        return ApiError::from(Error::permission_denied(format!(
            "user {:?} is not an admin",
            user.name
        )))
        .into_response();
    }
    // mjpg-streamer clients ask `/?action=stream` of the page route: they get a 401 too.
    let is_action = parts.uri.query().is_some_and(|q| q.contains("action="));
    if access == Access::Page && !is_action {
        // The path as the browser sent it, base path included.
        let original = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let next = original.path_and_query().map_or("/", |p| p.as_str());
        let target = format!(
            "{base}/login?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        return Redirect::to(&target).into_response();
    }
    let mut resp = ApiError::from(Error::unauthenticated(
        "sign in: send a session cookie, an API token (Authorization: Bearer or ?token=) or HTTP Basic credentials",
    ))
    .into_response();
    // A browser's own fetches and images (Sec-Fetch-Dest other than "document") get no Basic
    // challenge: it would pop a password dialog over our pages, whose scripts go to the login
    // form instead. Programs and address-bar visits get the challenge.
    let from_page = parts
        .headers
        .get("sec-fetch-dest")
        .is_some_and(|d| d.as_bytes() != b"document");
    if !from_page {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Lookout\", charset=\"UTF-8\""),
        );
    }
    resp
}

/// The request's principal; `Err` is a response to send instead (a locked-out client).
async fn resolve(auth: &AuthState, parts: &Parts) -> Result<Principal, Response> {
    if let Some(token) = cookies::session(&parts.headers) {
        let t = token.to_owned();
        match auth.store.run(move |db| sessions::lookup(db, &t)).await {
            Ok(Some((id, user))) => {
                return Ok(Principal::User {
                    user,
                    via: Credential::Session {
                        id,
                        csrf: csrf::for_session(token),
                    },
                });
            }
            Ok(None) => {}
            Err(e) => return Err(database_unavailable("cannot check the session", e)),
        }
    }
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let bearer = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let query_token = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    if let Some(token) = bearer.map(str::to_owned).or(query_token) {
        let lookup = auth.store.run(move |db| tokens::lookup(db, &token)).await;
        return match lookup {
            Ok(Some((id, user))) => Ok(Principal::User {
                user,
                via: Credential::Token { id },
            }),
            Ok(None) => Ok(Principal::Anonymous),
            Err(e) => Err(database_unavailable("cannot check the API token", e)),
        };
    }
    if let Some(basic) = authorization.and_then(|a| a.strip_prefix("Basic ")) {
        return match auth.basic_login(client_ip(parts), basic.trim()).await {
            Ok(Some((user, via))) => Ok(Principal::User { user, via }),
            Ok(None) => Ok(Principal::Anonymous),
            Err(refused) => Err(ApiError::from(Error::from(refused)).into_response()),
        };
    }
    Ok(Principal::Anonymous)
}
