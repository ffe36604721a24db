-- perf: benchmark baselines per branch, one row per (benchmark, unit) with
-- every sample, replaced whole on each save.
CREATE TABLE IF NOT EXISTS perf_baselines (
  branch     TEXT NOT NULL,
  saved_at   TEXT NOT NULL,
  revision   TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (branch)
);
CREATE TABLE IF NOT EXISTS perf_baseline_series (
  branch  TEXT NOT NULL REFERENCES perf_baselines(branch) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  pkg     TEXT NOT NULL DEFAULT '',
  name    TEXT NOT NULL,
  unit    TEXT NOT NULL,
  better  INTEGER NOT NULL DEFAULT 0,
  exact   INTEGER NOT NULL DEFAULT 0,
  vals    TEXT NOT NULL, -- JSON array of numbers
  PRIMARY KEY (branch, pkg, name, unit)
);
