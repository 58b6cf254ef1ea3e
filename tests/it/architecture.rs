//! The architecture invariants that are about dependencies, checked from
//! `cargo metadata` so that a new dependency that breaks one fails CI.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// The host's target triple: the graph is resolved for the platform we build
/// on (crates for other platforms are never downloaded here).
fn host() -> String {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn metadata() -> Value {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--offline",
            "--filter-platform",
        ])
        .arg(host())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("metadata is JSON")
}

/// Package name by package id, and the normal (non-dev, non-build)
/// dependencies of each package, from the resolved graph.
fn normal_graph(meta: &Value) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let names = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                p["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    let edges = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()))
                })
                .map(|d| d["pkg"].as_str().expect("pkg").to_owned())
                .collect();
            (node["id"].as_str().expect("id").to_owned(), deps)
        })
        .collect();
    (names, edges)
}

/// Every crate `package` depends on at run time, transitively.
fn closure(meta: &Value, package: &str) -> BTreeSet<String> {
    let (names, edges) = normal_graph(meta);
    let root = names
        .iter()
        .find(|(_, name)| name.as_str() == package)
        .map(|(id, _)| id.clone())
        .expect("package in workspace");
    let mut seen = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        for dep in edges.get(&id).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen.into_iter().map(|id| names[&id].clone()).collect()
}

#[test]
fn the_core_depends_on_no_storage_http_or_runtime_crate() {
    let deps = closure(&metadata(), "regentra-core");
    let forbidden = [
        "sqlx",
        "sqlx-core",
        "redb",
        "axum",
        "hyper",
        "tower",
        "tower-http",
        "tokio",
        "reqwest",
        "async-std",
        "regentra-store-embedded",
        "regentra-store-postgres",
        "regentra-http",
    ];
    let found: Vec<&str> = forbidden
        .iter()
        .copied()
        .filter(|f| deps.contains(*f))
        .collect();
    assert!(
        found.is_empty(),
        "regentra-core (all features) pulls in {found:?}"
    );
}

#[test]
fn adapters_depend_on_the_core_and_never_on_each_other() {
    let meta = metadata();
    for (adapter, other) in [
        ("regentra-store-embedded", "regentra-store-postgres"),
        ("regentra-store-postgres", "regentra-store-embedded"),
    ] {
        let deps = closure(&meta, adapter);
        assert!(
            deps.contains("regentra-core"),
            "{adapter} implements the core's contract"
        );
        assert!(!deps.contains(other), "{adapter} depends on {other}");
        assert!(
            !deps.contains("regentra-http"),
            "{adapter} depends on the HTTP crate"
        );
    }
    let http = closure(&meta, "regentra-http");
    for needed in [
        "regentra-core",
        "regentra-store-embedded",
        "regentra-store-postgres",
    ] {
        assert!(
            http.contains(needed),
            "regentra-http serves every store ({needed} missing)"
        );
    }
}

#[test]
fn no_unmaintained_crates() {
    let meta = metadata();
    let everything: BTreeSet<String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect();
    for banned in ["bincode", "serde_yaml", "failure", "chrono-humanize"] {
        assert!(!everything.contains(banned), "{banned} is unmaintained");
    }
}
