//! The import picture of a crate: which source file uses which, read from the source text.
//!
//! A file is a node; `a.rs` → `b.rs` when `a.rs` names a path that resolves into the module of
//! `b.rs` (`use crate::b::X`, `super::X`, `b::f()` from b's parent, re-exports included). A
//! module's `mod b;` declaration is not an edge: declaring a child is not using it. Circles are
//! the strongly connected components with more than one file.
//!
//! This is a reader of Rust's path syntax, not a compiler: it strips comments and string
//! literals, then follows `crate::`, `super::`, `self::` and child-module paths, expanding
//! `use a::{b, c::{d}}` groups. Shadowing by local names is ignored, which only matters for a
//! local binding named like a module, which our naming avoids.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path from the crate root, e.g. `["web", "auth"]`.
type ModPath = Vec<String>;

#[derive(Debug)]
pub struct Graph {
    /// Node names: file paths relative to the crate's `src/`.
    pub files: Vec<String>,
    /// Edges by index into `files`.
    pub edges: BTreeSet<(usize, usize)>,
}

impl Graph {
    /// Reads every `.rs` file under `src` (a crate's source directory) whose module path starts
    /// at `root_file` (`lib.rs` or `main.rs`).
    pub fn of_crate(src: &Path, root_file: &str) -> Graph {
        let mut modules: BTreeMap<ModPath, PathBuf> = BTreeMap::new();
        walk(&src.join(root_file), src, Vec::new(), &mut modules);
        let files: Vec<String> = modules
            .values()
            .map(|p| rel(src, p))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let index = |p: &Path| files.iter().position(|f| *f == rel(src, p));
        let tokens: BTreeMap<ModPath, Vec<String>> = modules
            .iter()
            .map(|(m, p)| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                (m.clone(), tokenize(&strip(&text)))
            })
            .collect();
        let resolver = Resolver {
            modules: &modules,
            names: tokens
                .iter()
                .map(|(m, t)| (m.clone(), Names::read(t)))
                .collect(),
        };
        let mut edges = BTreeSet::new();
        for (module, path) in &modules {
            let Some(from) = index(path) else { continue };
            for (p, inline_depth) in named_paths(&tokens[module]) {
                // Inside an inline module, `super` first climbs out of it; its own items are
                // in this file anyway.
                let mut context = module.clone();
                context.extend((0..inline_depth).map(|_| "{inline}".to_string()));
                if let Some(target) = resolver.resolve(&p, &context, 0)
                    && let Some(to) = modules.get(&target).and_then(|p| index(p))
                    && to != from
                {
                    edges.insert((from, to));
                }
            }
        }
        Graph { files, edges }
    }

    /// Groups of files that import each other, directly or around a loop; each sorted, largest first.
    pub fn circles(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = strongly_connected(self.files.len(), &self.edges)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut names: Vec<String> = c.iter().map(|&i| self.files[i].clone()).collect();
                names.sort();
                names
            })
            .collect();
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out
    }

    /// The same picture one level up: each file stands for its top-level module (`web/auth/mod.rs`
    /// → `web`), the crate root for itself.
    pub fn top_level(&self) -> Graph {
        let top = |f: &str| -> String {
            match f.split_once('/') {
                Some((dir, _)) => dir.to_string(),
                None => f.trim_end_matches(".rs").to_string(),
            }
        };
        let files: Vec<String> = self
            .files
            .iter()
            .map(|f| top(f))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let at = |f: &str| files.iter().position(|x| *x == top(f)).unwrap_or(0);
        let edges = self
            .edges
            .iter()
            .map(|&(a, b)| (at(&self.files[a]), at(&self.files[b])))
            .filter(|(a, b)| a != b)
            .collect();
        Graph { files, edges }
    }

    /// The edges inside one circle, to say which imports make it.
    pub fn edges_within(&self, circle: &[String]) -> Vec<(String, String)> {
        self.edges
            .iter()
            .map(|&(a, b)| (self.files[a].clone(), self.files[b].clone()))
            .filter(|(a, b)| circle.contains(a) && circle.contains(b))
            .collect()
    }
}

/// The tokens of Rust source text without its comments and literals: identifiers, `::` and
/// single punctuation characters.
pub fn tokens_of(text: &str) -> Vec<String> {
    tokenize(&strip(text))
}

