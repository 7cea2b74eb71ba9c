//! Reading the parsed file into [`ConfigFile`] with every key and type error of the file at
//! once, each at its key's own line and in the reference's words.
//!
//! serde stops at the first error. So, after each one, the offending key (or, for a missing
//! key, the table that lacks it) is taken out of the parsed tree and the tree read again, until
//! it reads. Taking out a required key makes its table miss that key: that follow-up error is
//! not reported (the first one was), and the table is taken out in turn. The tree keeps the
//! byte spans of the file, so every error is located in the original text.

use super::ConfigError;
use super::document::{self, Doc, Step, get, locate, remove, shown, span_of};
use super::file::ConfigFile;
use super::words::{self, Said};
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// More than this many errors in one file: the rest are not worth reading.
const MAX_ERRORS: usize = 50;

/// `Ok` when the file has no key or type error; else every such error (unordered).
pub(super) fn read(doc: &Doc<'_>, path: &str) -> Result<ConfigFile, Vec<ConfigError>> {
    let mut tree = doc.root.clone();
    let mut errors = Vec::new();
    // (span of a table, key) taken out of the tree: that table missing that key is no news.
    let mut taken: Vec<(Range<usize>, String)> = Vec::new();
    // Each round takes something out of the tree (or stops), so this ends.
    while errors.len() < MAX_ERRORS {
        let e = match ConfigFile::deserialize(toml::de::Deserializer::from(tree.clone())) {
            Ok(file) if errors.is_empty() => return Ok(file),
            Ok(_) => break,
            Err(e) => e,
        };
        let Some(span) = e.span() else {
            errors.push(ConfigError::new(path, None, e.message(), FIX_SYNTAX));
            break;
        };
        let at = locate(tree.get_ref(), &span);
        let problem = explain(doc.root.get_ref(), tree.get_ref(), &at, e.message().trim());
        let follow_up = matches!(&problem.missing, Some(key) if span_of(&tree, &at)
            .is_some_and(|s| taken.contains(&(s, key.clone()))));
        if !follow_up {
            let line = document::offset_of(tree.get_ref(), &problem.node)
                .or(Some(span.start))
                .map(|o| doc.line(o));
            errors.push(ConfigError::new(path, line, problem.msg, problem.fix));
        }
        if let Some((Step::Key(k), parent)) = problem.take.split_last()
            && let Some(s) = span_of(&tree, parent)
        {
            taken.push((s, k.clone()));
        }
        if problem.take.is_empty() || !remove(tree.get_mut(), &problem.take) {
            break;
        }
    }
    Err(errors)
}

const FIX_SYNTAX: &str = "fix the TOML syntax at that line";

/// One serde error, said for people.
struct Problem {
    /// The key or element the error is about, for its line.
    node: Vec<Step>,
    msg: String,
    fix: &'static str,
    /// What to take out of the tree before reading it again.
    take: Vec<Step>,
    /// For "missing field": the key missing.
    missing: Option<String>,
}

