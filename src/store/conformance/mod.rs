//! The behaviour every store backend must have. Each backend runs this suite
//! (see the bottom of this file) against a fresh store. The cases live in
//! files by what they cover; the fixtures they share are here.

use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::access::sessions::SignInMethod;
use crate::access::sessions::{CodeAttempt, CodeCheck, Session, SignInCode};
use crate::api_keys::ApiKey;
use crate::checkins::{CheckInAnswer, Notice};
use crate::checkins::{CheckInReply, NoticeKind};
use crate::clock::Instant;
use crate::concern::Purged;
use crate::concern::{CodeRequest, Concern, ConcernId, Party};
use crate::concern::{ConcernFilter, Page};
use crate::concern::{ConcernKey, ConcernStatus};
use crate::directory::{Address, Id, PhoneNumber};
use crate::directory::{Contact, Enrolment, EnrolmentId};
use crate::escalation::{Escalation, Status};
use crate::inbox::Inbound;
use crate::inbox::InboundKind;
use crate::outbox::OutboxItem;
use crate::outbox::{NewOutbox, OutboxOutcome};
use crate::reports::Backlog;
use crate::rota::layer::{AuditRecord, LayerWrite, NewRotaEdit, Undone};
use crate::timeline::Purpose;
use crate::timeline::{TimelineEntry, TimelineEvent};
use crate::work::TimerKind;
use crate::work::{Change, Claim, ClaimOf, ClaimRequest, Claimed, NodeId, Timer, Work, WorkKind};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

/// Someone reached by text at `number` (no email).
fn texted(name: &str, number: &str) -> Contact {
    Contact {
        name: name.into(),
        phone: Some(phone(number)),
        email: None,
    }
}

/// A carer reached by text at `number`, and who they are to the patient.
fn carer(name: &str, number: &str, relationship: &str) -> crate::directory::Carer {
    crate::directory::Carer {
        contact: texted(name, number),
        relationship: Some(relationship.into()),
    }
}

fn sms(key: &str, from: &str) -> Inbound {
    Inbound {
        key: key.into(),
        kind: InboundKind::Sms {
            from: from.into(),
            to: "+447700900000".into(),
            body: "My dressing is leaking".into(),
            media: 0,
        },
        received_at: t("2026-11-27T19:05:00Z"),
    }
}

fn concern(sender: &str) -> Concern {
    Concern {
        id: ConcernId::new(),
        enrolment: None,
        service: Some(Id::parse("cardiology-ward-7").unwrap()),
        sender: Address::from_key(sender).unwrap(),
        party: Party::Patient,
        opened_at: t("2026-11-27T19:05:00Z"),
        text: "My dressing is leaking".into(),
        escalation: Escalation::new(false),
        pictures_explained: false,
        recognised: None,
        calls: Vec::new(),
        version: 0,
    }
}

/// A concern as the store holds it now (with its version).
fn stored(store: &Arc<dyn Store>, id: ConcernId) -> Concern {
    store.concern(id).unwrap().expect("the concern is stored")
}

/// Apply, at `at`, a change that does only what `set` writes into it.
fn apply_at(store: &Arc<dyn Store>, at: Instant, set: impl FnOnce(&mut Change)) {
    let mut change = Change {
        at,
        ..Change::default()
    };
    set(&mut change);
    store.apply(change).unwrap();
}

/// Enrol `e` at `at`, in a change that does nothing else.
fn enrol(store: &Arc<dyn Store>, at: Instant, e: &Enrolment) {
    apply_at(store, at, |change| change.enrolment = Some(e.clone()));
}

/// Write `concern` at `at` (a new one at version 0, else over the version
/// it carries), in a change that does nothing else.
fn write_concern(store: &Arc<dyn Store>, at: Instant, concern: &Concern) {
    apply_at(store, at, |change| change.concern = Some(concern.clone()));
}

/// How many enrolments a purge of what ended before `before` removes.
fn enrolments_purged(store: &Arc<dyn Store>, before: Instant) -> u64 {
    store.purge(before, "[removed]").unwrap().enrolments
}

/// Complete the work `claim` is on at `at`, changing nothing else.
fn complete(store: &Arc<dyn Store>, at: Instant, claim: &Claim) {
    apply_at(store, at, |change| change.claim = Some(claim.clone()));
}

