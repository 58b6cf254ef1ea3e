-- An org's audit events about one record (a ticket's trail: its own
-- events, its comments, assignments, files) are found by their target, in
-- chain order, without reading the chain: `audit_events_about`. The index
-- is over the event's own JSON, so every event already recorded is in it.
CREATE INDEX audit_events_target ON audit_events
    (org_id, (event #>> '{target,kind}'), (event #>> '{target,id}'), seq);
