//! The schema: every migration in order, and the step that brings a
//! database up to the last one (`PRAGMA user_version` counts those done).

use rusqlite::Connection;

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
    CREATE TABLE inbound (
        key TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        processed_at INTEGER
    );
    CREATE INDEX inbound_pending ON inbound(received_at) WHERE processed_at IS NULL;

    CREATE TABLE enrolments (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        ends_at INTEGER NOT NULL,
        ended_at INTEGER
    );
    CREATE TABLE enrolment_phones (
        phone TEXT NOT NULL,
        enrolment_id TEXT NOT NULL REFERENCES enrolments(id),
        PRIMARY KEY (phone, enrolment_id)
    );

    CREATE TABLE concerns (
        id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        resolved INTEGER NOT NULL,
        opened_at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX concerns_unresolved_by_sender ON concerns(sender) WHERE resolved = 0;

    CREATE TABLE timeline (
        seq INTEGER PRIMARY KEY,
        concern_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX timeline_by_concern ON timeline(concern_id, seq);

    CREATE TABLE timers (
        concern_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (concern_id, kind)
    );
    CREATE INDEX timers_due ON timers(due_at);

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        concern_id TEXT,
        to_number TEXT NOT NULL,
        body TEXT NOT NULL,
        purpose TEXT NOT NULL,
        staff TEXT,
        recipient TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        provider_id TEXT
    );
    CREATE INDEX outbox_due ON outbox(due_at) WHERE state = 'pending';
    CREATE UNIQUE INDEX outbox_by_provider_id ON outbox(provider_id) WHERE provider_id IS NOT NULL;

    CREATE TABLE pages (
        concern_id TEXT NOT NULL,
        staff TEXT NOT NULL,
        code INTEGER NOT NULL,
        open INTEGER NOT NULL,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        PRIMARY KEY (concern_id, staff)
    );
    CREATE INDEX pages_by_staff ON pages(staff, open);
    CREATE INDEX pages_by_code ON pages(staff, code);
    CREATE TABLE last_codes (staff TEXT PRIMARY KEY, code INTEGER NOT NULL);

    CREATE TABLE opt_outs (phone TEXT PRIMARY KEY, opted_out INTEGER NOT NULL);
    CREATE TABLE api_keys (hash BLOB PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    ",
    // 2: outbox items are marked in flight before they are handed to the
    // provider, so one interrupted mid-send is checked with the provider,
    // not blindly sent again.
    r"
    DROP INDEX outbox_due;
    CREATE INDEX outbox_due ON outbox(due_at) WHERE state IN ('pending', 'in_flight');
    ",
    // 3: when each concern was resolved, and whether its text has been
    // removed after the retention period.
    r"
    ALTER TABLE concerns ADD COLUMN closed_at INTEGER;
    ALTER TABLE concerns ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX concerns_to_purge ON concerns(closed_at) WHERE purged = 0 AND closed_at IS NOT NULL;
    ",
    // 4: listing concerns (GET /api/v1/concerns), newest first, a page at a
    // time from a keyset cursor. Where each stands, its service and its
    // enrolment become columns, filled here once from the stored concerns
    // and written with every change after. Three indexes serve the list:
    // every concern newest first (also with `service` or `since`: a trust
    // has few services, so a page is found by skipping few rows), the
    // unresolved ones newest first (few among many resolved), and one
    // enrolment's concerns.
    r"
    ALTER TABLE concerns ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
    ALTER TABLE concerns ADD COLUMN service TEXT;
    ALTER TABLE concerns ADD COLUMN enrolment_id TEXT;
    UPDATE concerns SET
        status = COALESCE(json_extract(data, '$.escalation.status.status'),
                          CASE WHEN resolved THEN 'resolved' ELSE 'open' END),
        service = json_extract(data, '$.service'),
        enrolment_id = json_extract(data, '$.enrolment');
    CREATE INDEX concerns_newest ON concerns(opened_at, id);
    CREATE INDEX concerns_unresolved_newest ON concerns(opened_at, id) WHERE resolved = 0;
    CREATE INDEX concerns_by_enrolment ON concerns(enrolment_id, opened_at, id);
    ",
    // 5: texts to one number go out in order (the earliest unsent first); a
    // page remembers the escalation step it was for; each item remembers
    // when it was queued, so a stuck outbox shows its age.
    r"
    ALTER TABLE outbox ADD COLUMN step INTEGER;
    ALTER TABLE outbox ADD COLUMN queued_at INTEGER;
    UPDATE outbox SET queued_at = due_at;
    CREATE INDEX outbox_unsent_by_recipient ON outbox(to_number, id) WHERE state IN ('pending', 'in_flight');
    ",
    // 6: one row `/readyz` rewrites, to prove a write can commit.
    r"
    CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), beats INTEGER NOT NULL);
    ",
    // 7: the contract for several nodes. Work is claimed with a lease and a
    // fencing token (one row per claimed piece of work, kept until the work
    // completes so that `attempts` counts the claims that did not; `until`
    // is NULL once released); tokens come from one counter. A concern has a
    // version, bumped on every write (stored concerns start at 1). Page
    // codes reserved before their page is written are kept apart from pages.
    r"
    CREATE TABLE claims (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        token INTEGER NOT NULL,
        holder TEXT NOT NULL,
        until INTEGER,
        attempts INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE TABLE claim_tokens (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
    INSERT INTO claim_tokens (id, last) VALUES (1, 0);
    ALTER TABLE concerns ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE code_reservations (
        concern_id TEXT NOT NULL,
        staff TEXT NOT NULL,
        code INTEGER NOT NULL,
        reserved_at INTEGER NOT NULL,
        closed_at INTEGER,
        PRIMARY KEY (concern_id, staff)
    );
    CREATE INDEX code_reservations_by_staff ON code_reservations(staff, code);
    ",
    // 8: a clinician's texts queue per concern, not per number alone.
    r"
    DROP INDEX outbox_unsent_by_recipient;
    CREATE INDEX outbox_unsent_by_lane ON outbox(to_number, concern_id, id) WHERE state IN ('pending', 'in_flight');
    ",
    // 9: when each unsent text may next be claimed: its due time, or the
    // end of the lease on it if later. Texts waiting at a slow provider
    // then sit past "now" in the index, and neither claiming nor
    // `next_due` steps past them.
    r"
    ALTER TABLE outbox ADD COLUMN ready_at INTEGER;
    UPDATE outbox SET ready_at = MAX(due_at, COALESCE((SELECT c.until FROM claims c
        WHERE c.kind = 'outbox' AND c.key = CAST(outbox.id AS TEXT)), due_at))
        WHERE state IN ('pending', 'in_flight');
    CREATE INDEX outbox_ready ON outbox(ready_at, id) WHERE state IN ('pending', 'in_flight');
    ",
    // 10: staff on the web: sign-in codes waiting, request counts, sessions
    // and calendar feed tokens, each kept as a hash.
    r"
    CREATE TABLE sign_in_codes (
        challenge BLOB PRIMARY KEY,
        person TEXT NOT NULL,
        code BLOB NOT NULL,
        method TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sign_in_codes_expiry ON sign_in_codes(expires_at);
    CREATE TABLE hit_counts (
        bucket TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (bucket, window_start)
    );
    CREATE INDEX hit_counts_expiry ON hit_counts(window_end);
    CREATE TABLE sessions (
        hash BLOB PRIMARY KEY,
        person TEXT NOT NULL,
        method TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX sessions_expiry ON sessions(expires_at);
    CREATE TABLE calendar_tokens (
        person TEXT PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    ",
    // 11: the rota edits layer (undone edits stay), its version, the
    // append-only audit trail, and the gaps already alerted.
    r"
    CREATE TABLE rota_edits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        data TEXT NOT NULL,
        undone TEXT
    );
    CREATE TABLE rota_layer (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO rota_layer (id, version) VALUES (1, 0);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        edit INTEGER,
        data TEXT NOT NULL
    );
    CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TABLE gap_alerts (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
    ",
    // 12: reports read one service's concerns opened in a week.
    r"
    CREATE INDEX concerns_by_service ON concerns(service, opened_at, id);
    ",
    // 13: scheduled notices (check-ins, the waits for their answers,
    // morning handovers: docs/adr/0017), claimed like timers; and the
    // answers to check-ins, kept with their enrolment.
    r"
    CREATE TABLE notices (key TEXT PRIMARY KEY, due_at INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX notices_due ON notices(due_at);
    CREATE TABLE check_in_answers (
        enrolment_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX check_in_answers_by_enrolment ON check_in_answers(enrolment_id, at);
    ",
    // API keys belong to a client and carry scopes, an expiry and when
    // they were revoked; each enrolment records the client whose key made
    // it (docs/adr/0021). Keys stored before keep NULL client and scopes
    // and read as their own name's client with `Scopes::BEFORE_SCOPES`
    // (`store::codec::api_key_as_stored`, one rule for both backends); enrolments
    // made before have no client, so only `read-all` keys see them.
    r"
    ALTER TABLE api_keys ADD COLUMN client TEXT;
    ALTER TABLE api_keys ADD COLUMN scopes TEXT;
    ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
    ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
    CREATE INDEX api_keys_by_name ON api_keys(name);
    ALTER TABLE enrolments ADD COLUMN client TEXT;
    CREATE INDEX enrolments_by_client ON enrolments(client) WHERE client IS NOT NULL;
    ",
    // The EPR feed (docs/adr/0032): enrolments made from it carry the
    // patient's NHS number; each message is kept with its answer, once per
    // sender and MSH-10; and what the feed said about each person.
    r"
    ALTER TABLE enrolments ADD COLUMN nhs_number TEXT;
    CREATE INDEX enrolments_by_nhs_number ON enrolments(nhs_number) WHERE nhs_number IS NOT NULL;
    CREATE TABLE feed_messages (
        sender TEXT NOT NULL,
        control_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (sender, control_id)
    );
    CREATE INDEX feed_messages_by_time ON feed_messages(received_at);
    CREATE TABLE feed_people (nhs_number TEXT PRIMARY KEY, data TEXT NOT NULL);
    ",
    // Outbox priorities (docs/adr/0031): each unsent text's priority (its
    // lane's most urgent, see `apply::insert_outbox`) and its lane's
    // concern as `outbox::Lane::of` says (a clinician's text about no
    // concern shares their number's lane). Unsent texts stored before get
    // both from Rust right after this step (`work::fill_outbox_order`).
    r"
    ALTER TABLE outbox ADD COLUMN priority INTEGER;
    ALTER TABLE outbox ADD COLUMN lane_concern TEXT;
    DROP INDEX outbox_unsent_by_lane;
    CREATE INDEX outbox_unsent_by_lane ON outbox(to_number, lane_concern, id) WHERE state IN ('pending', 'in_flight');
    CREATE INDEX outbox_ready_by_priority ON outbox(priority, ready_at, id) WHERE state IN ('pending', 'in_flight');
    ",
];

/// The migration that added outbox priorities (counted from 1).
pub(super) const OUTBOX_PRIORITIES: usize = 16;

pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == OUTBOX_PRIORITIES {
            super::work::fill_outbox_order(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