/// `orig` is the file as parsed, `tree` what is left of it after taking out earlier errors.
fn explain(orig: &DeTable<'_>, tree: &DeTable<'_>, at: &[Step], msg: &str) -> Problem {
    let place = |path: &[Step]| place(orig, tree, path);
    let plain = |node: Vec<Step>, msg: String, fix| Problem {
        take: node.clone(),
        node,
        msg,
        fix,
        missing: None,
    };
    match words::said(msg) {
        Said::Invalid {
            found,
            expected,
            out_of_range,
        } => {
            let node = refine(tree, at, |_, v| words::is_found(found, v));
            let is = value_words(tree, &node, found);
            plain(
                node.clone(),
                format!(
                    "{} is {is}; it must be {}",
                    place(&node),
                    words::expected(expected)
                ),
                if out_of_range {
                    "use a value in the range docs/ref/config.md gives for this key"
                } else {
                    "check the value's type: text needs quotes, numbers and true/false do not"
                },
            )
        }
        Said::Length { len, expected } => plain(
            at.to_vec(),
            format!(
                "{} has {len} item(s); it must be {}",
                place(at),
                words::expected(expected)
            ),
            "check the value against docs/ref/config.md",
        ),
        Said::UnknownVariant { variant, expected } => plain(
            at.to_vec(),
            format!(
                "{} is {variant:?}; it must be {}",
                place(at),
                words::choices(expected)
            ),
            "use one of the listed values",
        ),
        Said::UnknownField { field, expected } => {
            // serde points at the key itself, or (inside `[camera.source]`) at its table.
            let (node, table) = if at.last() == Some(&Step::Key(field.to_owned())) {
                (at.to_vec(), &at[..at.len() - 1])
            } else {
                (refine(tree, at, |k, _| k == field), at)
            };
            plain(
                node.clone(),
                format!(
                    "unknown field `{field}` in {}, expected {expected}",
                    place(table)
                ),
                "remove or rename the key; docs/ref/config.md lists every key",
            )
        }
        Said::MissingField { field } => {
            let mut key = at.to_vec();
            key.push(Step::Key(field.to_owned()));
            Problem {
                node: at.to_vec(),
                msg: format!("{} is missing", place(&key)),
                fix: "add the key; docs/ref/config.md says what it holds",
                take: at.to_vec(),
                missing: Some(field.to_owned()),
            }
        }
        Said::Untagged { name } => {
            let (key, expected) = words::untagged(name);
            let node = match key {
                Some(key) => refine(tree, at, |k, _| k == key),
                None => at.to_vec(),
            };
            let is = value_words(tree, &node, "this");
            plain(
                node.clone(),
                format!("{} is {is}; it must be {expected}", place(&node)),
                "check the value's type: text needs quotes, numbers and true/false do not",
            )
        }
        Said::Other(msg) => plain(
            at.to_vec(),
            format!("{}: {msg}", place(at)),
            "check the value against docs/ref/config.md",
        ),
    }
}

/// `at`, or the key of the table at `at` that `is_it` picks: inside a `[camera.source]` table
/// serde knows only the table (it reads it whole to find its `kind` first).
fn refine(
    tree: &DeTable<'_>,
    at: &[Step],
    is_it: impl Fn(&str, &DeValue<'_>) -> bool,
) -> Vec<Step> {
    let Some(DeValue::Table(table)) = get(tree, at) else {
        return at.to_vec();
    };
    let mut keys: Vec<(&Spanned<std::borrow::Cow<'_, str>>, &Spanned<DeValue<'_>>)> = table
        .iter()
        .filter(|(k, v)| is_it(k.get_ref(), v.get_ref()))
        .collect();
    // Of two that fit, the first in the file.
    keys.sort_by_key(|(k, _)| k.span().start);
    let mut node = at.to_vec();
    if let Some((k, _)) = keys.first() {
        node.push(Step::Key(k.get_ref().to_string()));
    }
    node
}

/// The value at `node` as written (`"x"`, `300`), else serde's words for it.
fn value_words(tree: &DeTable<'_>, node: &[Step], serde_words: &str) -> String {
    get(tree, node)
        .map(shown)
        .unwrap_or_else(|| serde_words.to_owned())
}

/// Where a key is, as messages name it: `server.max_headers`, `camera "a": source.width`,
/// `[[alert]] "doorbell": webhook.url`.
fn place(orig: &DeTable<'_>, tree: &DeTable<'_>, path: &[Step]) -> String {
    match path {
        [] => "the top level".to_owned(),
        [Step::Key(table), Step::Index(i), rest @ ..] if table == "camera" || table == "alert" => {
            let (label, name) = if table == "camera" {
                ("camera", "id")
            } else {
                ("[[alert]]", "name")
            };
            let own = [
                Step::Key(table.clone()),
                Step::Index(*i),
                Step::Key(name.to_owned()),
            ];
            let who = match get(tree, &own) {
                Some(DeValue::String(s)) => format!("{label} {s:?}"),
                _ => format!("{label} number {}", number_in_file(orig, tree, table, *i)),
            };
            if rest.is_empty() {
                who
            } else {
                format!("{who}: {}", dotted(rest))
            }
        }
        _ => dotted(path),
    }
}

/// The 1-based place in the file of element `i` of the array `table` of `tree` (from which
/// earlier elements may have been taken out).
fn number_in_file(orig: &DeTable<'_>, tree: &DeTable<'_>, table: &str, i: usize) -> usize {
    let items = |t: &DeTable<'_>| match t.get(table).map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a.iter().map(|v| v.span().start).collect(),
        _ => Vec::new(),
    };
    let start = items(tree).get(i).copied();
    items(orig)
        .iter()
        .position(|s| Some(*s) == start)
        .unwrap_or(i)
        + 1
}

fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}
