//! Several servers on one database: two engines, each with its own definitions folder,
//! mail sender and timers, as two `signoff serve` processes behind a load balancer.
//! Every action, timer, mail and published definition counts once across them.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;
use signoff_engine::notify::{MailQuery, MailStatus};
use signoff_engine::runtime::{
    ActionKind, ActionRequest, Engine, EngineError, HistoryAction, InstanceId,
};
use signoff_tests::{
    claim, eventually, processes_copy, quick_sender, storage_test, Harness, SmtpServer,
};

const REQUESTS: usize = 16;
const WAIT: Duration = Duration::from_secs(60);

fn approve() -> ActionRequest {
    ActionRequest::new(ActionKind::Approve)
}

/// Both servers act on the manager's task at once: exactly one wins, the other is told
/// the task moved on.
async fn race(h: &Harness, b: &Engine, id: InstanceId) {
    let task = h.task(id, "liu.qiang").await;
    let (x, y) = tokio::join!(
        h.engine.act(task, "liu.qiang", approve()),
        b.act(task, "liu.qiang", approve())
    );
    match (&x, &y) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => {
            assert!(matches!(e, EngineError::Stale { .. }), "request {id}: {e}")
        }
        _ => panic!("request {id}: exactly one approval wins: {x:?} / {y:?}"),
    }
}

/// Fires due timers on both servers at once until neither finds any; how many fired.
async fn fire_on_both(h: &Harness, b: &Engine) -> usize {
    let mut total = 0;
    loop {
        let (x, y) = tokio::join!(h.engine.fire_due_timers(), b.fire_due_timers());
        let fired = x.expect("timers on A") + y.expect("timers on B");
        if fired == 0 {
            return total;
        }
        total += fired;
    }
}

/// The events timers cause, counted by (request, action, step): a timer fired twice
/// would count two.
fn timer_events(views: &[signoff_engine::runtime::InstanceView]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for view in views {
        for e in &view.history {
            if matches!(e.action, HistoryAction::Escalate | HistoryAction::Remind) {
                let key = format!("{} {:?} {:?}", view.id, e.action, e.step);
                *seen.entry(key).or_insert(0) += 1;
            }
        }
    }
    seen
}

storage_test! {
    async fn two_servers_on_one_database_do_each_action_timer_and_mail_once(db) {
        let smtp = SmtpServer::start("servers-smtp").await;
        let a_dir = processes_copy("servers-a-defs", &["reimbursement.yaml"]);
        let h = Harness::with_processes(&db, "servers-a", a_dir).await;
        let b_dir = processes_copy("servers-b-defs", &["reimbursement.yaml"]);
        let b = signoff_tests::open(&h.db, &b_dir, h.clock.clone()).await;
        let mail_a = h.engine.spawn_mailer(quick_sender(&smtp.url()));
        let mail_b = b.spawn_mailer(quick_sender(&smtp.url()));

        // Requests started on both servers at once, each seen by the other.
        let starts = (0..REQUESTS).map(|i| {
            let server = if i % 2 == 0 { &h.engine } else { &b };
            server.start("reimbursement", "li.na", claim(&[100.0 + i as f64]))
        });
        let ids: Vec<InstanceId> = join_all(starts)
            .await
            .into_iter()
            .map(|r| r.expect("a request starts").id)
            .collect();
        for id in &ids {
            assert_eq!(b.instance(*id).await.unwrap().process, "reimbursement");
        }

        // Both servers approve every manager task at the same moment.
        join_all(ids.iter().map(|id| race(&h, &b, *id))).await;
        for id in &ids {
            let view = b.instance(*id).await.unwrap();
            let approvals = view
                .history
                .iter()
                .filter(|e| e.action == HistoryAction::Approve)
                .count();
            assert_eq!(approvals, 1, "request {id} on B: {:?}", view.history);
            assert_eq!(view.current_steps, vec!["service_review"]);
        }

        // Two weeks later every service review is overdue: both servers fire at once.
        h.clock.advance(chrono::Duration::days(14));
        let fired = fire_on_both(&h, &b).await;
        assert!(fired >= REQUESTS, "each request's deadline fired: {fired}");
        let views = join_all(ids.iter().map(|id| h.engine.instance(*id)))
            .await
            .into_iter()
            .map(|v| v.expect("a request"))
            .collect::<Vec<_>>();
        let events = timer_events(&views);
        assert!(!events.is_empty(), "the timers left their events");
        assert!(
            events.values().all(|n| *n == 1),
            "a timer fired twice: {events:?}"
        );

        // Every mail either server queued reaches the SMTP server once.
        let outbox = eventually("every mail sent by one server or the other", WAIT, || async {
            let mail = h
                .engine
                .mail(&MailQuery { limit: Some(10_000), ..Default::default() })
                .await
                .ok()?;
            mail.iter().all(|m| m.status == MailStatus::Sent).then_some(mail)
        })
        .await;
        let received = eventually("the SMTP server has every mail", WAIT, || async {
            let got = smtp.received();
            (got.len() >= outbox.len()).then_some(got)
        })
        .await;
        let mut ids_received: Vec<&str> =
            received.iter().map(|m| m.message_id.as_str()).collect();
        ids_received.sort();
        ids_received.dedup();
        assert_eq!(ids_received.len(), received.len(), "a mail was sent twice");
        assert_eq!(received.len(), outbox.len());
        mail_a.abort();
        mail_b.abort();

        // A version published on B is what A starts next, although A's folder is older.
        let text = std::fs::read_to_string(b_dir.join("reimbursement.yaml"))
            .unwrap()
            .replacen("name:", "# published on server B\nname:", 1);
        let (_, version) = b.publish("tang.jie", &text).await.expect("published on B");
        let next = h
            .engine
            .start("reimbursement", "li.na", claim(&[42.0]))
            .await
            .unwrap();
        assert_eq!(next.version, version, "A starts the version B published");
        assert!(version > views[0].version);
        // And A's list of processes shows it after its next refresh.
        h.engine.refresh_definitions().await.unwrap();
        let listed = h.engine.registry().latest("reimbursement").map(|(v, _)| v);
        assert_eq!(listed, Some(version));
    }
}
