-- Index values compare byte by byte (the "C" collation), whatever the
-- database's default collation: the store contract orders range scans that
-- way (code point order, the same as the embedded store), and the core
-- builds values (fixed-width numbers, UTC times, composite keys) that sort
-- correctly in it. The primary key and the unique index are rebuilt in that
-- order and serve every range scan, both ways.
ALTER TABLE record_index ALTER COLUMN value TYPE text COLLATE "C";
