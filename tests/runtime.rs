//! The runtime end to end: the shipped processes driven through their paths on a real
//! SQLite file, with a clock the tests move across working days and holidays.

use serde_json::{json, Value};
use signoff_engine::runtime::HistoryAction;
use signoff_engine::runtime::{
    ActionKind, ActionRequest, EngineError, InstanceId, InstanceStatus, InstanceView,
    SignerPosition, TaskQuery, TaskStatus,
};
use signoff_tests::{claim, shanghai, storage_test, Db, Harness};

fn approve() -> ActionRequest {
    ActionRequest::new(ActionKind::Approve)
}
fn reject() -> ActionRequest {
    ActionRequest::new(ActionKind::Reject)
}
fn complete() -> ActionRequest {
    ActionRequest::new(ActionKind::Complete)
}

fn actions(view: &InstanceView) -> Vec<String> {
    view.history
        .iter()
        .filter(|e| e.actor != "engine")
        .map(|e| format!("{}:{}", e.actor, e.action.as_str()))
        .collect()
}

storage_test! {
    async fn reimbursement_small_claim_goes_manager_service_finance(db) {
        let h = Harness::new(&db, "reimb-small").await;
        let start = h
            .engine
            .start("reimbursement", "li.na", claim(&[300.0, 200.5]))
            .await
            .unwrap();
        assert_eq!(start.form["total"], json!(500.5));
        assert_eq!(start.current_steps, vec!["manager_review"]);
        let id = start.id;

        h.act(id, "liu.qiang", approve().comment("同意")).await;
        let view = h.act(id, "song.yi", approve()).await;
        assert_eq!(view.current_steps, vec!["finance_payment"]);
        // Finance is a pool of two: one claims, the other's offer disappears.
        let feng = h.task(id, "feng.yu").await;
        let err = h.engine.act(feng, "feng.yu", complete()).await.unwrap_err();
        assert!(err.to_string().contains("claim"), "{err}");
        h.engine
            .act(feng, "feng.yu", ActionRequest::new(ActionKind::Claim))
            .await
            .unwrap();
        assert!(h
            .engine
            .tasks(&TaskQuery {
                user: "jiang.hua".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty());
        let view = h.engine.act(feng, "feng.yu", complete()).await.unwrap();

        assert_eq!(view.status, InstanceStatus::Completed);
        assert_eq!(view.outcome.as_deref(), Some("approved"));
        assert_eq!(
            actions(&view),
            [
                "li.na:submit",
                "liu.qiang:approve",
                "song.yi:approve",
                "feng.yu:claim",
                "feng.yu:complete"
            ]
        );
        assert_eq!(
            view.history
                .iter()
                .find(|e| e.action == HistoryAction::Approve)
                .unwrap()
                .comment
                .as_deref(),
            Some("同意")
        );
    }
}

storage_test! {
    async fn reimbursement_amount_tiers_reach_director_and_vice_president(db) {
        let h = Harness::new(&db, "reimb-tiers").await;
        let mid = h
            .engine
            .start("reimbursement", "li.na", claim(&[1000.0; 8]))
            .await
            .unwrap()
            .id;
        h.act(mid, "liu.qiang", approve()).await;
        let view = h.act(mid, "tang.jie", approve()).await;
        assert_eq!(view.current_steps, vec!["director_review"]);
        let view = h.act(mid, "wang.fang", approve()).await;
        assert_eq!(view.current_steps, vec!["finance_payment"]);

        let mut big = claim(&[1000.0; 50]);
        big["lines"][0]["amount"] = json!(9000);
        big["lines"][0]["category"] = json!("other");
        big["lines"][0]["justification"] = json!("年度客户大会场地及设备租赁费用");
        let big = h
            .engine
            .start("reimbursement", "li.na", big)
            .await
            .unwrap()
            .id;
        h.act(big, "liu.qiang", approve()).await;
        h.act(big, "tang.jie", approve()).await;
        let view = h.act(big, "wang.fang", approve()).await;
        assert_eq!(view.current_steps, vec!["vp_review"]);
        let view = h.act(big, "zhou.jian", reject().comment("超预算")).await;
        assert_eq!(view.outcome.as_deref(), Some("rejected"));
    }
}

storage_test! {
    async fn reimbursement_reject_ends_the_claim_return_revises_it_and_a_returned_claim_can_be_withdrawn(db) {
        let h = Harness::new(&db, "reimb-revise").await;
        let start = || h.engine.start("reimbursement", "li.na", claim(&[300.0]));
        // Reject ends the claim, at the manager as at every other step.
        let id = start().await.unwrap().id;
        let view = h
            .act(id, "liu.qiang", reject().comment("不符合报销范围"))
            .await;
        assert_eq!(view.outcome.as_deref(), Some("rejected"));
        assert!(view.tasks.is_empty());
        // Return sends it back for revision; the resubmitted claim comes back to the step.
        let id = start().await.unwrap().id;
        let ret = ActionRequest::new(ActionKind::Return).comment("请补充单据");
        let view = h.act(id, "liu.qiang", ret.clone()).await;
        assert_eq!(view.tasks[0].kind, signoff_engine::runtime::TaskKind::Resubmit);
        let view = h
            .act(
                id,
                "li.na",
                ActionRequest::new(ActionKind::Resubmit).form(json!({
                    "region": "east", "purpose": "客户现场实施（补充单据）", "start_date": "2026-09-20",
                    "end_date": "2026-09-22", "receipts": 3,
                    "lines": [{"category": "transport", "date": "2026-09-20", "amount": 300.0, "description": "高铁"}]
                })),
            )
            .await;
        assert_eq!(view.current_steps, vec!["manager_review"]);
        assert_eq!(view.form["receipts"], json!(3));
        // Back with the submitter after a decision, the claim can still be withdrawn.
        h.act(id, "liu.qiang", approve()).await;
        let view = h.act(id, "song.yi", ret).await;
        assert!(view.decided);
        assert!(h.engine.may_withdraw(&view, "li.na"));
        assert!(!h.engine.may_withdraw(&view, "liu.qiang"));
        let view = h
            .engine
            .withdraw(id, "li.na", Some("不报了"))
            .await
            .unwrap();
        assert_eq!(view.outcome.as_deref(), Some("withdrawn"));
    }
}

storage_test! {
    async fn return_to_submitter_then_resubmit_and_return_to_an_earlier_step(db) {
        let h = Harness::new(&db, "reimb-return").await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[300.0]))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", approve()).await;
        let view = h
            .act(
                id,
                "song.yi",
                ActionRequest::new(ActionKind::Return).comment("金额有误"),
            )
            .await;
        assert_eq!(view.tasks.len(), 1);
        assert_eq!(
            (view.tasks[0].assignee.as_str(), view.tasks[0].kind.as_str()),
            ("li.na", "resubmit")
        );
        let mut fixed = claim(&[280.0]);
        fixed["receipts"] = json!(2);
        let view = h
            .act(
                id,
                "li.na",
                ActionRequest::new(ActionKind::Resubmit).form(fixed),
            )
            .await;
        assert_eq!(view.current_steps, vec!["service_review"]);
        assert_eq!(view.form["total"], json!(280));

        let view = h
            .act(
                id,
                "tang.jie",
                ActionRequest::new(ActionKind::Return).to("manager_review"),
            )
            .await;
        assert_eq!(view.current_steps, vec!["manager_review"]);
        let err = {
            let t = h.task(id, "liu.qiang").await;
            h.engine
                .act(
                    t,
                    "liu.qiang",
                    ActionRequest::new(ActionKind::Return).to("finance_payment"),
                )
                .await
                .unwrap_err()
        };
        assert!(matches!(err, EngineError::NotAllowed(_)), "{err}");
    }
}

