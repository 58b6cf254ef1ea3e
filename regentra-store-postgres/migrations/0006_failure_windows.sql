-- Windows of failures (`Store::reserve_failures`): the failed sign-in,
-- code and password attempts of every server process on this database, so
-- that N processes behind a load balancer allow the guesses of one. A row
-- is one failure reserved under a key, counting until `expires_at`.
--
-- Not tenant data: the keys are the server's own (`login:...`, hashes of
-- the emails and addresses they are about), read by key only, never by an
-- org. So, unlike the record tables, no org_id and no row-level-security
-- policy: the runtime role reads and writes the table whole.
CREATE TABLE failure_reservations (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text        NOT NULL,
    at         timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at >= at)
);

-- A key's failures still counting, oldest expiry first (a reservation's
-- count and its wait).
CREATE INDEX failure_reservations_key ON failure_reservations (key, expires_at);
-- The sweep of every key's expired failures.
CREATE INDEX failure_reservations_expiry ON failure_reservations (expires_at);

GRANT SELECT, INSERT, DELETE ON failure_reservations TO regentra_app;
