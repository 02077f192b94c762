-- Canopy ledger, schema version 1.
--
-- One SQLite file (WAL) holds the whole ledger. PRAGMA application_id marks
-- the file as a Canopy ledger ('CNPY'); PRAGMA user_version is the schema
-- version. The integrity of the ledger rests on signatures and the Merkle
-- tree, not on these triggers: they only stop accidental rewrites by code.

PRAGMA application_id = 1129205849;
PRAGMA user_version = 1;

-- Immutable facts about this ledger: origin, genesis key, creation time.
CREATE TABLE ledger_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per event. seq is the leaf index, contiguous from 0. The indexed
-- columns and the JSON body (TEXT, or a BLOB when deflated: see
-- canopy/ledger/bodies.py) are the disclosed field values; the leaf bytes
-- are recomputed from them with the per-event salt (canopy/ledger/events.py)
-- and must hash to leaf_hash, which the signature covers.
CREATE TABLE events (
    seq              INTEGER PRIMARY KEY,
    ts               TEXT NOT NULL,
    kind             TEXT NOT NULL,
    trace_id         TEXT,
    avid             TEXT,
    authorization_id TEXT,
    action_type      TEXT,
    decision         TEXT,
    body             TEXT NOT NULL,
    salt             BLOB NOT NULL,
    leaf_hash        BLOB NOT NULL,
    signature        BLOB NOT NULL,
    -- Hashes of the complete subtrees this leaf completes, levels 1..t where t
    -- is the number of trailing one bits of seq (see docs/merkle.md): node
    -- (level, index) lives in the row seq = ((index + 1) << level) - 1.
    nodes            BLOB NOT NULL
);
-- Rare kinds (kill switch, key rotation, policy activation, approval, incident)
-- are looked up on hot paths; partial indexes cost nothing for other events.
-- (SQLite uses a partial index only when the query repeats its predicate.)
CREATE INDEX events_kill_switch ON events (seq) WHERE kind = 'kill_switch';
CREATE INDEX events_key_rotation ON events (seq) WHERE kind = 'key_rotation';
CREATE INDEX events_policy_activated ON events (seq) WHERE kind = 'policy_activated';
CREATE INDEX events_approval ON events (seq) WHERE kind = 'approval';
CREATE INDEX events_incident ON events (seq) WHERE kind = 'incident';
CREATE INDEX events_index_commitment ON events (seq) WHERE kind = 'index_commitment';
CREATE INDEX events_agent_registered ON events (seq) WHERE kind = 'agent_registered';

-- Lookups by authorization id (field 0), trace id (1) and AVID (2): derived
-- data, indexed in batches rather than per append (canopy/ledger/lookups.py).
-- Every event below lookup_progress.indexed_size has its keys in lookup_keys
-- (the base: the whole index of ledgers written before runs existed, empty
-- in newer ones) or in one live run of lookup_runs (listed in
-- lookup_run_list); lookups scan the events above it. (Ledgers written before
-- these tables existed have per-column indexes events_by_trace/avid/
-- authorization instead; a writer opening one builds these tables and drops
-- those indexes.)
CREATE TABLE lookup_keys (
    field INTEGER NOT NULL,
    value TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (field, value, seq)
) WITHOUT ROWID;
CREATE TABLE lookup_progress (
    only         INTEGER PRIMARY KEY CHECK (only = 0),
    indexed_size INTEGER NOT NULL
);
INSERT INTO lookup_progress (only, indexed_size) VALUES (0, 0);
CREATE TRIGGER lookup_keys_no_update BEFORE UPDATE ON lookup_keys
BEGIN SELECT RAISE(ABORT, 'canopy lookups only grow'); END;
CREATE TRIGGER lookup_keys_no_delete BEFORE DELETE ON lookup_keys
BEGIN SELECT RAISE(ABORT, 'canopy lookups only grow'); END;
CREATE TRIGGER lookup_progress_forward BEFORE UPDATE ON lookup_progress
WHEN NEW.indexed_size < OLD.indexed_size
  OR NEW.indexed_size > (SELECT coalesce(max(seq) + 1, 0) FROM events)
BEGIN SELECT RAISE(ABORT, 'canopy lookup progress only moves forward, within the ledger'); END;
CREATE TRIGGER lookup_progress_no_delete BEFORE DELETE ON lookup_progress
BEGIN SELECT RAISE(ABORT, 'canopy lookups only grow'); END;
-- Sorted runs, merged LOOKUP_FANOUT at a time into the next level; a run's
-- rows are keyed by its number first, so each run is written in one place.
CREATE TABLE lookup_runs (
    run   INTEGER NOT NULL,
    field INTEGER NOT NULL,
    value TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (run, field, value, seq)
) WITHOUT ROWID;
CREATE TABLE lookup_run_list (
    run      INTEGER PRIMARY KEY,
    level    INTEGER NOT NULL,
    from_seq INTEGER NOT NULL,
    to_seq   INTEGER NOT NULL,
    keys     INTEGER NOT NULL  -- rows it holds: paces the merges
);
-- Merges under way, a bounded step per catch-up: the run being built (not
-- listed, so no lookup reads it until it is complete), its level, the runs it
-- merges (listed until then) and the last key copied.
CREATE TABLE lookup_merges (
    run     INTEGER PRIMARY KEY,
    level   INTEGER NOT NULL,
    sources TEXT NOT NULL,
    field   INTEGER,
    value   TEXT,
    seq     INTEGER
);

-- Signed tree heads (C2SP tlog-checkpoint notes).
CREATE TABLE checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    note      TEXT NOT NULL,
    sealed_at TEXT NOT NULL
);

-- Which key signs events from which sequence number on (genesis at 0, then
-- one row per key_rotation event, which the old key signs).
CREATE TABLE signing_keys (
    from_seq INTEGER PRIMARY KEY,
    vkey     TEXT NOT NULL
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
CREATE TRIGGER signing_keys_no_update BEFORE UPDATE ON signing_keys
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
CREATE TRIGGER ledger_meta_no_update BEFORE UPDATE ON ledger_meta
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
CREATE TRIGGER ledger_meta_no_delete BEFORE DELETE ON ledger_meta
BEGIN SELECT RAISE(ABORT, 'canopy ledger is append-only'); END;
