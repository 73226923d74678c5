//! The approval actions beyond approve and reject, end to end on both databases: taking
//! a request back (拿回), asking an opinion (委派), copying (抄送), an owner's jump
//! (跳转) and terminate (终止), and a weighted vote (票签).

use serde_json::json;
use signoff_engine::runtime::{
    ActionKind, ActionRequest, EngineError, HistoryAction, InstanceStatus, InstanceView,
    TakeBackRefused, TaskStatus,
};
use signoff_tests::{claim, processes_copy, storage_test, Harness};

fn approve() -> ActionRequest {
    ActionRequest::new(ActionKind::Approve)
}

fn status_of(view: &InstanceView, who: &str) -> Option<TaskStatus> {
    view.tasks
        .iter()
        .rev()
        .find(|t| t.assignee == who)
        .map(|t| t.status)
}

fn did(view: &InstanceView, action: HistoryAction) -> Vec<(String, Option<String>)> {
    view.history
        .iter()
        .filter(|e| e.action == action)
        .map(|e| (e.actor.clone(), e.detail.clone().or(e.comment.clone())))
        .collect()
}

storage_test! {
    async fn the_last_approver_takes_a_request_back_until_the_next_person_acts(db) {
        let h = Harness::new(&db, "take-back").await;
        let id = h.engine.start("reimbursement", "li.na", claim(&[300.0])).await.unwrap().id;
        let view = h.act(id, "liu.qiang", approve()).await;
        assert_eq!(view.current_steps, ["service_review"]);

        // Nobody else may take it back; its approver may, while service has not acted.
        let err = h.engine.take_back(id, "song.yi", None).await.unwrap_err();
        assert!(matches!(err, EngineError::CannotTakeBack { why: TakeBackRefused::NotYours, .. }), "{err}");
        let view = h.engine.take_back(id, "liu.qiang", Some("金额再核对")).await.unwrap();
        assert_eq!(view.current_steps, ["manager_review"]);
        assert_eq!(status_of(&view, "liu.qiang"), Some(TaskStatus::Open));
        assert_eq!(status_of(&view, "song.yi"), None, "service's task is gone");
        assert_eq!(did(&view, HistoryAction::TakeBack), [("liu.qiang".into(), Some("金额再核对".into()))]);
        assert!(!h.engine.may_take_back(&view, "liu.qiang"), "nothing left to take back");

        // Decided again, then service approves: now it is too late for the manager.
        h.act(id, "liu.qiang", approve()).await;
        let view = h.act(id, "song.yi", approve()).await;
        assert_eq!(view.current_steps, ["finance_payment"]);
        assert!(!h.engine.may_take_back(&view, "liu.qiang"));
        assert!(h.engine.may_take_back(&view, "song.yi"));
        let err = h.engine.take_back(id, "liu.qiang", None).await.unwrap_err();
        assert!(matches!(err, EngineError::CannotTakeBack { .. }), "{err}");
        // Finance claims the task: that is acting, so service cannot take it back either.
        let feng = h.task(id, "feng.yu").await;
        h.engine.act(feng, "feng.yu", ActionRequest::new(ActionKind::Claim)).await.unwrap();
        let err = h.engine.take_back(id, "song.yi", None).await.unwrap_err();
        assert!(matches!(err, EngineError::CannotTakeBack { .. }), "{err}");
    }
}

storage_test! {
    async fn an_opinion_asked_comes_back_to_the_one_who_decides(db) {
        let h = Harness::new(&db, "consult").await;
        let id = h.engine.start("reimbursement", "li.na", claim(&[300.0])).await.unwrap().id;
        // Never the submitter; never an unknown user.
        let task = h.task(id, "liu.qiang").await;
        let err = h.engine.act(task, "liu.qiang", ActionRequest::new(ActionKind::Consult).to("li.na")).await.unwrap_err();
        assert!(matches!(err, EngineError::OwnRequest(_)), "{err}");
        let view = h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Consult).to("feng.yu")).await;
        assert_eq!(status_of(&view, "liu.qiang"), Some(TaskStatus::Held));
        assert_eq!(status_of(&view, "feng.yu"), Some(TaskStatus::Open));
        let asked = h.task(id, "feng.yu").await;
        let task_view = h.engine.task(asked).await.unwrap();
        assert_eq!(task_view.actions, ["reply", "comment"], "the one asked only answers");

        // The one asked cannot decide, and must say something.
        let err = h.engine.act(asked, "feng.yu", approve()).await.unwrap_err();
        assert!(matches!(err, EngineError::NotAllowed(_)), "{err}");
        let err = h.engine.act(asked, "feng.yu", ActionRequest::new(ActionKind::Reply)).await.unwrap_err();
        assert!(matches!(err, EngineError::CommentRequired { .. }), "{err}");
        let view = h.engine.act(asked, "feng.yu", ActionRequest::new(ActionKind::Reply).comment("票据齐全")).await.unwrap();
        assert_eq!(view.current_steps, ["manager_review"], "the opinion is not a vote");
        assert_eq!(status_of(&view, "liu.qiang"), Some(TaskStatus::Open));
        assert_eq!(did(&view, HistoryAction::Consult), [("liu.qiang".into(), Some("feng.yu".into()))]);
        assert_eq!(did(&view, HistoryAction::Reply), [("feng.yu".into(), Some("票据齐全".into()))]);
        // The manager decides.
        let view = h.act(id, "liu.qiang", approve()).await;
        assert_eq!(view.current_steps, ["service_review"]);
    }
}

