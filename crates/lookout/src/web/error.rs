//! The web layer's one error type. [`status_for`] is the one place that maps error kinds to
//! HTTP statuses; internal details go to the log, never to the client.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use lookout_core::{Error, ErrorKind};
use serde_json::{Value, json};
use std::error::Error as _;
use std::time::Duration;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    msg: String,
    details: Option<Value>,
    retry_after: Option<Duration>,
}

/// The one map from error kinds to HTTP statuses.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::FailedPrecondition => StatusCode::CONFLICT,
        ErrorKind::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable | ErrorKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Corrupt | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    pub fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        Self {
            status,
            msg: msg.into(),
            details: None,
            retry_after: None,
        }
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, msg)
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, msg)
    }
    /// Extra JSON fields next to `error` (e.g. a camera's state and last error).
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
    /// `Retry-After` on the answer, rounded up to whole seconds.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// A store call failed while `doing` something. A refusal (a name taken, a password
    /// changed meanwhile) is answered by its kind with its message; anything else means the
    /// database failed (damaged, locked for longer than its busy timeout, disk full): `503`
    /// with a JSON reason for the client, while the details and the fix go to the log.
    pub fn database(doing: &str, e: Error) -> Self {
        let refusal = e
            .source()
            .and_then(|s| s.downcast_ref::<lookout_store::StoreError>())
            .is_some_and(lookout_store::StoreError::is_refusal);
        if refusal {
            return Self::from(e);
        }
        tracing::error!("{doing}: {}", e.chain());
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{doing}: the database is unavailable; the server log says why"),
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = status_for(e.kind());
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!("request failed: {}", e.chain());
            return Self::new(status, "internal error; the server log has the details");
        }
        if e.source().is_some() {
            // The client gets the message; the cause (a path, an OS error) stays in the log.
            tracing::debug!("request refused: {}", e.chain());
        }
        let mut out = Self::new(status, e.message());
        out.retry_after = e.retry_after();
        out
    }
}

/// An error response's reason, kept beside its JSON so that a page opened in a browser can
/// show it as HTML instead (see `error_page`).
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

/// Whole seconds for `Retry-After` (RFC 9110 §10.2.3), rounded up and at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    crate::auth::limiter::whole_seconds_up(wait)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = ErrorMessage(self.msg.clone());
        let mut body = json!({ "error": self.msg, "status": self.status.as_u16() });
        if let (Some(Value::Object(extra)), Some(obj)) = (self.details, body.as_object_mut()) {
            obj.extend(extra);
        }
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        if let Some(after) = self.retry_after
            && let Ok(v) = http::HeaderValue::from_str(&retry_after_secs(after).to_string())
        {
            resp.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        resp.extensions_mut().insert(message);
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up() {
        let s = |ms| retry_after_secs(Duration::from_millis(ms));
        assert_eq!((s(0), s(1), s(999), s(1000)), (1, 1, 1, 1));
        assert_eq!((s(1001), s(1700), s(2000), s(2001)), (2, 2, 2, 3));
        assert_eq!(retry_after_secs(Duration::new(899, 1)), 900);
    }

    /// A store refusal keeps its kind and message; any other store error is a 503 that says
    /// only that the database failed (its message names files and fixes: for the log).
    #[test]
    fn database_failures_are_503_and_refusals_keep_their_kind() {
        use lookout_store::{Store, StoreError, users};
        let store = Store::open_in_memory().unwrap();
        let add = |db: &mut lookout_store::Db<'_>| {
            users::add(db, "ann", "hash", users::Role::Viewer, None)
        };
        store.blocking(add).unwrap();
        let taken = ApiError::database("adding a user", store.blocking(add).unwrap_err());
        assert_eq!(taken.status(), StatusCode::CONFLICT);
        assert!(taken.msg.contains("exists already"), "{}", taken.msg);
        let unavailable = "reading events: the database is unavailable; the server log says why";
        let damaged = Error::from(StoreError::Damaged {
            path: "/var/lib/lookout/lookout.db".into(),
            detail: "database disk image is malformed".into(),
        });
        assert_eq!(damaged.kind(), ErrorKind::Corrupt);
        let answer = ApiError::database("reading events", damaged);
        assert_eq!(
            (answer.status(), answer.msg.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, unavailable)
        );
        // A constraint violation nobody turned into a refusal is ours, and says SQL: not sent.
        let sql = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some("UNIQUE constraint failed: sessions.token_hash".into()),
        );
        let answer = ApiError::database("reading events", StoreError::Sql(sql).into());
        assert_eq!(
            (answer.status(), answer.msg.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, unavailable)
        );
    }
}
