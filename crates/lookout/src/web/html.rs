//! HTML shared by every page: the page frame and the user bar. Pages are written with maud's
//! `html!`, which escapes every `String`/`&str` it is given (`&`, `<`, `>`, `"`), so text from
//! outside (camera and user names, URLs, error reasons) cannot become markup: only a
//! `Markup` (HTML made by `html!`) or an explicit `PreEscaped` is taken as is.

use crate::auth::{Credential, Principal};
use axum::response::Html;
use maud::{Markup, PreEscaped, html};

/// `←`, as the pages have always written it.
pub const LARR: PreEscaped<&str> = PreEscaped("&larr;");

/// A whole page; `base` is the site's base path (`""` or `/cam`), which every link carries
/// and the script reads from `data-base`.
pub fn page(base: &str, title: &str, body: Markup) -> Html<String> {
    let markup = html! {
        (PreEscaped("<!doctype html>\n"))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                "\n"
                title { (title) }
                link rel="stylesheet" href={ (base) "/assets/app.css" };
            }
            "\n"
            body data-base=(base) {
                "\n" (body) "\n"
                script src={ (base) "/assets/app.js" } defer {}
                "\n"
            }
        }
    };
    Html(markup.into_string())
}

/// The bar on pages: who is signed in and a sign-out button.
pub fn user_bar(principal: &Principal, base: &str) -> Markup {
    match principal {
        Principal::User {
            user,
            via: Credential::Session { csrf, .. },
        } => html! {
            form class="userbar" method="post" action={ (base) "/logout" } {
                span { (user.name) }
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Sign out" }
            }
        },
        Principal::User { user, .. } => html! { span class="userbar" { (user.name) } },
        _ => html! {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// maud escapes text and attribute values; markup made by `html!` passes as is.
    #[test]
    fn text_is_escaped_and_markup_is_not() {
        let text = r#"<a href="x">'&'</a>"#;
        let inner = html! { b { "bold" } };
        let out = html! { p title=(text) { (text) (inner) } }.into_string();
        assert_eq!(
            out,
            r#"<p title="&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;">&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;<b>bold</b></p>"#
        );
    }

    #[test]
    fn the_frame_escapes_the_title_and_base() {
        let Html(out) = page("/c\"m", "<t>", html! { main {} });
        assert!(
            out.starts_with("<!doctype html>\n<html lang=\"en\">"),
            "{out}"
        );
        assert!(out.contains("<title>&lt;t&gt;</title>"), "{out}");
        assert!(out.contains("href=\"/c&quot;m/assets/app.css\""), "{out}");
        assert!(out.contains("<body data-base=\"/c&quot;m\">\n<main></main>\n<script src=\"/c&quot;m/assets/app.js\" defer></script>"), "{out}");
    }
}
