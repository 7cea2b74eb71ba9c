//! The ROS 1 XML-RPC reader (`lookout_sources::ros::ros1::xmlrpc`): the node API's port
//! parses every call anyone sends it (`parse_call`), and the master's and publishers'
//! answers are parsed too (`parse_response`).
//!
//! Checks: no panic on any text; what parses writes back (`write_call`, `write_response`,
//! `write_fault`) to text that parses to the same value (control characters, which XML 1.0
//! cannot carry, become U+FFFD; NaN equals NaN).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_sources::ros::ros1::xmlrpc::{
    ParseError, Value, parse_call, parse_response, write_call, write_fault, write_response,
};

/// What writing does to a string: XML 1.0 cannot carry these control characters at all.
fn written(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Str(x), Value::Str(y)) => written(x) == *y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Struct(x), Value::Struct(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((na, a), (nb, b))| written(na) == *nb && same(a, b))
        }
        (a, b) => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((method, params)) = parse_call(text) {
        let again = write_call(&method, &params);
        let (method2, params2) = parse_call(&again).expect("a written call parses");
        assert_eq!(method2, written(&method).trim(), "{again}");
        assert!(
            params.len() == params2.len() && params.iter().zip(&params2).all(|(a, b)| same(a, b)),
            "{params:?} became {params2:?} through {again}"
        );
    }
    match parse_response(text) {
        Ok(value) => {
            let again = write_response(&value);
            let back = parse_response(&again).expect("a written response parses");
            assert!(
                same(&value, &back),
                "{value:?} became {back:?} through {again}"
            );
        }
        Err(ParseError::Fault { code, message }) => {
            let again = write_fault(code, &message);
            match parse_response(&again) {
                Err(ParseError::Fault {
                    code: c,
                    message: m,
                }) => {
                    assert_eq!((c, m), (code, written(&message)), "{again}");
                }
                other => panic!("a written fault parsed as {other:?}: {again}"),
            }
        }
        Err(ParseError::Malformed(_)) => {}
    }
});
