-- The server runs as a login role that is only a member of regentra_app
-- (never the owner, who runs these migrations): before serving, it checks
-- that the schema is current, so the runtime role may read which migrations
-- were applied. Nothing else in the history is of use to it.
GRANT SELECT ON _sqlx_migrations TO regentra_app;
