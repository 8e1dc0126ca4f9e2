//! Enrolled at discharge without anyone typing: the trust's integration
//! engine sends HL7 v2 ADT over MLLP, on a real socket, one frame at a
//! time, and reads each ACK, as Mirth or Rhapsody would.
//!
//! Friday 27 November: Margaret Evans's details come from the PAS, then her
//! discharge from Cardiology Ward 7 (the UK A03 with no next of kin), so
//! she and her daughter Sian, from the earlier message, are welcomed. The
//! engine resends a message; garbage lands between frames; a patient dies;
//! a discharge is cancelled; two records are merged; a child goes home
//! and his mother is the one texted.

use chrono::Duration;
use serde_json::Value;

use crate::support::mllp::{Ack, Engine};
use crate::support::nightingale::{MARGARET, SIAN, TestApp};

/// Margaret Evans's NHS number, and others whose check digits are right.
const MARGARET_NHS: &str = "9434765919";
const ARTHUR_NHS: &str = "9990000018";
const JOAN_NHS: &str = "9990000026";
const RHYS_NHS: &str = "9990000034";
const OLD_DAVID_NHS: &str = "9990000042";
const DAVID_NHS: &str = "9990000050";
const LEO_NHS: &str = "9990000069";
const PRIYA_NHS: &str = "9990000077";

const ARTHUR: &str = "+447700900811";
const JOAN: &str = "+447700900812";
const RHYS: &str = "+447700900813";
const DAVID: &str = "+447700900814";
const LEO: &str = "+447700900815";
const JESS: &str = "+447700900816";
const PRIYA: &str = "+447700900817";

/// MSH for an ADT of `trigger` with MSH-10 `id`, in version 2.4.
fn msh(trigger: &str, id: &str) -> String {
    msh_as("ADT", trigger, id, "2.4")
}

fn msh_as(kind: &str, trigger: &str, id: &str, version: &str) -> String {
    format!(
        "MSH|^~\\&|PAS|RVJ|NIGHTINGALE|RVJ|20261127170000||{kind}^{trigger}^ADT_A01|{id}|P|{version}\rEVN|{trigger}|20261127170000\r"
    )
}

/// A patient as the PAS describes them.
struct Pid<'a> {
    nhs: &'a str,
    name: &'a str,
    born: &'a str,
    phones: &'a str,
    died: bool,
}

impl Pid<'_> {
    fn segment(&self) -> String {
        let mut f = vec![""; 31];
        f[1] = "1";
        let ids = format!("{}^^^NHS^NH~H{}^^^RVJ^MR", self.nhs, &self.nhs[6..]);
        f[3] = &ids;
        f[5] = self.name;
        f[7] = self.born;
        f[13] = self.phones;
        f[15] = "en";
        if self.died {
            f[29] = "20261127160000";
            f[30] = "Y";
        }
        format!("PID|{}\r", f[1..].join("|"))
    }
}

/// PV1 at `location`, discharged at `at` (PV1-45), with disposition PV1-36.
fn pv1(location: &str, disposition: &str, at: &str) -> String {
    let mut f = vec![""; 46];
    f[1] = "1";
    f[2] = "I";
    let loc = format!("{location}^Bay 2^Bed 4^RVJ");
    f[3] = &loc;
    f[36] = disposition;
    f[45] = at;
    format!("PV1|{}\r", f[1..].join("|"))
}

fn margaret() -> Pid<'static> {
    Pid {
        nhs: MARGARET_NHS,
        name: "Evans^Margaret^Ann",
        born: "19480312",
        phones: "07700900801^PRS^CP~01632960001^PRN^PH",
        died: false,
    }
}

fn patient<'a>(nhs: &'a str, name: &'a str, phone: &'a str) -> Pid<'a> {
    Pid {
        nhs,
        name,
        born: "19500101",
        phones: phone,
        died: false,
    }
}

