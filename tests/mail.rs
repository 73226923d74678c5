//! Mail end to end: the outbox is written in the action's transaction, the sender
//! delivers over real SMTP (aiosmtpd on a local port), survives the server being down
//! and the engine restarting, and never sends for an action that rolled back.

use std::time::Duration;

use serde_json::json;
use signoff_engine::model::Event;
use signoff_engine::notify::Transport;
use signoff_engine::notify::{MailQuery, MailStatus, MailView};
use signoff_engine::runtime::{ActionKind, ActionRequest, EngineError, InstanceId};
use signoff_tests::{
    claim, eventually, quick_sender, shanghai, storage_test, Db, Harness, SmtpServer, SmtpTls,
};

const WAIT: Duration = Duration::from_secs(20);

async fn outbox(h: &Harness, instance: InstanceId) -> Vec<MailView> {
    let mut mail = h
        .engine
        .mail(&MailQuery {
            instance: Some(instance.0),
            ..Default::default()
        })
        .await
        .expect("outbox");
    mail.reverse();
    mail
}

/// (kind, recipient) of every queued message, in order.
async fn planned(h: &Harness, instance: InstanceId) -> Vec<(String, String)> {
    outbox(h, instance)
        .await
        .into_iter()
        .map(|m| (m.kind.as_str().to_string(), m.recipient))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, r)| (k.to_string(), r.to_string()))
        .collect()
}

async fn all_sent(h: &Harness, instance: InstanceId) -> Option<()> {
    let mail = outbox(h, instance).await;
    (!mail.is_empty() && mail.iter().all(|m| m.status == MailStatus::Sent)).then_some(())
}

storage_test! {
    async fn a_reimbursement_run_mails_each_person_once_with_the_right_subject_and_link(db) {
        let smtp = SmtpServer::start("smtp-run").await;
        let h = Harness::new(&db, "mail-run").await;
        let mailer = h.engine.spawn_mailer(quick_sender(&smtp.url()));

        let mut form = claim(&[300.0, 200.5]);
        form["purpose"] = json!("客户现场 <script>alert('x')</script>");
        let id = h
            .engine
            .start("reimbursement", "li.na", form)
            .await
            .unwrap()
            .id;
        let manager_task = h.task(id, "liu.qiang").await;
        h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Approve))
            .await;
        h.act(id, "song.yi", ActionRequest::new(ActionKind::Approve))
            .await;
        let finance = h.task(id, "feng.yu").await;
        for kind in [ActionKind::Claim, ActionKind::Complete] {
            h.engine
                .act(finance, "feng.yu", ActionRequest::new(kind))
                .await
                .unwrap();
        }

        eventually("every message sent", WAIT, || all_sent(&h, id)).await;
        let received = smtp.received();
        let mut got: Vec<(String, String)> = received
            .iter()
            .map(|m| (m.rcpt_to.clone(), m.subject.clone()))
            .collect();
        got.sort();
        let mut expected: Vec<(String, String)> = [
            ("feng.yu@signoff.example", "【待办理】费用报销 #1：财务付款"),
            (
                "jiang.hua@signoff.example",
                "【待办理】费用报销 #1：财务付款",
            ),
            ("li.na@signoff.example", "【已通过】费用报销 #1"),
            (
                "liu.qiang@signoff.example",
                "【待审批】费用报销 #1：直属上级审批",
            ),
            (
                "song.yi@signoff.example",
                "【待审批】费用报销 #1：服务管理部审核",
            ),
            (
                "tang.jie@signoff.example",
                "【待审批】费用报销 #1：服务管理部审核",
            ),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        expected.sort();
        assert_eq!(got, expected);

        let manager_mail = received
            .iter()
            .find(|m| m.rcpt_to.contains("liu.qiang"))
            .unwrap();
        let link = format!("http://127.0.0.1:8080/tasks/{manager_task}");
        assert!(manager_mail.text.contains(&link), "{}", manager_mail.text);
        assert!(manager_mail.html.contains(&format!("href=\"{link}\"")));
        assert!(manager_mail.to.contains("刘强"), "{}", manager_mail.to);
        assert!(
            manager_mail.text.contains("500.50 CNY"),
            "the total: {}",
            manager_mail.text
        );
        assert!(manager_mail.text.contains("截止时间"), "the due date");
        // Form text is escaped in HTML, kept as typed in plain text.
        assert!(!manager_mail.html.contains("<script>"));
        assert!(manager_mail.html.contains("&lt;script&gt;"));
        assert!(manager_mail.text.contains("<script>alert('x')</script>"));
        let done = received
            .iter()
            .find(|m| m.rcpt_to.contains("li.na"))
            .unwrap();
        assert!(done
            .text
            .contains(&format!("http://127.0.0.1:8080/requests/{id}")));
        // Stable, distinct Message-IDs, recorded in the outbox.
        let mut ids: Vec<&str> = received.iter().map(|m| m.message_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 6);
        let outbox_ids: Vec<String> = outbox(&h, id)
            .await
            .iter()
            .map(|m| m.message_id.trim_matches(['<', '>']).to_string())
            .collect();
        for id in ids {
            assert!(
                outbox_ids.contains(&id.to_string()),
                "{id} not in {outbox_ids:?}"
            );
        }
        mailer.abort();
    }
}