storage_test! {
    async fn withdraw_only_until_the_first_decision(db) {
        let h = Harness::new(&db, "withdraw").await;
        let a = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        let err = h.engine.withdraw(a, "liu.qiang", None).await.unwrap_err();
        assert!(err.to_string().contains("only the submitter"), "{err}");
        let view = h
            .engine
            .withdraw(a, "li.na", Some("不需要了"))
            .await
            .unwrap();
        assert_eq!(
            (view.status, view.outcome.as_deref()),
            (InstanceStatus::Withdrawn, Some("withdrawn"))
        );
        assert!(view.tasks.is_empty());

        let b = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(b, "liu.qiang", approve()).await;
        let err = h.engine.withdraw(b, "li.na", None).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot be withdrawn: someone has already decided on it"),
            "{err}"
        );
    }
}

storage_test! {
    async fn an_invalid_form_names_every_bad_field(db) {
        let h = Harness::new(&db, "badform").await;
        let form = json!({
            "region": "mars", "purpose": "x", "start_date": "2026-09-22", "end_date": "2026-13-01",
            "lines": [{"category": "lodging", "date": "2026-09-20", "amount": -5}], "receipts": 1.5, "extra": 1
        });
        let Err(EngineError::InvalidForm(errors)) =
            h.engine.start("reimbursement", "li.na", form).await
        else {
            panic!("the form should be refused");
        };
        let fields: Vec<&str> = errors.fields.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "end_date",
                "extra",
                "lines[0].amount",
                "purpose",
                "receipts",
                "region"
            ]
        );
        assert_eq!(
            errors.fields["lines[0].amount"].to_string(),
            "must be at least 0.01"
        );

        // A line over the standard needs a justification (a form rule).
        let mut over = claim(&[100.0]);
        over["lines"][0]["category"] = json!("lodging");
        over["lines"][0]["amount"] = json!(900);
        let Err(EngineError::InvalidForm(errors)) =
            h.engine.start("reimbursement", "li.na", over).await
        else {
            panic!("the rule should refuse it");
        };
        assert!(
            errors.fields["lines"].to_string().contains("justification"),
            "{errors:?}"
        );

        // One round: a type error, a missing field and a cross-field rule all at once.
        // The justification rule reads the line with a bad amount, so it waits; the
        // date rule reads only good fields, so it speaks now.
        let mut all = claim(&[100.0]);
        all["purpose"] = json!("");
        all["end_date"] = json!("2026-09-01");
        all["lines"][0]["amount"] = json!("abc");
        let Err(EngineError::InvalidForm(errors)) =
            h.engine.start("reimbursement", "li.na", all).await
        else {
            panic!("the form should be refused");
        };
        let fields: Vec<&str> = errors.fields.keys().map(String::as_str).collect();
        assert_eq!(fields, ["end_date", "lines[0].amount", "purpose"], "{errors:?}");
        assert!(errors.fields["end_date"].to_string().contains("end date"), "{errors:?}");
    }
}

storage_test! {
    async fn only_the_assignee_or_delegate_acts_and_a_second_action_is_stale(db) {
        let h = Harness::new(&db, "authz").await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        let task = h.task(id, "liu.qiang").await;
        let err = h.engine.act(task, "li.na", approve()).await.unwrap_err();
        assert!(matches!(err, EngineError::NotYourTask { .. }));
        assert_eq!(
            err.to_string(),
            format!("task {task} is not yours: only liu.qiang may act on it")
        );

        h.engine
            .act(
                task,
                "liu.qiang",
                ActionRequest::new(ActionKind::Delegate).to("zhao.min"),
            )
            .await
            .unwrap();
        let view = h.engine.act(task, "zhao.min", approve()).await.unwrap();
        let decision = view
            .history
            .iter()
            .find(|e| e.action == HistoryAction::Approve)
            .unwrap();
        assert_eq!(
            (decision.actor.as_str(), decision.on_behalf_of.as_deref()),
            ("zhao.min", Some("liu.qiang"))
        );

        let err = h
            .engine
            .act(task, "liu.qiang", approve())
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Stale { .. }), "{err}");
    }
}

storage_test! {
    async fn two_approvers_at_once_from_two_engines_one_wins(db) {
        let h = Harness::new(&db, "race").await;
        let second = h.reopen().await;
        for round in 0..5 {
            let id = h
                .engine
                .start("reimbursement", "li.na", claim(&[100.0 + f64::from(round)]))
                .await
                .unwrap()
                .id;
            h.act(id, "liu.qiang", approve()).await;
            let tang = h.task(id, "tang.jie").await;
            let song = h.task(id, "song.yi").await;
            let (a, b) = tokio::join!(
                h.engine.act(tang, "tang.jie", approve()),
                second.act(song, "song.yi", approve())
            );
            let wins = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
            assert_eq!(
                wins,
                1,
                "round {round}: {:?} / {:?}",
                a.as_ref().err(),
                b.as_ref().err()
            );
            let loser = match (a, b) {
                (Err(e), Ok(_)) | (Ok(_), Err(e)) => e,
                _ => unreachable!("exactly one won"),
            };
            assert!(matches!(loser, EngineError::Stale { .. }), "{loser}");
            let view = h.engine.instance(id).await.unwrap();
            let decisions = view
                .history
                .iter()
                .filter(|e| {
                    e.step.as_deref() == Some("service_review") && e.action == HistoryAction::Approve
                })
                .count();
            assert_eq!(decisions, 1);
            assert_eq!(view.current_steps, vec!["finance_payment"]);
        }
    }
}

