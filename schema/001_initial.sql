-- Vigil collector schema, version 1.
-- Applied by vigil-collector at start-up; PRAGMA user_version records the
-- last migration applied. Times are Unix milliseconds (UTC).

-- One row per hypervisor that ever sent a batch.
CREATE TABLE hosts (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE,
  last_seq    INTEGER NOT NULL DEFAULT 0,   -- highest batch sequence stored
  interval_ms INTEGER NOT NULL DEFAULT 0,   -- the probe's interval, as last sent
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL              -- t_end of the last batch stored
);

-- VMs are identified by UUID; the name is the latest one seen, and vm_names
-- keeps every name the VM had.
CREATE TABLE vms (
  id          INTEGER PRIMARY KEY,
  uuid        TEXT    NOT NULL UNIQUE,
  host_id     INTEGER NOT NULL REFERENCES hosts(id),
  name        TEXT    NOT NULL,
  source      TEXT    NOT NULL,             -- 'libvirt' or 'pid'
  state       TEXT    NOT NULL,
  vcpus       INTEGER NOT NULL DEFAULT 0,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL
);

CREATE TABLE vm_names (
  vm_id       INTEGER NOT NULL REFERENCES vms(id),
  name        TEXT    NOT NULL,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  PRIMARY KEY (vm_id, name)
) WITHOUT ROWID;

-- The metric catalogue. layer is the design's LAYER tag.
CREATE TABLE metrics (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE,
  unit        TEXT    NOT NULL,
  layer       TEXT    NOT NULL,
  description TEXT    NOT NULL DEFAULT ''
);

INSERT INTO metrics (name, unit, layer, description) VALUES
  ('cpu.used_pct', '%', 'cpu',
   'On-CPU time as a percent of one core. Untagged: the whole VM; vcpu=N: one vCPU thread; thread=emulator: all non-vCPU threads.'),
  ('cpu.wait_pct', '%', 'cpu',
   'Run-queue wait (runnable, not running) as a percent of the interval; the steal the guest feels. Tags as cpu.used_pct.'),
  ('cpu.preempted', 'count', 'cpu',
   'Involuntary context switches in the interval. Tags as cpu.used_pct.');

-- A series is one (VM, metric, tag set). tags is canonical: "k=v,k=v" with
-- keys sorted, or '' for none.
CREATE TABLE series (
  id          INTEGER PRIMARY KEY,
  vm_id       INTEGER NOT NULL REFERENCES vms(id),
  metric_id   INTEGER NOT NULL REFERENCES metrics(id),
  tags        TEXT    NOT NULL DEFAULT '',
  last_row    INTEGER,                      -- intervals.id of the open row
  UNIQUE (vm_id, metric_id, tags)
);

-- Temporal-interval rows: value held from t_start to t_end. Identical
-- consecutive readings with no gap extend t_end instead of adding a row.
CREATE TABLE intervals (
  id          INTEGER PRIMARY KEY,
  series_id   INTEGER NOT NULL REFERENCES series(id),
  t_start     INTEGER NOT NULL,
  t_end       INTEGER NOT NULL,
  value       REAL    NOT NULL,
  CHECK (t_end >= t_start)
);
CREATE INDEX intervals_by_series_time ON intervals (series_id, t_start);

-- The design's record view: origin, tags, data, t_start, t_end.
CREATE VIEW interval_rows AS
  SELECT h.name AS host, v.name AS vm, v.uuid AS vm_uuid,
         m.name AS metric, m.layer AS layer, m.unit AS unit, s.tags AS tags,
         i.value AS value, i.t_start AS t_start, i.t_end AS t_end
    FROM intervals i
    JOIN series s  ON s.id = i.series_id
    JOIN metrics m ON m.id = s.metric_id
    JOIN vms v     ON v.id = s.vm_id
    JOIN hosts h   ON h.id = v.host_id;
