//! The built-in catalog: data files compiled in, parsed once.

use std::sync::LazyLock;

use super::{Catalog, Control, Framework};

/// The built-in frameworks, in the order the product lists them.
const FRAMEWORKS: [(&str, &str); 8] = [
    (
        "hipaa",
        include_str!("../../catalogs/frameworks/hipaa.json"),
    ),
    ("soc2", include_str!("../../catalogs/frameworks/soc2.json")),
    (
        "nist-csf",
        include_str!("../../catalogs/frameworks/nist-csf.json"),
    ),
    (
        "iso27001",
        include_str!("../../catalogs/frameworks/iso27001.json"),
    ),
    ("cmmc", include_str!("../../catalogs/frameworks/cmmc.json")),
    (
        "pci-dss",
        include_str!("../../catalogs/frameworks/pci-dss.json"),
    ),
    ("gdpr", include_str!("../../catalogs/frameworks/gdpr.json")),
    (
        "ftc-safeguards",
        include_str!("../../catalogs/frameworks/ftc-safeguards.json"),
    ),
];

/// Lookup attributes of the built-in frameworks whose data file does not
/// declare any: CMMC's requirements carry the NIST SP 800-171 number people
/// know them by (`3.1.1`).
const LOOKUP_ATTRIBUTES: [(&str, &str); 1] = [("cmmc", "nist_800_171")];

const CONTROLS: &str = include_str!("../../catalogs/controls.json");

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| match load() {
    Ok(catalog) => catalog,
    // The data is compiled in and checked by the catalog tests on every CI
    // run; a build whose data does not load is a defect of the build itself.
    Err(problem) => panic!("the built-in catalog is invalid: {problem}"),
});

pub(super) fn catalog() -> &'static Catalog {
    &BUILTIN
}

/// Parses and validates every data file, naming the file at fault.
pub(super) fn load() -> Result<Catalog, String> {
    let controls: Vec<Control> =
        serde_json::from_str(CONTROLS).map_err(|e| format!("catalogs/controls.json: {e}"))?;
    let frameworks = FRAMEWORKS
        .iter()
        .map(|(key, json)| {
            let mut framework: Framework = serde_json::from_str(json)
                .map_err(|e| format!("catalogs/frameworks/{key}.json: {e}"))?;
            if framework.lookup_attributes.is_empty() {
                framework.lookup_attributes = LOOKUP_ATTRIBUTES
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, name)| (*name).to_owned())
                    .collect();
            }
            if framework.key != *key {
                return Err(format!(
                    "catalogs/frameworks/{key}.json declares key {}",
                    framework.key
                ));
            }
            Ok(framework)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Catalog::new(frameworks, controls).map_err(|e| e.to_string())
}
