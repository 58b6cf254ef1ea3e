//! The built-in catalogs, pinned: every framework complete with its official
//! identifiers, every requirement mapped, every control used.

use std::collections::BTreeSet;

use super::*;

fn builtin() -> &'static Catalog {
    Catalog::builtin()
}

fn framework(key: &str) -> &'static Framework {
    builtin()
        .framework(key)
        .unwrap_or_else(|| panic!("{key} is built in"))
}

fn assessable_ids(key: &str) -> Vec<&'static str> {
    framework(key).assessable().map(|r| r.id.as_str()).collect()
}

fn with_attribute(key: &str, name: &str, value: &str) -> usize {
    framework(key)
        .requirements
        .iter()
        .filter(|r| r.attributes.get(name).map(String::as_str) == Some(value))
        .count()
}

fn top_level(key: &str) -> Vec<&'static str> {
    framework(key)
        .children(None)
        .map(|r| r.id.as_str())
        .collect()
}

fn resolves_to(key: &str, id: &str) -> Vec<&'static str> {
    match framework(key).lookup(id) {
        Some(Lookup::Requirement(r)) => vec![r.id.as_str()],
        Some(Lookup::Alias { targets, .. }) => targets.iter().map(|r| r.id.as_str()).collect(),
        Some(Lookup::Ambiguous(found)) => panic!("{key} {id} is ambiguous: {found:?}"),
        None => vec![],
    }
}

/// The candidates of an ambiguous lookup, or `None` when it is not one.
fn candidates(key: &str, id: &str) -> Option<Vec<&'static str>> {
    match framework(key).lookup(id) {
        Some(Lookup::Ambiguous(found)) => Some(found.iter().map(|r| r.id.as_str()).collect()),
        _ => None,
    }
}

#[test]
fn the_data_files_load_and_validate() {
    // `Catalog::builtin` panics on invalid data; `load` says which file.
    if let Err(problem) = builtin::load() {
        panic!("{problem}");
    }
    let keys: Vec<&str> = builtin()
        .frameworks()
        .iter()
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "hipaa",
            "soc2",
            "nist-csf",
            "iso27001",
            "cmmc",
            "pci-dss",
            "gdpr",
            "ftc-safeguards"
        ]
    );
    for f in builtin().frameworks() {
        assert!(
            !f.name.is_empty() && !f.version.is_empty() && !f.description.is_empty(),
            "{}",
            f.key
        );
    }
}

#[test]
fn hipaa_has_the_security_rule_breach_notification_and_privacy_administration() {
    assert_eq!(with_attribute("hipaa", "type", "standard"), 22);
    assert_eq!(
        with_attribute("hipaa", "type", "implementation_specification"),
        43
    );
    let required = with_attribute("hipaa", "specification", "required");
    let addressable = with_attribute("hipaa", "specification", "addressable");
    assert_eq!(
        required + addressable,
        43,
        "each specification is required or addressable"
    );
    assert!(required > 0 && addressable > 0);
    let ids = assessable_ids("hipaa");
    for section in [
        "164.404", "164.406", "164.408", "164.410", "164.412", "164.414",
    ] {
        assert!(ids.contains(&section), "breach notification {section}");
    }
    // 164.530(k) is the group health plans' exemption, not a requirement.
    for letter in 'a'..='j' {
        let id = format!("164.530({letter})");
        assert!(ids.contains(&id.as_str()), "privacy administration {id}");
    }
    assert_eq!(ids.len(), 22 + 43 + 6 + 10);
    let risk_analysis = framework("hipaa")
        .requirement("164.308(a)(1)(ii)(A)")
        .expect("risk analysis");
    assert_eq!(risk_analysis.attributes["specification"], "required");
}

#[test]
fn soc2_has_the_61_trust_services_criteria() {
    let ids = assessable_ids("soc2");
    assert_eq!(ids.len(), 61);
    let count = |prefix: &str| ids.iter().filter(|id| id.starts_with(prefix)).count();
    assert_eq!(count("CC"), 33);
    assert_eq!(count("A1."), 3);
    assert_eq!(count("C1."), 2);
    assert_eq!(count("PI1."), 5);
    assert_eq!(count("P") - count("PI"), 18);
    assert!(ids.contains(&"CC1.1") && ids.contains(&"CC9.2") && ids.contains(&"P8.1"));
}

