//! The cross-crate tests, in one binary (one link, one run): the
//! conformance suite on every store, the isolation property test, the SLA
//! arithmetic's properties, report snapshots and the dependency rules.

mod architecture;
mod campaign_reports;
mod compliance_reports;
mod conformance;
mod escalation_properties;
mod isolation;
mod sla_properties;
