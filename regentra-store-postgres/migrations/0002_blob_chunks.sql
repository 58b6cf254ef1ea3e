-- Evidence files, stored chunk by chunk so no layer holds a whole file.
-- Like every tenant table: led by org_id, row-level security forced.
CREATE TABLE blob_chunks (
    org_id  uuid    NOT NULL,
    blob_id uuid    NOT NULL,
    seq     integer NOT NULL CHECK (seq >= 0),
    data    bytea   NOT NULL,
    PRIMARY KEY (org_id, blob_id, seq)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON blob_chunks TO regentra_app;

ALTER TABLE blob_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE blob_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON blob_chunks
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
