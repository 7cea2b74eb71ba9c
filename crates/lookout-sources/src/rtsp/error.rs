//! retina's errors in an operator's words, with a kind: what to check when a camera refuses the
//! credentials, has no such path or cannot be reached. retina's own text (several lines, with
//! connection details) follows on one line, URL secrets masked.

use lookout_core::redact::mask_url_secrets;
use lookout_core::{Error, ErrorKind};

/// `during` the step that failed ("DESCRIBE", "SETUP"...), `url` the camera's URL (no userinfo).
pub fn from_retina(e: &retina::Error, during: &str, url: &str) -> Error {
    let detail = one_line(&e.to_string());
    match e.status_code() {
        Some(401) => Error::unauthenticated(format!(
            "RTSP camera refused the credentials (401): check username/password_file ({detail})"
        )),
        Some(403) => Error::permission_denied(format!(
            "RTSP camera {url} forbids this user its stream (403): check the user's rights in the camera's settings ({detail})"
        )),
        Some(404) => Error::not_found(format!(
            "RTSP camera has no stream at {url} (404): check the path in url, the camera's manual names it ({detail})"
        )),
        Some(status) => Error::unavailable(format!(
            "RTSP camera {url} answered {during} with {status}: {detail}"
        )),
        None => Error::new(
            kind_of(&detail),
            format!("RTSP camera {url}, {during}: {detail}"),
        ),
    }
}

/// retina's error types are private: its text says what happened.
fn kind_of(detail: &str) -> ErrorKind {
    if detail.starts_with("Timeout") {
        ErrorKind::Timeout
    } else if detail.starts_with("Unsupported") || detail.starts_with("Invalid argument") {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Unavailable
    }
}

/// retina's multi-line message as one line, without secrets.
fn one_line(text: &str) -> String {
    let joined: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    mask_url_secrets(&joined.join("; ")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_joined_and_secrets_masked() {
        assert_eq!(
            one_line("Unable to connect: refused\n\nconn: rtsp://u:pw@h:554/x\n"),
            "Unable to connect: refused; conn: rtsp://u:***@h:554/x"
        );
        assert_eq!(kind_of("Timeout"), ErrorKind::Timeout);
        assert_eq!(
            kind_of("Unable to connect to RTSP server: Connection refused"),
            ErrorKind::Unavailable
        );
    }
}
