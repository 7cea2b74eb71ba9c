//! Text that came from outside (a camera name from the config, a user name, an event's
//! camera, a URL's path or query) with markup and quotes comes out escaped on every page.

use super::site;
use crate::auth::Role;
use lookout_store::event_kind::EventKind;
use lookout_store::events::{NewEvent, record};

/// Markup, both quotes and an ampersand.
const NASTY: &str = "<script>alert(\"x\")</script>'&";
/// [`NASTY`] escaped for text and double-quoted attributes (the apostrophe may stay).
const ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";

fn assert_escaped(what: &str, html: &str) {
    assert_escaped_as(what, html, ESCAPED);
}

fn assert_escaped_as(what: &str, html: &str, escaped: &str) {
    assert!(
        !html.contains("<script>alert"),
        "{what}: not escaped: {html}"
    );
    assert!(
        html.contains(escaped),
        "{what}: the text is missing: {html}"
    );
    assert!(
        html.starts_with("<!doctype html>"),
        "{what}: not a page: {html}"
    );
}

#[tokio::test]
async fn outside_text_is_escaped_on_every_page() {
    let s = site(&[("cam", NASTY)], true);
    let admin = s.session_of(NASTY, Role::Admin, None);
    let as_admin = [("Cookie", admin.as_str())];
    // The grid and the camera page: the camera's name and the user bar.
    for path in ["/", "/cameras/cam"] {
        let r = s.get_with(path, &as_admin).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_escaped(path, &r.body);
        assert!(
            !r.body.contains(&format!("<span>{NASTY}")),
            "{path}: user bar"
        );
    }
    // The events page: an event's camera.
    let store = s.state.auth.as_ref().expect("logins are on").store.clone();
    store
        .blocking(|db| {
            let event = NewEvent {
                camera: Some(NASTY.to_owned()),
                kind: EventKind::CameraOffline,
                details: serde_json::json!({ "why": NASTY }),
                snapshot: None,
            };
            record(db, &event, std::path::Path::new("/nonexistent"), &[])
        })
        .expect("the event is recorded");
    let r = s.get_with("/events", &as_admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_escaped("/events", &r.body);
    // The login page: the `next` it sends back to.
    let next: String = form_urlencoded::byte_serialize(format!("/x{NASTY}").as_bytes()).collect();
    let r = s.get(&format!("/login?next={next}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_escaped("/login", &r.body);
    // An error page: the reason names the path asked for.
    let path: String = form_urlencoded::byte_serialize(NASTY.as_bytes()).collect();
    let r = s
        .get_with(
            &format!("/cameras/{path}"),
            &[("Cookie", &admin), ("Accept", "text/html")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // The reason quotes the id as Rust does (`\"`), then escapes it.
    assert_escaped_as(
        "error page",
        &r.body,
        "&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;",
    );
}
