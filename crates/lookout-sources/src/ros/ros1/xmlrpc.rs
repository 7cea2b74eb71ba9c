//! XML-RPC, the ROS 1 master and node API's encoding: values, calls, responses and faults
//! written and parsed as pure functions over text (no I/O here).
//!
//! Only what ROS peers send is understood: the scalar types `i4`/`int`/`i8`, `boolean`,
//! `string`, `double`, untyped values (strings), `nil`, and `array`/`struct`. `base64` and
//! `dateTime.iso8601` are kept as their text. No DOCTYPE, no entity definitions; nesting
//! is bounded, so hostile input can neither recurse deeply nor expand.

use std::borrow::Cow;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i32),
    Bool(bool),
    Str(String),
    Double(f64),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
    Nil,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i32> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i)
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// Not XML-RPC, or XML this parser does not accept.
    Malformed(String),
    /// A well-formed `<fault>` response.
    Fault { code: i32, message: String },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Malformed(m) => write!(f, "malformed XML-RPC: {m}"),
            ParseError::Fault { code, message } => write!(f, "XML-RPC fault {code}: {message}"),
        }
    }
}

fn malformed(msg: impl Into<String>) -> ParseError {
    ParseError::Malformed(msg.into())
}

/// Deeper than any ROS API value (the deepest, getSystemState, is 4 levels).
const MAX_DEPTH: usize = 32;

// ---------------------------------------------------------------------------------------
// Writing

pub fn write_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param>");
        write_value(&mut out, p);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out
}

pub fn write_response(value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>\n");
    out
}

pub fn write_fault(code: i32, message: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><fault>");
    write_value(
        &mut out,
        &Value::Struct(vec![
            ("faultCode".to_owned(), Value::Int(code)),
            ("faultString".to_owned(), Value::from(message)),
        ]),
    );
    out.push_str("</fault></methodResponse>\n");
    out
}