storage_test! {
    async fn smtp_down_during_an_action_the_action_commits_and_the_mail_arrives_once_later(db) {
        let mut smtp = SmtpServer::reserve("smtp-down");
        let h = Harness::new(&db, "mail-down").await;
        let _mailer = h.engine.spawn_mailer(quick_sender(&smtp.url()));

        let view = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap();
        assert_eq!(
            view.current_steps,
            vec!["manager_review"],
            "the action committed"
        );
        let failing = eventually("a failed try recorded", WAIT, || async {
            let mail = outbox(&h, view.id).await;
            mail.first()
                .filter(|m| m.attempts >= 1 && m.last_error.is_some())
                .cloned()
        })
        .await;
        assert_eq!(
            failing.status,
            MailStatus::Pending,
            "still queued: {failing:?}"
        );
        assert!(smtp.received().is_empty());

        smtp.run().await;
        eventually("the mail delivered", WAIT, || all_sent(&h, view.id)).await;
        let received = smtp.received();
        assert_eq!(received.len(), 1, "{received:?}");
        assert!(received[0].rcpt_to.contains("liu.qiang"));
        // It stays sent: later passes do not send it again.
        let again = h
            .engine
            .deliver_mail(&quick_sender(&smtp.url()))
            .await
            .unwrap();
        assert_eq!(again.sent, 0);
        assert_eq!(smtp.received().len(), 1);
    }
}

storage_test! {
    async fn a_restart_between_commit_and_send_still_sends_once(db) {
        let smtp = SmtpServer::start("smtp-restart").await;
        let mut h = Harness::new(&db, "mail-restart").await;
        // No sender running: the process "crashes" right after the commit.
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        assert_eq!(outbox(&h, id).await[0].status, MailStatus::Pending);
        h.restart().await;

        let _mailer = h.engine.spawn_mailer(quick_sender(&smtp.url()));
        eventually("the queued mail delivered after the restart", WAIT, || {
            all_sent(&h, id)
        })
        .await;
        assert_eq!(smtp.received().len(), 1);
    }
}

storage_test! {
    async fn an_unreachable_server_is_tried_a_bounded_number_of_times_and_the_failure_stays_visible(db) {
        let h = Harness::new(&db, "mail-refused").await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        // Nothing listens on port 1 and the tries are bounded: the message ends failed.
        let mut sender = quick_sender("smtp://127.0.0.1:1");
        sender.max_attempts = 2;
        sender.first_retry = Duration::from_millis(10);
        let _mailer = h.engine.spawn_mailer(sender);
        let failed = eventually("the message given up", WAIT, || async {
            outbox(&h, id)
                .await
                .into_iter()
                .find(|m| m.status == MailStatus::Failed)
        })
        .await;
        assert_eq!(failed.attempts, 2);
        assert!(failed.last_error.is_some());
        assert_eq!(h.engine.mail_backlog().await.unwrap(), (0, 1));
    }
}

