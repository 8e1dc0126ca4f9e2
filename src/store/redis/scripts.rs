//! The Lua scripts, one file per operation under `scripts/`, as
//! apalis-redis lays them out: the folder lists what the backend can do.
//!
//! Each script is its flags line, then `scripts/common.lua` (the key
//! helpers, claims, lanes and page codes every script may need), then its
//! own file. A script runs as one EVALSHA through [`redis::Script`] (EVAL
//! once if Redis does not have it yet), with `KEYS[1]` the namespace
//! prefix, so that on a Cluster it is routed to the namespace's slot, and
//! its arguments in `ARGV`. Reads are scripts when they take more than one
//! command, so each sees one consistent state in one round trip; writes
//! other than a `Change` are scripts so each is atomic.
//!
//! The first line declares the script's flags (Redis 7.0 and later). One
//! that may write is checked before it starts (memory, replica, disk), so
//! it is refused whole rather than half way; the reads say they do not
//! write, so they still answer when Redis is full and refuses writes.

use std::sync::LazyLock;

use redis::Script;

/// The flags line of a script that may write.
macro_rules! writes {
    () => {
        "#!lua\n"
    };
}

/// The flags line of a script that only reads.
macro_rules! reads {
    () => {
        "#!lua flags=no-writes\n"
    };
}

/// Declare each script: `NAME = flags, "file"` (scripts/file.lua after
/// scripts/common.lua).
macro_rules! scripts {
    ($($(#[$doc:meta])* $name:ident = $flags:ident, $file:literal;)*) => {
        $(
            $(#[$doc])*
            pub(super) static $name: LazyLock<Script> = LazyLock::new(|| {
                Script::new(concat!(
                    $flags!(),
                    include_str!("scripts/common.lua"),
                    include_str!(concat!("scripts/", $file, ".lua"))
                ))
            });
        )*

        /// Every script's file name, for the test that each file is declared.
        #[cfg(test)]
        pub(super) const FILES: &[&str] = &["common", $($file),*];
    };
}

scripts! {
    /// One `Change`, whole or not at all.
    APPLY = writes, "apply";
    ADD_ROTA_EDIT = writes, "add_rota_edit";
    APPEND_AUDIT = writes, "append_audit";
    CHECK_SIGN_IN_CODE = writes, "check_sign_in_code";
    CLAIM = writes, "claim";
    COUNT_HIT = writes, "count_hit";
    CREATE_API_KEY = writes, "create_api_key";
    CREATE_SESSION = writes, "create_session";
    DELETE_SESSION = writes, "delete_session";
    END_ENROLMENT = writes, "end_enrolment";
    INDEX_SERVICES = writes, "index_services";
    MARK_GAP_ALERTED = writes, "mark_gap_alerted";
    ORDER_OUTBOX = writes, "order_outbox";
    PING = writes, "ping";
    PURGE_CONCERNS = writes, "purge_concerns";
    PURGE_ENROLMENTS = writes, "purge_enrolments";
    PURGE_INBOUND = writes, "purge_inbound";
    PUT_SIGN_IN_CODE = writes, "put_sign_in_code";
    RECORD_FEED_MESSAGE = writes, "record_feed_message";
    RECORD_INBOUND = writes, "record_inbound";
    RELEASE = writes, "release";
    RENEW = writes, "renew";
    REVISE_ENROLMENT = writes, "revise_enrolment";
    RESERVE_CODE = writes, "reserve_code";
    REVOKE_API_KEY = writes, "revoke_api_key";
    SECRET = writes, "secret";
    SET_CALENDAR_TOKEN = writes, "set_calendar_token";
    TOUCH_SESSION = writes, "touch_session";
    UNDO_ROTA_EDIT = writes, "undo_rota_edit";
    API_KEYS = reads, "api_keys";
    BACKLOG = reads, "backlog";
    CONCERN = reads, "concern";
    CONCERNS = reads, "concerns";
    CONCERNS_OPENED = reads, "concerns_opened";
    ENROLMENTS_FOR_NHS_NUMBER = reads, "enrolments_for_nhs_number";
    ENROLMENTS_FOR_PHONE = reads, "enrolments_for_phone";
    FEED_MESSAGES = reads, "feed_messages";
    NEXT_DUE = reads, "next_due";
    OPEN_CONCERN_FROM = reads, "open_concern_from";
    OUTBOX_BY_PROVIDER_ID = reads, "outbox_by_provider_id";
    PAGES_FOR = reads, "pages_for";
    PURGE_CANDIDATES = reads, "purge_candidates";
    ROTA_EDITS = reads, "rota_edits";
}
