-- coverage: each recorded `shipgate coverage --record` run, per branch, so a
-- later run can show its change against the base branch's last run.
CREATE TABLE IF NOT EXISTS coverage_runs (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL,
  branch     TEXT NOT NULL,
  commit_sha TEXT NOT NULL DEFAULT '',
  unit       TEXT NOT NULL,
  percent    REAL NOT NULL,
  modules    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS coverage_runs_by_branch ON coverage_runs(branch, id);
