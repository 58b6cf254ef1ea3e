-- Regentra's storage on Postgres: the same contract as the embedded store.
--
-- Every table is shared by all tenants and led by org_id: the tenant's id,
-- or the nil uuid for the platform directory (organizations, users,
-- memberships) and the platform's own audit chain. Primary keys, foreign keys
-- and indexes all start with org_id, so the schema distributes by org_id
-- (Citus) when a deployment outgrows one server.
--
-- Row-level security is enabled and forced on every table, with one policy
-- per table: a row is visible and writable only while the transaction's
-- `app.org_id` setting names its org. With no org set, no rows. Tenant work
-- runs as `regentra_app`, a role that is neither superuser, nor owner, nor
-- BYPASSRLS, switched to with set_config('role', ..., true) inside each
-- transaction.

-- Roles belong to the whole cluster, and several databases may be migrated
-- at once (test runs do): creating the role or the membership twice is fine.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regentra_app') THEN
        CREATE ROLE regentra_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The connecting user (who owns the schema) switches to the runtime role in
-- each transaction, so it must be a member of it (superusers already are).
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'regentra_app', 'MEMBER') THEN
        GRANT regentra_app TO CURRENT_USER;
    END IF;
EXCEPTION WHEN OTHERS THEN
    IF NOT pg_has_role(current_user, 'regentra_app', 'MEMBER') THEN
        RAISE;
    END IF;
END
$$;

CREATE TABLE records (
    org_id  uuid   NOT NULL,
    kind    text   NOT NULL,
    id      uuid   NOT NULL,
    version bigint NOT NULL CHECK (version > 0),
    body    jsonb  NOT NULL,
    PRIMARY KEY (org_id, kind, id)
);

-- Secondary-index entries computed by the core. A unique entry may be held by
-- one record per org, kind and index name.
CREATE TABLE record_index (
    org_id    uuid    NOT NULL,
    kind      text    NOT NULL,
    name      text    NOT NULL,
    value     text    NOT NULL,
    id        uuid    NOT NULL,
    is_unique boolean NOT NULL,
    PRIMARY KEY (org_id, kind, name, value, id),
    FOREIGN KEY (org_id, kind, id) REFERENCES records (org_id, kind, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX record_index_unique ON record_index (org_id, kind, name, value) WHERE is_unique;
CREATE INDEX record_index_owner ON record_index (org_id, kind, id);

-- One row per org chain: locked (SELECT ... FOR UPDATE) while an event is
-- appended, so concurrent writers in one org queue up instead of forking the
-- chain, and writers in different orgs never wait for each other.
CREATE TABLE audit_heads (
    org_id uuid   NOT NULL PRIMARY KEY,
    seq    bigint NOT NULL CHECK (seq >= 0),
    hash   text   NOT NULL
);

CREATE TABLE audit_events (
    org_id uuid   NOT NULL,
    seq    bigint NOT NULL CHECK (seq > 0),
    event  jsonb  NOT NULL,
    PRIMARY KEY (org_id, seq),
    FOREIGN KEY (org_id) REFERENCES audit_heads (org_id)
);

-- The runtime role reads and writes data, and owns nothing.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO regentra_app', current_schema());
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON records, record_index, audit_heads TO regentra_app;
-- The audit log is append-only for the application.
GRANT SELECT, INSERT ON audit_events TO regentra_app;

ALTER TABLE records ENABLE ROW LEVEL SECURITY;
ALTER TABLE records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON records
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);

ALTER TABLE record_index ENABLE ROW LEVEL SECURITY;
ALTER TABLE record_index FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON record_index
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);

ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_heads
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
