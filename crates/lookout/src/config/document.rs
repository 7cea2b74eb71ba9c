//! The config file as parsed TOML that keeps the place of every key, so that an error points at
//! the line of the key it is about: found by key path (`camera[1].source.url`) for the checks
//! of `resolve`, and by the byte span serde reports for the errors of reading.

use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path: a key of a table, or an element of an array (`[[camera]]` number n).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// `"camera[1].source.url"` → `[camera, 1, source, url]`. Our keys hold no `.`, `[` or `]`.
pub(super) fn path(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in text.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            steps.push(Step::Key(key.to_owned()));
        }
        for index in pieces {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                steps.push(Step::Index(i));
            }
        }
    }
    steps
}

/// A parsed file and its text.
pub(super) struct Doc<'a> {
    text: &'a str,
    pub(super) root: Spanned<DeTable<'a>>,
}

/// A syntax error: where (byte offset) and what.
pub(super) struct SyntaxError {
    pub offset: Option<usize>,
    pub msg: String,
}

impl<'a> Doc<'a> {
    /// Parses `text`; a file that is not TOML gives every syntax error the parser found.
    pub(super) fn parse(text: &'a str) -> Result<Self, Vec<SyntaxError>> {
        let (root, errors) = DeTable::parse_recoverable(text);
        if errors.is_empty() {
            return Ok(Self { text, root });
        }
        Err(errors
            .iter()
            .map(|e| SyntaxError {
                offset: e.span().map(|s| s.start),
                msg: e.message().trim().to_owned(),
            })
            .collect())
    }

    /// 1-based line number of byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    /// The line of the key at `path` (`key = …` or its `[table]` header), or of the array
    /// element (`[[camera]]`); when the path goes further than the file does (a key left at its
    /// default), the line of its deepest part that is in the file. `None` when not even the
    /// first key is in the file.
    pub(super) fn line_of(&self, path: &[Step]) -> Option<usize> {
        offset_of(self.root.get_ref(), path).map(|o| self.line(o))
    }
}

/// 1-based line number of byte `offset` in `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The byte offset [`Doc::line_of`] gives the line of.
pub(super) fn offset_of(table: &DeTable<'_>, path: &[Step]) -> Option<usize> {
    let (Step::Key(k), rest) = path.split_first()? else {
        return None;
    };
    let (key, value) = table.get_key_value(k.as_str())?;
    offset_below(value, rest).or(Some(key.span().start))
}

fn offset_below(value: &Spanned<DeValue<'_>>, path: &[Step]) -> Option<usize> {
    match (path.first()?, value.get_ref()) {
        (Step::Key(_), DeValue::Table(t)) => offset_of(t, path),
        (Step::Index(i), DeValue::Array(a)) => {
            let item = a.get(*i)?;
            offset_below(item, &path[1..]).or(Some(item.span().start))
        }
        _ => None,
    }
}

/// The value at `path`, if the file has it.
pub(super) fn get<'t, 'a>(table: &'t DeTable<'a>, path: &[Step]) -> Option<&'t DeValue<'a>> {
    let (Step::Key(k), rest) = path.split_first()? else {
        return None;
    };
    value_below(table.get(k.as_str())?, rest)
}

fn value_below<'t, 'a>(value: &'t Spanned<DeValue<'a>>, path: &[Step]) -> Option<&'t DeValue<'a>> {
    match (path.first(), value.get_ref()) {
        (None, v) => Some(v),
        (Some(Step::Key(_)), DeValue::Table(t)) => get(t, path),
        (Some(Step::Index(i)), DeValue::Array(a)) => value_below(a.get(*i)?, &path[1..]),
        _ => None,
    }
}

