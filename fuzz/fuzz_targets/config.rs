//! The config loader (`lookout::config::parse`): TOML to a checked `Config`, or an error
//! naming the file, the line and the fix. The file is the operator's, but a loader that
//! panics on a typo instead of saying where it is fails them.
//!
//! Checks: no panic on any text; a failed load reports at least one problem, in line order;
//! each problem's line is a line of the text, and it displays naming the file.
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
        Err(errors) => {
            let errors = errors.errors();
            assert!(!errors.is_empty(), "an error with no problem in it");
            let lines = text.split('\n').count();
            let mut last_line = 0;
            for e in errors {
                if let Some(line) = e.line {
                    assert!((1..=lines).contains(&line), "line {line} of {lines}");
                    assert!(line >= last_line, "line {line} after line {last_line}");
                    last_line = line;
                }
                let shown = e.to_string();
                assert!(shown.starts_with("fuzz.toml"), "{shown}");
            }
        }
    }
});
