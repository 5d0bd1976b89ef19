-- The metric catalogue (schema/metrics.tsv) gains the kind of each metric
-- and the tag sets it comes with. vigil-collector refreshes these rows from
-- the catalogue it was built with at every start.
ALTER TABLE metrics ADD COLUMN kind TEXT NOT NULL DEFAULT 'gauge';
ALTER TABLE metrics ADD COLUMN tags TEXT NOT NULL DEFAULT '';