#[test]
fn nist_csf_is_2_0_with_1_1_ids_as_aliases() {
    let f = framework("nist-csf");
    assert_eq!(top_level("nist-csf"), ["GV", "ID", "PR", "DE", "RS", "RC"]);
    let categories = f
        .requirements
        .iter()
        .filter(|r| r.parent.as_deref().is_some_and(|p| p.len() == 2))
        .count();
    assert_eq!(categories, 22);
    let ids = assessable_ids("nist-csf");
    assert_eq!(ids.len(), 106);
    assert!(
        ids.iter()
            .all(|id| id.len() == 8 && id.as_bytes()[5] == b'-'),
        "GV.OC-01 form"
    );
    assert_eq!(resolves_to("nist-csf", "PR.AC-1"), ["PR.AA-01", "PR.AA-05"]);
    assert!(
        f.requirement("PR.AC-1").is_none(),
        "1.1 ids are not 2.0 requirements"
    );
    assert!(f.aliases.len() >= 100, "the 1.1 subcategories resolve");
}

#[test]
fn iso27001_has_clauses_and_the_93_annex_a_controls() {
    let ids = assessable_ids("iso27001");
    let annex = |theme: &str| ids.iter().filter(|id| id.starts_with(theme)).count();
    assert_eq!(annex("A.5."), 37);
    assert_eq!(annex("A.6."), 8);
    assert_eq!(annex("A.7."), 14);
    assert_eq!(annex("A.8."), 34);
    for clause in ["4.1", "5.1", "6.1.2", "7.5.1", "8.1", "9.2.2", "10.2"] {
        assert!(ids.contains(&clause), "clause {clause}");
    }
    assert_eq!(resolves_to("iso27001", "A.5.15"), ["A.5.15"]);
    assert_eq!(
        resolves_to("iso27001", "5.15"),
        ["A.5.15"],
        "the short form is accepted"
    );
    let successor = resolves_to("iso27001", "A.9.2.1");
    assert!(!successor.is_empty() && successor.iter().all(|id| id.starts_with("A.")));
}

#[test]
fn cmmc_has_level_1_and_the_110_level_2_requirements() {
    let ids = assessable_ids("cmmc");
    let l1: Vec<_> = ids.iter().filter(|id| id.contains(".L1-")).collect();
    let l2: Vec<_> = ids.iter().filter(|id| id.contains(".L2-")).collect();
    assert_eq!(l1.len(), 15);
    assert_eq!(l2.len(), 110);
    assert_eq!(*l1[0], "AC.L1-b.1.i");
    assert!(ids.contains(&"SI.L1-b.1.xv"));
    assert!(ids.contains(&"AC.L2-3.1.1") && ids.contains(&"SI.L2-3.14.7"));
    let families: BTreeSet<&str> = l2.iter().map(|id| &id[..2]).collect();
    assert_eq!(families.len(), 14);
    assert_eq!(with_attribute("cmmc", "level", "L1"), 15);
    assert_eq!(with_attribute("cmmc", "level", "L2"), 110);
}

#[test]
fn pci_dss_has_12_principal_requirements_and_280_assessable() {
    let top: Vec<&str> = top_level("pci-dss");
    for n in 1..=12 {
        assert!(
            top.contains(&n.to_string().as_str()),
            "principal requirement {n}"
        );
    }
    let ids = assessable_ids("pci-dss");
    assert_eq!(ids.len(), 280);
    let appendix = ids.iter().filter(|id| id.starts_with('A')).count();
    assert_eq!(appendix, 30);
    assert_eq!(ids.len() - appendix, 250);
}

#[test]
fn gdpr_has_99_articles_and_the_40_controllable_ones_are_assessable() {
    let f = framework("gdpr");
    let articles = f
        .requirements
        .iter()
        .filter(|r| r.id.starts_with("Art. "))
        .count();
    assert_eq!(articles, 99);
    assert_eq!(top_level("gdpr").len(), 11, "11 chapters");
    assert!(
        top_level("gdpr")
            .iter()
            .all(|id| id.starts_with("Chapter "))
    );
    let expected: Vec<String> = (5..=22)
        .chain(24..=39)
        .chain(44..=49)
        .map(|n| format!("Art. {n}"))
        .collect();
    assert_eq!(assessable_ids("gdpr"), expected);
}