storage_test! {
    async fn an_approver_copies_the_request_to_someone_who_may_then_read_it(db) {
        let h = Harness::new(&db, "copy-to").await;
        let id = h.engine.start("reimbursement", "li.na", claim(&[300.0])).await.unwrap().id;
        assert!(h.engine.instance_for(id, "wang.fang").await.is_err(), "not hers to see yet");
        let view = h.act(id, "liu.qiang", ActionRequest::new(ActionKind::CopyTo).to("wang.fang")).await;
        assert_eq!(view.current_steps, ["manager_review"], "copying decides nothing");
        assert_eq!(did(&view, HistoryAction::Cc), [("liu.qiang".into(), Some("wang.fang".into()))]);
        h.engine.instance_for(id, "wang.fang").await.expect("copied: she may read it");
        assert_eq!(h.engine.unread_cc("wang.fang").await.unwrap(), 1);
        h.engine.mark_read(id, "wang.fang").await.unwrap();
        assert_eq!(h.engine.unread_cc("wang.fang").await.unwrap(), 0);
        let task = h.task(id, "liu.qiang").await;
        let err = h.engine.act(task, "liu.qiang", ActionRequest::new(ActionKind::CopyTo).to("nobody.here")).await.unwrap_err();
        assert!(matches!(err, EngineError::UnknownUser(_)), "{err}");
    }
}

storage_test! {
    async fn a_process_owner_moves_a_request_and_terminates_another_with_a_reason(db) {
        let h = Harness::new(&db, "jump").await;
        let id = h.engine.start("reimbursement", "li.na", claim(&[300.0])).await.unwrap().id;
        // Only the process's owners (tang.jie, song.yi: service management) and admins.
        let err = h.engine.jump(id, "liu.qiang", "finance_payment", "急").await.unwrap_err();
        assert!(matches!(err, EngineError::OnlyOwner { .. }), "{err}");
        let err = h.engine.jump(id, "tang.jie", "finance_payment", "  ").await.unwrap_err();
        assert!(matches!(err, EngineError::CommentRequired { .. }), "{err}");
        let err = h.engine.jump(id, "tang.jie", "no_such_step", "急").await.unwrap_err();
        assert!(matches!(err, EngineError::UnknownStep(_)), "{err}");

        let view = h.engine.jump(id, "tang.jie", "finance_payment", "经理休假，特批").await.unwrap();
        assert_eq!(view.current_steps, ["finance_payment"]);
        assert_eq!(status_of(&view, "liu.qiang"), None, "the manager's task is gone");
        assert_eq!(status_of(&view, "feng.yu"), Some(TaskStatus::Open));
        let jumped = view.history.iter().find(|e| e.action == HistoryAction::Jump).unwrap();
        assert_eq!((jumped.actor.as_str(), jumped.comment.as_deref()), ("tang.jie", Some("经理休假，特批")));

        let other = h.engine.start("reimbursement", "li.na", claim(&[80.0])).await.unwrap().id;
        let err = h.engine.terminate(other, "li.na", "不要了").await.unwrap_err();
        assert!(matches!(err, EngineError::OnlyOwner { .. }), "{err}");
        let view = h.engine.terminate(other, "song.yi", "重复提交").await.unwrap();
        assert_eq!(view.status, InstanceStatus::Completed);
        assert_eq!(view.outcome.as_deref(), Some("cancelled"));
        assert!(view.tasks.iter().all(|t| t.status != TaskStatus::Open));
        let err = h.engine.terminate(other, "song.yi", "again").await.unwrap_err();
        assert!(matches!(err, EngineError::NotAllowed(_)), "{err}");
        let err = h.engine.jump(other, "song.yi", "manager_review", "again").await.unwrap_err();
        assert!(matches!(err, EngineError::NotAllowed(_)), "{err}");
    }
}

/// A panel of three where the director's vote weighs 3 and passing needs 60% of the
/// weight (3 of 5).
const WEIGHTED: &str = r#"id: weighted
name: { zh: 加权表决, en: Weighted vote }
owner: { role: director }
form:
  fields:
    - { id: topic, type: text, label: { zh: 议题, en: Topic } }
steps:
  - id: panel
    type: approval
    assignees: [{ user: liu.qiang }, { user: zhou.jian }, { user: wang.fang }]
    mode: { vote: { pass_percent: 60, weights: [{ user: wang.fang, weight: 3 }] } }
    transitions:
      - { on: approved, to: passed }
      - { on: rejected, to: failed }
  - { id: passed, type: end, outcome: approved }
  - { id: failed, type: end, outcome: rejected }
"#;

storage_test! {
    async fn a_weighted_vote_counts_weight_not_heads(db) {
        let dir = processes_copy("weighted", &[]);
        std::fs::write(dir.join("weighted.yaml"), WEIGHTED).unwrap();
        let h = Harness::with_processes(&db, "weighted", dir).await;

        // The director alone carries it: 3 of 5.
        let id = h.engine.start("weighted", "li.na", json!({"topic": "a"})).await.unwrap().id;
        let view = h.act(id, "wang.fang", approve()).await;
        assert_eq!(view.outcome.as_deref(), Some("approved"), "{:?}", view.history);

        // Two heads of weight 1 are not enough; the director's rejection (3) then rejects.
        let id = h.engine.start("weighted", "li.na", json!({"topic": "b"})).await.unwrap().id;
        h.act(id, "liu.qiang", approve()).await;
        let view = h.act(id, "zhou.jian", approve()).await;
        assert_eq!(view.status, InstanceStatus::Running, "2 of 5 is not 60%");
        let view = h.act(id, "wang.fang", ActionRequest::new(ActionKind::Reject)).await;
        assert_eq!(view.outcome.as_deref(), Some("rejected"));
    }
}