/// A discharge from `location` at 16:50.
fn a03(id: &str, pid: &Pid<'_>, location: &str) -> String {
    format!(
        "{}{}{}",
        msh("A03", id),
        pid.segment(),
        pv1(location, "01", "20261127165000")
    )
}

/// The enrolments the API lists for an NHS number.
async fn enrolments(app: &TestApp, nhs: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/api/v1/enrolments?nhs_number={nhs}"))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["enrolments"].as_array().unwrap().clone()
}

fn texts_to(app: &TestApp, number: &str) -> Vec<String> {
    app.twilio
        .messages_to(number)
        .into_iter()
        .map(|m| m.body)
        .collect()
}

fn assert_ack(ack: &Ack, code: &str, id: &str) {
    assert_eq!(ack.code(), code, "{:?}", ack.0);
    assert_eq!(
        ack.answers(),
        id,
        "MSA-2 is the MSH-10 answered: {:?}",
        ack.0
    );
    // The ACK swaps sender and receiver.
    assert_eq!(ack.field("MSH", 3), "NIGHTINGALE");
    assert_eq!(ack.field("MSH", 5), "PAS");
    assert_eq!(ack.field("MSH", 6), "RVJ");
}

#[tokio::test]
async fn a_discharge_from_the_epr_enrols_and_welcomes_without_anyone_typing() {
    let app = TestApp::spawn_with("2026-11-27T17:00", |c| {
        c.mllp_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let mut engine = Engine::connect(app.mllp.as_deref().unwrap()).await;

    // 16:00: the PAS registers Margaret, with Sian as next of kin (A28).
    let a28 = format!(
        "{}{}NK1|1|Evans^Sian|NCH^Daughter||07700900802^PRN^CP\r",
        msh("A28", "MSG0001"),
        margaret().segment()
    );
    assert_ack(&engine.send(&a28).await, "AA", "MSG0001");
    app.settle().await;
    assert!(
        texts_to(&app, MARGARET).is_empty(),
        "details alone text nobody"
    );

    // 17:00: her discharge from W7, in the UK v2.4 shape: no NK1.
    let discharge = a03("MSG0002", &margaret(), "W7");
    assert_ack(&engine.send(&discharge).await, "AA", "MSG0002");
    app.settle().await;
    let to_margaret = texts_to(&app, MARGARET);
    assert_eq!(to_margaret.len(), 1, "{to_margaret:?}");
    assert!(to_margaret[0].contains("Margaret"), "{to_margaret:?}");
    assert!(
        !to_margaret[0].contains(MARGARET_NHS),
        "no NHS number in a text"
    );
    let to_sian = texts_to(&app, SIAN);
    assert_eq!(to_sian.len(), 1, "Sian, from the A28, is welcomed as carer");
    let listed = enrolments(&app, MARGARET_NHS).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "active");
    assert_eq!(listed[0]["service"], "cardiology-ward-7");
    let first_end = listed[0]["ends_at"].clone();

    // The engine lost the ACK and sends MSG0002 again: AA again, acted on once.
    assert_ack(&engine.send(&discharge).await, "AA", "MSG0002");
    app.settle().await;
    assert_eq!(texts_to(&app, MARGARET).len(), 1);
    assert_eq!(enrolments(&app, MARGARET_NHS).await.len(), 1);

    // Garbage between good messages: bytes outside a frame, then a frame
    // that is not HL7 (AR, sent again by nobody), then a good one.
    engine.send_bytes(b"\r\nGET / HTTP/1.1\r\n").await;
    let junk = engine.send("hello, this is not HL7").await;
    assert_eq!(junk.code(), "AR");
    assert_eq!(junk.field("ERR", 3).split('^').next(), Some("100"));

    // Next day, a repeat discharge (a correction): renewed, not welcomed twice.
    app.clock.advance(Duration::hours(20));
    let again = format!(
        "{}{}{}",
        msh("A03", "MSG0003"),
        margaret().segment(),
        pv1("CARDW7", "01", "20261128120000")
    );
    assert_ack(&engine.send(&again).await, "AA", "MSG0003");
    app.settle().await;
    let listed = enrolments(&app, MARGARET_NHS).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "active");
    assert_ne!(
        listed[0]["ends_at"], first_end,
        "renewed from the new discharge"
    );
    assert_eq!(texts_to(&app, MARGARET).len(), 1, "welcomed once");
    assert_eq!(texts_to(&app, SIAN).len(), 1, "welcomed once");
}