/// The paths Rust source text names, `use` groups expanded (`std::{fs, io}` is `std::fs` and
/// `std::io`); test-only inline modules are left out.
pub fn paths_in(text: &str) -> Vec<Vec<String>> {
    named_paths(&tokens_of(text))
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

fn rel(src: &Path, p: &Path) -> String {
    p.strip_prefix(src)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// Maps module paths to files, following `mod x;` declarations from the root file (so test-only
/// files behind `#[path]` and unrelated binaries are left out). Inline `mod x { }` blocks belong to
/// their file and are not separate nodes.
fn walk(path: &Path, children_dir: &Path, module: ModPath, out: &mut BTreeMap<ModPath, PathBuf>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    out.insert(module.clone(), path.to_path_buf());
    for child in declared_children(&strip(&text)) {
        let flat = children_dir.join(format!("{child}.rs"));
        let nested = children_dir.join(&child).join("mod.rs");
        let mut sub = module.clone();
        sub.push(child.clone());
        if flat.is_file() {
            walk(&flat, &children_dir.join(&child), sub, out);
        } else if nested.is_file() {
            walk(&nested, &children_dir.join(&child), sub, out);
        }
    }
}

/// `mod x;` (not `mod x { ... }`) at any visibility, leaving out test-only ones.
fn declared_children(text: &str) -> Vec<String> {
    let tokens = tokenize(text);
    let mut out = Vec::new();
    for i in 0..tokens.len().saturating_sub(2) {
        if tokens[i] == "mod"
            && is_ident(&tokens[i + 1])
            && tokens[i + 2] == ";"
            && !test_only(&tokens, i)
        {
            out.push(tokens[i + 1].clone());
        }
    }
    out
}

/// Whether the item whose keyword is at `i` (after any visibility) is compiled for tests only:
/// one of its attributes, in any order, is `#[cfg(test)]` or `#[cfg(all(test, …))]`.
fn test_only(tokens: &[String], i: usize) -> bool {
    let mut j = i;
    // Step back over `pub`, `pub(crate)`.
    while j > 0
        && matches!(
            tokens[j - 1].as_str(),
            "pub" | "crate" | "super" | "(" | ")"
        )
    {
        j -= 1;
    }
    // Step back over the attributes, `# [ … ]` each, innermost brackets matched.
    while j > 0 && tokens[j - 1] == "]" {
        let mut depth = 0usize;
        let mut k = j - 1;
        loop {
            match tokens[k].as_str() {
                "]" => depth += 1,
                "[" => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            if k == 0 {
                return false;
            }
            k -= 1;
        }
        if k == 0 || tokens[k - 1] != "#" {
            return false;
        }
        if cfg_requires_test(&tokens[k + 1..j - 1]) {
            return true;
        }
        j = k - 1;
    }
    false
}

/// Whether an attribute's tokens (inside `#[…]`) are `cfg(test)` or `cfg(all(…))` with `test`
/// among the conditions.
fn cfg_requires_test(attr: &[String]) -> bool {
    let words: Vec<&str> = attr.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["cfg", "(", "test", ")"] => true,
        ["cfg", "(", "all", "(", conditions @ .., ")", ")"] => {
            let mut depth = 0usize;
            let mut condition: Vec<&str> = Vec::new();
            for &w in conditions.iter().chain([&","]) {
                match w {
                    "(" => depth += 1,
                    ")" => depth = depth.saturating_sub(1),
                    "," if depth == 0 => {
                        if condition == ["test"] {
                            return true;
                        }
                        condition.clear();
                        continue;
                    }
                    _ => {}
                }
                condition.push(w);
            }
            false
        }
        _ => false,
    }
}

/// What a module file says about names: the items it defines and the names it re-exports.
#[derive(Default)]
struct Names {
    defined: BTreeSet<String>,
    /// `pub use a::b as c;` → `c` → `[a, b]`, as written in the module.
    reexports: BTreeMap<String, Vec<String>>,
    /// `pub use a::*;` → `[a]`.
    globs: Vec<Vec<String>>,
}

impl Names {
    fn read(tokens: &[String]) -> Names {
        let mut names = Names::default();
        const ITEMS: [&str; 9] = [
            "fn", "struct", "enum", "type", "trait", "const", "static", "mod", "union",
        ];
        for w in tokens.windows(2) {
            if ITEMS.contains(&w[0].as_str()) && is_ident(&w[1]) {
                names.defined.insert(w[1].clone());
            }
        }
        for w in tokens.windows(3) {
            if w[0] == "macro_rules" && w[1] == "!" && is_ident(&w[2]) {
                names.defined.insert(w[2].clone());
            }
        }
        let mut i = 0;
        while i < tokens.len() {
            if tokens[i] != "pub" {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            if tokens.get(j).map(String::as_str) == Some("(") {
                while j < tokens.len() && tokens[j] != ")" {
                    j += 1;
                }
                j += 1;
            }
            if tokens.get(j).map(String::as_str) == Some("use") {
                let mut leaves = Vec::new();
                let end = use_tree(tokens, j + 1, Vec::new(), &mut leaves);
                for (path, alias) in leaves {
                    match alias {
                        Some(name) => {
                            names.reexports.insert(name, path);
                        }
                        None => names.globs.push(path),
                    }
                }
                i = end;
            } else {
                i = j;
            }
        }
        names
    }
}

/// Parses a use tree from `tokens[i]`; pushes each leaf as (full path, the name it binds), with
/// `None` for a glob. Returns the index after the tree.
fn use_tree(
    tokens: &[String],
    mut i: usize,
    mut prefix: Vec<String>,
    leaves: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    loop {
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                i += 1;
                loop {
                    match tokens.get(i).map(String::as_str) {
                        None => return i,
                        Some("}") => return i + 1,
                        Some(",") => i += 1,
                        Some(_) => i = use_tree(tokens, i, prefix.clone(), leaves).max(i + 1),
                    }
                }
            }
            Some("*") => {
                leaves.push((prefix, None));
                return i + 1;
            }
            Some(t) if is_ident(t) => {
                prefix.push(t.to_string());
                i += 1;
                match tokens.get(i).map(String::as_str) {
                    Some("::") => i += 1,
                    Some("as") => {
                        let alias = tokens.get(i + 1).cloned().unwrap_or_default();
                        leaves.push((prefix, Some(alias)));
                        return i + 2;
                    }
                    _ => {
                        let name = prefix.last().cloned().unwrap_or_default();
                        leaves.push((prefix, Some(name)));
                        return i;
                    }
                }
            }
            _ => return i,
        }
    }
}

/// Every path that `tokens` name, with `{...}` groups expanded, and how many inline modules
/// (`mod x { ... }`) deep each is written. `#[cfg(test)]` inline modules are left out: tests may
/// use whatever they test.
fn named_paths(tokens: &[String]) -> Vec<(Vec<String>, usize)> {
    let mut paths = Vec::new();
    // Brace depth at which each enclosing inline module opened.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        if t == "mod" && tokens.get(i + 2).map(String::as_str) == Some("{") {
            if test_only(tokens, i) {
                i = skip_block(tokens, i + 2);
                continue;
            }
            depth += 1;
            inline.push(depth);
            i += 3;
            continue;
        }
        if t == "{" {
            depth += 1;
        } else if t == "}" {
            if inline.last() == Some(&depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        }
        let starts_path = tokens.get(i + 1).map(String::as_str) == Some("::")
            && is_ident(t)
            && (i == 0 || tokens[i - 1] != "::");
        if starts_path {
            let (found, next) = parse_path(tokens, i, Vec::new());
            paths.extend(found.into_iter().map(|p| (p, inline.len())));
            i = next.max(i + 1);
        } else {
            i += 1;
        }
    }
    paths
}

