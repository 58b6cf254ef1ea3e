//! The corrections of the November 2026 review against authoritative
//! sources (eCFR, ISO/IEC 27002:2022 Annex B, NIST's CSF 1.1 to 2.0
//! mapping), pinned so that a later edit of the data cannot undo them.

use super::*;

fn framework(key: &str) -> &'static Framework {
    Catalog::builtin()
        .framework(key)
        .unwrap_or_else(|| panic!("{key} is built in"))
}

fn requirement(key: &str, id: &str) -> &'static Requirement {
    framework(key)
        .requirement(id)
        .unwrap_or_else(|| panic!("{key} {id}"))
}

fn controls(key: &str, id: &str) -> Vec<&'static str> {
    requirement(key, id)
        .controls
        .iter()
        .map(String::as_str)
        .collect()
}

fn alias_targets(key: &str, id: &str) -> Vec<&'static str> {
    match framework(key).lookup(id) {
        Some(Lookup::Alias { targets, .. }) => targets.iter().map(|r| r.id.as_str()).collect(),
        other => panic!("{key} {id} is not an alias: {other:?}"),
    }
}

#[test]
fn iso27001_carries_amendment_1_on_climate_change() {
    let iso = framework("iso27001");
    assert_eq!(iso.version, "2022 + Amd 1:2024");
    let climate = requirement("iso27001", "4.1 Amd 1");
    assert!(climate.assessable);
    assert_eq!(climate.parent.as_deref(), Some("4.1"));
    assert!(climate.description.contains("climate change"));
    assert!(climate.controls.contains(&"GV-10".to_owned()));
    assert!(
        requirement("iso27001", "4.2")
            .description
            .contains("climate-related")
    );
}

#[test]
fn iso27001_titles_and_the_a_18_2_3_alias_follow_the_standard() {
    assert_eq!(requirement("iso27001", "8").title, "Operation");
    assert_eq!(
        requirement("iso27001", "A.8.1").title,
        "User end point devices"
    );
    assert_eq!(
        requirement("iso27001", "6.1.2").title,
        "Information security risk assessment"
    );
    assert_eq!(
        alias_targets("iso27001", "A.18.2.3"),
        ["A.5.36", "A.8.8"],
        "ISO/IEC 27002:2022 Annex B"
    );
    for old in ["A.13.2.1", "A.13.2.2", "A.13.2.3"] {
        assert_eq!(alias_targets("iso27001", old), ["A.5.14"], "{old}");
    }
}

#[test]
fn every_csf_1_1_identifier_resolves_or_says_it_was_withdrawn() {
    assert_eq!(alias_targets("nist-csf", "DE.DP-2"), ["DE.AE"]);
    match framework("nist-csf").lookup("RC.CO-2") {
        Some(Lookup::Alias { alias, targets }) => {
            assert!(alias.withdrawn && targets.is_empty());
            assert!(alias.note.contains("withdrawn"));
        }
        other => panic!("RC.CO-2: {other:?}"),
    }
    // The 23 categories of CSF 1.1: the ones 2.0 kept are its own
    // categories, the others are aliases of what they became.
    let categories = [
        "ID.AM", "ID.BE", "ID.GV", "ID.RA", "ID.RM", "ID.SC", "PR.AC", "PR.AT", "PR.DS", "PR.IP",
        "PR.MA", "PR.PT", "DE.AE", "DE.CM", "DE.DP", "RS.RP", "RS.CO", "RS.AN", "RS.MI", "RS.IM",
        "RC.RP", "RC.IM", "RC.CO",
    ];
    let csf = framework("nist-csf");
    for id in categories {
        match csf.lookup(id) {
            Some(Lookup::Requirement(r)) => assert!(!r.assessable, "{id} is a category"),
            Some(Lookup::Alias { targets, .. }) => {
                assert!(!targets.is_empty(), "{id}");
                assert!(
                    targets.iter().all(|t| !t.assessable),
                    "{id} became categories"
                );
            }
            Some(Lookup::Ambiguous(found)) => panic!("{id} is ambiguous: {found:?}"),
            None => panic!("{id} does not resolve"),
        }
    }
    assert_eq!(alias_targets("nist-csf", "PR.AC"), ["PR.AA"]);
    assert_eq!(alias_targets("nist-csf", "RS.RP"), ["RS.MA"]);
}

#[test]
fn pci_dss_flags_every_requirement_for_service_providers_only() {
    let flagged: Vec<&str> = framework("pci-dss")
        .assessable()
        .filter(|r| r.attributes.get("applies_to").map(String::as_str) == Some("service_providers"))
        .map(|r| r.id.as_str())
        .collect();
    let expected = [
        "3.6.1.1", "8.3.10", "8.3.10.1", "10.7.1", "11.4.6", "11.4.7", "11.5.1.1", "12.4.2",
        "12.4.2.1", "12.5.2.1", "12.5.3", "12.9.1", "12.9.2", "A1.1.1", "A1.1.2", "A1.1.3",
        "A1.1.4", "A1.2.1", "A1.2.2", "A1.2.3",
    ];
    assert_eq!(flagged, expected);
}

#[test]
fn ftc_safeguards_gives_each_duty_its_own_item() {
    let designate = requirement("ftc-safeguards", "314.4(a)");
    assert!(designate.assessable, "designating a Qualified Individual");
    assert!(designate.controls.contains(&"GV-02".to_owned()));
    let retain = requirement("ftc-safeguards", "314.4(a)(1)");
    assert!(
        retain
            .description
            .starts_with("When the Qualified Individual")
    );
    let notify = requirement("ftc-safeguards", "314.4(j)(1)");
    assert!(notify.assessable, "notifying the FTC within 30 days");
    assert!(notify.description.contains("30 days"));
    assert!(
        !requirement("ftc-safeguards", "314.4(j)(1)(i)")
            .description
            .contains("30 days"),
        "(j)(1)(i) is only the notice's name and contact details"
    );
}

#[test]
fn weak_mappings_are_corrected() {
    assert!(!controls("soc2", "PI1.4").contains(&"AC-01"));
    assert!(!controls("iso27001", "A.8.34").contains(&"AC-01"));
    assert!(!controls("soc2", "PI1.3").contains(&"LM-01"));
    assert!(!controls("pci-dss", "11.6.1").contains(&"SD-02"));
    assert!(controls("soc2", "CC8.1").contains(&"SD-02"));
    assert!(!controls("pci-dss", "5.4.1").contains(&"AT-01"));
    assert!(controls("pci-dss", "5.4.1").contains(&"NS-04"));
    assert!(!controls("gdpr", "Art. 26").contains(&"GV-12"));
    assert!(!controls("pci-dss", "A3.2.3").contains(&"GV-12"));
    assert!(!controls("cmmc", "SC.L2-3.13.13").contains(&"NS-04"));
    assert!(controls("cmmc", "SC.L2-3.13.13").contains(&"CM-04"));
}

#[test]
fn hipaa_group_health_plan_exemption_is_not_assessed() {
    let exemption = requirement("hipaa", "164.530(k)");
    assert!(!exemption.assessable);
    assert!(exemption.controls.is_empty());
    assert!(exemption.description.contains("exemption"));
}