storage_test! {
    async fn deadline_escalates_after_two_working_days_across_the_holiday(db) {
        let h = Harness::new(&db, "escalate").await;
        // Tuesday 29 Sep 10:00: two working days are 30 Sep and, after the National Day
        // holiday (1-7 Oct), Thursday 8 Oct: due at 18:00 that day.
        h.clock.set(shanghai(2026, 9, 29, 10));
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        let task = h.engine.instance(id).await.unwrap().tasks[0].clone();
        assert_eq!(task.due_at.as_deref(), Some("2026-10-08T10:00:00.000000Z"));

        h.clock.set(shanghai(2026, 10, 7, 12));
        assert_eq!(
            h.engine.fire_due_timers().await.unwrap(),
            0,
            "nothing is due during the holiday"
        );
        h.clock.set(shanghai(2026, 10, 8, 15));
        assert_eq!(
            h.engine.fire_due_timers().await.unwrap(),
            1,
            "the reminder, 4 working hours before"
        );
        h.clock.set(shanghai(2026, 10, 8, 18));
        assert_eq!(h.engine.fire_due_timers().await.unwrap(), 1);
        let view = h.engine.instance(id).await.unwrap();
        let mut holders: Vec<&str> = view.tasks.iter().map(|t| t.assignee.as_str()).collect();
        holders.sort();
        // The manager chain two levels up: liu.qiang (already holding it) and zhao.min.
        assert_eq!(holders, ["liu.qiang", "zhao.min"]);
        assert!(view
            .history
            .iter()
            .any(|e| e.action == HistoryAction::Escalate && e.detail.as_deref() == Some("zhao.min")));
        h.act(id, "zhao.min", approve()).await;
    }
}

/// A sales confirmation submitted by the technician, signed by the salesperson and the
/// department manager, and registered by the coordinator.
async fn signed_and_registered(h: &Harness, form: Value, number: &str) -> InstanceView {
    let id = h
        .engine
        .start("sales_confirmation", "ma.chao", form)
        .await
        .unwrap()
        .id;
    h.act(id, "lin.feng", approve()).await;
    h.act(id, "qian.hao", approve()).await;
    h.act(
        id,
        "wu.xia",
        complete().form(json!({ "confirmation_no": number })),
    )
    .await
}

storage_test! {
    async fn timers_due_while_the_server_was_down_fire_once_after_restart(db) {
        let mut h = Harness::new(&db, "restart").await;
        let mut cash = json!({
            "customer": "华东某商场", "customer_type": "cash", "salesperson": "lin.feng",
            "items": [{"item": "空调维修", "quantity": 2, "unit_price": 450}], "invoice_date": "2026-09-28"
        });
        let view = signed_and_registered(&h, cash.clone(), "SC260928").await;
        let id = view.id;
        assert_eq!(view.current_steps, vec!["await_payment"]);
        // Down for a month; 7 working days (with the holiday) have long passed.
        h.clock.set(shanghai(2026, 10, 30, 9));
        h.restart().await;
        let restarted = &h.engine;
        assert_eq!(
            restarted.fire_due_timers().await.unwrap(),
            2,
            "reminder and deadline"
        );
        assert_eq!(
            restarted.fire_due_timers().await.unwrap(),
            0,
            "and only once"
        );
        let view = restarted.instance(id).await.unwrap();
        assert!(
            view.tasks.iter().any(|t| t.assignee == "qian.hao"),
            "escalated to the department manager"
        );
        assert_eq!(
            view.history
                .iter()
                .filter(|e| e.action == HistoryAction::Timeout)
                .count(),
            1
        );
        cash["customer"] = json!("x");
    }
}

storage_test! {
    async fn a_cash_sale_is_due_seven_working_days_after_the_sale_not_the_registration(db) {
        let h = Harness::new(&db, "cash-due").await;
        let cash = json!({
            "customer": "华东某商场", "customer_type": "cash", "salesperson": "lin.feng",
            "items": [{"item": "空调维修", "quantity": 1, "unit_price": 450}], "invoice_date": "2026-11-02"
        });
        // Sold on Monday 2 November, registered on Thursday the 5th.
        h.clock.set(shanghai(2026, 11, 5, 10));
        let view = signed_and_registered(&h, cash, "SC261102").await;
        assert_eq!(view.current_steps, vec!["await_payment"]);
        let due = view.tasks[0].due_at.as_deref().unwrap();
        assert!(
            due.starts_with("2026-11-11T10:00:00"),
            "the close of the 7th working day after the sale (Wed 11 Nov, 18:00): {due}"
        );
    }
}

fn monthly_sale(customer: &str, price: f64) -> Value {
    json!({
        "customer": customer, "customer_type": "monthly", "salesperson": "lin.feng",
        "items": [{"item": "年度维保", "quantity": 1, "unit_price": price}], "invoice_date": "2026-10-12"
    })
}

fn statement(lines: &[(i64, f64)]) -> Value {
    json!({
        "customer": "某集团", "month": "2026-10",
        "sales": lines.iter().map(|(sale, amount)| json!({"sale": sale, "amount": amount})).collect::<Vec<_>>(),
    })
}

