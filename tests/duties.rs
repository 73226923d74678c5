//! How the shipped processes keep people from deciding their own requests, what happens
//! at the top of the hierarchy, who may start a process, and that every request can end
//! (issue 11): engine runs on real SQLite files.

use serde_json::json;
use signoff_engine::runtime::HistoryAction;
use signoff_engine::runtime::{ActionKind, ActionRequest, EngineError, InstanceView};
use signoff_tests::{claim, shanghai, storage_test, Harness};

fn approve() -> ActionRequest {
    ActionRequest::new(ActionKind::Approve)
}

fn reject() -> ActionRequest {
    ActionRequest::new(ActionKind::Reject)
}

fn holders(view: &InstanceView) -> Vec<&str> {
    view.tasks.iter().map(|t| t.assignee.as_str()).collect()
}

fn skipped<'a>(view: &'a InstanceView, step: &str) -> Vec<&'a str> {
    view.history
        .iter()
        .filter(|e| e.action == HistoryAction::Skip && e.step.as_deref() == Some(step))
        .filter_map(|e| e.detail.as_deref())
        .collect()
}

storage_test! {
    async fn the_director_never_approves_her_own_claim_it_goes_up_to_her_manager(db) {
        let h = Harness::new(&db, "sod-director").await;
        let id = h
            .engine
            .start(
                "reimbursement",
                "wang.fang",
                claim(&[1500.0, 1500.0, 1500.0, 1500.0]),
            )
            .await
            .unwrap()
            .id;
        h.act(id, "zhou.jian", approve()).await;
        let view = h.act(id, "song.yi", approve()).await;
        // The director step goes up to the executive VP, who already approved the claim as
        // her manager, so `auto_skip: [already_approved]` passes it.
        let notes = skipped(&view, "director_review");
        for expected in [
            "`wang.fang` may not decide",
            "goes up to `zhou.jian`",
            "already approved",
        ] {
            assert!(
                notes.iter().any(|n| n.contains(expected)),
                "{expected}: {notes:?}"
            );
        }
        assert_eq!(view.current_steps, vec!["finance_payment"]);
        let approvers: Vec<&str> = view
            .history
            .iter()
            .filter(|e| e.action == HistoryAction::Approve)
            .map(|e| e.actor.as_str())
            .collect();
        assert_eq!(
            approvers,
            ["zhou.jian", "song.yi"],
            "she never approved her own claim"
        );
    }
}

storage_test! {
    async fn a_reviewer_of_the_pool_does_not_review_his_own_claim(db) {
        let h = Harness::new(&db, "sod-pool").await;
        let id = h
            .engine
            .start("reimbursement", "song.yi", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        let view = h.act(id, "tang.jie", approve()).await;
        assert_eq!(view.current_steps, vec!["service_review"]);
        assert_eq!(holders(&view), ["tang.jie"], "the other member only");
        // Nor can the task be handed to him.
        let task = h.task(id, "tang.jie").await;
        let err = h
            .engine
            .act(
                task,
                "tang.jie",
                ActionRequest::new(ActionKind::Delegate).to("song.yi"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::OwnRequest(ref u) if u == "song.yi"),
            "{err}"
        );
    }
}

storage_test! {
    async fn the_top_of_the_directory_is_modelled_and_never_an_incident(db) {
        let h = Harness::new(&db, "sod-top").await;
        // The executive VP's manager is the president.
        let vp = h
            .engine
            .start("reimbursement", "zhou.jian", claim(&[100.0]))
            .await
            .unwrap();
        assert_eq!(holders(&vp), ["qin.shan"]);
        // The president has no manager: the definition says the manager step passes.
        let president = h
            .engine
            .start("reimbursement", "qin.shan", claim(&[100.0]))
            .await
            .unwrap();
        assert_eq!(president.current_steps, vec!["service_review"]);
        assert!(president.incident.is_none());
        let notes = skipped(&president, "manager_review");
        assert!(
            notes.iter().any(|n| n.contains("has no manager")),
            "{notes:?}"
        );
    }
}

storage_test! {
    async fn a_candidate_never_sits_on_their_own_panel_and_only_service_management_opens_a_review(db) {
        let h = Harness::new(&db, "sod-panel").await;
        let form = json!({"candidate": "zhao.min", "region": "call_center", "current_level": "p1", "target_level": "p2"});
        let err = h
            .engine
            .start("appointment_review", "li.na", form.clone())
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::NotAStarter(_)), "{err}");
        let id = h
            .engine
            .start("appointment_review", "song.yi", form)
            .await
            .unwrap()
            .id;
        // The candidate does her own part: the self-assessment.
        let view = h
            .act(
                id,
                "zhao.min",
                ActionRequest::new(ActionKind::Complete).form(json!({"self_assessment": "..."})),
            )
            .await;
        assert_eq!(view.current_steps, vec!["panel_scoring"]);
        let mut panel = holders(&view);
        panel.sort();
        assert_eq!(panel, ["liu.qiang", "tang.jie"], "the panel without her");
    }
}