#[tokio::test]
async fn what_cannot_be_used_is_answered_ae_and_what_should_be_fixed_ar() {
    let app = TestApp::spawn_with("2026-11-27T17:00", |c| {
        c.mllp_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let mut engine = Engine::connect(app.mllp.as_deref().unwrap()).await;

    // No NHS number, only the hospital number: AE, with ERR at PID-3.
    let no_nhs = a03("E1", &margaret(), "W7").replace(&format!("{MARGARET_NHS}^^^NHS^NH~"), "");
    let ack = engine.send(&no_nhs).await;
    assert_ack(&ack, "AE", "E1");
    assert_eq!(ack.field("ERR", 2), "PID^1^3");
    assert_eq!(ack.field("ERR", 4), "E");
    // A mistyped NHS number (check digit wrong): AE, never a wrong match.
    let typo = a03(
        "E2",
        &patient("9434765918", "Evans^Margaret", "07700900801"),
        "W7",
    );
    assert_ack(&engine.send(&typo).await, "AE", "E2");
    // A patient with no phone or email: AE, no usable contact.
    let unreachable = a03("E3", &patient(ARTHUR_NHS, "Davies^Arthur", ""), "W7");
    let ack = engine.send(&unreachable).await;
    assert_ack(&ack, "AE", "E3");
    assert_eq!(ack.field("ERR", 2), "PID^1^13");

    // Not ADT, or a version not taken: AR, with the reason's code.
    let oru = msh_as("ORU", "R01", "R1", "2.4");
    let ack = engine.send(&oru).await;
    assert_ack(&ack, "AR", "R1");
    assert!(ack.field("ERR", 3).starts_with("200^"));
    let v26 = format!(
        "{}{}",
        msh_as("ADT", "A03", "R2", "2.6"),
        margaret().segment()
    );
    assert_ack(&engine.send(&v26).await, "AR", "R2");
    let a05 = format!("{}{}", msh("A05", "R3"), margaret().segment());
    assert_ack(&engine.send(&a05).await, "AR", "R3");

    // A discharge from a location no service claims: kept, AA, not enrolled.
    let xray = a03(
        "L1",
        &patient(ARTHUR_NHS, "Davies^Arthur", "07700900811"),
        "XRAY",
    );
    assert_ack(&engine.send(&xray).await, "AA", "L1");
    app.settle().await;
    assert!(texts_to(&app, ARTHUR).is_empty());
    assert!(enrolments(&app, ARTHUR_NHS).await.is_empty());

    // Nothing was enrolled or texted from any of these.
    assert!(texts_to(&app, MARGARET).is_empty());
    assert!(app.twilio.messages().is_empty());

    // A bad NHS number in the query is refused with what to send.
    let response = app.get("/api/v1/enrolments?nhs_number=123").await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_death_is_never_texted_a_cancelled_discharge_ends_silently_and_a_merge_moves_the_enrolment()
 {
    let app = TestApp::spawn_with("2026-11-27T17:00", |c| {
        c.mllp_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let mut engine = Engine::connect(app.mllp.as_deref().unwrap()).await;

    // Joan died on the ward: her A03 says so (PID-30 Y). Never enrolled, never texted.
    let mut joan = patient(JOAN_NHS, "Hughes^Joan", "07700900812");
    joan.died = true;
    assert_ack(&engine.send(&a03("D1", &joan, "W7")).await, "AA", "D1");
    // Arthur: discharged with disposition 79 (NHS: patient died).
    let arthur = patient(ARTHUR_NHS, "Davies^Arthur", "07700900811");
    let died_79 = format!(
        "{}{}{}",
        msh("A03", "D2"),
        arthur.segment(),
        pv1("W7", "79", "20261127165000")
    );
    assert_ack(&engine.send(&died_79).await, "AA", "D2");
    app.settle().await;
    assert!(texts_to(&app, JOAN).is_empty());
    assert!(texts_to(&app, ARTHUR).is_empty());
    assert!(enrolments(&app, JOAN_NHS).await.is_empty());
    assert!(enrolments(&app, ARTHUR_NHS).await.is_empty());
    // A later discharge for Joan (a mistake) still enrols nobody.
    let mut joan_again = patient(JOAN_NHS, "Hughes^Joan", "07700900812");
    joan_again.died = false;
    assert_ack(
        &engine.send(&a03("D3", &joan_again, "W7")).await,
        "AA",
        "D3",
    );
    app.settle().await;
    assert!(texts_to(&app, JOAN).is_empty(), "once dead, never texted");

    // Rhys goes home; then the PAS records his death (A08, PID-29).
    let rhys = patient(RHYS_NHS, "Owen^Rhys", "07700900813");
    assert_ack(&engine.send(&a03("D4", &rhys, "W7")).await, "AA", "D4");
    app.settle().await;
    assert_eq!(texts_to(&app, RHYS).len(), 1, "welcomed");
    let mut rhys_died = patient(RHYS_NHS, "Owen^Rhys", "07700900813");
    rhys_died.died = true;
    let a08 = format!("{}{}", msh("A08", "D5"), rhys_died.segment());
    assert_ack(&engine.send(&a08).await, "AA", "D5");
    let listed = enrolments(&app, RHYS_NHS).await;
    assert_eq!(listed[0]["state"], "ended");
    assert_eq!(listed[0]["ended_because"], "died");

    // Priya's discharge is cancelled (A13): ended, and her check-ins never go.
    let priya = patient(PRIYA_NHS, "Shah^Priya", "07700900817");
    assert_ack(&engine.send(&a03("C1", &priya, "W7")).await, "AA", "C1");
    app.settle().await;
    assert_eq!(texts_to(&app, PRIYA).len(), 1, "welcomed");
    let a13 = format!(
        "{}{}{}",
        msh("A13", "C2"),
        priya.segment(),
        pv1("W7", "", "")
    );
    assert_ack(&engine.send(&a13).await, "AA", "C2");
    let listed = enrolments(&app, PRIYA_NHS).await;
    assert_eq!(listed[0]["state"], "ended");
    assert_eq!(listed[0]["ended_because"], "discharge_cancelled");
    // A11 (cancel admit) is taken, with nothing to undo.
    let a11 = format!(
        "{}{}{}",
        msh("A11", "C3"),
        priya.segment(),
        pv1("W7", "", "")
    );
    assert_ack(&engine.send(&a11).await, "AA", "C3");

    // David was enrolled under a duplicate record; the PAS merges it (A40).
    let old_david = patient(OLD_DAVID_NHS, "Jones^David", "07700900814");
    assert_ack(&engine.send(&a03("M1", &old_david, "W7")).await, "AA", "M1");
    let david = patient(DAVID_NHS, "Jones^David", "07700900814");
    let a40 = format!(
        "{}{}MRG|{OLD_DAVID_NHS}^^^NHS^NH\r",
        msh("A40", "M2"),
        david.segment()
    );
    assert_ack(&engine.send(&a40).await, "AA", "M2");
    assert!(enrolments(&app, OLD_DAVID_NHS).await.is_empty());
    let moved = enrolments(&app, DAVID_NHS).await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["state"], "active");
    app.settle().await;
    assert_eq!(
        texts_to(&app, DAVID).len(),
        1,
        "the merge welcomes nobody again"
    );

    // Three days on: no check-in goes to the dead or the cancelled.
    let welcomed: Vec<usize> = [JOAN, ARTHUR, RHYS, PRIYA]
        .iter()
        .map(|n| texts_to(&app, n).len())
        .collect();
    app.advance(Duration::hours(25)).await;
    app.advance(Duration::hours(48)).await;
    let after: Vec<usize> = [JOAN, ARTHUR, RHYS, PRIYA]
        .iter()
        .map(|n| texts_to(&app, n).len())
        .collect();
    assert_eq!(welcomed, after, "no check-in to the dead or the cancelled");
    assert!(
        texts_to(&app, DAVID).len() > 1,
        "David, still enrolled, is checked on: {:?}",
        texts_to(&app, DAVID)
    );
}

#[tokio::test]
async fn a_child_goes_home_and_his_mother_is_the_one_texted() {
    let app = TestApp::spawn_with("2026-11-27T17:00", |c| {
        c.mllp_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let mut engine = Engine::connect(app.mllp.as_deref().unwrap()).await;
    let leo = Pid {
        nhs: LEO_NHS,
        name: "Morgan^Leo",
        born: "20170302",
        phones: "07700900815^PRS^CP",
        died: false,
    };
    // Admitted with his mother as next of kin (A01), discharged from the
    // children's assessment unit (A03, no NK1).
    let a01 = format!(
        "{}{}NK1|1|Morgan^Jess|MTH^Mother||07700900816\r{}",
        msh("A01", "K1"),
        leo.segment(),
        pv1("CAU", "", "")
    );
    assert_ack(&engine.send(&a01).await, "AA", "K1");
    assert_ack(&engine.send(&a03("K2", &leo, "CAU")).await, "AA", "K2");
    app.settle().await;
    assert!(
        texts_to(&app, LEO).is_empty(),
        "a nine-year-old is not texted"
    );
    let to_jess = texts_to(&app, JESS);
    assert_eq!(to_jess.len(), 1, "{to_jess:?}");
    assert!(to_jess[0].contains("Jess"), "{to_jess:?}");
    let listed = enrolments(&app, LEO_NHS).await;
    assert_eq!(listed[0]["service"], "childrens-assessment-unit");
}

#[tokio::test]
async fn many_connections_each_keep_their_order_and_the_details_messages_are_all_taken() {
    let app = TestApp::spawn_with("2026-11-27T17:00", |c| {
        c.mllp_listen = Some("127.0.0.1:0".parse().unwrap());
        c.mllp_max_bytes = 2000;
    })
    .await;
    let address = app.mllp.clone().unwrap();
    let mut tasks = Vec::new();
    for c in 0..4 {
        let address = address.clone();
        tasks.push(tokio::spawn(async move {
            let mut engine = Engine::connect(&address).await;
            for (i, trigger) in ["A01", "A04", "A08", "A28", "A31"].iter().enumerate() {
                let id = format!("P{c}-{i}");
                let m = format!("{}{}", msh(trigger, &id), margaret().segment());
                let ack = engine.send(&m).await;
                assert_eq!((ack.code(), ack.answers()), ("AA".to_owned(), id));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Too large: AR, and the connection goes on.
    let mut engine = Engine::connect(&address).await;
    let big = format!(
        "{}{}NTE|1||{}\r",
        msh("A08", "BIG"),
        margaret().segment(),
        "x".repeat(3000)
    );
    let ack = engine.send(&big).await;
    assert_ack(&ack, "AR", "BIG");
    let small = format!("{}{}", msh("A08", "AFTER"), margaret().segment());
    assert_ack(&engine.send(&small).await, "AA", "AFTER");
    app.settle().await;
    assert!(app.twilio.messages().is_empty());
}
