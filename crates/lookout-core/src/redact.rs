//! Hiding the secrets URLs carry in their userinfo (`rtsp://user:secret@host/`) wherever Lookout
//! prints text: the config `lookout config check` shows, a program's standard error in the log,
//! log lines and errors naming a configured URL. One function, so every place masks alike.

use std::borrow::Cow;

/// What replaces a password (or a user name given alone, which may be a token).
pub const MASK: &str = "***";

/// Every `scheme://user:password@host` in `text` becomes `scheme://user:***@host`, and
/// `scheme://token@host` becomes `scheme://***@host`; the rest is kept as it is. URLs may stand
/// anywhere in the text (a log line, a shell command, a quoted TOML value).
pub fn mask_url_secrets(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        // RFC 3986 §3.2: the authority ends at the first `/`, `?` or `#`; in running text also
        // at whitespace or a quote around the URL.
        let authority_end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        // The host follows the last `@`: a password may hold an unencoded `@` itself.
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                if let Some((user, _password)) = userinfo.split_once(':') {
                    out.push_str(user);
                    out.push(':');
                }
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::mask_url_secrets as mask;

    #[test]
    fn passwords_are_masked_wherever_urls_stand() {
        assert_eq!(
            mask("[rtsp @ 0x1] rtsp://viewer:s3cret@10.0.0.9:554/live: Connection timed out"),
            "[rtsp @ 0x1] rtsp://viewer:***@10.0.0.9:554/live: Connection timed out"
        );
        assert_eq!(
            mask("a http://h/x and rtsp://u:p@ss@h2 end"),
            "a http://h/x and rtsp://u:***@h2 end"
        );
        assert_eq!(
            mask("ffmpeg -i 'rtsp://u:pw@cam?x=1' -f mjpeg -"),
            "ffmpeg -i 'rtsp://u:***@cam?x=1' -f mjpeg -"
        );
        assert_eq!(
            mask("command = [\"-i\", \"rtsp://u:pw@cam\"]"),
            "command = [\"-i\", \"rtsp://u:***@cam\"]"
        );
        assert_eq!(
            mask("https://TOKEN@hooks.example/x"),
            "https://***@hooks.example/x"
        );
    }

    #[test]
    fn text_without_userinfo_is_untouched() {
        for text in [
            "no urls: a@b:c",
            "rtsp://host:554/x",
            "http://h/p@q",
            "mailto:me@example.org",
            "",
            "://",
            "trailing ://",
        ] {
            assert_eq!(mask(text), text);
        }
    }
}
