//! Camera controls as users name and set them: matching typed names against what a device
//! reports, parsing `NAME=VALUE` and validating values before anything touches the device.
//!
//! # Names
//!
//! A name is normalized by lowercasing it and dropping everything but letters and digits, so
//! `"Exposure, Auto"`, `"exposure_auto"` and `"exposure auto"` are all `exposureauto`. Known
//! aliases then map to one key: the kernel renamed several UVC controls (`Exposure (Absolute)`
//! became `Exposure Time, Absolute`, `Exposure, Auto` became `Auto Exposure`, …) and users type
//! the short forms (`exposure`, `zoom`, `focus`, `autofocus`), so every spelling of a
//! control resolves to the same [`key`]. A typed name matches a device control when their
//! keys are equal once normalized.
//!
//! # Values
//!
//! [`validate`] turns text into the value to set, or an error naming the valid range, step or
//! menu items. It changes nothing; [`validate_all`] checks a whole set of assignments first so
//! a caller applies all of them or none.

use lookout_core::Error;
use std::fmt;

/// What kind of value a control takes, with its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlKind {
    Integer {
        min: i64,
        max: i64,
        step: i64,
        default: i64,
    },
    Boolean {
        default: bool,
    },
    /// A menu: `items` are the valid (index, name) pairs, which may skip indices.
    Menu {
        min: i64,
        max: i64,
        default: i64,
        items: Vec<(i64, String)>,
    },
}

/// One control as a device reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlInfo {
    /// The V4L2 control id (`V4L2_CID_…`).
    pub id: u32,
    /// The driver's name, e.g. `"Exposure, Auto"`.
    pub name: String,
    pub kind: ControlKind,
    pub current: i64,
    /// The device refuses to set it (`V4L2_CTRL_FLAG_READ_ONLY`).
    pub read_only: bool,
    /// Settable but without effect for now, usually because an automatic mode is on (the
    /// exposure time while auto exposure is on): `V4L2_CTRL_FLAG_INACTIVE`.
    pub inactive: bool,
}

impl ControlInfo {
    /// The name users see and type, e.g. `auto_exposure` (see [`key`]).
    pub fn key(&self) -> String {
        key(&self.name)
    }

    /// Whether `typed` names this control.
    pub fn matches(&self, typed: &str) -> bool {
        let typed = normalize(&key(typed));
        !typed.is_empty() && typed == normalize(&self.key())
    }

    /// The valid values in words, for errors and listings.
    pub fn describe_range(&self) -> String {
        match &self.kind {
            ControlKind::Integer {
                min,
                max,
                step,
                default,
            } => {
                let steps = if *step > 1 {
                    format!(" in steps of {step}")
                } else {
                    String::new()
                };
                format!("{min} to {max}{steps} (default {default})")
            }
            ControlKind::Boolean { default } => {
                format!("on/off (default {})", if *default { "on" } else { "off" })
            }
            ControlKind::Menu { items, default, .. } => {
                let list: Vec<String> = items.iter().map(|(i, n)| format!("{i} = {n}")).collect();
                format!("one of {} (default {default})", list.join(", "))
            }
        }
    }

    /// The current value in words: the menu item's name, on/off or the number.
    pub fn describe_value(&self, value: i64) -> String {
        match &self.kind {
            ControlKind::Integer { .. } => value.to_string(),
            ControlKind::Boolean { .. } => if value != 0 { "on" } else { "off" }.to_string(),
            ControlKind::Menu { items, .. } => items
                .iter()
                .find(|(i, _)| *i == value)
                .map_or_else(|| value.to_string(), |(_, n)| n.clone()),
        }
    }
}

impl fmt::Display for ControlInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ControlKind::Integer { .. } => "int",
            ControlKind::Boolean { .. } => "bool",
            ControlKind::Menu { .. } => "menu",
        };
        write!(
            f,
            "{} ({kind}): {}; current {}",
            self.key(),
            self.describe_range(),
            self.describe_value(self.current)
        )?;
        if self.read_only {
            f.write_str(" (read-only)")?;
        }
        if self.inactive {
            f.write_str(" (inactive: an automatic mode is in charge)")?;
        }
        Ok(())
    }
}

