//! Query parameters of stream and snapshot URLs, checked with a reason for each refusal.
//! Unknown parameters are ignored: players add cache-busters (`?t=123`) and peers' flags.

use super::error::ApiError;
use lookout_core::VariantRequest;
use lookout_core::jpeg::MAX_SIDE;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewQuery {
    pub variant: VariantRequest,
    /// Frames per second at most for this viewer.
    pub max_fps: Option<f64>,
    /// mjpg-streamer's `?action=stream|snapshot` on `/`.
    pub action: Option<String>,
    /// Which camera, for URLs without one in the path (`/?action=`, `/stream`).
    pub camera: Option<String>,
    /// A ROS image topic, web_video_server's `/stream?topic=`.
    pub topic: Option<String>,
    /// web_video_server's `type`: `mjpeg` (the default) or `ros_compressed`.
    pub stream_type: Option<String>,
    /// web_video_server's `qos_profile`: `sensor_data` (best effort, the default) or
    /// `default`/`system_default`/`reliable`.
    pub qos_profile: Option<String>,
    /// µStreamer's `advance_headers`: each part's header lines right after the previous JPEG
    /// (what browsers need); `None` decides by the request (browsers get them).
    pub advance_headers: Option<bool>,
}

pub fn parse(raw: Option<&str>) -> Result<ViewQuery, ApiError> {
    let mut q = ViewQuery::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "fps" => {
                let fps = v
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f > 0.0 && *f <= 120.0);
                q.max_fps = Some(fps.ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "fps must be a number above 0 and at most 120 (got {v:?})"
                    ))
                })?);
            }
            "width" => q.variant.width = Some(side("width", &v)?),
            "height" => q.variant.height = Some(side("height", &v)?),
            "quality" => {
                let quality = v.parse::<u8>().ok().filter(|n| (1..=100).contains(n));
                q.variant.quality = Some(quality.ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "quality must be a whole number from 1 to 100 (got {v:?})"
                    ))
                })?);
            }
            "action" => q.action = Some(v.into_owned()),
            // web_video_server's flag: present (`&invert`, `&invert=`) or a yes/no word.
            "invert" => q.variant.invert = flag("invert", &v)?,
            "advance_headers" => q.advance_headers = Some(flag("advance_headers", &v)?),
            "topic" => q.topic = Some(v.into_owned()),
            "type" => q.stream_type = Some(v.into_owned()),
            "qos_profile" => q.qos_profile = Some(v.into_owned()),
            "camera" => q.camera = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(q)
}

/// A flag: present (`&name`, `&name=`) or a yes/no word, any case.
fn flag(name: &str, v: &str) -> Result<bool, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be empty, 1/true/yes/on or 0/false/no/off (got {v:?})"
        ))),
    }
}

fn side(name: &str, v: &str) -> Result<u32, ApiError> {
    v.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_SIDE).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} must be a whole number from 1 to {MAX_SIDE} (got {v:?})"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_known_parameters_and_ignores_the_rest() {
        let q = parse(Some(
            "fps=5&width=320&quality=50&t=123&action=stream&camera=a",
        ))
        .unwrap();
        assert_eq!(q.max_fps, Some(5.0));
        assert_eq!(
            (q.variant.width, q.variant.height, q.variant.quality),
            (Some(320), None, Some(50))
        );
        assert_eq!(
            (q.action.as_deref(), q.camera.as_deref()),
            (Some("stream"), Some("a"))
        );
        assert_eq!(parse(None).unwrap(), ViewQuery::default());
    }

    #[test]
    fn web_video_server_parameters() {
        let q = parse(Some(
            "topic=/camera/image_raw&type=ros_compressed&quality=95&invert&qos_profile=default",
        ))
        .unwrap();
        assert_eq!(q.topic.as_deref(), Some("/camera/image_raw"));
        assert_eq!(q.stream_type.as_deref(), Some("ros_compressed"));
        assert_eq!(q.qos_profile.as_deref(), Some("default"));
        assert!(q.variant.invert);
        assert!(!parse(Some("invert=false")).unwrap().variant.invert);
        assert!(!parse(Some("invert=OFF")).unwrap().variant.invert);
        assert!(parse(Some("invert=True")).unwrap().variant.invert);
        assert!(parse(Some("invert=maybe")).is_err());
        assert_eq!(
            parse(Some("advance_headers=1")).unwrap().advance_headers,
            Some(true)
        );
        assert_eq!(
            parse(Some("advance_headers=0")).unwrap().advance_headers,
            Some(false)
        );
        assert_eq!(parse(None).unwrap().advance_headers, None);
        assert!(parse(Some("advance_headers=x")).is_err());
        assert!(!parse(None).unwrap().variant.invert);
    }

    #[test]
    fn refusals_say_why() {
        for (raw, needle) in [
            ("fps=abc", "fps must be"),
            ("fps=0", "fps must be"),
            ("fps=NaN", "fps must be"),
            ("width=0", "width must be"),
            ("height=99999", "height must be"),
            ("width=-1", "width must be"),
            ("quality=101", "quality must be"),
        ] {
            let e = parse(Some(raw)).unwrap_err();
            assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
            assert!(format!("{e:?}").contains(needle), "{raw}: {e:?}");
        }
    }
}