#[test]
fn ftc_safeguards_has_elements_a_to_j() {
    let f = framework("ftc-safeguards");
    for letter in 'a'..='j' {
        let id = format!("314.4({letter})");
        assert!(f.requirement(&id).is_some(), "{id}");
    }
    assert!(assessable_ids("ftc-safeguards").len() >= 10);
}

#[test]
fn every_requirement_is_mapped_and_every_control_used() {
    let c = builtin();
    for f in c.frameworks() {
        for r in f.assessable() {
            assert!(!r.controls.is_empty(), "{} {} is unmapped", f.key, r.id);
        }
    }
    for control in c.controls() {
        assert!(
            !c.requirements_of(&control.key).is_empty(),
            "{} maps to no requirement",
            control.key
        );
    }
    // The derived index is the exact inverse of the mappings.
    let mapped: usize = c
        .frameworks()
        .iter()
        .flat_map(|f| f.assessable())
        .map(|r| r.controls.len())
        .sum();
    let indexed: usize = c
        .controls()
        .iter()
        .map(|k| c.requirements_of(&k.key).len())
        .sum();
    assert_eq!(mapped, indexed);
}

#[test]
fn the_real_overlaps_are_shared_controls() {
    // Topics every security framework asks for land on the same control.
    let c = builtin();
    let frameworks_of = |control: &str| -> BTreeSet<&str> {
        c.requirements_of(control)
            .iter()
            .map(|r| r.framework.as_str())
            .collect()
    };
    for control in [
        "RM-01", "IA-01", "CR-01", "LM-01", "IR-01", "AT-01", "BC-01", "VR-01", "AM-01", "CH-01",
        "AC-02",
    ] {
        let fs = frameworks_of(control);
        assert!(fs.len() >= 4, "{control} is shared by only {fs:?}");
    }
}

#[test]
fn consolidation_for_all_eight_frameworks() {
    let c = builtin();
    let keys: Vec<&str> = c.frameworks().iter().map(|f| f.key.as_str()).collect();
    let all = c.consolidation(&keys);
    let total: usize = c.frameworks().iter().map(|f| f.assessable().count()).sum();
    assert_eq!(all.requirements, total);
    assert!(all.controls <= c.controls().len());
    assert!(all.requirements_per_control > 5.0, "{all:?}");
    insta::assert_json_snapshot!("consolidation_all_frameworks", all);
}

// Descriptions are written in the project's own words. The published text of
// each framework is not kept here (PCI SSC, AICPA and ISO text is
// copyrighted); `catalogs/fingerprints/<key>.fp` holds only one-way keys of
// its 8-word shingles, in the format `catalogs/README.md` describes.

const FINGERPRINTS: [(&str, &[u8]); 8] = [
    (
        "hipaa",
        include_bytes!("../../catalogs/fingerprints/hipaa.fp"),
    ),
    (
        "soc2",
        include_bytes!("../../catalogs/fingerprints/soc2.fp"),
    ),
    (
        "nist-csf",
        include_bytes!("../../catalogs/fingerprints/nist-csf.fp"),
    ),
    (
        "iso27001",
        include_bytes!("../../catalogs/fingerprints/iso27001.fp"),
    ),
    (
        "cmmc",
        include_bytes!("../../catalogs/fingerprints/cmmc.fp"),
    ),
    (
        "pci-dss",
        include_bytes!("../../catalogs/fingerprints/pci-dss.fp"),
    ),
    (
        "gdpr",
        include_bytes!("../../catalogs/fingerprints/gdpr.fp"),
    ),
    (
        "ftc-safeguards",
        include_bytes!("../../catalogs/fingerprints/ftc-safeguards.fp"),
    ),
];

/// Eight words in a row is more than two texts share by chance or through a
/// term of art ("cardholder data environment", "reasonable and appropriate"),
/// and less than a copied clause.
const SHINGLE_WORDS: usize = 8;