/// The index after the block whose `{` is at `open`.
fn skip_block(tokens: &[String], open: usize) -> usize {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// Parses a path starting at `tokens[i]`, expanding `{...}` groups. Returns the full paths and
/// the index after the path.
fn parse_path(tokens: &[String], mut i: usize, prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut segs = prefix;
    let mut out = Vec::new();
    while let Some(t) = tokens.get(i) {
        if t == "{" {
            // A group: comma-separated sub-paths, each relative to `segs`.
            i += 1;
            loop {
                match tokens.get(i).map(String::as_str) {
                    None => return (out, i),
                    Some("}") => {
                        i += 1;
                        break;
                    }
                    Some(",") => i += 1,
                    Some(_) => {
                        let (found, next) = parse_path(tokens, i, segs.clone());
                        out.extend(found);
                        // Skip `as name` and anything else up to the next separator.
                        i = next.max(i + 1);
                        while let Some(t) = tokens.get(i) {
                            if t == "," || t == "}" {
                                break;
                            }
                            i += 1;
                        }
                    }
                }
            }
            return (out, i);
        }
        if t == "*" {
            out.push(segs.clone());
            return (out, i + 1);
        }
        if !is_ident(t) {
            break;
        }
        segs.push(t.clone());
        i += 1;
        if tokens.get(i).map(String::as_str) == Some("::") {
            i += 1;
        } else {
            break;
        }
    }
    if !segs.is_empty() {
        out.push(segs);
    }
    (out, i)
}

/// The crate's modules and what each says about names, for resolving paths to defining files.
struct Resolver<'a> {
    modules: &'a BTreeMap<ModPath, PathBuf>,
    names: BTreeMap<ModPath, Names>,
}