storage_test! {
    async fn a_rolled_back_action_leaves_no_message_behind(db) {
        let h = Harness::new(&db, "mail-rollback").await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Approve))
            .await;
        // Service management is an or-sign: song.yi approves, then tang.jie's approve is stale.
        let tang = h.task(id, "tang.jie").await;
        h.act(id, "song.yi", ActionRequest::new(ActionKind::Approve))
            .await;
        let before = outbox(&h, id).await.len();
        let err = h
            .engine
            .act(tang, "tang.jie", ActionRequest::new(ActionKind::Approve))
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Stale { .. }), "{err}");
        // A form change that fails validation rolls back too.
        let finance = h.task(id, "feng.yu").await;
        let err = h
            .engine
            .act(finance, "li.na", ActionRequest::new(ActionKind::Claim))
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::NotYourTask { .. }), "{err}");
        assert_eq!(
            outbox(&h, id).await.len(),
            before,
            "no mail for refused actions"
        );
    }
}

storage_test! {
    async fn returned_urged_withdrawn_and_incident_mail_reach_the_right_people(db) {
        let h = Harness::new(&db, "mail-kinds").await;
        // Returned: to the submitter, linking to the resubmit task.
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(
            id,
            "liu.qiang",
            ActionRequest::new(ActionKind::Return).comment("补充发票"),
        )
        .await;
        let resubmit = h.task(id, "li.na").await;
        let returned = outbox(&h, id)
            .await
            .into_iter()
            .find(|m| m.kind == Event::Returned)
            .expect("a returned mail");
        assert_eq!(returned.recipient, "li.na");
        assert!(returned.subject.contains("退回修改"));
        h.act(id, "li.na", ActionRequest::new(ActionKind::Resubmit))
            .await;
        assert_ne!(resubmit, h.task(id, "liu.qiang").await);

        // Delegated: the delegate is told, in their language (huang.lei reads English).
        h.act(
            id,
            "liu.qiang",
            ActionRequest::new(ActionKind::Delegate).to("huang.lei"),
        )
        .await;
        // Urged: the holder and the delegate; withdrawn: everyone who held the task.
        h.engine.urge(id, "li.na").await.unwrap();
        h.engine
            .withdraw(id, "li.na", Some("不报了"))
            .await
            .unwrap();
        assert_eq!(
            planned(&h, id).await,
            pairs(&[
                ("task_assigned", "liu.qiang"),
                ("returned", "li.na"),
                ("task_assigned", "liu.qiang"),
                ("task_assigned", "huang.lei"),
                ("urged", "liu.qiang"),
                ("urged", "huang.lei"),
                ("withdrawn", "liu.qiang"),
                ("withdrawn", "huang.lei"),
            ])
        );
        let mail = outbox(&h, id).await;
        let english: Vec<&str> = mail
            .iter()
            .filter(|m| m.recipient == "huang.lei")
            .map(|m| m.subject.as_str())
            .collect();
        assert!(
            english[0].starts_with("[Approve] Reimbursement approval #"),
            "{english:?}"
        );
        assert!(english[2].starts_with("[Withdrawn]"), "{english:?}");
        let chinese = mail
            .iter()
            .find(|m| m.recipient == "liu.qiang" && m.kind == Event::Withdrawn)
            .unwrap();
        assert!(
            chinese.subject.starts_with("【已撤回】"),
            "{}",
            chinese.subject
        );
    }
}

