-- The interval store (docs/storage.md): closed intervals and rollup buckets
-- live in compressed per-VM segments, what changed since the last flush in
-- a per-VM journal. Readers decode both through collector/history.c (or
-- `vigilctl history --csv/--json`); the one-row-per-interval table and its
-- interval_rows view are replaced. vigil-collector converts the rows of an
-- existing `intervals` table (renamed legacy_intervals here) into segments
-- the first time it opens the database after this migration.
--
-- A database already at version 4 without this migration (made by a
-- collector that had the SLA tables but not this store) gets it late; the
-- line below names the table that shows it was applied.
-- creates: journal

-- What each group commit changed: one row per commit, holding a section
-- per VM it changed; after a flush, one row of every VM's snapshot.
CREATE TABLE journal (
  id          INTEGER PRIMARY KEY,
  data        BLOB    NOT NULL
);

-- tier 0: closed intervals; 1: one-minute buckets; 2: one-hour buckets.
-- [t_first, t_last] bounds everything inside, in Unix ms.
CREATE TABLE segments (
  id          INTEGER PRIMARY KEY,
  vm_id       INTEGER NOT NULL REFERENCES vms(id),
  tier        INTEGER NOT NULL CHECK (tier BETWEEN 0 AND 2),
  t_first     INTEGER NOT NULL,
  t_last      INTEGER NOT NULL,
  data        BLOB    NOT NULL
);
CREATE INDEX segments_by_vm ON segments (vm_id, tier, t_last);
CREATE INDEX segments_by_age ON segments (tier, t_last);

-- The latest whole-VM CPU readings, so `vigilctl status` reads one row per
-- VM. NULL until the VM's first reading.
ALTER TABLE vms ADD COLUMN cpu_used_pct REAL;
ALTER TABLE vms ADD COLUMN cpu_wait_pct REAL;
UPDATE vms SET
  cpu_used_pct = (SELECT i.value FROM series s JOIN intervals i ON i.id = s.last_row
                   JOIN metrics m ON m.id = s.metric_id
                   WHERE s.vm_id = vms.id AND s.tags = '' AND m.name = 'cpu.used_pct'),
  cpu_wait_pct = (SELECT i.value FROM series s JOIN intervals i ON i.id = s.last_row
                   JOIN metrics m ON m.id = s.metric_id
                   WHERE s.vm_id = vms.id AND s.tags = '' AND m.name = 'cpu.wait_pct');

DROP VIEW interval_rows;
ALTER TABLE series DROP COLUMN last_row;
ALTER TABLE intervals RENAME TO legacy_intervals;

-- Retention per tier as the collector last applied it, so readers of the
-- file (vigilctl --db) choose tiers as the collector does.
CREATE TABLE storage_tiers (
  tier         INTEGER PRIMARY KEY,    -- 0 raw, 1 one-minute, 2 one-hour
  name         TEXT    NOT NULL,
  resolution_ms INTEGER NOT NULL,
  retention_ms INTEGER NOT NULL
);
INSERT INTO storage_tiers VALUES (0, 'raw', 0, 1209600000), (1, '1m', 60000, 7776000000),
                                 (2, '1h', 3600000, 63072000000);
