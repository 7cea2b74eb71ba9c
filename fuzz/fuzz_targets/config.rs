//! The config loader (`lookout::config::parse`): TOML to a checked `Config`, or an error
//! naming the file, the line and the fix. The file is the operator's, but a loader that
//! panics on a typo instead of saying where it is fails them.
//!
//! Checks: no panic on any text; an error's line is a line of the text, and it displays.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match lookout::config::parse(text, "fuzz.toml") {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(e) => {
            if let Some(line) = e.line {
                let lines = text.split('\n').count();
                assert!((1..=lines).contains(&line), "line {line} of {lines}");
            }
            let shown = e.to_string();
            assert!(shown.starts_with("fuzz.toml"), "{shown}");
        }
    }
});
