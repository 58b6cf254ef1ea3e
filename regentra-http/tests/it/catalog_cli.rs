//! The `regentra catalog` contract, exactly as documented: JSON shapes for
//! scripts, tables for people, one clear line and a non-zero exit on bad
//! arguments.

use crate::support::process::{run as regentra, run_into_closed_pipe};

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
    assert_eq!(count("hipaa"), Some(81));
    assert_eq!(count("soc2"), Some(61));
    assert_eq!(count("cmmc"), Some(125));
}

#[test]
fn requirements_lists_the_tree_in_catalog_order() {
    let v = json(&["catalog", "requirements", "nist-csf", "--json"]);
    let rows = v.as_array().expect("array");
    assert_eq!(
        keys(&rows[0]),
        ["assessable", "controls", "id", "parent", "title"]
    );
    assert_eq!(rows[0]["id"], "GV");
    assert_eq!(rows[0]["parent"], Value::Null);
    assert_eq!(rows[0]["controls"], serde_json::json!([]), "a section");
    assert_eq!(rows[1]["id"], "GV.OC");
    assert_eq!(rows[1]["parent"], "GV");
    assert_eq!(rows[2]["id"], "GV.OC-01");
    assert_eq!(rows[2]["assessable"], true);
    assert_eq!(rows.iter().filter(|r| r["assessable"] == true).count(), 106);
    for r in rows.iter().filter(|r| r["assessable"] == true) {
        let controls = r["controls"].as_array().expect("controls");
        assert!(!controls.is_empty(), "{r}");
        for c in controls {
            assert_eq!(keys(c), ["key", "title"]);
            assert!(!c["title"].as_str().unwrap_or("").is_empty(), "{c}");
        }
    }
}

#[test]
fn requirements_table_shows_each_control_with_its_title() {
    let out = regentra(&["catalog", "requirements", "iso27001"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().next().unwrap_or("").contains("controls"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("A.8.1 "))
        .expect("A.8.1 is listed");
    // CR-01 is "Encryption at rest".
    assert!(row.contains("CR-01 Encryption at rest"), "{row}");
    // Long titles are cut short rather than widening the table without end.
    let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(
        text.contains('…') && longest < 400,
        "longest line {longest}"
    );
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
fn lookup_lists_both_readings_of_an_ambiguous_id() {
    // ISO/IEC 27001 clause 8.1, and Annex A control A.8.1 written without
    // its optional prefix.
    let v = json(&["catalog", "lookup", "iso27001", "8.1", "--json"]);
    assert_eq!(v["kind"], "ambiguous");
    let ids: Vec<&str> = v["requirements"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["8.1", "A.8.1"]);

    let out = regentra(&["catalog", "lookup", "iso27001", "8.1"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ambiguous"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("8.1 ") && l.contains("Operational planning")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("A.8.1 ") && l.contains("User end point devices")),
        "{text}"
    );

    for spelled in ["A.8.1", "a.8.1"] {
        let v = json(&["catalog", "lookup", "iso27001", spelled, "--json"]);
        assert_eq!(v["kind"], "requirement", "{spelled}");
        assert_eq!(v["requirements"][0]["id"], "A.8.1");
    }
}

#[test]
fn lookup_finds_cmmc_requirements_by_their_nist_sp_800_171_number() {
    let v = json(&["catalog", "lookup", "cmmc", "3.1.3", "--json"]);
    assert_eq!(v["kind"], "requirement");
    assert_eq!(v["requirements"][0]["id"], "AC.L2-3.1.3");

    // 3.1.1 is a Level 1 practice's number as well as a Level 2 requirement's.
    let v = json(&["catalog", "lookup", "cmmc", "3.1.1", "--json"]);
    assert_eq!(v["kind"], "ambiguous");
    let ids: Vec<&str> = v["requirements"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["AC.L1-b.1.i", "AC.L2-3.1.1"]);
}

#[test]
fn lookup_shows_the_controls_with_their_titles() {
    let v = json(&["catalog", "lookup", "iso27001", "A.8.1", "--json"]);
    let controls = v["requirements"][0]["controls"].as_array().expect("array");
    assert!(
        controls
            .iter()
            .any(|c| c["key"] == "CR-01" && c["title"] == "Encryption at rest"),
        "{v}"
    );
    let out = regentra(&["catalog", "lookup", "iso27001", "A.8.1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("CR-01") && l.contains("Encryption at rest")),
        "{text}"
    );
}

#[test]
fn framework_keys_are_taken_in_common_spellings() {
    for (typed, key, id) in [
        ("ISO27001", "iso27001", "A.5.15"),
        ("iso-27001", "iso27001", "A.5.15"),
        ("SOC2", "soc2", "CC1.1"),
        ("soc-2", "soc2", "CC1.1"),
        ("NIST-CSF", "nist-csf", "GV.OC-01"),
        ("csf", "nist-csf", "GV.OC-01"),
        ("pci", "pci-dss", "1.1.1"),
        ("ftc_safeguards", "ftc-safeguards", "314.4(a)"),
        ("HIPAA", "hipaa", "164.308(a)(1)"),
    ] {
        let v = json(&["catalog", "lookup", typed, id, "--json"]);
        assert_eq!(v["framework"], key, "{typed}");
        assert_eq!(v["requirements"][0]["id"], id, "{typed}");
    }
    let out = regentra(&["catalog", "requirements", "soc-2", "--json"]);
    assert!(out.status.success());
}

#[test]
fn a_closed_output_pipe_ends_quietly() {
    // Every command's output goes through the same writer; the largest
    // ones and a short one.
    for args in [
        vec!["catalog", "controls", "--json"],
        vec!["catalog", "requirements", "pci-dss"],
        vec!["catalog", "frameworks"],
        vec!["roles"],
        vec!["--help"],
    ] {
        let out = run_into_closed_pipe(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?} said: {stderr}");
    }
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
            "unknown framework `nist`; expected one of hipaa, soc2, nist-csf, iso27001",
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
