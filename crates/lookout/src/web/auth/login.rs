//! The login page, signing in and out.

use super::{cookies, csrf};
use crate::auth::{AuthState, Credential, Principal, sessions};
use crate::web::html::page;
use crate::web::{ApiError, AppState, Client};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use lookout_core::Error;
use lookout_store::users;
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Only a path of this site under its base path: never `//host`, a scheme, a backslash or
/// a control character (browsers drop tabs, turning `/\t/evil` into `//evil`), so a login
/// link cannot send the user elsewhere afterwards.
fn safe_next(next: Option<&str>, base: &str) -> String {
    let home = format!("{base}/");
    match next {
        Some(n)
            if n.starts_with('/')
                && !n[1..].starts_with(['/', '\\'])
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && (n == base || n.starts_with(&home)) =>
        {
            n.to_owned()
        }
        _ => home,
    }
}

/// A form that is not one: 400 with the reason, as JSON like every other refusal.
fn bad_form(e: FormRejection) -> ApiError {
    ApiError::bad_request(format!(
        "send the form as application/x-www-form-urlencoded: {}",
        e.body_text()
    ))
}

fn auth_of(state: &AppState) -> Result<&Arc<AuthState>, ApiError> {
    state
        .auth
        .as_ref()
        .ok_or_else(|| ApiError::not_found("logins are off (auth.mode = \"none\")"))
}

pub async fn login_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<NextQuery>,
    client: Client,
) -> Result<Response, ApiError> {
    let auth = auth_of(&state)?;
    let no_users = auth.store.run(|db| users::count(db)).await.unwrap_or(1) == 0;
    let notice = html! {
        @if no_users {
            p class="notice" {
                "There are no accounts yet. Create one on the server: "
                code { "lookout user add NAME --role admin" }
            }
        }
    };
    Ok(form(
        cookies::Scope {
            https: client.https,
            base: &state.base,
        },
        StatusCode::OK,
        notice,
        &safe_next(q.next.as_deref(), &state.base),
        "",
    ))
}

/// The form, with a fresh double-submit CSRF token in a cookie and a hidden field.
fn form(
    scope: cookies::Scope<'_>,
    status: StatusCode,
    notice: Markup,
    next: &str,
    user: &str,
) -> Response {
    let token = crate::auth::secret::random_token();
    let body = html! {
        main class="login" {
            h1 { "Lookout" }
            (notice)
            "\n"
            form method="post" action={ (scope.base) "/login" } {
                "\n"
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                "\n"
                label { "User name " input name="user" autocomplete="username" value=(user) required autofocus; }
                "\n"
                label { "Password " input name="password" type="password" autocomplete="current-password" required; }
                "\n"
                label class="check" { input type="checkbox" name="remember" value="on"; " Remember me" }
                "\n"
                button type="submit" { "Sign in" }
                "\n"
            }
        }
    };
    let mut resp = (status, page(scope.base, "Sign in · Lookout", body)).into_response();
    let cookie = cookies::build(cookies::CSRF, &token, scope, None);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    peer: Client,
    headers: HeaderMap,
    posted: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let auth = auth_of(&state)?;
    let Form(f) = posted.map_err(bad_form)?;
    let scope = cookies::Scope {
        https: peer.https,
        base: &state.base,
    };
    let expected = csrf::login_token(&headers).unwrap_or("");
    if !csrf::same_origin(&headers, &peer) || !csrf::token_matches(&f.csrf, expected) {
        return Err(Error::permission_denied(
            "the login form expired or came from another site; reload the login page",
        )
        .into());
    }
    let next = safe_next(f.next.as_deref(), &state.base);
    let addr = peer.ip();
    let device = cookies::device(&headers);
    let user = match auth
        .check_password(addr, &f.user, &f.password, device)
        .await
    {
        Err(refused) => return Err(Error::from(refused).into()),
        Ok(None) => {
            let notice = html! { p class="error" { "Wrong user name or password." } };
            return Ok(form(
                scope,
                StatusCode::UNAUTHORIZED,
                notice,
                &next,
                &f.user,
            ));
        }
        Ok(Some(u)) => u,
    };
    let remember = f.remember.is_some();
    let client = peer.to_string();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let policy = auth.sessions;
    let session_user = user.clone();
    let session = auth
        .store
        .run(move |db| sessions::create(db, &session_user, remember, &client, &ua, &policy))
        .await
        // A password changed while this login was checked is a refusal (409): sign in again.
        .map_err(|e| ApiError::database("cannot create a session", e))?;
    tracing::info!(user = user.name, client = %peer, remember, "signed in");
    let mut resp = Redirect::to(&next).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cookies::session_cookie(
        &session.token,
        scope,
        session.cookie_max_age,
    )) {
        h.append(header::SET_COOKIE, v);
    }
    // A fresh device cookie at every sign-in: this browser is now known to be the user's.
    let device = cookies::device_cookie(&auth.devices.issue(&user.name), scope);
    if let Ok(v) = HeaderValue::from_str(&device) {
        h.append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

pub async fn logout(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    client: Client,
    headers: HeaderMap,
    posted: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let auth = auth_of(&state)?;
    let Form(f) = posted.map_err(bad_form)?;
    let scope = cookies::Scope {
        https: client.https,
        base: &state.base,
    };
    let Principal::User {
        user,
        via: Credential::Session { id, csrf: expected },
    } = principal
    else {
        return Err(ApiError::bad_request("signing out needs a session cookie"));
    };
    if !csrf::same_origin(&headers, &client) || !csrf::token_matches(&f.csrf, &expected) {
        return Err(Error::permission_denied(
            "cross-site request refused; sign out from Lookout's own page",
        )
        .into());
    }
    auth.store
        .run(move |db| lookout_store::sessions::revoke(db, id))
        .await
        .map_err(|e| ApiError::database("cannot end the session", e))?;
    tracing::info!(user = user.name, "signed out");
    let mut resp = Redirect::to(&format!("{}/login", state.base)).into_response();
    for c in cookies::clear_session(scope) {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(super::safe_next(Some("/cameras/a"), ""), "/cameras/a");
        assert_eq!(
            super::safe_next(Some("/cam/cameras/a"), "/cam"),
            "/cam/cameras/a"
        );
        assert_eq!(super::safe_next(Some("/cameras/a"), "/cam"), "/cam/");
        assert_eq!(super::safe_next(Some("/camera"), "/cam"), "/cam/");
        for bad in [
            "/\t/evil.example",
            "/\x01",
            "/ok\\..\\",
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "evil",
            "",
        ] {
            assert_eq!(super::safe_next(Some(bad), ""), "/", "{bad}");
        }
        assert_eq!(super::safe_next(None, ""), "/");
    }
}
