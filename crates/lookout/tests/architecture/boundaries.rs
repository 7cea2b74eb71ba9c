//! The crate boundaries of docs/design/architecture.md, checked so that breaking one fails:
//! lookout-core does no I/O (no network, files, processes or signals), and lookout-core,
//! lookout-sources and lookout-store do not depend on the server's crates (HTTP, mail; the
//! database only in the store).
//!
//! Features are additive: tokio's `net` named for any crate that shares a build with
//! lookout-core (or in `[workspace.dependencies]`, which every crate inherits) is compiled into
//! it, and a workspace build would then accept `tokio::net` in core's source. So these checks
//! ask Cargo what a crate gets on its own (`cargo tree -p`), build lookout-core on its own, and
//! read core's source for the standard library's I/O modules, which no feature can take away.

use crate::crates_dir;
use crate::imports::{paths_in, tokens_of};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Cargo, run in the workspace: the one running these tests when there is one.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(crates_dir().join(".."));
    cmd
}

/// The packages `krate` is built with (normal dependencies, every feature of `krate`), each with
/// the features it gets when `krate` is built alone: `("tokio", ["rt", "sync", "time"])`.
fn dependency_features(krate: &str) -> Vec<(String, Vec<String>)> {
    let out = cargo()
        .args(["tree", "--locked", "-p", krate, "--all-features"])
        .args(["-e", "normal", "--prefix", "none", "--format", "{p}|{f}"])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {krate} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            // `tokio v1.54.1|rt,sync,time`, with ` (*)` after a package listed before.
            let (package, features) = line.trim_end_matches(" (*)").split_once('|')?;
            let name = package.split_whitespace().next()?.to_string();
            let features = features
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect();
            Some((name, features))
        })
        .collect()
}

#[test]
fn core_gets_none_of_tokios_io_features() {
    let deps = dependency_features("lookout-core");
    let (_, tokio) = deps
        .iter()
        .find(|(name, _)| name == "tokio")
        .expect("lookout-core depends on tokio");
    println!("lookout-core's tokio features: {}", tokio.join(", "));
    let io: Vec<&String> = tokio
        .iter()
        .filter(|f| ["net", "fs", "process", "signal", "io-std", "full"].contains(&f.as_str()))
        .collect();
    assert!(
        io.is_empty(),
        "lookout-core gets tokio's {io:?}: name tokio's features in each crate's Cargo.toml \
         (never in [workspace.dependencies]) and none of these in lookout-core's"
    );
}

#[test]
fn core_sources_and_store_never_depend_on_the_servers_crates() {
    let forbidden: [(&str, &[&str]); 3] = [
        (
            "lookout-core",
            &[
                "axum",
                "hyper",
                "hyper-util",
                "lettre",
                "rusqlite",
                "ros2-client",
                "tokio-rustls",
            ],
        ),
        ("lookout-sources", &["axum", "lettre", "rusqlite"]),
        (
            "lookout-store",
            &["axum", "hyper", "hyper-util", "lettre", "lookout-sources"],
        ),
    ];
    for (krate, never) in forbidden {
        let deps = dependency_features(krate);
        assert!(
            deps.iter().any(|(name, _)| name == krate),
            "cargo tree -p {krate} listed nothing"
        );
        let found: Vec<&str> = never
            .iter()
            .copied()
            .filter(|n| deps.iter().any(|(name, _)| name == n))
            .collect();
        assert!(
            found.is_empty(),
            "{krate} depends on {found:?} (docs/design/architecture.md: never)"
        );
    }
}

/// Module paths that mean I/O. `std::fs` and `std::net` cannot be turned off by a feature, so
/// core's source is read for them.
const IO_MODULES: [&[&str]; 8] = [
    &["std", "fs"],
    &["std", "net"],
    &["std", "process"],
    &["std", "os", "unix", "net"],
    &["tokio", "net"],
    &["tokio", "fs"],
    &["tokio", "process"],
    &["tokio", "signal"],
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Each I/O module `text` names: in a path (`std::fs::read`, `::std::fs`) or a `use` group
/// (`use std::{fs, io}`).
fn io_modules_named(text: &str) -> Vec<String> {
    let tokens = tokens_of(text);
    let mut found = Vec::new();
    for module in IO_MODULES {
        // `std :: fs` as consecutive tokens, wherever it starts.
        let written = (0..tokens.len()).any(|i| {
            module.iter().enumerate().all(|(k, seg)| {
                tokens.get(i + 2 * k).is_some_and(|t| t == seg)
                    && (k + 1 == module.len()
                        || tokens.get(i + 2 * k + 1).is_some_and(|t| t == "::"))
            })
        });
        let grouped = paths_in(text)
            .iter()
            .any(|p| p.starts_with(&module.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        if written || grouped {
            found.push(module.join("::"));
        }
    }
    found
}

#[test]
fn the_io_check_sees_every_way_of_naming_a_module() {
    for text in [
        "use std::fs;",
        "fn f() { let _ = std::fs::read(\"x\"); }",
        "fn f() { let _ = ::std::fs::read(\"x\"); }",
        "use std::{io, fs::File};",
        "use tokio::{sync::watch, net::TcpStream};",
    ] {
        assert!(!io_modules_named(text).is_empty(), "{text}");
    }
    for text in [
        "use std::io;",
        "// std::fs::read\nuse std::sync::Arc;",
        "const S: &str = \"std::fs\";",
        "use tokio::sync::watch;",
    ] {
        assert!(io_modules_named(text).is_empty(), "{text}");
    }
}

#[test]
fn core_source_names_no_io_module() {
    let src = crates_dir().join("lookout-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 10,
        "found only {files:?} under {}",
        src.display()
    );
    let mut uses = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        for module in io_modules_named(&text) {
            uses.push(format!(
                "{}: {module}",
                file.strip_prefix(&src).unwrap_or(file).display()
            ));
        }
    }
    assert!(
        uses.is_empty(),
        "lookout-core does no I/O (docs/design/architecture.md); move this to lookout-sources \
         or lookout: {uses:#?}"
    );
}

/// The proof the compiler gives: lookout-core builds with its own features only, so `tokio::net`
/// there would not compile. (A workspace build unifies features: lookout's `net` would make it
/// compile.) In a target directory of its own: Cargo locks the one running this test, and core
/// alone is built with other features than the workspace's.
#[test]
fn core_builds_alone_with_its_own_features() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lookout-core-alone");
    let out = cargo()
        .args(["check", "--locked", "-p", "lookout-core", "--lib"])
        .args(["--message-format", "short"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run cargo check");
    assert!(
        out.status.success(),
        "lookout-core does not build with only the features its Cargo.toml asks for; is it \
         using something it must not (tokio::net, tokio::fs…)?\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