/// The span of the value at `path` (the whole file for the empty path).
pub(super) fn span_of(root: &Spanned<DeTable<'_>>, path: &[Step]) -> Option<Range<usize>> {
    let Some((Step::Key(k), rest)) = path.split_first() else {
        return path.is_empty().then(|| root.span());
    };
    let mut value = root.get_ref().get(k.as_str())?;
    for step in rest {
        value = match (step, value.get_ref()) {
            (Step::Key(k), DeValue::Table(t)) => t.get(k.as_str())?,
            (Step::Index(i), DeValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(value.span())
}

/// The path of the smallest key or value whose span holds `span`: where a serde error is.
/// Empty when only the whole file holds it.
pub(super) fn locate(root: &DeTable<'_>, span: &Range<usize>) -> Vec<Step> {
    let mut best: Option<(usize, Vec<Step>)> = None;
    let mut here = Vec::new();
    visit_table(root, span, &mut here, &mut best);
    best.map(|(_, p)| p).unwrap_or_default()
}

fn holds(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

fn consider(size: usize, here: &[Step], best: &mut Option<(usize, Vec<Step>)>) {
    // `<=`: of two equal spans (a table and the header line it was written with), the deeper.
    if best.as_ref().is_none_or(|(b, _)| size <= *b) {
        *best = Some((size, here.to_vec()));
    }
}

fn visit_table(
    table: &DeTable<'_>,
    span: &Range<usize>,
    here: &mut Vec<Step>,
    best: &mut Option<(usize, Vec<Step>)>,
) {
    for (key, value) in table.iter() {
        here.push(Step::Key(key.get_ref().to_string()));
        if holds(&key.span(), span) {
            consider(key.span().len(), here, best);
        }
        visit_value(value, span, here, best);
        here.pop();
    }
}

fn visit_value(
    value: &Spanned<DeValue<'_>>,
    span: &Range<usize>,
    here: &mut Vec<Step>,
    best: &mut Option<(usize, Vec<Step>)>,
) {
    if holds(&value.span(), span) {
        consider(value.span().len(), here, best);
    }
    match value.get_ref() {
        DeValue::Table(t) => visit_table(t, span, here, best),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                here.push(Step::Index(i));
                visit_value(item, span, here, best);
                here.pop();
            }
        }
        _ => {}
    }
}

/// Removes the key or array element at `path`; false when there is none.
pub(super) fn remove(table: &mut DeTable<'_>, path: &[Step]) -> bool {
    let Some((Step::Key(k), rest)) = path.split_first() else {
        return false;
    };
    if rest.is_empty() {
        return table.remove(k.as_str()).is_some();
    }
    match table.get_mut(k.as_str()) {
        Some(value) => remove_below(value.get_mut(), rest),
        None => false,
    }
}

fn remove_below(value: &mut DeValue<'_>, path: &[Step]) -> bool {
    match (path, value) {
        ([Step::Index(i)], DeValue::Array(a)) if *i < a.len() => {
            let items = std::mem::replace(a, toml::de::DeArray::new());
            *a = items
                .into_iter()
                .enumerate()
                .filter(|(n, _)| n != i)
                .map(|(_, item)| item)
                .collect();
            true
        }
        ([Step::Index(i), rest @ ..], DeValue::Array(a)) => match a.get_mut(*i) {
            Some(item) => remove_below(item.get_mut(), rest),
            None => false,
        },
        ([Step::Key(_), ..], DeValue::Table(t)) => remove(t, path),
        _ => false,
    }
}

/// A value as the file writes it, for messages: `"x"`, `5`, `true`, `a list`, `a table`.
pub(super) fn shown(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("{s:?}"),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) => "a list".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[server]\nlisten = [\"a\"]\n\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"x\"\n\n[[camera]]\nid = 'b'\nsource = { kind = 'y', fps = 2 }\n";

    #[test]
    fn paths_read_like_the_docs_write_them() {
        assert_eq!(
            path("camera[1].source.url"),
            [
                Step::Key("camera".into()),
                Step::Index(1),
                Step::Key("source".into()),
                Step::Key("url".into())
            ]
        );
        assert_eq!(path(""), []);
    }

    #[test]
    fn a_key_path_finds_its_own_line_or_its_deepest_part() {
        let doc = Doc::parse(TEXT).ok().unwrap();
        let line = |p: &str| doc.line_of(&path(p));
        assert_eq!(line("server.listen"), Some(2));
        assert_eq!(line("server.max_headers"), Some(1), "left at its default");
        assert_eq!(line("camera[0]"), Some(4));
        assert_eq!(line("camera[0].source.kind"), Some(7));
        assert_eq!(line("camera[0].source"), Some(6));
        assert_eq!(line("camera[1].source.fps"), Some(11));
        assert_eq!(line("camera[1].quality"), Some(9));
        assert_eq!(line("tls.cert"), None);
    }

    #[test]
    fn a_span_is_located_at_the_smallest_key_or_value_holding_it() {
        let doc = Doc::parse(TEXT).ok().unwrap();
        let at = |needle: &str| {
            let start = TEXT.find(needle).unwrap();
            locate(doc.root.get_ref(), &(start..start + needle.len()))
        };
        assert_eq!(at("\"x\""), path("camera[0].source.kind"));
        let two = TEXT.find("fps = 2").unwrap() + "fps = ".len();
        assert_eq!(
            locate(doc.root.get_ref(), &(two..two + 1)),
            path("camera[1].source.fps")
        );
        assert_eq!(at("[[camera]]\nid = 'b'"), path(""));
        assert_eq!(at("'b'"), path("camera[1].id"));
    }

    #[test]
    fn removing_keys_and_elements() {
        let mut doc = Doc::parse(TEXT).ok().unwrap();
        assert!(remove(doc.root.get_mut(), &path("camera[0]")));
        assert!(remove(doc.root.get_mut(), &path("camera[0].source.fps")));
        assert!(!remove(doc.root.get_mut(), &path("camera[1]")));
        let rest = get(doc.root.get_ref(), &path("camera[0].id")).map(shown);
        assert_eq!(rest.as_deref(), Some("\"b\""));
        assert!(get(doc.root.get_ref(), &path("camera[0].source.fps")).is_none());
    }

    #[test]
    fn syntax_errors_come_all_together() {
        let Err(errors) = Doc::parse("a = \n[[b]\n") else {
            panic!("not TOML")
        };
        assert!(errors.len() >= 2, "{}", errors.len());
    }
}
