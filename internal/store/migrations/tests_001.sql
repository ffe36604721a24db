-- tests: every `shipgate tests flaky` / `tests report --record` run and each
-- test's result per attempt, for flip rates over time.
CREATE TABLE IF NOT EXISTS test_runs (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  commit_sha TEXT NOT NULL DEFAULT '',
  branch     TEXT NOT NULL DEFAULT '',
  command    TEXT NOT NULL DEFAULT '',
  mode       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS test_results (
  run_id  INTEGER NOT NULL REFERENCES test_runs(id) ON DELETE CASCADE,
  test_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  result  TEXT NOT NULL,
  seconds REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, test_id, attempt)
);
CREATE INDEX IF NOT EXISTS test_results_by_test ON test_results(test_id, run_id);