storage_test! {
    async fn escalation_and_definition_rules_add_recipients(db) {
        let h = Harness::new(&db, "mail-escalate").await;
        h.clock.set(shanghai(2026, 9, 29, 10));
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.clock.set(shanghai(2026, 10, 8, 15));
        h.engine.fire_due_timers().await.unwrap();
        h.clock.set(shanghai(2026, 10, 8, 18));
        h.engine.fire_due_timers().await.unwrap();
        // The reminder goes to the holder; the escalation to the manager two levels up, and
        // only as an escalation (not also as a plain assignment).
        assert_eq!(
            planned(&h, id).await,
            pairs(&[
                ("task_assigned", "liu.qiang"),
                ("reminder", "liu.qiang"),
                ("escalated", "zhao.min"),
            ])
        );

        // deferred_payment's rule: administration is told when the penalty notice is assigned.
        let form = json!({
            "confirmation_no": "SC260901", "customer": "某客户", "amount": 8000,
            "original_due": "2026-09-30", "new_due": "2026-11-30", "cause": "technician",
            "explanation": "技术员未及时送达发票"
        });
        let id = h
            .engine
            .start("deferred_payment", "ma.chao", form)
            .await
            .unwrap()
            .id;
        h.act(id, "qian.hao", ActionRequest::new(ActionKind::Reject))
            .await;
        h.act(id, "xie.ping", ActionRequest::new(ActionKind::Approve))
            .await;
        let kinds = planned(&h, id).await;
        assert!(
            kinds.contains(&("task_assigned".to_string(), "cao.yang".to_string())),
            "{kinds:?}"
        );
    }
}

storage_test! {
    async fn an_incident_tells_the_process_owner(db) {
        let (dir, _) = signoff_tests::failing_guard_copy("mail-incident-defs");
        let h = Harness::with_processes(&db, "mail-incident", dir).await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Approve))
            .await;
        h.act(id, "tang.jie", ActionRequest::new(ActionKind::Approve))
            .await;
        let incident = outbox(&h, id)
            .await
            .into_iter()
            .filter(|m| m.kind == Event::Incident)
            .collect::<Vec<_>>();
        assert!(!incident.is_empty(), "the owner is told");
        let owners: Vec<&str> = incident.iter().map(|m| m.recipient.as_str()).collect();
        let directory = h.engine.directory();
        let owner_role = match &h
            .engine
            .registry()
            .latest("reimbursement")
            .unwrap()
            .1
            .owner
            .value
        {
            signoff_engine::model::Principal::Role(r) => r.clone(),
            signoff_engine::model::Principal::User(u) => u.clone(),
        };
        for o in &owners {
            let user = directory.user(o).unwrap();
            assert!(
                user.id.value == owner_role || user.roles.iter().any(|r| r.value == owner_role),
                "{o} is not an owner"
            );
        }
        assert!(incident[0].subject.contains("流程异常"));
    }
}

storage_test! {
    async fn a_process_template_overrides_the_built_in_subject(db) {
        let dir = signoff_tests::processes_copy("mail-template-defs", &["reimbursement.yaml"]);
        signoff_tests::write_mail_template(
            &dir,
            "task_assigned.zh.txt",
            "请审批：{{ submitter_name }} 的{{ process_name }}",
            "见下。",
        );
        let h = Harness::with_processes(&db, "mail-template", dir).await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        let mail = outbox(&h, id).await;
        assert_eq!(mail[0].subject, "请审批：李娜 的费用报销");
    }
}

storage_test! {
    async fn a_rule_with_a_template_replaces_the_default_mail_for_its_recipients(db) {
        let (dir, _) = signoff_tests::paid_template_rule_copy("mail-rule-template-defs");
        signoff_tests::write_mail_template(
            &dir,
            "paid.zh.txt",
            "已付款：#{{ request_id }}",
            "款项已付。",
        );
        let h = Harness::with_processes(&db, "mail-rule-template", dir).await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Approve))
            .await;
        h.act(id, "song.yi", ActionRequest::new(ActionKind::Approve))
            .await;
        let finance = h.task(id, "feng.yu").await;
        for kind in [ActionKind::Claim, ActionKind::Complete] {
            h.engine
                .act(finance, "feng.yu", ActionRequest::new(kind))
                .await
                .unwrap();
        }
        let approved: Vec<String> = outbox(&h, id)
            .await
            .into_iter()
            .filter(|m| m.kind == Event::Approved)
            .map(|m| m.subject)
            .collect();
        assert_eq!(
            approved,
            [format!("已付款：#{id}")],
            "one mail, with the rule's template"
        );
    }
}