storage_test! {
    async fn the_receiving_manager_cannot_be_the_submitter(db) {
        let h = Harness::new(&db, "sod-rotation").await;
        let form = json!({
            "employee": "zhang.wei", "current_post": "实施工程师", "target_post": "客服专人",
            "current_region": "south", "target_region": "south", "receiving_manager": "li.na",
            "successor": "ma.chao", "effective_date": "2099-12-01", "reason": "轮岗"
        });
        let id = h
            .engine
            .start("staff_rotation", "li.na", form)
            .await
            .unwrap()
            .id;
        let view = h.act(id, "chen.jing", approve()).await;
        assert_eq!(view.current_steps, vec!["receiving_manager_approval"]);
        assert_eq!(holders(&view), ["liu.qiang"], "up to li.na's manager");
    }
}

storage_test! {
    async fn escalation_goes_up_never_to_the_holder_and_brings_a_new_deadline(db) {
        let h = Harness::new(&db, "escalate-up").await;
        h.clock.set(shanghai(2026, 11, 2, 10));
        let form = json!({
            "confirmation_no": "SC261101", "customer": "某客户", "amount": 8000,
            "original_due": "2026-11-30", "new_due": "2026-12-20", "cause": "customer",
            "explanation": "客户资金周转困难，申请延期"
        });
        let id = h
            .engine
            .start("deferred_payment", "ma.chao", form)
            .await
            .unwrap()
            .id;
        let view = h.act(id, "qian.hao", approve()).await;
        assert_eq!(view.current_steps, vec!["gm_office_decision"]);
        // Three working days later the GM office has not decided. The rule names the
        // general manager, who already holds the step: it goes up to his manager instead.
        h.clock.set(shanghai(2026, 11, 6, 9));
        assert!(h.engine.fire_due_timers().await.unwrap() >= 1);
        let view = h.engine.instance(id).await.unwrap();
        let escalated = view
            .tasks
            .iter()
            .find(|t| t.assignee == "zhou.jian")
            .expect("escalated up to the executive VP");
        let due = escalated.due_at.as_deref().expect("a deadline");
        assert!(
            due > "2026-11-06T01:00:00",
            "a new deadline, not overdue on arrival: {due}"
        );
        let notes: Vec<&str> = view
            .history
            .iter()
            .filter(|e| e.action == HistoryAction::EscalateSkipped)
            .filter_map(|e| e.detail.as_deref())
            .collect();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`han.bo` already holds the step")),
            "{notes:?}"
        );
    }
}

storage_test! {
    async fn a_reminder_due_with_the_deadline_after_downtime_is_dropped(db) {
        let h = Harness::new(&db, "late-reminder").await;
        h.clock.set(shanghai(2026, 11, 2, 10));
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        // The server was down past the deadline: reminder and deadline fall due together.
        h.clock.set(shanghai(2026, 11, 9, 10));
        h.engine.fire_due_timers().await.unwrap();
        let view = h.engine.instance(id).await.unwrap();
        assert!(
            !view
                .history
                .iter()
                .any(|e| e.detail.as_deref() == Some("the deadline is near")),
            "no 'deadline is near' after the deadline"
        );
        assert!(view
            .history
            .iter()
            .any(|e| e.action == HistoryAction::Escalate));
    }
}

storage_test! {
    async fn the_monthly_on_site_report_goes_up_to_the_customer_and_administration(db) {
        let h = Harness::new(&db, "onsite").await;
        let form = json!({
            "month": "2026-11", "customer": "某集团总部", "attendance_days": 20,
            "work_summary": "完成打印机群巡检与两次紧急维修。", "documents_on_time": true
        });
        let err = h
            .engine
            .start("onsite_report", "li.na", form.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::NotAStarter(_)),
            "technicians report"
        );
        // The customer rates the technician at its step; the technician cannot pre-fill it.
        let mut rated = form.clone();
        rated["customer_rating"] = json!("excellent");
        let err = h
            .engine
            .start("onsite_report", "ma.chao", rated)
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::InvalidForm(ref e) if e.fields["customer_rating"] == signoff_engine::problem::FieldProblem::StepOnly),
            "{err}"
        );
        let id = h
            .engine
            .start("onsite_report", "ma.chao", form)
            .await
            .unwrap()
            .id;
        for who in ["tian.yu", "qian.hao", "xie.ping"] {
            h.act(id, who, approve()).await;
        }
        let complete = || ActionRequest::new(ActionKind::Complete);
        let task = h.task(id, "tian.yu").await;
        let err = h.engine.act(task, "tian.yu", complete()).await.unwrap_err();
        assert!(err.to_string().contains("required at this step"), "{err}");
        let view = h
            .act(
                id,
                "tian.yu",
                complete().form(json!({"customer_rating": "good", "customer_feedback": "响应及时"})),
            )
            .await;
        assert_eq!(view.form["allowance"].as_f64(), Some(300.0), "002 (二)3a");
        assert_eq!(view.form["technician_penalty"].as_f64(), Some(0.0));
        let view = h
            .act(
                id,
                "cao.yang",
                complete().inputs(json!({"performance": "good"})),
            )
            .await;
        assert_eq!(view.outcome.as_deref(), Some("completed"));
    }
}

