//! A process's report end to end on both databases: requests per month, outcomes, cycle
//! times, task times and lateness per step and person, the backlog; over HTTP the page,
//! its CSV and the API, for the owners only.

use chrono::NaiveDate;
use serde_json::json;
use signoff_engine::runtime::{ActionKind, ActionRequest};
use signoff_tests::{claim, shanghai, storage_test, Web};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, d).unwrap()
}

storage_test! {
    async fn the_report_counts_months_outcomes_times_lateness_and_the_backlog(db) {
        let web = Web::start(&db, "report").await;
        let (engine, clock) = (&web.h.engine, &web.h.clock);
        let approve = || ActionRequest::new(ActionKind::Approve);
        let ids: Vec<_> = futures::future::join_all((0..3).map(|_| engine.start("reimbursement", "li.na", claim(&[100.0]))))
            .await
            .into_iter()
            .map(|v| v.unwrap().id)
            .collect();
        // One rejected at once; one approved four days later, after its deadline; one open.
        web.h.act(ids[0], "liu.qiang", ActionRequest::new(ActionKind::Reject)).await;
        clock.set(shanghai(2026, 10, 12, 10));
        web.h.act(ids[1], "liu.qiang", approve()).await;
        web.h.act(ids[1], "song.yi", approve()).await;
        let task = web.h.task(ids[1], "feng.yu").await;
        engine.act(task, "feng.yu", ActionRequest::new(ActionKind::Claim)).await.unwrap();
        engine.act(task, "feng.yu", ActionRequest::new(ActionKind::Complete)).await.unwrap();

        let report = engine.report("reimbursement", day(1), NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()).await.unwrap();
        let months: Vec<(&str, i64, i64)> = report.months.iter().map(|m| (m.month.as_str(), m.started, m.finished)).collect();
        assert_eq!(months, [("2026-09", 3, 1), ("2026-10", 0, 1)]);
        let quiet = engine.report("reimbursement", day(1), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).await.unwrap();
        let listed: Vec<&str> = quiet.months.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(listed, ["2026-09", "2026-10", "2026-11", "2026-12"], "months without requests too");
        assert_eq!(report.outcomes, [("approved".to_string(), 1), ("rejected".to_string(), 1)]);
        assert_eq!(report.cycle.count, 2);
        assert_eq!((report.cycle.p50_hours, report.cycle.p90_hours), (0.0, 336.0), "at once, and two weeks");
        let manager = report.steps.iter().find(|s| s.key == "manager_review").unwrap();
        assert_eq!((manager.time.count, manager.overdue), (2, 1), "{manager:?}");
        assert_eq!(manager.overdue_share, 0.5);
        let liu = report.people.iter().find(|p| p.key == "liu.qiang").unwrap();
        assert_eq!(liu.overdue, 1);
        assert_eq!(report.backlog_steps, [("manager_review".to_string(), 1)]);
        assert_eq!(report.backlog_people, [("liu.qiang".to_string(), 1)]);
        // A range is bounded and in order.
        assert!(engine.report("reimbursement", day(2), day(1)).await.is_err());
        assert!(engine.report("reimbursement", day(1), NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()).await.is_err());

        // Over HTTP: the page with its chart, a table as CSV and the API, for owners only.
        let (owner, _) = web.sign_in("tang.jie").await;
        let page = owner.get(web.url("/processes/reimbursement/report?from=2026-09-01&to=2026-10-31")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("<svg") && page.contains("class=\"chart\"") && page.contains("直属上级审批"), "{page}");
        let csv = owner.get(web.url("/processes/reimbursement/report.csv?table=steps&from=2026-09-01&to=2026-10-31")).send().await.unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        assert!(csv.trim_start_matches('\u{feff}').starts_with("step,tasks,p50_hours,p90_hours,overdue,overdue_share"), "{csv}");
        assert!(csv.contains("manager_review,2,"), "{csv}");
        let (submitter, _) = web.sign_in("li.na").await;
        let refused = submitter.get(web.url("/processes/reimbursement/report")).send().await.unwrap();
        assert_eq!(refused.status(), 404);
        let api = |user: &'static str, query: &'static str| {
            reqwest::Client::new()
                .get(web.url(&format!("/api/v1/processes/reimbursement/report{query}")))
                .basic_auth(user, Some("signoff"))
                .send()
        };
        let answer = api("song.yi", "?from=2026-09-01&to=2026-10-31").await.unwrap();
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["months"][0], json!({"month": "2026-09", "started": 3, "finished": 1}));
        assert_eq!(api("li.na", "").await.unwrap().status(), 404);
        assert_eq!(api("song.yi", "?from=2020-01-01&to=2026-10-31").await.unwrap().status(), 409);
    }
}