async fn delivered_over_tls(db: &Db, mode: SmtpTls) {
    let smtp = SmtpServer::start_tls(&format!("smtp-{mode:?}"), mode).await;
    let h = Harness::new(db, &format!("mail-{mode:?}")).await;
    h.engine
        .start("reimbursement", "li.na", claim(&[100.0]))
        .await
        .unwrap();
    let (ca, _) = smtp.tls.clone().unwrap();

    // Without the company CA the server's certificate is not trusted: nothing is sent.
    let mut untrusted = quick_sender(&smtp.url());
    untrusted.max_attempts = 1;
    let pass = h.engine.deliver_mail(&untrusted).await.unwrap();
    assert_eq!(
        (pass.sent, pass.failed),
        (0, 1),
        "{mode:?}: an unknown CA is refused"
    );
    assert!(smtp.received().is_empty());

    let id = h
        .engine
        .start("reimbursement", "li.na", claim(&[200.0]))
        .await
        .unwrap()
        .id;
    let mut trusted = quick_sender("log");
    trusted.transport = Transport::parse_with_ca(&smtp.url(), Some(ca.as_bytes())).unwrap();
    let pass = h.engine.deliver_mail(&trusted).await.unwrap();
    assert_eq!(pass.sent, 1, "{mode:?}");
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].subject.contains(&format!("#{id}")));
}

storage_test! {
    async fn starttls_delivers_to_a_server_whose_certificate_the_company_ca_signed(db) {
        delivered_over_tls(&db, SmtpTls::StartTls).await;
    }
}

storage_test! {
    async fn implicit_tls_delivers_to_a_server_whose_certificate_the_company_ca_signed(db) {
        delivered_over_tls(&db, SmtpTls::Implicit).await;
    }
}

storage_test! {
    async fn a_rejection_mail_says_who_rejected_where_and_why_and_tasks_say_what_they_ask(db) {
        let smtp = SmtpServer::start("smtp-reject").await;
        let h = Harness::new(&db, "mail-reject").await;
        let mailer = h.engine.spawn_mailer(quick_sender(&smtp.url()));
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[300.0]))
            .await
            .unwrap()
            .id;
        h.act(
            id,
            "liu.qiang",
            ActionRequest::new(ActionKind::Reject).comment("不在报销范围内"),
        )
        .await;
        let review = h
            .engine
            .start(
                "appointment_review",
                "song.yi",
                json!({"candidate": "lu.xin", "region": "call_center", "current_level": "p1", "target_level": "p2"}),
            )
            .await
            .unwrap()
            .id;
        eventually("every message sent", WAIT, || async {
            all_sent(&h, id).await?;
            all_sent(&h, review).await
        })
        .await;
        let received = smtp.received();
        let rejected = received
            .iter()
            .find(|m| m.rcpt_to == "li.na@signoff.example" && m.subject.contains("未通过"))
            .expect("the claimant is told");
        for said in ["刘强", "直属上级审批", "不在报销范围内"] {
            assert!(rejected.text.contains(said), "{said} in\n{}", rejected.text);
        }
        let fill_in = received
            .iter()
            .find(|m| m.rcpt_to == "lu.xin@signoff.example")
            .expect("the candidate is asked");
        assert!(
            fill_in.subject.starts_with("【待填写】"),
            "{}",
            fill_in.subject
        );
        mailer.abort();
    }
}

storage_test! {
    async fn a_comment_reaches_the_submitter_with_its_words(db) {
        let h = Harness::new(&db, "mail-comment").await;
        let id = h
            .engine
            .start("reimbursement", "li.na", claim(&[100.0]))
            .await
            .unwrap()
            .id;
        h.act(
            id,
            "liu.qiang",
            ActionRequest::new(ActionKind::Comment).comment("发票抬头请写公司全称"),
        )
        .await;
        let mail = outbox(&h, id).await;
        let comment = mail
            .iter()
            .find(|m| m.kind == Event::Commented)
            .expect("a mail for the comment");
        assert_eq!(comment.recipient, "li.na");
        assert!(comment.subject.contains("评论"), "{}", comment.subject);
        let view = h.engine.instance(id).await.unwrap();
        assert!(
            view.history
                .iter()
                .any(|e| e.comment.as_deref() == Some("发票抬头请写公司全称")),
            "and the history keeps it"
        );
    }
}