storage_test! {
    async fn a_business_plan_is_reviewed_by_three_departments_and_tiered_to_the_general_manager(db) {
        let h = Harness::new(&db, "plan").await;
        let plan = |customer_type: &str, amount: f64, change: bool| {
            json!({
                "customer": "某集团", "customer_type": customer_type, "amount": amount,
                "instruments": "银行承兑汇票", "remittance": "按季度回款", "is_change": change
            })
        };
        // A change must name the plan it changes.
        let err = h
            .engine
            .start("business_plan", "lin.feng", plan("regular", 50_000.0, true))
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::InvalidForm(ref e) if e.fields.contains_key("changed_plan")),
            "{err}"
        );
        let run = |form: serde_json::Value| async {
            let id = h
                .engine
                .start("business_plan", "lin.feng", form)
                .await
                .unwrap()
                .id;
            h.act(id, "qian.hao", approve()).await;
            // Finance and marketing review at the same time; marketing's review is not its
            // own author's: the other salesperson signs.
            let view = h.engine.instance(id).await.unwrap();
            assert_eq!(
                view.current_steps,
                ["joint_review", "finance_review", "marketing_review"]
            );
            assert_eq!(holders(&view), ["feng.yu", "jiang.hua", "zheng.hui"]);
            h.act(id, "zheng.hui", approve()).await;
            h.act(id, "feng.yu", approve()).await
        };
        let small = run(plan("regular", 50_000.0, false)).await;
        assert_eq!(small.outcome.as_deref(), Some("approved"));
        let key_account = run(plan("key_account", 50_000.0, false)).await;
        assert_eq!(key_account.current_steps, vec!["gm_approval"]);
        let mut change = plan("regular", 50_000.0, true);
        change["changed_plan"] = json!("#2");
        let changed = run(change).await;
        assert_eq!(changed.current_steps, vec!["gm_approval"], "004 二(一)8");
        let view = h.act(changed.id, "han.bo", approve()).await;
        assert_eq!(view.outcome.as_deref(), Some("approved"));
        assert!(
            view.links.iter().any(|l| !l.incoming && l.other.0 == 2),
            "the change links to the plan it changes"
        );
        // Finance refuses: the plan ends once marketing has given its opinion too.
        let id = h
            .engine
            .start(
                "business_plan",
                "lin.feng",
                plan("regular", 10_000.0, false),
            )
            .await
            .unwrap()
            .id;
        h.act(id, "qian.hao", approve()).await;
        let view = h.act(id, "jiang.hua", reject()).await;
        assert_eq!(
            view.status,
            signoff_engine::runtime::InstanceStatus::Running
        );
        let view = h.act(id, "zheng.hui", approve()).await;
        assert_eq!(view.outcome.as_deref(), Some("rejected"));
    }
}

storage_test! {
    async fn the_weekly_ledger_check_starts_itself_every_friday(db) {
        let h = Harness::new(&db, "ledger").await;
        h.clock.set(shanghai(2026, 11, 18, 10));
        assert_eq!(h.engine.start_scheduled().await.unwrap(), 0, "first seen");
        h.clock.set(shanghai(2026, 11, 20, 9));
        assert_eq!(h.engine.start_scheduled().await.unwrap(), 0, "not yet");
        h.clock.set(shanghai(2026, 11, 20, 10));
        assert_eq!(
            h.engine.start_scheduled().await.unwrap(),
            1,
            "Friday morning"
        );
        assert_eq!(h.engine.start_scheduled().await.unwrap(), 0, "once");
        let task = h
            .engine
            .tasks(&signoff_engine::runtime::TaskQuery {
                user: "wu.xia".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.process == "sales_ledger_check")
            .expect("the coordinator reconciles");
        let id = task.instance;
        let complete = || ActionRequest::new(ActionKind::Complete);
        h.act(
            id,
            "wu.xia",
            complete()
                .form(json!({"reconciled": true, "overdue_items": "SC261012 某集团 12000 2026-11-10"})),
        )
        .await;
        // Monday's review sends the overdue items to the salespeople.
        let view = h.act(id, "qian.hao", approve()).await;
        assert_eq!(view.current_steps, vec!["salesperson_follow_up"]);
        let mut team = holders(&view);
        team.sort();
        assert_eq!(team, ["lin.feng", "zheng.hui"]);
    }
}