/// The code `staff` replies with about `concern`, reserved at `at`, with
/// codes closed or released since `quarantine_since` still in use.
fn code_for(
    store: &Arc<dyn Store>,
    concern: ConcernId,
    staff: &Id,
    quarantine_since: Instant,
    at: Instant,
) -> u16 {
    let request = CodeRequest {
        concern,
        staff,
        quarantine_since,
        at,
    };
    store.reserve_code(request).unwrap()
}

/// What each backend's own purge test checks last, once the purge at
/// `resolved_at` cleared the words of `readable` and set aside a concern it
/// could not read: every entry of `readable` reads now, its words are
/// gone, and a later purge does not try the one set aside again.
pub(in crate::store) fn purged_once_and_set_aside(
    store: &dyn Store,
    readable: ConcernId,
    resolved_at: Instant,
) {
    assert_eq!(
        store.timeline(readable).unwrap().len(),
        2,
        "every entry reads now"
    );
    assert_eq!(store.concern(readable).unwrap().unwrap().text, "[removed]");
    assert_eq!(
        store
            .purge(resolved_at + TimeDelta::days(1), "[removed]")
            .unwrap(),
        Purged::default(),
        "the unreadable one is not tried again"
    );
}

fn outbox(concern: Option<ConcernId>, to: &str) -> NewOutbox {
    NewOutbox {
        concern,
        to: Address::from_key(to).unwrap(),
        body: "Hello".into(),
        purpose: Purpose::Notice,
        staff: None,
        recipient: "patient".into(),
        step: None,
    }
}

mod cases;
mod enrolments;
mod feed;
mod keys;
mod nodes;
mod notices;
mod opening;
mod outbox;
mod rota_layer;
mod staff_web;

use cases::*;
use enrolments::*;
use feed::*;
use keys::*;
use nodes::*;
use notices::*;
use opening::*;
use outbox::*;
use rota_layer::*;
use staff_web::*;

// ---- running the suite: one test per case per backend ----

use std::sync::{Mutex, Weak};

/// One server (or cluster) shared by the cases that run at the same time in
/// this process, each in a namespace of its own; it stops when the last of
/// them ends. (A `static` that held it for good would never be dropped, so
/// its `redis-server`s would outlive the tests.) Under nextest, which runs
/// each test in a process of its own, every case gets its own.
fn shared<T>(slot: &Mutex<Weak<T>>, start: impl FnOnce() -> T) -> Arc<T> {
    let mut slot = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(running) = slot.upgrade() {
        return running;
    }
    let started = Arc::new(start());
    *slot = Arc::downgrade(&started);
    started
}

/// A fresh store: the namespace `namespace` (a case's name) on the Redis at `url`.
fn redis_store(url: &str, namespace: &str) -> Arc<dyn Store> {
    Arc::new(redis::RedisStore::open_in(url, namespace).unwrap())
}

static REDIS: Mutex<Weak<redis::test_server::RedisServer>> = Mutex::new(Weak::new());
static REDIS_CLUSTER: Mutex<Weak<redis::test_server::RedisCluster>> = Mutex::new(Weak::new());

/// Each case as a test of its own on each backend, against a fresh store:
/// `on_sqlite::CASE`, `on_redis::CASE` and `on_redis_cluster::CASE`, so
/// that one failure hides none of the others.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("store.db");
                    super::$case(Arc::new(sqlite::SqliteStore::open(&path).unwrap()));
                }
            )*
        }

        mod on_redis {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let server = shared(&REDIS, redis::test_server::RedisServer::start);
                    super::$case(redis_store(&server.url(), stringify!($case)));
                }
            )*
        }

        // Each case's namespace hashes to its own slot, so the cases spread
        // over the three primaries; a script that touched a key outside its
        // slot would be refused here, where one server would let it through.
        mod on_redis_cluster {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let cluster = shared(&REDIS_CLUSTER, redis::test_server::RedisCluster::start);
                    super::$case(redis_store(&cluster.url(), stringify!($case)));
                }
            )*
        }
    };
}