fn write_value(out: &mut String, v: &Value) {
    out.push_str("<value>");
    match v {
        Value::Int(i) => {
            let _ = write!(out, "<i4>{i}</i4>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::Str(s) => {
            out.push_str("<string>");
            escape_into(out, s);
            out.push_str("</string>");
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{d}</double>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>");
            for (name, value) in members {
                out.push_str("<member><name>");
                escape_into(out, name);
                out.push_str("</name>");
                write_value(out, value);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // XML 1.0 cannot carry most control characters at all, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// A `<methodCall>`: the method's name and its parameters.
pub fn parse_call(xml: &str) -> Result<(String, Vec<Value>), ParseError> {
    let mut p = Parser::new(xml);
    p.open("methodCall")?;
    p.open("methodName")?;
    let name = p.text()?;
    p.close("methodName")?;
    let params = match p.structural()? {
        Tok::Open("params") => p.params()?,
        Tok::Empty("params") => Vec::new(),
        Tok::Close("methodCall") => return p.end().map(|()| (name.trim().to_owned(), Vec::new())),
        t => return Err(malformed(format!("expected <params>, found {t:?}"))),
    };
    p.close("methodCall")?;
    p.end()?;
    Ok((name.trim().to_owned(), params))
}

/// A `<methodResponse>`: its single value, or the fault it carries.
pub fn parse_response(xml: &str) -> Result<Value, ParseError> {
    let mut p = Parser::new(xml);
    p.open("methodResponse")?;
    match p.structural()? {
        Tok::Open("params") => {
            let mut params = p.params()?;
            p.close("methodResponse")?;
            p.end()?;
            if params.len() != 1 {
                return Err(malformed(format!(
                    "a response has one value, this one has {}",
                    params.len()
                )));
            }
            Ok(params.remove(0))
        }
        Tok::Open("fault") => {
            p.open("value")?;
            let v = p.value(0)?;
            p.close("fault")?;
            p.close("methodResponse")?;
            p.end()?;
            let member = |name: &str| match &v {
                Value::Struct(members) => members.iter().find(|(n, _)| n == name).map(|(_, v)| v),
                _ => None,
            };
            Err(ParseError::Fault {
                code: member("faultCode").and_then(Value::as_int).unwrap_or(0),
                message: member("faultString")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            })
        }
        t => Err(malformed(format!(
            "expected <params> or <fault>, found {t:?}"
        ))),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Open(&'a str),
    Close(&'a str),
    /// `<name/>`
    Empty(&'a str),
    Text(Cow<'a, str>),
}

struct Parser<'a> {
    rest: &'a str,
    peeked: Option<Tok<'a>>,
}

impl<'a> Parser<'a> {
    fn new(xml: &'a str) -> Self {
        Self {
            rest: xml.strip_prefix('\u{FEFF}').unwrap_or(xml),
            peeked: None,
        }
    }

    /// The next token, `None` at the end of the document.
    fn token(&mut self) -> Result<Option<Tok<'a>>, ParseError> {
        if let Some(t) = self.peeked.take() {
            return Ok(Some(t));
        }
        loop {
            if self.rest.is_empty() {
                return Ok(None);
            }
            let Some(after_lt) = self.rest.strip_prefix('<') else {
                let end = self.rest.find('<').unwrap_or(self.rest.len());
                let (raw, rest) = self.rest.split_at(end);
                self.rest = rest;
                return Ok(Some(Tok::Text(unescape(raw)?)));
            };
            if let Some(r) = after_lt.strip_prefix('?') {
                self.rest = skip_past(r, "?>")?;
            } else if let Some(r) = after_lt.strip_prefix("!--") {
                self.rest = skip_past(r, "-->")?;
            } else if let Some(r) = after_lt.strip_prefix("![CDATA[") {
                let end = r
                    .find("]]>")
                    .ok_or_else(|| malformed("unterminated CDATA"))?;
                self.rest = &r[end + 3..];
                return Ok(Some(Tok::Text(Cow::Borrowed(&r[..end]))));
            } else if after_lt.starts_with('!') {
                return Err(malformed("DOCTYPE and declarations are not accepted"));
            } else {
                let end = after_lt
                    .find('>')
                    .ok_or_else(|| malformed("unterminated tag"))?;
                let inner = &after_lt[..end];
                self.rest = &after_lt[end + 1..];
                if let Some(name) = inner.strip_prefix('/') {
                    return Ok(Some(Tok::Close(name.trim())));
                }
                let (inner, empty) = match inner.strip_suffix('/') {
                    Some(i) => (i, true),
                    None => (inner, false),
                };
                // Attributes are never meaningful in XML-RPC: the name is all we keep.
                let name = inner.split_ascii_whitespace().next().unwrap_or("");
                if name.is_empty() {
                    return Err(malformed("a tag without a name"));
                }
                return Ok(Some(if empty {
                    Tok::Empty(name)
                } else {
                    Tok::Open(name)
                }));
            }
        }
    }

    /// The next token that is not whitespace between elements.
    fn structural(&mut self) -> Result<Tok<'a>, ParseError> {
        loop {
            match self.token()? {
                None => return Err(malformed("the document ends too early")),
                Some(Tok::Text(t)) if t.trim().is_empty() => continue,
                Some(Tok::Text(t)) => {
                    return Err(malformed(format!("unexpected text {:?}", truncate(&t))));
                }
                Some(t) => return Ok(t),
            }
        }
    }

    fn open(&mut self, name: &str) -> Result<(), ParseError> {
        match self.structural()? {
            Tok::Open(n) if n == name => Ok(()),
            t => Err(malformed(format!("expected <{name}>, found {t:?}"))),
        }
    }

    fn close(&mut self, name: &str) -> Result<(), ParseError> {
        match self.structural()? {
            Tok::Close(n) if n == name => Ok(()),
            t => Err(malformed(format!("expected </{name}>, found {t:?}"))),
        }
    }

    fn end(&mut self) -> Result<(), ParseError> {
        loop {
            match self.token()? {
                None => return Ok(()),
                Some(Tok::Text(t)) if t.trim().is_empty() => {}
                Some(t) => return Err(malformed(format!("content after the end: {t:?}"))),
            }
        }
    }

    /// All the text up to the next tag (CDATA sections joined in).
    fn text(&mut self) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            match self.token()? {
                Some(Tok::Text(t)) => out.push_str(&t),
                Some(t) => {
                    self.peeked = Some(t);
                    return Ok(out);
                }
                None => return Err(malformed("the document ends inside text")),
            }
        }
    }

    /// After `<params>`: every `<param><value>…</value></param>` up to `</params>`.
    fn params(&mut self) -> Result<Vec<Value>, ParseError> {
        let mut out = Vec::new();
        loop {
            match self.structural()? {
                Tok::Open("param") => {
                    self.open("value")?;
                    out.push(self.value(0)?);
                    self.close("param")?;
                }
                Tok::Close("params") => return Ok(out),
                t => return Err(malformed(format!("expected <param>, found {t:?}"))),
            }
        }
    }

    /// After `<value>`: the value, through its `</value>`.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(malformed("values nested too deeply"));
        }
        let text = self.text()?;
        let v = match self.token()? {
            // An untyped value is a string, whitespace included.
            Some(Tok::Close("value")) => return Ok(Value::Str(text)),
            _ if !text.trim().is_empty() => {
                return Err(malformed(format!(
                    "text {:?} beside a typed value",
                    truncate(&text)
                )));
            }
            Some(Tok::Empty(ty)) => match ty {
                "string" | "base64" => Value::Str(String::new()),
                "nil" => Value::Nil,
                "array" => Value::Array(Vec::new()),
                "struct" => Value::Struct(Vec::new()),
                t => return Err(malformed(format!("an empty <{t}/>"))),
            },
            Some(Tok::Open(ty)) => match ty {
                "array" => {
                    let items = match self.structural()? {
                        Tok::Open("data") => {
                            let mut items = Vec::new();
                            loop {
                                match self.structural()? {
                                    Tok::Open("value") => items.push(self.value(depth + 1)?),
                                    Tok::Close("data") => break,
                                    t => {
                                        return Err(malformed(format!(
                                            "expected <value> in <data>, found {t:?}"
                                        )));
                                    }
                                }
                            }
                            items
                        }
                        Tok::Empty("data") => Vec::new(),
                        t => return Err(malformed(format!("expected <data>, found {t:?}"))),
                    };
                    self.close("array")?;
                    Value::Array(items)
                }
                "struct" => {
                    let mut members = Vec::new();
                    loop {
                        match self.structural()? {
                            Tok::Open("member") => {
                                self.open("name")?;
                                let name = self.text()?;
                                self.close("name")?;
                                self.open("value")?;
                                members.push((name, self.value(depth + 1)?));
                                self.close("member")?;
                            }
                            Tok::Close("struct") => break,
                            t => {
                                return Err(malformed(format!("expected <member>, found {t:?}")));
                            }
                        }
                    }
                    Value::Struct(members)
                }
                scalar => {
                    let text = self.text()?;
                    self.close(scalar)?;
                    parse_scalar(scalar, text)?
                }
            },
            t => return Err(malformed(format!("expected a value, found {t:?}"))),
        };
        self.close("value")?;
        Ok(v)
    }
}

fn parse_scalar(ty: &str, text: String) -> Result<Value, ParseError> {
    let bad = |text: &str| malformed(format!("<{ty}> holds {:?}", truncate(text)));
    Ok(match ty {
        "i4" | "int" | "i8" => Value::Int(text.trim().parse().map_err(|_| bad(&text))?),
        "boolean" => match text.trim() {
            "0" => Value::Bool(false),
            "1" => Value::Bool(true),
            _ => return Err(bad(&text)),
        },
        "double" => Value::Double(text.trim().parse().map_err(|_| bad(&text))?),
        "string" | "base64" | "dateTime.iso8601" => Value::Str(text),
        t => return Err(malformed(format!("unknown type <{t}>"))),
    })
}

fn skip_past<'a>(s: &'a str, end: &str) -> Result<&'a str, ParseError> {
    s.find(end)
        .map(|i| &s[i + end.len()..])
        .ok_or_else(|| malformed(format!("no closing {end}")))
}

fn unescape(raw: &str) -> Result<Cow<'_, str>, ParseError> {
    if !raw.contains('&') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after
            .find(';')
            .filter(|&i| i <= 10)
            .ok_or_else(|| malformed("an unterminated entity"))?;
        let entity = &after[..semi];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| malformed(format!("unknown entity &{entity};")))?
            }
        };
        out.push(c);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Python's xmlrpc.client (rosmaster, rospy) writes for a getPublishedTopics answer.
    const PYTHON_RESPONSE: &str = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n\
        <value><array><data>\n<value><int>1</int></value>\n<value><string>ok</string></value>\n\
        <value><array><data>\n<value><array><data>\n<value><string>/a</string></value>\n\
        <value><string>sensor_msgs/Image</string></value>\n</data></array></value>\n\
        </data></array></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n";

    #[test]
    fn reads_a_python_response() {
        let v = parse_response(PYTHON_RESPONSE).unwrap();
        let topic = Value::Array(vec!["/a".into(), "sensor_msgs/Image".into()]);
        assert_eq!(
            v,
            Value::Array(vec![1.into(), "ok".into(), Value::Array(vec![topic])])
        );
    }

    #[test]
    fn reads_a_fault_with_escaped_text() {
        let xml = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n\
            <name>faultCode</name>\n<value><int>1</int></value>\n</member>\n<member>\n\
            <name>faultString</name>\n<value><string>no &lt;such&gt; &#x263A;&#65;</string></value>\n\
            </member>\n</struct></value>\n</fault>\n</methodResponse>\n";
        assert_eq!(
            parse_response(xml),
            Err(ParseError::Fault {
                code: 1,
                message: "no <such> \u{263A}A".into()
            })
        );
    }

    #[test]
    fn untyped_values_are_strings_and_keep_their_spaces() {
        // XmlRpc++ (roscpp) writes strings without a <string> tag.
        let xml = "<methodResponse><params><param><value><array><data><value><i4>1</i4></value>\
            <value> ready </value><value></value><value><string/></value><value><boolean>1</boolean>\
            </value><value><double>2.5</double></value><value><nil/></value></data></array></value>\
            </param></params></methodResponse>";
        assert_eq!(
            parse_response(xml).unwrap(),
            Value::Array(vec![
                1.into(),
                " ready ".into(),
                "".into(),
                "".into(),
                Value::Bool(true),
                Value::Double(2.5),
                Value::Nil
            ])
        );
    }

    #[test]
    fn a_written_call_reads_back() {
        let params = vec![
            "/lookout".into(),
            "/a<b>&c".into(),
            Value::Array(vec![Value::Array(vec!["TCPROS".into()])]),
            Value::Struct(vec![("k".into(), Value::Int(-3))]),
            Value::Array(vec![]),
        ];
        let xml = write_call("requestTopic", &params);
        assert_eq!(
            parse_call(&xml).unwrap(),
            ("requestTopic".to_owned(), params)
        );
        let resp = write_response(&Value::Array(vec![1.into(), "".into(), 0.into()]));
        assert_eq!(
            parse_response(&resp).unwrap(),
            Value::Array(vec![1.into(), "".into(), 0.into()])
        );
        assert_eq!(
            parse_response(&write_fault(-1, "x & y")),
            Err(ParseError::Fault {
                code: -1,
                message: "x & y".into()
            })
        );
    }

    #[test]
    fn hostile_or_broken_documents_are_errors_not_panics() {
        let deep = format!(
            "<methodResponse><params><param>{}{}</param></params></methodResponse>",
            "<value><array><data>".repeat(100),
            "</data></array></value>".repeat(100)
        );
        for xml in [
            "",
            "<",
            "<methodResponse>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]><methodResponse/>",
            "<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
            "<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>junk",
            "<methodResponse><params><param><value>a &bogus; b</value></param></params></methodResponse>",
            "<methodResponse><params><param><value>&#xFFFFFFFF;</value></param></params></methodResponse>",
            "<methodResponse><params></params></methodResponse>",
            "<methodCall><methodName>x</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>",
            &deep,
        ] {
            assert!(
                parse_response(xml).is_err() && parse_call(xml).is_err(),
                "accepted {xml:?}"
            );
        }
        // Every prefix of a valid document fails cleanly.
        for end in 0..PYTHON_RESPONSE.len() - 2 {
            if PYTHON_RESPONSE.is_char_boundary(end) {
                assert!(parse_response(&PYTHON_RESPONSE[..end]).is_err(), "{end}");
            }
        }
    }
}