/// The text's words: maximal runs of ASCII letters and digits, lowercased.
/// Punctuation, quotes and bullets are separators, so a copy cannot hide
/// behind them.
fn shingle_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// FNV-1a 64 of the shingle, folded to 32 bits: a stable hash the generator
/// computes the same way, and 32 bits keep the files small while a chance
/// match stays around one in a million per shingle checked.
fn shingle_key(shingle: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in shingle.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((hash >> 32) as u32) ^ (hash as u32)
}

fn shingles(text: &str) -> Vec<String> {
    shingle_words(text)
        .windows(SHINGLE_WORDS)
        .map(|w| w.join(" "))
        .collect()
}

/// `RFP1`, then LEB128 varints: the count, then the keys in ascending order
/// as gaps from the previous one.
fn decode_fingerprint(bytes: &[u8]) -> Result<Vec<u32>, String> {
    fn varint(bytes: &mut std::slice::Iter<'_, u8>) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..=35).step_by(7) {
            let byte = *bytes.next().ok_or("truncated")?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 5 bytes".into())
    }
    let mut rest = bytes.strip_prefix(b"RFP1").ok_or("no RFP1 header")?.iter();
    let count = varint(&mut rest)?;
    let mut keys = Vec::new();
    let mut key = 0u64;
    for i in 0..count {
        let gap = varint(&mut rest)?;
        if i > 0 && gap == 0 {
            return Err(format!("key {i} repeats the previous one"));
        }
        key += gap;
        keys.push(u32::try_from(key).map_err(|_| format!("key {i} exceeds 32 bits"))?);
    }
    if rest.next().is_some() {
        return Err("bytes after the last key".into());
    }
    Ok(keys)
}

fn fingerprint(key: &str) -> Vec<u32> {
    let (_, bytes) = FINGERPRINTS
        .iter()
        .find(|(k, _)| *k == key)
        .unwrap_or_else(|| panic!("no fingerprint for {key}"));
    decode_fingerprint(bytes).unwrap_or_else(|e| panic!("fingerprints/{key}.fp: {e}"))
}

/// The shingles of `text` whose key is in `keys` (sorted).
fn copied_runs(text: &str, keys: &[u32]) -> Vec<String> {
    shingles(text)
        .into_iter()
        .filter(|s| keys.binary_search(&shingle_key(s)).is_ok())
        .collect()
}

#[test]
fn no_description_shares_eight_words_in_a_row_with_the_published_text() {
    let mut copies = Vec::new();
    for f in builtin().frameworks() {
        let keys = fingerprint(&f.key);
        for r in &f.requirements {
            for run in copied_runs(&r.description, &keys) {
                copies.push(format!("{} {}: \"{run}\"", f.key, r.id));
            }
        }
    }
    assert!(
        copies.is_empty(),
        "descriptions repeating the framework's own wording; rewrite them:\n{}",
        copies.join("\n")
    );
}

#[test]
fn every_framework_has_a_fingerprint_of_its_published_text() {
    let keys: Vec<&str> = builtin()
        .frameworks()
        .iter()
        .map(|f| f.key.as_str())
        .collect();
    let fingerprinted: Vec<&str> = FINGERPRINTS.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, fingerprinted);
    for key in keys {
        // A few hundred shingles even for the shortest statement sets; an
        // empty or truncated file would make the check above vacuous.
        assert!(fingerprint(key).len() > 500, "{key}");
    }
    // The heading of 45 CFR 164.312(c)(2) (hipaa.json's title for it) runs
    // straight into its status in the rule's text. Finding it shows that the
    // generator and this test split words and hash them alike.
    let heading =
        "Mechanism to authenticate electronic protected health information (Addressable).";
    assert_eq!(copied_runs(heading, &fingerprint("hipaa")).len(), 1);
}

