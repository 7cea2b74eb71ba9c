//! The store's boundaries, as the manifests declare them (the compiler then enforces them):
//! only lookout-store depends on rusqlite, so no SQL can be written anywhere else, and the store
//! depends on nothing that speaks HTTP or mail, nor on tokio's networking.

use std::path::Path;

fn dependencies(krate: &str) -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let manifest: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    manifest
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn only_the_store_speaks_sql() {
    let crates = [
        "lookout-core",
        "lookout-sources",
        "lookout",
        "lookout-bench",
    ];
    for krate in crates {
        assert!(
            !dependencies(krate).contains_key("rusqlite"),
            "{krate} depends on rusqlite: queries belong in lookout-store, as functions over its Db"
        );
    }
    assert!(dependencies("lookout-store").contains_key("rusqlite"));
}

#[test]
fn the_store_knows_no_http_mail_or_network() {
    let deps = dependencies("lookout-store");
    for banned in [
        "axum",
        "hyper",
        "hyper-util",
        "hyper-rustls",
        "http",
        "tower",
        "lettre",
        "lookout-sources",
        "lookout",
    ] {
        assert!(
            !deps.contains_key(banned),
            "lookout-store depends on {banned}: the store must not know how it is asked"
        );
    }
    let tokio_features: Vec<&str> = deps
        .get("tokio")
        .and_then(|t| t.get("features"))
        .and_then(toml::Value::as_array)
        .map(|f| f.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    for f in &tokio_features {
        assert!(
            ["rt", "sync", "time"].contains(f),
            "lookout-store asks tokio for {f:?}: it only runs blocking SQLite calls on the pool"
        );
    }
}
