//! Schema migrations, numbered by SQLite's `user_version`.
//!
//! Each entry runs once, in order, inside a transaction; a database written by
//! a newer hotpot (higher `user_version`) is refused rather than guessed at.

/// Migration `i` brings `user_version` from `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE activities (
    id          INTEGER PRIMARY KEY,
    -- xxh3-128 of the stored geometry: the same track from two files is one row.
    hash        BLOB NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    start_time  INTEGER,            -- unix ms, UTC
    sport       TEXT,
    title       TEXT,
    distance_m  REAL NOT NULL,
    num_points  INTEGER NOT NULL,
    -- First and last point and the bounding box, in world units (geo.rs).
    start_x INTEGER NOT NULL, start_y INTEGER NOT NULL,
    end_x   INTEGER NOT NULL, end_y   INTEGER NOT NULL,
    min_x   INTEGER NOT NULL, min_y   INTEGER NOT NULL,
    max_x   INTEGER NOT NULL, max_y   INTEGER NOT NULL,
    properties  TEXT NOT NULL,      -- JSON object
    imported_at INTEGER NOT NULL
);
CREATE INDEX activities_start_time ON activities(start_time);
CREATE INDEX activities_sport ON activities(sport);

CREATE TABLE tracks (
    activity_id INTEGER PRIMARY KEY REFERENCES activities(id) ON DELETE CASCADE,
    data        BLOB NOT NULL       -- store/track.rs
);

-- Bounding boxes for "which tracks touch this area" without a full scan.
CREATE VIRTUAL TABLE activity_bounds USING rtree(id, min_x, max_x, min_y, max_y);
CREATE TRIGGER activities_delete_bounds AFTER DELETE ON activities BEGIN
    DELETE FROM activity_bounds WHERE id = old.id;
END;

-- Files already read, so that re-running an import skips them cheaply.
CREATE TABLE source_files (
    path        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    activities  INTEGER NOT NULL,
    imported_at INTEGER NOT NULL
);

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('generation', '0');
"#,
    r#"
-- Privacy masks: circles in ground metres that no output ever draws into.
CREATE TABLE masks (
    name       TEXT PRIMARY KEY,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    radius_m   REAL NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    r#"
-- The skip table keys on the path's raw bytes: two names that differ only in
-- invalid UTF-8 were one lossily decoded TEXT key, and one of the two files
-- was read again on every import. Existing keys keep their UTF-8 bytes.
CREATE TABLE source_files_v3 (
    path        BLOB PRIMARY KEY,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    activities  INTEGER NOT NULL,
    imported_at INTEGER NOT NULL
);
INSERT INTO source_files_v3 (path, size, mtime_ns, activities, imported_at)
    SELECT CAST(path AS BLOB), size, mtime_ns, activities, imported_at FROM source_files;
DROP TABLE source_files;
ALTER TABLE source_files_v3 RENAME TO source_files;
"#,
    r#"
-- Strava and intervals.icu (src/sync). IF NOT EXISTS: the lead may renumber
-- this migration when merging, and a database that ran it under another
-- number must not fail.
CREATE TABLE IF NOT EXISTS strava_tokens (
    athlete_id    INTEGER PRIMARY KEY,
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,   -- unix seconds
    scope         TEXT,
    updated_at    INTEGER NOT NULL
);
-- Webhook events, queued so that they survive a restart. Strava retries a
-- delivery it thinks failed: the UNIQUE key makes the retry a no-op.
CREATE TABLE IF NOT EXISTS strava_events (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER,
    owner_id        INTEGER NOT NULL,
    object_type     TEXT NOT NULL,
    object_id       INTEGER NOT NULL,
    aspect_type     TEXT NOT NULL,
    event_time      INTEGER NOT NULL,
    updates         TEXT NOT NULL,    -- JSON object
    received_at     INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL DEFAULT 'queued',  -- queued, done, ignored, failed
    result          TEXT,
    processed_at    INTEGER,
    UNIQUE (object_type, object_id, aspect_type, event_time)
);
CREATE INDEX IF NOT EXISTS strava_events_state ON strava_events(state, id);
-- Which stored activity an activity of a service became (or why none).
CREATE TABLE IF NOT EXISTS external_activities (
    service     TEXT NOT NULL,        -- 'strava', 'intervals.icu'
    external_id TEXT NOT NULL,
    activity_id INTEGER REFERENCES activities(id) ON DELETE SET NULL,
    status      TEXT NOT NULL,        -- imported, duplicate, skipped: why, deleted
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (service, external_id)
);
-- Backfill cursors, last fetch and last error per service, for resuming
-- and for the dashboard.
CREATE TABLE IF NOT EXISTS sync_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
"#,
    // Explorer tiles per activity (src/store/explorer.rs).
    super::explorer::MIGRATION,
    // ...as one packed row per activity and zoom.
    super::explorer::MIGRATION_PACKED,
];