#[test]
fn the_shingle_check_ignores_case_and_punctuation_but_not_a_shorter_run() {
    let ours =
        "Keep a current register of every third-party service provider that receives account data.";
    let keys = {
        let mut k: Vec<u32> = shingles(ours).iter().map(|s| shingle_key(s)).collect();
        k.sort_unstable();
        k
    };
    assert_eq!(
        copied_runs(
            "We KEEP a current register of every third-party, quarterly.",
            &keys
        ),
        ["keep a current register of every third party"]
    );
    assert!(copied_runs("A current register of every third-party vendor.", &keys).is_empty());
    assert_eq!(
        shingle_key(""),
        0xcbf2_9ce4 ^ 0x8422_2325,
        "FNV-1a offset basis"
    );
}

#[test]
fn iso27001_ids_shared_by_a_clause_and_annex_a_are_ambiguous_without_the_prefix() {
    let f = framework("iso27001");
    // Computed from the data: an id that is also an id once `A.` is put
    // in front of it.
    let shared: Vec<&str> = f
        .requirements
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| f.requirement(&format!("A.{id}")).is_some())
        .collect();
    // The clause headings 5-8 and the Annex A themes A.5-A.8 share their
    // numbers too.
    let (headings, numbered): (Vec<&str>, Vec<&str>) =
        shared.iter().partition(|id| !id.contains('.'));
    assert_eq!(headings, ["5", "6", "7", "8"]);
    assert_eq!(
        numbered,
        [
            "5.1", "5.2", "5.3", "6.1", "6.2", "6.3", "7.1", "7.2", "7.3", "7.4", "7.5", "8.1",
            "8.2", "8.3"
        ]
    );
    for id in &shared {
        let prefixed = format!("A.{id}");
        assert_eq!(
            candidates("iso27001", id),
            Some(vec![*id, prefixed.as_str()]),
            "{id} names clause {id} and {prefixed}: neither is picked"
        );
    }
    assert_eq!(candidates("iso27001", " 8.1 "), Some(vec!["8.1", "A.8.1"]));
    for spelled in ["A.8.1", "a.8.1", " A.8.1"] {
        assert_eq!(resolves_to("iso27001", spelled), ["A.8.1"], "{spelled}");
    }
    // Ids with only one reading still resolve at once.
    assert_eq!(resolves_to("iso27001", "4.1"), ["4.1"]);
    assert_eq!(resolves_to("iso27001", "9.2.2"), ["9.2.2"]);
    assert_eq!(resolves_to("iso27001", "8.34"), ["A.8.34"]);
}

#[test]
fn cmmc_accepts_the_nist_sp_800_171_number() {
    assert_eq!(resolves_to("cmmc", "3.1.3"), ["AC.L2-3.1.3"]);
    assert_eq!(resolves_to("cmmc", "3.14.7"), ["SI.L2-3.14.7"]);
    // A number a Level 1 practice shares with a Level 2 requirement names both.
    assert_eq!(
        candidates("cmmc", "3.1.1"),
        Some(vec!["AC.L1-b.1.i", "AC.L2-3.1.1"])
    );
    // A practice can carry several numbers.
    assert_eq!(
        candidates("cmmc", "3.10.4"),
        Some(vec!["PE.L1-b.1.ix", "PE.L2-3.10.4"])
    );
    // Every number finds exactly the requirements that carry it.
    let f = framework("cmmc");
    let mut carriers: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for r in &f.requirements {
        if let Some(numbers) = r.attributes.get("nist_800_171") {
            for n in numbers.split(',') {
                carriers.entry(n.trim()).or_default().push(r.id.as_str());
            }
        }
    }
    assert!(carriers.len() >= 110, "{}", carriers.len());
    for (number, ids) in carriers {
        let found = match f.lookup(number) {
            Some(Lookup::Requirement(r)) => vec![r.id.as_str()],
            Some(Lookup::Ambiguous(rs)) => rs.iter().map(|r| r.id.as_str()).collect(),
            other => panic!("{number}: {other:?}"),
        };
        assert_eq!(found, ids, "{number}");
    }
    // The official ids and the old numbering still work.
    assert_eq!(resolves_to("cmmc", "ac.l2-3.1.1"), ["AC.L2-3.1.1"]);
    assert_eq!(
        resolves_to("cmmc", "AC.L1-3.1.1"),
        ["AC.L1-b.1.i", "AC.L2-3.1.1"]
    );
}