/// Lowercase letters and digits only: `"Exposure, Auto"` → `"exposureauto"`.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Every spelling (normalized) of the controls known under more than one name, by key.
const ALIASES: &[(&str, &[&str])] = &[
    ("auto_exposure", &["autoexposure", "exposureauto"]),
    (
        "exposure_time_absolute",
        &[
            "exposure",
            "exposuretimeabsolute",
            "exposureabsolute",
            "exposuretime",
            "absoluteexposure",
        ],
    ),
    (
        "exposure_dynamic_framerate",
        &["exposuredynamicframerate", "exposureautopriority"],
    ),
    (
        "white_balance_automatic",
        &[
            "whitebalanceautomatic",
            "whitebalanceauto",
            "autowhitebalance",
            "whitebalancetemperatureauto",
            "autowhitebalancetemperature",
            "awb",
        ],
    ),
    (
        "white_balance_temperature",
        &[
            "whitebalancetemperature",
            "whitebalance",
            "colortemperature",
            "colourtemperature",
        ],
    ),
    (
        "focus_automatic_continuous",
        &[
            "focusautomaticcontinuous",
            "focusautomatic",
            "focusauto",
            "autofocus",
            "continuousautofocus",
        ],
    ),
    (
        "focus_absolute",
        &["focus", "focusabsolute", "absolutefocus"],
    ),
    ("zoom_absolute", &["zoom", "zoomabsolute", "absolutezoom"]),
    (
        "power_line_frequency",
        &["powerlinefrequency", "powerline", "linefrequency"],
    ),
    (
        "backlight_compensation",
        &["backlightcompensation", "backlight"],
    ),
];

/// The key a name resolves to: the alias key for known controls (`"Exposure (Absolute)"` →
/// `exposure_time_absolute`), else the name in `snake_case` (`"Red Balance"` →
/// `red_balance`). Two names denote the same control when their keys are equal once
/// normalized (so `redbalance` also matches `"Red Balance"`).
pub fn key(name: &str) -> String {
    let normalized = normalize(name);
    if let Some((key, _)) = ALIASES
        .iter()
        .find(|(_, spellings)| spellings.contains(&normalized.as_str()))
    {
        return (*key).to_string();
    }
    let mut out = String::new();
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

/// Finds the device control `typed` names; the error (`InvalidInput`: the name was typed by a
/// user) lists the device's controls.
pub fn find<'a>(controls: &'a [ControlInfo], typed: &str) -> Result<&'a ControlInfo, Error> {
    controls.iter().find(|c| c.matches(typed)).ok_or_else(|| {
        let names: Vec<String> = controls.iter().map(ControlInfo::key).collect();
        Error::invalid(if names.is_empty() {
            format!("unknown control {typed:?}: this camera has no controls")
        } else {
            format!(
                "unknown control {typed:?}; this camera has: {}",
                names.join(", ")
            )
        })
    })
}

/// A `NAME=VALUE` pair as typed on the command line or in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub value: String,
}

/// The assignments with automatic-mode switches (`auto_exposure`, `focus_automatic_continuous`,
/// `white_balance_automatic`…) first and the rest in their order: a driver refuses a manual
/// value (`exposure_time_absolute`) while its automatic mode is on.
pub fn mode_switches_first(set: &[Assignment]) -> Vec<Assignment> {
    let mut out = set.to_vec();
    out.sort_by_key(|a| !normalize(&key(&a.name)).contains("auto"));
    out
}

