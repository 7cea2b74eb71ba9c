//! The minimum Rust version in the workspace's `rust-version` stays true: no dependency in
//! Cargo.lock (every feature, this machine's platform) may ask for a newer Rust, and every
//! workspace crate declares the same one. Clippy's `incompatible_msrv` covers the other half,
//! the standard library items the code itself uses.

use serde_json::Value;
use std::process::Command;

/// "1.89" or "1.89.0" as (1, 89, 0); `None` for anything else.
fn version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next().unwrap_or(Some(0))?;
    parts.next().is_none().then_some((major, minor, patch))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The platform cargo builds for here, e.g. `x86_64-unknown-linux-gnu`.
fn host() -> String {
    let out = Command::new(cargo())
        .arg("-vV")
        .output()
        .expect("run cargo -vV");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or_else(|| panic!("no host in `cargo -vV`: {text}"))
        .to_owned()
}

#[test]
fn no_dependency_needs_a_newer_rust_than_rust_version() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--all-features",
        ])
        .args(["--filter-platform", &host()])
        .current_dir(root)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let rust_version = |p: &Value| p["rust_version"].as_str().map(str::to_owned);
    let ours = packages
        .iter()
        .find(|p| p["name"] == "lookout")
        .and_then(rust_version)
        .expect("the lookout crate has a rust-version");
    let ours_v = version(&ours).unwrap_or_else(|| panic!("rust-version {ours:?}"));
    // The packages the build can use on this platform, dev-dependencies included.
    let resolved: Vec<&str> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    let mut too_new = Vec::new();
    let mut checked = 0;
    for p in packages {
        let id = p["id"].as_str().unwrap_or_default();
        let name = p["name"].as_str().unwrap_or_default();
        if members.contains(&id) {
            assert_eq!(
                rust_version(p).as_deref(),
                Some(ours.as_str()),
                "{name}: write `rust-version.workspace = true` in its Cargo.toml"
            );
            continue;
        }
        if !resolved.contains(&id) {
            continue;
        }
        checked += 1;
        if let Some(theirs) = rust_version(p)
            && version(&theirs).is_some_and(|v| v > ours_v)
        {
            too_new.push(format!(
                "{name} {} needs Rust {theirs}",
                p["version"].as_str().unwrap_or("?")
            ));
        }
    }
    // A resolve that lost its dependencies would pass vacuously.
    assert!(checked > 100, "only {checked} dependencies resolved");
    assert!(
        too_new.is_empty(),
        "rust-version is {ours} in Cargo.toml, but:\n  {}\nraise [workspace.package] rust-version (and the README's \
         \"1.xx or newer\"), or keep the older versions of these crates (`cargo update -p NAME --precise VERSION`)",
        too_new.join("\n  ")
    );
}

#[test]
fn versions_are_compared_as_numbers() {
    assert_eq!(version("1.89"), Some((1, 89, 0)));
    assert_eq!(version("1.89.0"), Some((1, 89, 0)));
    assert!(version("1.100").unwrap() > version("1.89.1").unwrap());
    assert_eq!(version("1.x"), None);
    assert_eq!(version("1.89.0.1"), None);
}
