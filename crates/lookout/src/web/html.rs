//! HTML shared by every page: the page frame, the user bar, escaping.

use crate::auth::{Credential, Principal};
use axum::response::Html;

/// A whole page; `base` is the site's base path (`""` or `/cam`), which every link carries
/// and the script reads from `data-base`.
pub fn page(base: &str, title: &str, body: &str) -> Html<String> {
    let b = escape(base);
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title><link rel="stylesheet" href="{b}/assets/app.css"></head>
<body data-base="{b}">
{body}
<script src="{b}/assets/app.js" defer></script>
</body></html>"#,
        escape(title)
    ))
}

/// HTML-escapes text for element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The bar on pages: who is signed in and a sign-out button.
pub fn user_bar(principal: &Principal, base: &str) -> String {
    match principal {
        Principal::User {
            user,
            via: Credential::Session { csrf, .. },
        } => format!(
            r#"<form class="userbar" method="post" action="{}/logout"><span>{}</span><input type="hidden" name="csrf" value="{csrf}"><button type="submit">Sign out</button></form>"#,
            escape(base),
            escape(&user.name)
        ),
        Principal::User { user, .. } => {
            format!(r#"<span class="userbar">{}</span>"#, escape(&user.name))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