conformance! {
    api_keys_keep_their_client_scopes_and_expiry_and_are_revoked_by_name,
    a_clients_concerns_are_listed_for_it_and_nobody_elses,
    rota_edits_are_kept_in_order_and_an_undone_one_stays_as_history,
    the_audit_trail_only_grows_and_reads_in_pages,
    an_edit_of_a_shared_rotation_is_audited_under_every_service_it_changes,
    a_gap_is_alerted_once_however_many_nodes_ask,
    notices_are_claimed_once_and_a_late_write_after_a_takeover_is_refused,
    a_notice_is_added_once_cancelled_with_its_claim_and_answers_go_with_the_enrolment,
    inbound_is_recorded_once_and_stays_pending_until_processed,
    an_emails_words_are_kept_once_on_the_timeline_and_the_item_keeps_who_sent_it,
    a_change_writes_state_timeline_outbox_and_timers_together,
    a_fired_timer_is_removed_unless_it_was_re_armed,
    a_resolved_concern_no_longer_collects_messages,
    enrolments_are_found_by_patient_or_carer_number_while_active,
    a_child_enrolled_with_his_mother_as_contact_is_kept_not_texted,
    enrolments_are_found_by_patient_or_carer_email_in_any_case,
    an_enrolment_keeps_the_language_its_people_are_texted_in,
    an_ongoing_enrolment_is_found_until_it_is_ended_and_only_then_purged,
    pages_keep_their_codes_and_close_with_the_concern,
    opt_outs_api_keys_and_secrets_persist,
    concurrent_writes_all_land_and_one_failure_does_not_sink_the_rest,
    an_outbox_item_in_flight_stays_due_until_its_outcome_is_written,
    texts_to_one_number_go_out_in_order_and_a_retry_holds_back_the_next,
    the_most_urgent_lane_goes_first_and_each_person_keeps_their_order,
    the_backlog_counts_due_texts_by_priority_and_the_one_due_longest,
    an_email_keeps_its_address_has_a_lane_of_its_own_and_is_found_by_its_message_id,
    purging_removes_what_people_wrote_and_keeps_who_did_what,
    concerns_are_listed_newest_first_by_status_service_enrolment_and_time,
    pages_follow_on_from_a_key_and_ignore_concerns_that_arrive_between_pages,
    two_nodes_claiming_at_once_each_get_different_work,
    a_dead_nodes_work_is_taken_over_after_its_lease_and_its_late_write_is_refused,
    a_lease_that_ran_out_still_completes_if_nobody_took_the_work_over,
    renewing_keeps_work_and_releasing_gives_it_back_at_once,
    texts_waiting_at_a_slow_provider_stand_in_front_of_nothing,
    attempts_count_the_claims_that_did_not_finish,
    texts_to_one_number_keep_their_order_across_nodes,
    a_hanging_page_holds_up_no_other_patients_page_to_the_same_clinician,
    a_write_from_a_stale_copy_of_a_concern_is_refused_whole,
    two_first_messages_from_one_sender_open_exactly_one_concern,
    a_concern_from_an_address_is_found_by_it_and_opened_once,
    codes_reserved_at_once_are_never_shared_and_stay_with_their_concern,
    codes_wrap_after_9999_and_are_reused_when_all_are_in_use,
    a_sign_in_code_works_once_in_time_and_dies_after_too_many_wrong_tries,
    hits_are_counted_per_bucket_and_window,
    hits_are_read_without_counting_one,
    sessions_are_found_touched_and_deleted_by_hash,
    a_calendar_token_opens_one_persons_feed_until_replaced_or_revoked,
    a_services_concerns_of_a_week_come_oldest_first_with_their_timelines_and_survive_retention,
    how_an_email_came_and_how_its_sender_was_recognised_are_kept,
    feed_messages_are_kept_once_per_sender_and_control_id_newest_first,
    a_person_is_kept_replaced_and_forgotten_by_nhs_number,
    enrolments_are_found_by_nhs_number_and_revised_in_place,
}

#[test]
fn sqlite_store_keeps_everything_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nightingale.db");
    {
        let store = sqlite::SqliteStore::open(&path).unwrap();
        assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    }
    let store = sqlite::SqliteStore::open(&path).unwrap();
    assert_eq!(
        store
            .backlog(t("2026-11-27T19:05:00Z"))
            .unwrap()
            .inbound_pending,
        1
    );
    assert!(!store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
}
