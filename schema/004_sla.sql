-- SLA checks (collector/sla_live.c). The evidence states and P(violation)
-- are ordinary interval rows (metrics sla.*); what is kept here is what is
-- not a reading: alerts, and the networks the collector evaluated with.

-- One row per alert. t_end is NULL while the alert is open. The cause is the
-- evidence node whose move to its healthiest state lowers P(violation) the
-- most, with the P(violation) that move leaves (cause_p), taken when the
-- peak was reached. VMs are named as they were then (host, name, UUID), so
-- alerts outlive the VM rows.
CREATE TABLE sla_alerts (
  id          INTEGER PRIMARY KEY,
  host        TEXT    NOT NULL,
  vm          TEXT    NOT NULL,
  vm_uuid     TEXT    NOT NULL,
  t_start     INTEGER NOT NULL,
  t_end       INTEGER,
  peak        REAL    NOT NULL,
  cause_node  TEXT    NOT NULL,
  cause_state TEXT    NOT NULL,
  cause_p     REAL    NOT NULL,
  cause       TEXT    NOT NULL,
  evidence    TEXT    NOT NULL,
  CHECK (t_end IS NULL OR t_end >= t_start)
);
CREATE INDEX sla_alerts_by_start ON sla_alerts (t_start);
CREATE INDEX sla_alerts_open ON sla_alerts (vm_uuid) WHERE t_end IS NULL;

-- The network text each collector start evaluated with (a row only when it
-- changed), so `vigilctl --db FILE sla explain` uses the same model.
CREATE TABLE sla_models (
  id          INTEGER PRIMARY KEY,
  loaded_at   INTEGER NOT NULL,
  origin      TEXT    NOT NULL,
  target      TEXT    NOT NULL,
  violated    TEXT    NOT NULL,
  host_node   TEXT    NOT NULL,
  text        TEXT    NOT NULL
);
