//! The on-disk layout of an embedded database, format version
//! [`FORMAT_VERSION`].
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | `format_version` |
//! | `records` | (scope, kind, id) | JSON [`Envelope`] |
//! | `index` | (scope, kind, index name, value, id) | () |
//! | `audit` | (org, seq) | JSON audit event |
//! | `audit_target` | (org, target kind, target id, seq) | () |
//! | `blobs` | (org, blob, chunk) | the chunk's bytes |
//!
//! Scopes and ids are uuids as `u128`; the platform scope is the nil uuid.
//! uuid v7 ids sort by creation time, so a range over `(scope, kind, ..)`
//! lists a kind in creation order. Values are JSON: self-describing, so a
//! field added later reads back from old records with its default.

use redb::TableDefinition;
use regentra_core::error::{Error, Result};
use regentra_core::store::{IndexEntry, StoredRecord};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// Bumped when the layout changes; a build refuses files with a newer
/// format instead of misreading them, and brings an older one up to date
/// when it opens it. Format 2 added `audit_target` (the audit events by
/// the record they are about), filled from `audit` when a format 1 file is
/// opened: a build of format 1 would write events without it.
pub const FORMAT_VERSION: u64 = 2;

pub const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
pub const RECORDS: TableDefinition<'_, (u128, &str, u128), &[u8]> = TableDefinition::new("records");
pub const INDEX: TableDefinition<'_, (u128, &str, &str, &str, u128), ()> =
    TableDefinition::new("index");
pub const AUDIT: TableDefinition<'_, (u128, u64), &[u8]> = TableDefinition::new("audit");
pub const AUDIT_TARGET: TableDefinition<'_, (u128, &str, &str, u64), ()> =
    TableDefinition::new("audit_target");
pub const BLOBS: TableDefinition<'_, (u128, u128, u32), &[u8]> = TableDefinition::new("blobs");

/// A stored record: its version, the index entries it holds (so an update
/// or delete can remove exactly those), and the body, kept as JSON text so a
/// read hands it to the core without building a JSON tree.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub version: u64,
    pub indexes: Vec<IndexEntry>,
    pub body: Box<RawValue>,
}

impl Envelope {
    pub(crate) fn new(
        version: u64,
        indexes: Vec<IndexEntry>,
        body: &serde_json::Value,
    ) -> Result<Self> {
        Ok(Self {
            version,
            indexes,
            body: regentra_core::store::raw_json(body)?,
        })
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::storage(format!("undecodable record: {e}")))
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(Error::storage)
    }

    pub(crate) fn into_record(self, id: Uuid) -> Result<StoredRecord> {
        Ok(StoredRecord::new(id, self.version, self.body))
    }
}
