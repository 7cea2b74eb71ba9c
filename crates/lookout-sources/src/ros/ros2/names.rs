//! ROS 2 names as DDS spells them: topic `/camera/image_raw` is DDS topic
//! `rt/camera/image_raw`, type `sensor_msgs/msg/Image` is `sensor_msgs::msg::dds_::Image_`
//! (the ROS 2 design article "Topic and Service name mapping to DDS").

use crate::ros::ImageType;
use lookout_core::Error;

/// The prefix of topics (services and actions use others).
const TOPIC_PREFIX: &str = "rt";

/// `/camera/image_raw` → `rt/camera/image_raw`. Our node lives in the root namespace, so a
/// relative name resolves to the same absolute one.
pub fn dds_topic_name(ros_name: &str) -> Result<String, Error> {
    let absolute = ros_name.strip_prefix('/').unwrap_or(ros_name);
    // The character rules of ROS names: anything else cannot be a topic anybody publishes.
    let valid = !absolute.is_empty()
        && !absolute.ends_with('/')
        && !absolute.contains("//")
        && absolute
            .split('/')
            .all(|part| part.chars().next().is_some_and(|c| !c.is_ascii_digit()))
        && absolute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/');
    if !valid {
        return Err(Error::invalid(format!(
            "`{ros_name}` is not a ROS topic name (letters, digits, `_` and `/`, e.g. /camera/image_raw)"
        )));
    }
    Ok(format!("{TOPIC_PREFIX}/{absolute}"))
}

/// `rt/camera/image_raw` → `/camera/image_raw`; `None` for DDS topics that are not ROS topics.
pub fn ros_topic_name(dds_name: &str) -> Option<String> {
    let rest = dds_name.strip_prefix(TOPIC_PREFIX)?.strip_prefix('/')?;
    (!rest.is_empty()).then(|| format!("/{rest}"))
}

/// `sensor_msgs::msg::dds_::Image_` → `sensor_msgs/msg/Image`; `None` when not in that form.
pub fn ros_type_name(dds_type: &str) -> Option<String> {
    let (package, rest) = dds_type.split_once("::")?;
    let (kind, rest) = rest.split_once("::dds_::")?;
    let name = rest.strip_suffix('_')?;
    if package.is_empty() || kind.is_empty() || name.is_empty() || name.contains("::") {
        return None;
    }
    Some(format!("{package}/{kind}/{name}"))
}

/// The image type a DDS type name stands for, if it is one of the two.
pub fn image_type(dds_type: &str) -> Option<ImageType> {
    ImageType::from_type_name(&ros_type_name(dds_type)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::ErrorKind;

    #[test]
    fn topic_names_map_both_ways() {
        assert_eq!(
            dds_topic_name("/camera/image_raw").ok().as_deref(),
            Some("rt/camera/image_raw")
        );
        assert_eq!(
            dds_topic_name("camera/image_raw").ok().as_deref(),
            Some("rt/camera/image_raw")
        );
        assert_eq!(
            ros_topic_name("rt/camera/image_raw").as_deref(),
            Some("/camera/image_raw")
        );
    }

    #[test]
    fn non_ros_dds_topics_are_ignored() {
        assert_eq!(ros_topic_name("ros_discovery_info"), None);
        assert_eq!(ros_topic_name("rq/add_two_intsRequest"), None);
        assert_eq!(ros_topic_name("rt/"), None);
        assert_eq!(ros_topic_name("rtx/foo"), None);
    }

    #[test]
    fn malformed_topic_names_are_invalid_input() {
        for bad in ["", "/", "/a//b", "/a/", "/9lives", "/a b", "/a/~b", "/{x}"] {
            let e = dds_topic_name(bad).err();
            assert_eq!(
                e.map(|e| e.kind()),
                Some(ErrorKind::InvalidInput),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn type_names_map_to_image_types() {
        assert_eq!(
            ros_type_name("sensor_msgs::msg::dds_::Image_").as_deref(),
            Some("sensor_msgs/msg/Image")
        );
        assert_eq!(
            image_type("sensor_msgs::msg::dds_::Image_"),
            Some(ImageType::Raw)
        );
        assert_eq!(
            image_type("sensor_msgs::msg::dds_::CompressedImage_"),
            Some(ImageType::Compressed)
        );
        assert_eq!(image_type("std_msgs::msg::dds_::String_"), None);
        assert_eq!(image_type("sensor_msgs/msg/Image"), None);
        assert_eq!(ros_type_name("a::msg::dds_::B::C_"), None);
        assert_eq!(ros_type_name("::msg::dds_::B_"), None);
    }
}