/// Parses `"brightness=128"` (spaces around either side are ignored); errors are
/// `InvalidInput`.
pub fn parse_assignment(text: &str) -> Result<Assignment, Error> {
    let (name, value) = text.split_once('=').ok_or_else(|| {
        Error::invalid(format!(
            "{text:?}: expected NAME=VALUE, e.g. brightness=128"
        ))
    })?;
    let (name, value) = (name.trim(), value.trim());
    if normalize(name).is_empty() {
        return Err(Error::invalid(format!(
            "{text:?}: the control name is missing"
        )));
    }
    if value.is_empty() {
        return Err(Error::invalid(format!("{text:?}: the value is missing")));
    }
    Ok(Assignment {
        name: name.to_string(),
        value: value.to_string(),
    })
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" | "enabled" => Some(true),
        "0" | "false" | "off" | "no" | "disabled" => Some(false),
        _ => None,
    }
}

/// The value to set for `value` typed by a user, or an error (`InvalidInput`) naming what is
/// valid. Read-only controls take no value.
///
/// Integers take a number within min..=max on the step grid (counted from min). Booleans take
/// `true/false`, `on/off`, `yes/no` or `1/0`. Menus take an item's index or its name,
/// compared normalized (`"50 hz"`, `"50Hz"`), or an unambiguous start of it (`"50"`,
/// `"aperture priority"` for `"Aperture Priority Mode"`) — an exact index wins over a name.
pub fn validate(info: &ControlInfo, value: &str) -> Result<i64, Error> {
    let value = value.trim();
    let bad = |why: &str| {
        Error::invalid(format!(
            "{}: {why}; valid: {}",
            info.key(),
            info.describe_range()
        ))
    };
    if info.read_only {
        return Err(Error::invalid(format!(
            "{}: read-only, it cannot be set",
            info.key()
        )));
    }
    match &info.kind {
        ControlKind::Integer { min, max, step, .. } => {
            let v: i64 = value
                .parse()
                .map_err(|_| bad(&format!("{value:?} is not a whole number")))?;
            if v < *min || v > *max {
                return Err(bad(&format!("{v} is out of range")));
            }
            // i128: `v - min` overflows i64 for 64-bit controls spanning the whole range.
            let off = (i128::from(v) - i128::from(*min)) % i128::from((*step).max(1));
            if off != 0 {
                let below = i128::from(v) - off;
                let above = below + i128::from(*step);
                let near = if above <= i128::from(*max) {
                    format!("{below} or {above}")
                } else {
                    below.to_string()
                };
                return Err(bad(&format!("{v} is not on the step (nearest: {near})")));
            }
            Ok(v)
        }
        ControlKind::Boolean { .. } => parse_bool(value)
            .map(i64::from)
            .ok_or_else(|| bad(&format!("{value:?} is not on/off, true/false or 1/0"))),
        ControlKind::Menu { items, .. } => {
            if let Ok(index) = value.parse::<i64>()
                && items.iter().any(|(i, _)| *i == index)
            {
                return Ok(index);
            }
            let typed = normalize(value);
            if typed.is_empty() {
                return Err(bad(&format!("{value:?} is not a menu item")));
            }
            if let Some((i, _)) = items.iter().find(|(_, n)| normalize(n) == typed) {
                return Ok(*i);
            }
            let starts: Vec<i64> = items
                .iter()
                .filter(|(_, n)| normalize(n).starts_with(&typed))
                .map(|(i, _)| *i)
                .collect();
            match starts.as_slice() {
                [one] => Ok(*one),
                [] => Err(bad(&format!("{value:?} is not a menu item"))),
                _ => Err(bad(&format!("{value:?} matches more than one menu item"))),
            }
        }
    }
}