fn field_errors(
    result: Result<InstanceView, EngineError>,
) -> std::collections::BTreeMap<String, String> {
    match result {
        Err(EngineError::InvalidForm(e)) => e
            .fields
            .into_iter()
            .map(|(path, problem)| (path, problem.to_string()))
            .collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

storage_test! {
    async fn one_monthly_statement_settles_the_customers_sales_of_the_month(db) {
        let h = Harness::new(&db, "monthly").await;
        h.clock.set(shanghai(2026, 10, 12, 10));
        let first = signed_and_registered(&h, monthly_sale("某集团", 12000.0), "SC261012").await;
        let second = signed_and_registered(&h, monthly_sale("某集团", 3000.0), "SC261013").await;
        assert_eq!(first.current_steps, vec!["await_statement"]);
        let cash = signed_and_registered(
            &h,
            json!({"customer": "某商场", "customer_type": "cash", "salesperson": "lin.feng",
                   "items": [{"item": "维修", "quantity": 1, "unit_price": 450}], "invoice_date": "2026-10-12"}),
            "SC261014",
        )
        .await;
        // No month's end can move a monthly sale on: only its statement does.
        h.clock.set(shanghai(2026, 11, 30, 20));
        h.engine.fire_due_timers().await.unwrap();
        let view = h.engine.instance(first.id).await.unwrap();
        assert_eq!(view.current_steps, vec!["await_statement"]);

        // The coordinator consolidates; a cash sale, a sale listed twice and an unknown
        // number are refused beside their lines.
        let bad = statement(&[
            (first.id.0, 12000.0),
            (cash.id.0, 450.0),
            (first.id.0, 1.0),
            (9999, 1.0),
        ]);
        let errors = field_errors(h.engine.start("monthly_statement", "wu.xia", bad).await);
        assert!(errors["sales[1].sale"].contains("is not at"), "{errors:?}");
        assert!(
            errors["sales[2].sale"].contains("already listed"),
            "{errors:?}"
        );
        assert!(errors["sales[3].sale"].contains("no request"), "{errors:?}");
        h.clock.set(shanghai(2026, 11, 2, 9));
        let s = h
            .engine
            .start(
                "monthly_statement",
                "wu.xia",
                statement(&[(first.id.0, 12000.0), (second.id.0, 3000.0)]),
            )
            .await
            .unwrap();
        assert_eq!(s.form["total"], json!(15000));
        assert_eq!(s.links.len(), 2);
        let sale = h.engine.instance(first.id).await.unwrap();
        assert!(
            sale.links.iter().any(|l| l.incoming && l.other == s.id),
            "the sale shows the statement that refers to it: {:?}",
            sale.links
        );
        h.act(s.id, "qian.hao", approve()).await;
        let t = h.task(s.id, "feng.yu").await;
        h.engine
            .act(t, "feng.yu", ActionRequest::new(ActionKind::Claim))
            .await
            .unwrap();
        h.engine.act(t, "feng.yu", complete()).await.unwrap();
        h.act(s.id, "wu.xia", complete()).await;
        let t = h.task(s.id, "jiang.hua").await;
        h.engine
            .act(t, "jiang.hua", ActionRequest::new(ActionKind::Claim))
            .await
            .unwrap();
        let done = h.engine.act(t, "jiang.hua", complete()).await.unwrap();
        assert_eq!(done.outcome.as_deref(), Some("completed"));
        for sale in [first.id, second.id] {
            let view = h.engine.instance(sale).await.unwrap();
            assert_eq!(
                view.outcome.as_deref(),
                Some("completed"),
                "#{sale} settled"
            );
            let by = view
                .history
                .iter()
                .find(|e| e.action == HistoryAction::FinishedBy)
                .expect("recorded");
            assert_eq!(by.detail.as_deref(), Some(format!("#{}", s.id.0).as_str()));
        }
        let cash = h.engine.instance(cash.id).await.unwrap();
        assert_eq!(
            cash.current_steps,
            vec!["await_payment"],
            "not on the statement"
        );
    }
}

storage_test! {
    async fn a_granted_extension_moves_the_sales_due_date_and_its_timers(db) {
        let h = Harness::new(&db, "extension").await;
        h.clock.set(shanghai(2026, 11, 2, 10));
        let sale = signed_and_registered(
            &h,
            json!({"customer": "某商场", "customer_type": "cash", "salesperson": "lin.feng",
                   "items": [{"item": "维修", "quantity": 1, "unit_price": 8000}], "invoice_date": "2026-11-02"}),
            "SC261102",
        )
        .await;
        let first_due = sale.tasks[0].due_at.clone().unwrap();
        assert!(first_due.starts_with("2026-11-11"), "{first_due}");
        // The manager, who signed the sale, asks for the extension and names the sale.
        let form = json!({
            "sale": sale.id.0, "confirmation_no": "SC261102", "customer": "某商场", "amount": 8000,
            "original_due": "2026-11-11", "new_due": "2026-11-30", "cause": "customer",
            "explanation": "客户资金周转，承诺月底付清"
        });
        let stranger = h
            .engine
            .start("deferred_payment", "zheng.hui", form.clone())
            .await;
        assert!(field_errors(stranger)["sale"].contains("no request"));
        let ext = h
            .engine
            .start("deferred_payment", "qian.hao", form)
            .await
            .unwrap();
        // He cannot decide his own request: it goes up, then the GM office grants it.
        let view = h.engine.instance(ext.id).await.unwrap();
        let decider = view
            .tasks
            .iter()
            .find(|t| t.status == TaskStatus::Open)
            .unwrap()
            .assignee
            .clone();
        let view = h.act(ext.id, &decider, approve()).await;
        let view = if view.status == InstanceStatus::Running {
            h.act(ext.id, "xie.ping", approve()).await
        } else {
            view
        };
        assert_eq!(
            view.outcome.as_deref(),
            Some("approved"),
            "{:?}",
            view.current_steps
        );
        let sale_view = h.engine.instance(sale.id).await.unwrap();
        let due = sale_view.tasks[0].due_at.clone().unwrap();
        assert!(
            due.starts_with("2026-11-30T10:00"),
            "the close of 30 November: {due}"
        );
        let moved = sale_view
            .history
            .iter()
            .find(|e| e.action == HistoryAction::DueMoved)
            .expect("recorded");
        assert_eq!(
            moved.detail.as_deref(),
            Some(format!("2026-11-30 · #{}", ext.id.0).as_str())
        );
        // The old deadline no longer fires; the new one does, once.
        h.clock.set(shanghai(2026, 11, 12, 9));
        h.engine.fire_due_timers().await.unwrap();
        let view = h.engine.instance(sale.id).await.unwrap();
        assert!(view
            .history
            .iter()
            .all(|e| e.action != HistoryAction::Timeout));
        h.clock.set(shanghai(2026, 12, 1, 9));
        h.engine.fire_due_timers().await.unwrap();
        let view = h.engine.instance(sale.id).await.unwrap();
        assert_eq!(
            view.history
                .iter()
                .filter(|e| e.action == HistoryAction::Timeout)
                .count(),
            1
        );
    }
}

storage_test! {
    async fn deferred_payment_long_extension_reaches_the_gm_office_and_technician_cause_tells_admin(db) {
        let h = Harness::new(&db, "deferred").await;
        let form = json!({
            "confirmation_no": "SC260901", "customer": "某客户", "amount": 8000,
            "original_due": "2026-09-30", "new_due": "2026-11-30", "cause": "technician",
            "explanation": "技术员未及时送达发票导致客户延迟付款"
        });
        let id = h
            .engine
            .start("deferred_payment", "ma.chao", form.clone())
            .await
            .unwrap()
            .id;
        let view = h.act(id, "qian.hao", reject()).await;
        assert_eq!(
            view.current_steps,
            vec!["gm_office_decision"],
            "61 days: the GM office decides anyway"
        );
        let view = h.act(id, "xie.ping", approve()).await;
        assert_eq!(view.current_steps, vec!["penalty_notice"]);
        assert_eq!(view.vars["decision"], json!("approved"));
        let t = h.task(id, "cao.yang").await;
        let view = h.engine.act(t, "cao.yang", complete()).await.unwrap();
        assert_eq!(view.outcome.as_deref(), Some("approved"));

        let mut backwards = form;
        backwards["new_due"] = json!("2026-09-01");
        let Err(EngineError::InvalidForm(e)) = h
            .engine
            .start("deferred_payment", "ma.chao", backwards)
            .await
        else {
            panic!("the date rule should refuse it")
        };
        assert!(e.fields.contains_key("new_due"));
    }
}

fn rotation(target_region: &str) -> Value {
    json!({
        "employee": "li.na", "current_post": "客服专人", "current_region": "east",
        "target_post": "客服专人", "target_region": target_region, "receiving_manager": "chen.jing",
        "successor": "zhang.wei", "effective_date": "2026-10-20", "reason": "大区人员借调"
    })
}

storage_test! {
    async fn staff_rotation_across_regions_countersign_parallel_handover_and_effective_date(db) {
        let h = Harness::new(&db, "rotation").await;
        let id = h
            .engine
            .start("staff_rotation", "li.na", rotation("south"))
            .await
            .unwrap()
            .id;
        // The employee's manager is liu.qiang, who is also the east regional head.
        h.act(id, "liu.qiang", approve()).await;
        let view = h.engine.instance(id).await.unwrap();
        assert_eq!(view.current_steps, vec!["regional_heads_approval"]);
        // liu.qiang already approved: skipped; chen.jing (south) must sign.
        let holders: Vec<&str> = view.tasks.iter().map(|t| t.assignee.as_str()).collect();
        assert_eq!(holders, ["chen.jing"]);
        h.act(id, "chen.jing", approve()).await;
        let view = h.act(id, "deng.lan", approve()).await;
        let mut steps = view.current_steps.clone();
        steps.sort();
        assert_eq!(
            steps,
            ["employee_handover", "handover", "successor_confirm"]
        );
        h.act(id, "zhang.wei", complete()).await;
        let view = h
            .act(
                id,
                "li.na",
                complete().form(json!({"handover_list": "客户档案12份，设备3台"})),
            )
            .await;
        assert_eq!(view.current_steps, vec!["take_effect"]);
        h.clock.set(shanghai(2026, 10, 20, 0));
        h.engine.fire_due_timers().await.unwrap();
        let view = h.engine.instance(id).await.unwrap();
        assert_eq!(view.outcome.as_deref(), Some("completed"));
    }
}

storage_test! {
    async fn appointment_review_panel_scores_decide_pass_second_defence_and_fail(db) {
        let h = Harness::new(&db, "panel").await;
        let form = json!({"candidate": "lu.xin", "region": "call_center", "current_level": "p1", "target_level": "p2"});
        let score = |s: i64| complete().inputs(json!({"score": s}));
        let panel = ["zhao.min", "liu.qiang", "tang.jie"];

        let pass = h
            .engine
            .start("appointment_review", "song.yi", form.clone())
            .await
            .unwrap()
            .id;
        h.act(
            pass,
            "lu.xin",
            complete().form(json!({"self_assessment": "..."})),
        )
        .await;
        for (who, s) in panel.iter().zip([85, 80, 90]) {
            h.act(pass, who, score(s)).await;
        }
        let t = h.task(pass, "tang.jie").await;
        h.engine
            .act(t, "tang.jie", ActionRequest::new(ActionKind::Claim))
            .await
            .ok();
        let view = h
            .act(
                pass,
                "tang.jie",
                complete().form(json!({"summary": "答辩清晰"})),
            )
            .await;
        assert_eq!(view.vars["result"], json!("pass"));
        let view = h.act(pass, "wang.fang", approve()).await;
        assert_eq!(view.outcome.as_deref(), Some("approved"));

        // 70 on average: a second defence; 70 again: not appointed.
        let mid = h
            .engine
            .start("appointment_review", "song.yi", form.clone())
            .await
            .unwrap()
            .id;
        h.act(
            mid,
            "lu.xin",
            complete().form(json!({"self_assessment": "..."})),
        )
        .await;
        for who in panel {
            h.act(mid, who, score(70)).await;
        }
        let view = h.engine.instance(mid).await.unwrap();
        assert_eq!(
            (
                view.current_steps.clone(),
                view.vars["defence_round"].clone()
            ),
            (vec!["panel_scoring".to_string()], json!(2))
        );
        for who in panel {
            h.act(mid, who, score(70)).await;
        }
        let view = h.engine.instance(mid).await.unwrap();
        assert_eq!(view.vars["result"], json!("fail"));

        // A score out of range is refused, naming the input.
        let low = h
            .engine
            .start("appointment_review", "song.yi", form)
            .await
            .unwrap()
            .id;
        h.act(
            low,
            "lu.xin",
            complete().form(json!({"self_assessment": "..."})),
        )
        .await;
        let t = h.task(low, "zhao.min").await;
        let Err(EngineError::InvalidForm(e)) = h.engine.act(t, "zhao.min", score(101)).await else {
            panic!()
        };
        assert_eq!(e.fields["score"].to_string(), "must be at most 100");
    }
}

storage_test! {
    async fn methodology_rollout_runs_four_regions_in_parallel_and_loops_to_a_new_plan(db) {
        let h = Harness::new(&db, "rollout").await;
        let form = json!({"title": "实施方法论2.0", "problems": "结项资料不全", "improvement_plan": "增加结项检查表"});
        let id = h
            .engine
            .start("methodology_rollout", "tang.jie", form)
            .await
            .unwrap()
            .id;
        let report = || complete().inputs(json!({"completed": true, "evaluation": "effective"}));
        for cycle in 1..=2 {
            h.act(id, "wang.fang", approve()).await;
            h.act(
                id,
                "tang.jie",
                complete().form(json!({"rollout_plan": "分批培训", "evaluation_strategy": "抽查"})),
            )
            .await;
            let view = h.engine.instance(id).await.unwrap();
            let mut heads: Vec<&str> = view.tasks.iter().map(|t| t.assignee.as_str()).collect();
            heads.sort();
            assert_eq!(heads, ["chen.jing", "huang.lei", "liu.qiang", "yang.fan"]);
            for head in ["liu.qiang", "chen.jing", "yang.fan"] {
                h.act(id, head, report()).await;
            }
            assert!(h
                .engine
                .instance(id)
                .await
                .unwrap()
                .current_steps
                .contains(&"regional_rollout".to_string()));
            let view = h.act(id, "huang.lei", report()).await;
            assert_eq!(view.current_steps, vec!["feedback_summary"]);
            let next = if cycle == 1 { "new_plan" } else { "close" };
            let view = h
                .act(
                    id,
                    "tang.jie",
                    complete()
                        .inputs(json!({"next": next}))
                        .form(json!({"feedback_summary": "四大区反馈汇总"})),
                )
                .await;
            if cycle == 1 {
                assert_eq!(view.current_steps, vec!["revise_plan"]);
                assert_eq!(view.vars["cycle"], json!(2));
                h.act(
                    id,
                    "tang.jie",
                    complete().form(json!({"improvement_plan": "第二版"})),
                )
                .await;
            } else {
                assert_eq!(view.outcome.as_deref(), Some("completed"));
            }
        }
    }
}

storage_test! {
    async fn add_signer_transfer_and_out_of_office(db) {
        let h = Harness::new(&db, "signers").await;
        h.engine
            .set_absence("liu.qiang", "zhao.min", "2026-09-28", "2026-10-09")
            .await
            .unwrap();
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        let view = h.engine.instance(id).await.unwrap();
        assert_eq!(
            view.tasks[0].delegate.as_deref(),
            Some("zhao.min"),
            "routed to the deputy"
        );
        // The manager asks finance's opinion first (before me): feng.yu decides, then the
        // task comes back.
        let view = h
            .act(
                id,
                "zhao.min",
                ActionRequest::new(ActionKind::AddSigner)
                    .to("feng.yu")
                    .position(SignerPosition::Before),
            )
            .await;
        let status = |view: &signoff_engine::runtime::InstanceView, who: &str| {
            view.tasks
                .iter()
                .find(|t| t.assignee == who)
                .map(|t| t.status)
        };
        assert_eq!(status(&view, "liu.qiang"), Some(TaskStatus::Held));
        assert_eq!(status(&view, "feng.yu"), Some(TaskStatus::Open));
        let view = h.act(id, "feng.yu", approve()).await;
        assert_eq!(
            view.current_steps,
            vec!["manager_review"],
            "back to the manager"
        );
        assert_eq!(status(&view, "liu.qiang"), Some(TaskStatus::Open));
        let view = h
            .act(
                id,
                "liu.qiang",
                ActionRequest::new(ActionKind::Transfer).to("wang.fang"),
            )
            .await;
        assert_eq!(status(&view, "wang.fang"), Some(TaskStatus::Open));
        // After me: the director asks the deputy to confirm after her; her approval does not
        // end the or-sign step, the deputy's does.
        h.act(
            id,
            "wang.fang",
            ActionRequest::new(ActionKind::AddSigner).to("zhao.min"),
        )
        .await;
        let view = h.act(id, "wang.fang", approve()).await;
        assert_eq!(view.current_steps, vec!["manager_review"]);
        assert_eq!(status(&view, "zhao.min"), Some(TaskStatus::Open));
        let view = h.act(id, "zhao.min", approve()).await;
        assert_eq!(view.current_steps, vec!["service_review"]);
    }
}

storage_test! {
    async fn an_added_signers_rejection_rejects_and_every_cancellation_is_recorded(db) {
        let h = Harness::new(&db, "signers-reject").await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", approve()).await;
        // Or-sign between tang.jie and song.yi; song.yi adds feng.yu after her.
        h.act(
            id,
            "song.yi",
            ActionRequest::new(ActionKind::AddSigner).to("feng.yu"),
        )
        .await;
        let view = h.act(id, "song.yi", approve()).await;
        let cancelled: Vec<&str> = view
            .history
            .iter()
            .filter(|e| e.action == HistoryAction::Cancel)
            .filter_map(|e| e.on_behalf_of.as_deref())
            .collect();
        assert_eq!(
            cancelled,
            ["tang.jie"],
            "the other or-signer's task, recorded"
        );
        let view = h.act(id, "feng.yu", reject().comment("超出预算")).await;
        assert_eq!(view.outcome.as_deref(), Some("rejected"));
    }
}

storage_test! {
    async fn a_guard_failing_at_run_time_is_an_incident_that_can_be_retried(db) {
        let (dir, original) = signoff_tests::failing_guard_copy("incident-defs");
        let mut h = Harness::with_processes(&db, "incident", dir.clone()).await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", approve()).await;
        let view = h.act(id, "tang.jie", approve()).await;
        assert_eq!(view.status, InstanceStatus::Incident);
        assert!(
            view.incident
                .as_deref()
                .unwrap()
                .contains("guard on step `service_review`"),
            "{:?}",
            view.incident
        );
        // The owner fixes the definition: a new version; retry continues on it.
        std::fs::write(dir.join("reimbursement.yaml"), &original).unwrap();
        h.restart().await;
        let fixed = &h.engine;
        let view = fixed.retry(id, "tang.jie").await.unwrap();
        assert_eq!((view.status, view.version), (InstanceStatus::Running, 2));
        assert_eq!(view.current_steps, vec!["finance_payment"]);
        // The history keeps both the approval and the incident.
        assert!(view
            .history
            .iter()
            .any(|e| e.action == HistoryAction::Incident));
    }
}

storage_test! {
    async fn running_requests_stay_on_their_version_and_migrate_refuses_to_strand(db) {
        let dir = signoff_tests::processes_copy("versions-defs", &["reimbursement.yaml"]);
        let mut h = Harness::with_processes(&db, "versions", dir.clone()).await;
        let old = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        let text = std::fs::read_to_string(dir.join("reimbursement.yaml")).unwrap();
        std::fs::write(
            dir.join("reimbursement.yaml"),
            text.replace("id: manager_review", "id: line_manager_review")
                .replace("to: manager_review", "to: line_manager_review")
                .replace(
                    "return_to: [submitter, manager_review]",
                    "return_to: [submitter, line_manager_review]",
                ),
        )
        .unwrap();
        h.restart().await;
        let engine = &h.engine;
        let new = engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap();
        assert_eq!(
            (engine.instance(old).await.unwrap().version, new.version),
            (1, 2)
        );
        assert_eq!(new.current_steps, vec!["line_manager_review"]);

        let err = engine
            .migrate("reimbursement", 1, 2, vec![])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("map it with"), "{err}");
        let moved = engine
            .migrate(
                "reimbursement",
                1,
                2,
                vec![("manager_review".into(), "line_manager_review".into())],
            )
            .await
            .unwrap();
        assert_eq!(moved, 1);
        let view = engine.instance(old).await.unwrap();
        assert_eq!(
            (view.version, view.current_steps.clone()),
            (2, vec!["line_manager_review".to_string()])
        );
    }
}

const COMMITTEE: &str = r#"id: committee
name: { zh: 委员会, en: Committee }
owner: { role: director }
form:
  fields:
    - { id: topic, type: text, label: { zh: 议题, en: Topic }, required: true }
steps:
  - id: manager_first
    type: approval
    assignees: [manager]
    auto_skip: [submitter]
    transitions:
      - { on: approved, to: vote }
      - { on: rejected, to: refused }
  - id: vote
    type: approval
    assignees: [{ user: zhao.min }, { user: liu.qiang }, { user: tang.jie }, { user: chen.jing }, { user: yang.fan }]
    mode: { vote: { pass_percent: 60 } }
    actions: [approve, reject, remove_signer, comment]
    transitions:
      - { on: approved, to: sign_off }
      - { on: rejected, to: refused }
  - id: sign_off
    type: approval
    assignees: [{ user: wang.fang }, { user: zhou.jian }]
    mode: sequential
    transitions:
      - { on: approved, to: passed }
      - { on: rejected, to: refused }
  - { id: passed, type: end, outcome: approved }
  - { id: refused, type: end, outcome: rejected }
"#;

async fn committee(db: &Db, definition: &str) -> Harness {
    let dir = signoff_tests::processes_copy("committee-defs", &[]);
    std::fs::write(dir.join("committee.yaml"), definition).unwrap();
    Harness::with_processes(db, "committee", dir).await
}

storage_test! {
    async fn vote_passes_at_sixty_percent_and_sequential_signs_in_order(db) {
        let h = committee(&db, COMMITTEE).await;
        // li.na's manager liu.qiang approves first, then votes with the committee.
        let id = h
            .engine
            .start("committee", "li.na", json!({"topic": "年度预算"}))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", approve()).await;
        h.act(id, "zhao.min", approve()).await;
        h.act(id, "liu.qiang", approve()).await;
        h.act(id, "tang.jie", reject()).await;
        let view = h.act(id, "chen.jing", approve()).await;
        assert_eq!(view.current_steps, vec!["sign_off"], "3 of 5 is 60%");
        // Sequential: zhou.jian waits for wang.fang.
        assert_eq!(
            view.tasks
                .iter()
                .map(|t| (t.assignee.as_str(), t.status))
                .collect::<Vec<_>>(),
            [
                ("wang.fang", signoff_engine::runtime::TaskStatus::Open),
                ("zhou.jian", signoff_engine::runtime::TaskStatus::Waiting)
            ]
        );
        h.act(id, "wang.fang", approve()).await;
        let view = h.act(id, "zhou.jian", approve()).await;
        assert_eq!(view.outcome.as_deref(), Some("approved"));
    }
}

storage_test! {
    async fn vote_rejects_when_passing_is_out_of_reach_and_remove_signer_keeps_the_quorum(db) {
        let h = committee(&db, &COMMITTEE.replace("pass_percent: 60", "pass: 3")).await;
        let id = h
            .engine
            .start("committee", "li.na", json!({"topic": "裁员"}))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", approve()).await;
        // Five signers, three must pass: removing two is allowed, a third is not.
        h.act(
            id,
            "liu.qiang",
            ActionRequest::new(ActionKind::RemoveSigner).to("yang.fan"),
        )
        .await;
        h.act(
            id,
            "liu.qiang",
            ActionRequest::new(ActionKind::RemoveSigner).to("chen.jing"),
        )
        .await;
        let t = h.task(id, "liu.qiang").await;
        let err = h
            .engine
            .act(
                t,
                "liu.qiang",
                ActionRequest::new(ActionKind::RemoveSigner).to("tang.jie"),
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("fewer signers than its mode needs"),
            "{err}"
        );
        h.act(id, "zhao.min", approve()).await;
        let view = h.act(id, "tang.jie", reject()).await;
        assert_eq!(
            view.outcome.as_deref(),
            Some("rejected"),
            "3 of 3 can no longer approve"
        );
    }
}

storage_test! {
    async fn auto_skip_of_the_submitter_and_urge_is_rate_limited(db) {
        let h = committee(&db, COMMITTEE).await;
        let id = h
            .engine
            .start("committee", "li.na", json!({"topic": "x"}))
            .await
            .unwrap()
            .id;
        assert_eq!(
            h.engine.instance(id).await.unwrap().current_steps,
            vec!["manager_first"]
        );
        // Once a working day: not again the same calendar day, again the next.
        h.clock.set(signoff_tests::shanghai(2026, 11, 24, 9));
        h.engine.urge(id, "li.na").await.unwrap();
        let err = h.engine.urge(id, "li.na").await.unwrap_err();
        assert!(matches!(err, EngineError::UrgedToday(_)), "{err}");
        h.clock.set(signoff_tests::shanghai(2026, 11, 24, 17));
        assert!(
            h.engine.urge(id, "li.na").await.is_err(),
            "still the same day"
        );
        h.clock.set(signoff_tests::shanghai(2026, 11, 25, 9));
        h.engine.urge(id, "li.na").await.unwrap();

        // When the submitter is the only assignee, auto_skip passes the step.
        let skip_def = COMMITTEE.replace("assignees: [manager]", "assignees: [submitter]");
        let dir = signoff_tests::processes_copy("skip-defs", &[]);
        std::fs::write(dir.join("committee.yaml"), skip_def).unwrap();
        let skip = Harness::with_processes(&db, "skip", dir).await;
        let view = skip
            .engine
            .start("committee", "li.na", json!({"topic": "y"}))
            .await
            .unwrap();
        assert_eq!(view.current_steps, vec!["vote"]);
        assert!(view.history.iter().any(|e| e.action == HistoryAction::Skip
            && e.detail.as_deref() == Some("the assignee is the submitter")));
    }
}

storage_test! {
    async fn one_group_commit_keeps_each_action_its_own_result_history_and_mail(db) {
        // Actions sent at once share group commits: each accepted one gets its own
        // history and mail, a refused one leaves nothing, and the reply of `perform`
        // (known at the commit) agrees with the request read back.
        let h = Harness::new(&db, "group-commit").await;
        let mut starts = Vec::new();
        for _ in 0..24 {
            let engine = h.engine.clone();
            starts.push(tokio::spawn(async move {
                engine.submit("reimbursement", "li.na", claim(&[300.0])).await
            }));
        }
        let mut ids = Vec::new();
        for s in starts {
            let acted = s.await.unwrap().unwrap();
            assert_eq!(acted.status, InstanceStatus::Running);
            assert_eq!(acted.assigned.len(), 1, "{acted:?}");
            assert_eq!(acted.assigned[0].1, "liu.qiang");
            ids.push(acted);
        }
        let mut actions = Vec::new();
        for acted in &ids {
            let task = acted.assigned[0].0;
            for (who, kind) in [
                ("liu.qiang", ActionKind::Approve),
                ("song.yi", ActionKind::Approve),
                ("liu.qiang", ActionKind::Approve),
            ] {
                let engine = h.engine.clone();
                actions.push(tokio::spawn(async move {
                    (who, engine.perform(task, who, ActionRequest::new(kind)).await)
                }));
            }
        }
        let (mut accepted, mut refused) = (Vec::new(), 0);
        for a in actions {
            match a.await.unwrap() {
                ("liu.qiang", Ok(acted)) => accepted.push(acted),
                (_, Err(EngineError::NotYourTask { .. } | EngineError::Stale { .. })) => {
                    refused += 1
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(accepted.len(), 24, "one approval per request");
        assert_eq!(refused, 48);
        for acted in &accepted {
            let view = h.engine.instance(acted.instance).await.unwrap();
            let approvals = view
                .history
                .iter()
                .filter(|e| e.action == HistoryAction::Approve)
                .count();
            assert_eq!(approvals, 1, "{:?}", view.history);
            let open: Vec<_> = view
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Open)
                .map(|t| (t.id, t.assignee.clone()))
                .collect();
            assert_eq!(acted.assigned, open);
            assert_eq!(acted.status, view.status);
            let mut ids: Vec<i64> = view.history.iter().map(|e| e.id).collect();
            ids.dedup();
            assert_eq!(ids.len(), view.history.len(), "history ids are unique");
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
        }
        // Every assignment was mailed once: to the manager, then to both reviewers of
        // the next step (a countersign of two).
        let mail = h
            .engine
            .mail(&signoff_engine::notify::MailQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        for who in ["liu.qiang", "song.yi", "tang.jie"] {
            let to = mail
                .iter()
                .filter(|m| m.kind == signoff_engine::model::Event::TaskAssigned && m.recipient == who)
                .count();
            assert_eq!(to, 24, "{who}");
        }
        assert_eq!(mail.len(), 72, "no other mail");
    }
}

storage_test! {
    async fn copies_of_finished_requests_keep_their_history_and_new_requests_follow(db) {
        // The bench's filler (`store::copies`): a decided request is copied with its runs,
        // tasks and history; the copies read like the original, and a request started
        // afterwards gets the next id, on both databases.
        let h = Harness::new(&db, "copies").await;
        let id = h.engine.start("reimbursement", "li.na", claim(&[120.0])).await.unwrap().id;
        h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Reject).comment("重复报销")).await;
        let original = h.engine.instance(id).await.unwrap();
        assert!(original.ended_at.is_some(), "a rejected claim ends");
        let Harness { engine, db: url, processes, clock } = h;
        engine.shutdown().await;

        let held = signoff_engine::store::copies::copy_finished_requests(&url, 2).await.unwrap();
        assert_eq!(held, 3);
        let engine = signoff_tests::open(&url, &processes, clock).await;
        let words = |v: &InstanceView| -> Vec<(HistoryAction, String)> {
            v.history.iter().map(|e| (e.action, e.actor.clone())).collect()
        };
        for copy in [2, 3] {
            let view = engine.instance(InstanceId(copy)).await.unwrap();
            assert_eq!((view.status, &view.outcome), (original.status, &original.outcome));
            assert_eq!(words(&view), words(&original), "request {copy}");
            assert_eq!(view.tasks.len(), original.tasks.len());
            assert!(view.tasks.iter().all(|t| original.tasks.iter().all(|o| o.id != t.id)));
        }
        let next = engine.start("reimbursement", "li.na", claim(&[80.0])).await.unwrap();
        assert_eq!(next.id, InstanceId(4));
        assert_eq!(engine.task_counts("liu.qiang").await.unwrap().iter().map(|(_, n)| n).sum::<i64>(), 1);

        // A database with a request still running is not copied.
        engine.shutdown().await;
        let refused = signoff_engine::store::copies::copy_finished_requests(&url, 1).await.unwrap_err();
        assert!(refused.to_string().contains("have not ended (1)"), "{refused}");
    }
}
