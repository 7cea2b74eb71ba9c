//! Architecture checks that read the source (docs/design/architecture.md says why each holds).
//!
//! Import circles: in every crate, no source file may use (directly or around a loop) a file
//! that uses it, and no top-level module may either. `KNOWN_CIRCLES` listed the ones that
//! existed when this check came; issue 12 removed them all, so it is empty: the check fails
//! on any circle.
//! Run `cargo test -p lookout --test architecture -- --nocapture` to see the picture.
//!
//! Crate boundaries (`boundaries`): lookout-core does no I/O and gets none of tokio's I/O
//! features; lookout-core and lookout-sources never depend on the server's crates.

mod boundaries;
mod imports;

use imports::Graph;
use std::path::Path;

fn crates_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// (crate, root file) of every crate whose imports are checked.
const CRATES: [(&str, &str); 6] = [
    ("lookout-core", "lib.rs"),
    ("lookout-sources", "lib.rs"),
    ("lookout-store", "lib.rs"),
    ("lookout", "lib.rs"),
    ("lookout-bench", "lib.rs"),
    ("lookout-bench", "main.rs"),
];

/// Circles allowed to exist, as "crate: file, file, …" (files sorted) or "crate: module
/// circle: mod, mod, …". Issue 12 removed the last of them; keep it empty.
const KNOWN_CIRCLES: &[&str] = &[];

/// Every circle of every crate, described as in `KNOWN_CIRCLES`, with the imports that make it.
fn circles() -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for (krate, root) in CRATES {
        let g = Graph::of_crate(&crates_dir().join(krate).join("src"), root);
        for c in g.circles() {
            out.push((format!("{krate}: {}", c.join(", ")), g.edges_within(&c)));
        }
        let top = g.top_level();
        for c in top.circles() {
            out.push((
                format!("{krate}: module circle: {}", c.join(", ")),
                top.edges_within(&c),
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_new_import_circles_and_none_forgotten() {
    let found = circles();
    let mut new = Vec::new();
    for (name, edges) in &found {
        println!("{name}");
        for (a, b) in edges {
            println!("    {a} -> {b}");
        }
        if !KNOWN_CIRCLES.contains(&name.as_str()) {
            new.push(name.clone());
        }
    }
    let gone: Vec<&str> = KNOWN_CIRCLES
        .iter()
        .copied()
        .filter(|k| !found.iter().any(|(name, _)| name == k))
        .collect();
    println!(
        "circles: {} (known before issue 12: {})",
        found.len(),
        KNOWN_CIRCLES.len()
    );
    assert!(
        new.is_empty(),
        "new import circles (a module uses one that uses it; move the shared piece to its own \
         file or to the module that owns it): {new:#?}"
    );
    assert!(
        gone.is_empty(),
        "these circles are gone: remove them from KNOWN_CIRCLES in {}: {gone:#?}",
        file!()
    );
}
