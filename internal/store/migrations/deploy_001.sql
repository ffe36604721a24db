-- deploy: one row per deployment attempt (shipgate deploy), the source of
-- the DORA metrics. result: running, succeeded, failed (rolled back or never
-- serving); rolled_back says whether an automatic or manual rollback ran.
CREATE TABLE IF NOT EXISTS deployments (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  env          TEXT NOT NULL,
  version      TEXT NOT NULL,
  previous     TEXT NOT NULL DEFAULT '',
  commit_sha   TEXT NOT NULL DEFAULT '',
  commit_time  TEXT NOT NULL DEFAULT '',
  provider     TEXT NOT NULL DEFAULT '',
  strategy     TEXT NOT NULL DEFAULT '',
  started_at   TEXT NOT NULL,
  finished_at  TEXT NOT NULL DEFAULT '',
  result       TEXT NOT NULL DEFAULT 'running',
  reason       TEXT NOT NULL DEFAULT '',
  rolled_back  INTEGER NOT NULL DEFAULT 0,
  approved_by  TEXT NOT NULL DEFAULT '',
  steps        TEXT NOT NULL DEFAULT '[]' -- JSON: each step's weight, analysis and smoke results
);
CREATE INDEX IF NOT EXISTS deployments_env_started ON deployments(env, started_at);
