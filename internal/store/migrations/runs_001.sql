-- runs: workflow runs, their jobs (one row per matrix leg), steps, logs,
-- annotations, step summaries and artifacts. Secrets are never stored:
-- logs, outputs and annotations are masked before they get here.
CREATE TABLE IF NOT EXISTS runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  workflow      TEXT NOT NULL,             -- workflow file path as given
  workflow_name TEXT NOT NULL DEFAULT '',
  event         TEXT NOT NULL,
  ref           TEXT NOT NULL DEFAULT '',
  sha           TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL,             -- running, success, failure, cancelled, interrupted
  pid           INTEGER NOT NULL DEFAULT 0,
  pid_start     TEXT NOT NULL DEFAULT '',  -- the process start time, to tell a reused pid
  params        TEXT NOT NULL DEFAULT '{}',-- JSON: inputs, vars, job filter, event path (never secrets)
  rerun_of      INTEGER,
  started_at    TEXT NOT NULL,
  finished_at   TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);

CREATE TABLE IF NOT EXISTS jobs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  job_key     TEXT NOT NULL,               -- the job's id in the workflow
  name        TEXT NOT NULL,               -- display name, with the matrix values
  matrix      TEXT NOT NULL DEFAULT '{}',
  status      TEXT NOT NULL,               -- queued, running, success, failure, skipped, cancelled, interrupted
  outputs     TEXT NOT NULL DEFAULT '{}',
  started_at  TEXT,
  finished_at TEXT,
  UNIQUE(run_id, name)
);
CREATE INDEX IF NOT EXISTS jobs_run ON jobs(run_id);

CREATE TABLE IF NOT EXISTS steps (
  job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  idx         INTEGER NOT NULL,
  step_key    TEXT NOT NULL DEFAULT '',    -- the step's id:, when it has one
  name        TEXT NOT NULL,
  outcome     TEXT NOT NULL,               -- running, success, failure, cancelled, skipped
  conclusion  TEXT NOT NULL DEFAULT '',
  exit_code   INTEGER,
  started_at  TEXT,
  finished_at TEXT,
  PRIMARY KEY(job_id, idx)
);

CREATE TABLE IF NOT EXISTS logs (
  job_id   INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq      INTEGER NOT NULL,
  step_idx INTEGER NOT NULL,
  ts       TEXT NOT NULL,
  line     TEXT NOT NULL,
  PRIMARY KEY(job_id, seq)
);

CREATE TABLE IF NOT EXISTS annotations (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id   INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step_idx INTEGER NOT NULL,
  level    TEXT NOT NULL,                  -- error, warning, notice
  file     TEXT NOT NULL DEFAULT '',
  line     INTEGER NOT NULL DEFAULT 0,
  col      INTEGER NOT NULL DEFAULT 0,
  end_line INTEGER NOT NULL DEFAULT 0,
  end_col  INTEGER NOT NULL DEFAULT 0,
  title    TEXT NOT NULL DEFAULT '',
  message  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS summaries (
  job_id   INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step_idx INTEGER NOT NULL,
  markdown TEXT NOT NULL,
  PRIMARY KEY(job_id, step_idx)
);

CREATE TABLE IF NOT EXISTS artifacts (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  dir        TEXT NOT NULL,                -- where the files are, under .shipgate/artifacts
  files      INTEGER NOT NULL,
  bytes      INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  UNIQUE(run_id, name)
);