#[test]
fn a_lookup_attribute_must_be_an_attribute_of_the_framework() {
    let mut f = framework("cmmc").clone();
    f.lookup_attributes = vec!["nist_800_171".into(), "nist_800_53".into()];
    let keys: BTreeSet<&str> = builtin()
        .controls()
        .iter()
        .map(|c| c.key.as_str())
        .collect();
    match validate(&f, &keys) {
        Err(crate::Error::Validation(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["lookup_attributes[1]"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn framework_keys_are_accepted_in_common_spellings() {
    let c = builtin();
    for (typed, key) in [
        ("hipaa", "hipaa"),
        ("HIPAA", "hipaa"),
        ("soc-2", "soc2"),
        ("SOC2", "soc2"),
        ("SOC 2", "soc2"),
        ("nist_csf", "nist-csf"),
        ("NIST-CSF", "nist-csf"),
        ("csf", "nist-csf"),
        ("ISO27001", "iso27001"),
        ("iso-27001", "iso27001"),
        ("iso_27001", "iso27001"),
        ("ISO/IEC 27001", "iso27001"),
        ("pci", "pci-dss"),
        ("PCI-DSS", "pci-dss"),
        ("pci_dss", "pci-dss"),
        ("cmmc", "cmmc"),
        ("GDPR", "gdpr"),
        ("ftc", "ftc-safeguards"),
        ("FTC-Safeguards", "ftc-safeguards"),
        ("ftc_safeguards", "ftc-safeguards"),
        (" gdpr ", "gdpr"),
    ] {
        match c.resolve_framework(typed) {
            Ok(f) => assert_eq!(f.key, key, "{typed}"),
            Err(e) => panic!("{typed}: {e}"),
        }
    }
    for unknown in ["sox", "nist", "", "iso 9001"] {
        match c.resolve_framework(unknown) {
            Err(crate::Error::Validation(errors)) => {
                assert_eq!(errors[0].field, "framework");
                let message = &errors[0].message;
                assert!(message.contains("unknown framework"), "{message}");
                for key in c.framework_keys() {
                    assert!(message.contains(key), "{message} lists {key}");
                }
            }
            other => panic!("{unknown:?}: {other:?}"),
        }
    }
}

fn custom(key: &str, name: &str) -> CustomFrameworkDef {
    match serde_json::from_value(serde_json::json!({
        "framework": {
            "key": key,
            "name": name,
            "version": "1",
            "requirements": [{
                "id": "X-1", "title": "Laptops encrypted", "parent": null, "assessable": true,
                "description": "Every laptop encrypts its disk.", "controls": ["CR-01"]
            }]
        }
    })) {
        Ok(def) => def,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn custom_frameworks_resolve_by_their_key_and_cannot_take_another_spelling() {
    let c = builtin();
    for (key, taken) in [
        ("soc-2", "soc2"),
        ("nistcsf", "nist-csf"),
        ("csf", "nist-csf"),
        ("pci", "pci-dss"),
    ] {
        match check_custom(c, &custom(key, "Ours")) {
            Err(crate::Error::Validation(errors)) => {
                assert_eq!(errors[0].field, "framework.key", "{key}");
                assert!(errors[0].message.contains(taken), "{key}: {errors:?}");
            }
            other => panic!("{key} must be refused: {other:?}"),
        }
    }
    // A framework named like a built-in one keeps its own key; the name
    // does not take the built-in framework's spellings away.
    let def = custom("hipaa-plus", "HIPAA");
    if let Err(e) = check_custom(c, &def) {
        panic!("{e}");
    }
    let extended = match c.extended(vec![def.framework], vec![]) {
        Ok(extended) => extended,
        Err(e) => panic!("{e}"),
    };
    let key_of = |typed: &str| {
        extended
            .resolve_framework(typed)
            .map(|f| f.key.clone())
            .unwrap_or_else(|e| panic!("{typed}: {e}"))
    };
    assert_eq!(key_of("hipaa-plus"), "hipaa-plus");
    assert_eq!(key_of("HIPAA_Plus"), "hipaa-plus");
    assert_eq!(key_of("HIPAA"), "hipaa");
}