/// Resolves and validates every assignment against a device's controls: the (control id,
/// value) pairs to set, in order, or one error (`InvalidInput`) listing every problem, a line
/// each, so nothing is set.
pub fn validate_all(
    controls: &[ControlInfo],
    assignments: &[Assignment],
) -> Result<Vec<(u32, i64)>, Error> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for a in assignments {
        match find(controls, &a.name).and_then(|c| validate(c, &a.value).map(|v| (c.id, v))) {
            Ok(pair) => ok.push(pair),
            Err(e) => errors.push(e.message().to_owned()),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(Error::invalid(errors.join("\n")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_core::ErrorKind;

    // The functions under test with their errors as text, to compare whole; each error must be
    // `InvalidInput` (a user typed it).
    fn text<T>(r: Result<T, Error>) -> Result<T, String> {
        r.map_err(|e| {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            e.message().to_owned()
        })
    }
    fn find<'a>(controls: &'a [ControlInfo], typed: &str) -> Result<&'a ControlInfo, String> {
        text(super::find(controls, typed))
    }
    fn parse_assignment(s: &str) -> Result<Assignment, String> {
        text(super::parse_assignment(s))
    }
    fn validate(info: &ControlInfo, value: &str) -> Result<i64, String> {
        text(super::validate(info, value))
    }
    fn validate_all(c: &[ControlInfo], a: &[Assignment]) -> Result<Vec<(u32, i64)>, String> {
        text(super::validate_all(c, a))
    }

    fn int(id: u32, name: &str, min: i64, max: i64, step: i64, default: i64) -> ControlInfo {
        ControlInfo {
            id,
            name: name.into(),
            kind: ControlKind::Integer {
                min,
                max,
                step,
                default,
            },
            current: default,
            read_only: false,
            inactive: false,
        }
    }

    fn boolean(id: u32, name: &str, default: bool) -> ControlInfo {
        ControlInfo {
            id,
            name: name.into(),
            kind: ControlKind::Boolean { default },
            current: i64::from(default),
            read_only: false,
            inactive: false,
        }
    }

    fn menu(id: u32, name: &str, default: i64, items: &[(i64, &str)]) -> ControlInfo {
        ControlInfo {
            id,
            name: name.into(),
            kind: ControlKind::Menu {
                min: items.first().map_or(0, |i| i.0),
                max: items.last().map_or(0, |i| i.0),
                default,
                items: items.iter().map(|(i, n)| (*i, n.to_string())).collect(),
            },
            current: default,
            read_only: false,
            inactive: false,
        }
    }

    /// A UVC webcam as an older kernel names its controls (the flask-cam set).
    fn old_kernel() -> Vec<ControlInfo> {
        vec![
            int(0x0098_0900, "Brightness", -64, 64, 1, 0),
            int(0x0098_0901, "Contrast", 0, 64, 1, 32),
            int(0x0098_0902, "Saturation", 0, 128, 1, 64),
            int(0x0098_091b, "Sharpness", 0, 6, 1, 3),
            int(0x0098_0913, "Gain", 0, 100, 1, 0),
            boolean(0x0098_090c, "White Balance Temperature, Auto", true),
            int(
                0x0098_091a,
                "White Balance Temperature",
                2800,
                6500,
                10,
                4600,
            ),
            menu(
                0x009a_0901,
                "Exposure, Auto",
                3,
                &[(1, "Manual Mode"), (3, "Aperture Priority Mode")],
            ),
            int(0x009a_0902, "Exposure (Absolute)", 1, 5000, 1, 157),
            boolean(0x009a_090c, "Focus, Auto", true),
            int(0x009a_090a, "Focus (absolute)", 0, 1023, 1, 0),
            int(0x009a_090d, "Zoom, Absolute", 100, 500, 1, 100),
            menu(
                0x0098_0918,
                "Power Line Frequency",
                1,
                &[(0, "Disabled"), (1, "50 Hz"), (2, "60 Hz")],
            ),
            int(0x0098_091c, "Backlight Compensation", 0, 2, 1, 1),
        ]
    }

    /// The same camera under a newer kernel's names.
    fn new_kernel() -> Vec<ControlInfo> {
        let renames = [
            (
                "White Balance Temperature, Auto",
                "White Balance, Automatic",
            ),
            ("Exposure, Auto", "Auto Exposure"),
            ("Exposure (Absolute)", "Exposure Time, Absolute"),
            ("Focus, Auto", "Focus, Automatic Continuous"),
            ("Focus (absolute)", "Focus, Absolute"),
        ];
        let mut controls = old_kernel();
        for c in &mut controls {
            if let Some((_, new)) = renames.iter().find(|(old, _)| *old == c.name) {
                c.name = (*new).to_string();
            }
        }
        controls
    }

    #[test]
    fn normalizing() {
        assert_eq!(normalize("Exposure, Auto"), "exposureauto");
        assert_eq!(normalize("exposure_auto"), "exposureauto");
        assert_eq!(normalize("  Focus (absolute) "), "focusabsolute");
        assert_eq!(normalize("--"), "");
    }

    #[test]
    fn keys() {
        assert_eq!(key("Brightness"), "brightness");
        assert_eq!(key("Exposure, Auto"), "auto_exposure");
        assert_eq!(key("Auto Exposure"), "auto_exposure");
        assert_eq!(key("Exposure (Absolute)"), "exposure_time_absolute");
        assert_eq!(key("exposure"), "exposure_time_absolute");
        assert_eq!(
            key("White Balance Temperature, Auto"),
            "white_balance_automatic"
        );
        assert_eq!(key("auto white balance"), "white_balance_automatic");
        assert_eq!(key("Focus, Auto"), "focus_automatic_continuous");
        assert_eq!(key("autofocus"), "focus_automatic_continuous");
        assert_eq!(key("focus"), "focus_absolute");
        assert_eq!(key("zoom"), "zoom_absolute");
        // Unknown names still match regardless of separators and case.
        assert_eq!(key("Red Balance"), "red_balance");
        assert_eq!(key("red-balance"), "red_balance");
        let red = int(1, "Red Balance", 0, 10, 1, 5);
        assert!(red.matches("redbalance") && red.matches("RED_BALANCE"));
        assert!(!red.matches("blue balance") && !red.matches(""));
    }

    #[test]
    fn the_flask_cam_set_resolves_under_both_kernels() {
        let typed = [
            ("brightness", "Brightness"),
            ("Brightness", "Brightness"),
            ("BRIGHTNESS", "Brightness"),
            ("contrast", "Contrast"),
            ("saturation", "Saturation"),
            ("sharpness", "Sharpness"),
            ("gain", "Gain"),
            ("white balance temperature", "White Balance Temperature"),
            ("white_balance_temperature", "White Balance Temperature"),
            ("white balance", "White Balance Temperature"),
            ("white balance automatic", "White Balance Temperature, Auto"),
            ("auto white balance", "White Balance Temperature, Auto"),
            (
                "white_balance_temperature_auto",
                "White Balance Temperature, Auto",
            ),
            ("Exposure, Auto", "Exposure, Auto"),
            ("exposure_auto", "Exposure, Auto"),
            ("auto exposure", "Exposure, Auto"),
            ("auto_exposure", "Exposure, Auto"),
            ("exposure", "Exposure (Absolute)"),
            ("exposure_absolute", "Exposure (Absolute)"),
            ("exposure_time_absolute", "Exposure (Absolute)"),
            ("focus auto", "Focus, Auto"),
            ("autofocus", "Focus, Auto"),
            ("focus_automatic_continuous", "Focus, Auto"),
            ("focus", "Focus (absolute)"),
            ("focus_absolute", "Focus (absolute)"),
            ("zoom", "Zoom, Absolute"),
            ("zoom_absolute", "Zoom, Absolute"),
            ("power line frequency", "Power Line Frequency"),
            ("power_line_frequency", "Power Line Frequency"),
            ("backlight compensation", "Backlight Compensation"),
            ("backlight_compensation", "Backlight Compensation"),
        ];
        let old = old_kernel();
        let new = new_kernel();
        for (typed, old_name) in typed {
            let found = find(&old, typed).unwrap();
            assert_eq!(found.name, old_name, "{typed:?} on the old kernel");
            // The same control (by id) on the new kernel.
            let found_new = find(&new, typed).unwrap();
            assert_eq!(found_new.id, found.id, "{typed:?} on the new kernel");
        }
    }

    #[test]
    fn unknown_controls_list_the_device_ones() {
        let err = find(&old_kernel(), "hue").unwrap_err();
        assert!(err.contains("unknown control \"hue\""), "{err}");
        assert!(err.contains("brightness, contrast"), "{err}");
        assert!(err.contains("auto_exposure"), "{err}");
        assert!(find(&old_kernel(), "").is_err());
        assert!(find(&[], "brightness").unwrap_err().contains("no controls"));
    }

    #[test]
    fn assignments() {
        assert_eq!(
            parse_assignment("brightness=128").unwrap(),
            Assignment {
                name: "brightness".into(),
                value: "128".into()
            }
        );
        let a = parse_assignment(" Exposure, Auto = Manual Mode ").unwrap();
        assert_eq!(
            (a.name.as_str(), a.value.as_str()),
            ("Exposure, Auto", "Manual Mode")
        );
        assert_eq!(parse_assignment("x=a=b").unwrap().value, "a=b");
        assert!(
            parse_assignment("brightness")
                .unwrap_err()
                .contains("NAME=VALUE")
        );
        assert!(
            parse_assignment("=5")
                .unwrap_err()
                .contains("name is missing")
        );
        assert!(
            parse_assignment("brightness= ")
                .unwrap_err()
                .contains("value is missing")
        );
    }

    #[test]
    fn integers() {
        let c = old_kernel();
        let brightness = find(&c, "brightness").unwrap();
        assert_eq!(validate(brightness, "-64"), Ok(-64));
        assert_eq!(validate(brightness, " 64 "), Ok(64));
        assert_eq!(validate(brightness, "+10"), Ok(10));
        let err = validate(brightness, "128").unwrap_err();
        assert_eq!(
            err,
            "brightness: 128 is out of range; valid: -64 to 64 (default 0)"
        );
        let err = validate(brightness, "bright").unwrap_err();
        assert!(
            err.contains("not a whole number") && err.contains("-64 to 64"),
            "{err}"
        );
        assert!(validate(brightness, "1.5").is_err());

        let wb = find(&c, "white balance temperature").unwrap();
        assert_eq!(validate(wb, "4000"), Ok(4000));
        let err = validate(wb, "4005").unwrap_err();
        assert!(
            err.contains("not on the step (nearest: 4000 or 4010)"),
            "{err}"
        );
        assert!(err.contains("2800 to 6500 in steps of 10"), "{err}");
        assert!(validate(wb, "6500").is_ok());
        assert!(validate(wb, "2000").unwrap_err().contains("out of range"));

        // The step counts from min.
        let odd = int(1, "Odd", 1, 9, 2, 5);
        assert_eq!(validate(&odd, "3"), Ok(3));
        assert!(validate(&odd, "4").unwrap_err().contains("nearest: 3 or 5"));
        let top = int(1, "Top", 0, 10, 4, 0);
        assert!(validate(&top, "9").unwrap_err().contains("nearest: 8)"));
        let wide = int(1, "Wide", i64::MIN, i64::MAX, 2, 0);
        assert_eq!(
            validate(&wide, &i64::MAX.to_string()),
            Err(format!(
                "wide: {} is not on the step (nearest: {}); valid: {} to {} in steps of 2 (default 0)",
                i64::MAX,
                i64::MAX - 1,
                i64::MIN,
                i64::MAX
            ))
        );
        assert_eq!(validate(&wide, "0"), Ok(0));
        let no_step = int(1, "NoStep", 0, 10, 0, 0);
        assert_eq!(validate(&no_step, "7"), Ok(7));
    }

    #[test]
    fn booleans() {
        let c = old_kernel();
        let af = find(&c, "autofocus").unwrap();
        for on in ["true", "on", "ON", "1", "yes"] {
            assert_eq!(validate(af, on), Ok(1), "{on}");
        }
        for off in ["false", "off", "Off", "0", "no"] {
            assert_eq!(validate(af, off), Ok(0), "{off}");
        }
        let err = validate(af, "2").unwrap_err();
        assert_eq!(
            err,
            "focus_automatic_continuous: \"2\" is not on/off, true/false or 1/0; \
             valid: on/off (default on)"
        );
    }

    #[test]
    fn menus() {
        let c = old_kernel();
        let ae = find(&c, "exposure_auto").unwrap();
        assert_eq!(validate(ae, "1"), Ok(1));
        assert_eq!(validate(ae, "3"), Ok(3));
        assert_eq!(validate(ae, "Manual Mode"), Ok(1));
        assert_eq!(validate(ae, "manual"), Ok(1));
        assert_eq!(validate(ae, "aperture_priority"), Ok(3));
        let err = validate(ae, "2").unwrap_err();
        assert_eq!(
            err,
            "auto_exposure: \"2\" is not a menu item; valid: one of 1 = Manual Mode, \
             3 = Aperture Priority Mode (default 3)"
        );
        assert!(
            validate(ae, "auto")
                .unwrap_err()
                .contains("not a menu item")
        );

        let plf = find(&c, "power line frequency").unwrap();
        assert_eq!(validate(plf, "50 Hz"), Ok(1));
        assert_eq!(validate(plf, "60hz"), Ok(2));
        assert_eq!(validate(plf, "50"), Ok(1));
        assert_eq!(validate(plf, "2"), Ok(2), "an index wins over a name");
        assert_eq!(validate(plf, "disabled"), Ok(0));
        let ambiguous = menu(1, "Mode", 0, &[(0, "Auto Low"), (1, "Auto High")]);
        assert!(
            validate(&ambiguous, "auto")
                .unwrap_err()
                .contains("more than one")
        );
        assert!(validate(&ambiguous, "--").is_err());
    }

    #[test]
    fn describing() {
        let c = old_kernel();
        let plf = find(&c, "power_line_frequency").unwrap();
        assert_eq!(plf.describe_value(1), "50 Hz");
        assert_eq!(plf.describe_value(7), "7");
        assert_eq!(
            plf.to_string(),
            "power_line_frequency (menu): one of 0 = Disabled, 1 = 50 Hz, 2 = 60 Hz \
             (default 1); current 50 Hz"
        );
        let af = find(&c, "autofocus").unwrap();
        assert_eq!(af.describe_value(0), "off");
        assert_eq!(
            find(&c, "zoom").unwrap().to_string(),
            "zoom_absolute (int): 100 to 500 (default 100); current 100"
        );
        let mut exposure = find(&c, "exposure").unwrap().clone();
        exposure.inactive = true;
        assert!(
            exposure
                .to_string()
                .ends_with("current 157 (inactive: an automatic mode is in charge)")
        );
    }

    #[test]
    fn read_only_controls_take_no_value() {
        let mut c = old_kernel();
        c[0].read_only = true;
        let err = validate(&c[0], "0").unwrap_err();
        assert_eq!(err, "brightness: read-only, it cannot be set");
        assert!(c[0].to_string().ends_with("current 0 (read-only)"));
        // Inactive ones can be set: the automatic mode may be switched off in the same set.
        c[1].inactive = true;
        assert_eq!(validate(&c[1], "10"), Ok(10));
    }

    #[test]
    fn all_or_nothing() {
        let c = new_kernel();
        let set = |lines: &[&str]| {
            let a: Vec<Assignment> = lines.iter().map(|l| parse_assignment(l).unwrap()).collect();
            validate_all(&c, &a)
        };
        assert_eq!(
            set(&[
                "brightness=10",
                "exposure_auto=manual",
                "exposure=300",
                "autofocus=off"
            ]),
            Ok(vec![
                (0x0098_0900, 10),
                (0x009a_0901, 1),
                (0x009a_0902, 300),
                (0x009a_090c, 0)
            ])
        );
        let err = set(&["brightness=10", "contrast=99", "hue=3"]).unwrap_err();
        assert!(
            err.contains("contrast: 99 is out of range; valid: 0 to 64"),
            "{err}"
        );
        assert!(err.contains("unknown control \"hue\""), "{err}");
        assert!(!err.contains("brightness:"), "{err}");
    }
}