impl Resolver<'_> {
    /// The module whose file defines what the path `p`, written in `module`, names: the longest
    /// module prefix, then through re-exports (`pub use`) to where the item is defined.
    fn resolve(&self, p: &[String], module: &ModPath, depth: usize) -> Option<ModPath> {
        if depth > 16 {
            return None;
        }
        let (mut base, rest): (ModPath, &[String]) = match p.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &p[1..]),
            Some("self") => (module.clone(), &p[1..]),
            Some("super") => {
                let mut base = module.clone();
                let mut rest = p;
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            Some(first) => {
                // A child module of this one, used without `self::`.
                let mut child = module.clone();
                child.push(first.to_string());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                (child, &p[1..])
            }
            None => return None,
        };
        let mut rest = rest;
        while let Some(seg) = rest.first() {
            let mut next = base.clone();
            next.push(seg.clone());
            if self.modules.contains_key(&next) {
                base = next;
                rest = &rest[1..];
            } else {
                break;
            }
        }
        if !self.modules.contains_key(&base) {
            return None;
        }
        // `base` is a module; `rest[0]`, if any, is an item in it: find where it is defined.
        let (Some(item), Some(names)) = (rest.first(), self.names.get(&base)) else {
            return Some(base);
        };
        if names.defined.contains(item) {
            return Some(base);
        }
        if let Some(target) = names.reexports.get(item) {
            let mut full = target.clone();
            full.extend(rest[1..].iter().cloned());
            return self.resolve(&full, &base, depth + 1).or(Some(base));
        }
        for glob in &names.globs {
            let mut full = glob.clone();
            full.extend(rest.iter().cloned());
            if let Some(found) = self.resolve(&full, &base, depth + 1)
                && found != base
            {
                return Some(found);
            }
        }
        Some(base)
    }
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters.
fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// The text without comments, string and character literals (their insides could look like paths).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&b, i) {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): only literals are skipped.
            let close = if next == Some('\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == '\'')
                    .map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == '_')
}

/// Tarjan's algorithm, iterative enough for a few hundred nodes (recursion depth = path length).
fn strongly_connected(n: usize, edges: &BTreeSet<(usize, usize)>) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); n];
    for &(a, b) in edges {
        adj[a].push(b);
    }
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, adj: &[Vec<usize>], s: &mut State) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &adj[v] {
            match s.index[w] {
                None => {
                    visit(w, adj, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(comp);
        }
    }
    let mut s = State {
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(v, &adj, &mut s);
        }
    }
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item_is_test_only(source: &str) -> bool {
        let tokens = tokenize(&strip(source));
        let at = tokens.iter().position(|t| t == "mod").expect("a mod item");
        test_only(&tokens, at)
    }

    #[test]
    fn test_only_items_are_known_by_any_of_their_attributes() {
        assert!(item_is_test_only("#[cfg(test)]\nmod tests {}"));
        assert!(item_is_test_only(
            "#[cfg(test)]\n#[allow(clippy::unwrap_used)]\nmod tests {}"
        ));
        assert!(item_is_test_only(
            "#[allow(dead_code)]\n#[cfg(all(feature = \"v4l2\", test))]\npub(crate) mod fake;"
        ));
        assert!(!item_is_test_only("#[cfg(feature = \"test\")]\nmod x;"));
        assert!(!item_is_test_only(
            "#[cfg(any(test, feature = \"x\"))]\nmod x;"
        ));
        assert!(!item_is_test_only("#[cfg(all(not(test), unix))]\nmod x;"));
        assert!(!item_is_test_only("#[allow(dead_code)]\npub mod x;"));
    }
}
