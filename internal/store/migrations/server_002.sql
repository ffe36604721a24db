-- server: several replicas on one database. A replica claims a queued run
-- (owner, owner_host) for a lease it renews while the run goes on; a run
-- whose lease ran out belongs to a replica that died, and another takes
-- it over. cancel_requested carries a cancel to whichever replica runs it.
-- lease_until is Unix milliseconds, so replicas compare it as a number.
ALTER TABLE server_queue ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE server_queue ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';
ALTER TABLE server_queue ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE server_queue ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS server_queue_owner ON server_queue(owner, status);
CREATE INDEX IF NOT EXISTS server_queue_repo_status ON server_queue(repo, status);
