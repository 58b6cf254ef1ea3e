//! The `regentra catalog` contract, exactly as documented: JSON shapes for
//! scripts, tables for people, one clear line and a non-zero exit on bad
//! arguments.

use crate::support::process::run as regentra;

use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let out = regentra(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

#[test]
fn frameworks_lists_key_name_version_and_assessable_count() {
    let v = json(&["catalog", "frameworks", "--json"]);
    let rows = v.as_array().expect("array");
    assert_eq!(rows.len(), 8);
    assert_eq!(keys(&rows[0]), ["key", "name", "requirements", "version"]);
    let count =
        |key: &str| rows.iter().find(|r| r["key"] == key).expect(key)["requirements"].as_u64();
    assert_eq!(count("nist-csf"), Some(106));
    assert_eq!(count("pci-dss"), Some(280));
    assert_eq!(count("gdpr"), Some(40));
    assert_eq!(count("hipaa"), Some(82));
    assert_eq!(count("soc2"), Some(61));
    assert_eq!(count("cmmc"), Some(125));
}

#[test]
fn requirements_lists_the_tree_in_catalog_order() {
    let v = json(&["catalog", "requirements", "nist-csf", "--json"]);
    let rows = v.as_array().expect("array");
    assert_eq!(keys(&rows[0]), ["assessable", "id", "parent", "title"]);
    assert_eq!(rows[0]["id"], "GV");
    assert_eq!(rows[0]["parent"], Value::Null);
    assert_eq!(rows[1]["id"], "GV.OC");
    assert_eq!(rows[1]["parent"], "GV");
    assert_eq!(rows[2]["id"], "GV.OC-01");
    assert_eq!(rows[2]["assessable"], true);
    assert_eq!(rows.iter().filter(|r| r["assessable"] == true).count(), 106);
}

#[test]
fn controls_lists_each_control_with_its_requirements() {
    let v = json(&["catalog", "controls", "--json"]);
    let rows = v.as_array().expect("array");
    assert_eq!(keys(&rows[0]), ["domain", "key", "requirements", "title"]);
    let mfa = rows.iter().find(|r| r["key"] == "IA-01").expect("IA-01");
    let reqs = mfa["requirements"].as_array().expect("array");
    assert_eq!(keys(&reqs[0]), ["framework", "id"]);
    let frameworks: std::collections::BTreeSet<&str> = reqs
        .iter()
        .filter_map(|r| r["framework"].as_str())
        .collect();
    assert!(frameworks.len() >= 4, "MFA is shared: {frameworks:?}");
}

#[test]
fn lookup_resolves_aliases_of_other_editions() {
    let out = regentra(&["catalog", "lookup", "nist-csf", "PR.AC-1"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PR.AA-01") && text.contains("PR.AA-05"),
        "{text}"
    );

    let v = json(&["catalog", "lookup", "iso27001", "5.15", "--json"]);
    assert_eq!(v["kind"], "requirement");
    assert_eq!(v["requirements"][0]["id"], "A.5.15");

    let v = json(&["catalog", "lookup", "iso27001", "A.9.2.1", "--json"]);
    assert_eq!(v["kind"], "alias");
    assert_eq!(v["requirements"][0]["id"], "A.5.16");
}

#[test]
fn tables_without_json() {
    let out = regentra(&["catalog", "frameworks"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().expect("a header");
    assert!(
        header.starts_with("key") && header.contains("requirements"),
        "{header}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("pci-dss") && l.trim_end().ends_with("280")),
        "{text}"
    );
}

#[test]
fn bad_arguments_exit_non_zero_with_one_clear_line() {
    for (args, expected) in [
        (
            vec!["catalog", "requirements", "sox"],
            "unknown framework `sox`",
        ),
        (
            vec!["catalog", "lookup", "hipaa", "999.999"],
            "no requirement or alias `999.999` in hipaa",
        ),
        (
            vec!["catalog", "lookup", "nist", "PR.AC-1"],
            "unknown framework `nist`",
        ),
    ] {
        let out = regentra(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    let out = regentra(&["catalog", "lookup", "hipaa"]);
    assert!(!out.status.success(), "a missing argument is refused");
}
