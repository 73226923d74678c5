//! The pages' words in Chinese and English. A page is shown in the language chosen with
//! `?lang=` (remembered in a cookie), else the user's directory locale, else Chinese.

use std::collections::BTreeMap;

use signoff_engine::display::Lang;
use signoff_engine::runtime::{
    AbsenceRefused, EngineError, HistoryAction, Note, TakeBackRefused, WithdrawRefused,
};

/// (key, Chinese, English).
const PHRASES: &[(&str, &str, &str)] = &[
    ("app", "Signoff 审批", "Signoff approvals"),
    ("settings", "设置", "Settings"),
    ("signer_position", "加签位置", "Added signer decides"),
    ("after_me", "在我之后（后加签）", "after me"),
    ("before_me", "在我之前（前加签）", "before me"),
    (
        "beyond_calendar",
        "（超出工作日历，仅扣除周末）",
        "(beyond the working calendar: weekends only)",
    ),
    ("api_tokens", "API 令牌", "API tokens"),
    (
        "api_tokens_help",
        "脚本和其他系统调用 API 时用令牌代替密码：请求头 Authorization: Bearer <令牌>。令牌只在生成时显示一次，可随时撤销。",
        "Scripts and other systems call the API with a token instead of a password: header Authorization: Bearer <token>. A token is shown once, when it is made, and can be revoked at any time.",
    ),
    (
        "token_made",
        "新令牌如下，请立即复制保存，离开本页后将无法再次查看：",
        "Your new token is below. Copy it now: it will not be shown again.",
    ),
    ("token_name", "令牌名称", "Token name"),
    ("make_token", "生成令牌", "Make a token"),
    ("last_used", "最近使用", "Last used"),
    ("never", "从未", "Never"),
    ("revoke", "撤销", "Revoke"),
    ("no_tokens", "还没有令牌。", "No tokens yet."),
    ("token_created", "创建时间", "Created"),
    (
        "internal_error",
        "服务器内部错误，详情见服务器日志。",
        "An internal error; the server log has the details.",
    ),
    ("inbox", "待办", "Inbox"),
    ("my_requests", "我的申请", "My requests"),
    ("new_request", "发起申请", "New request"),
    ("processes", "流程定义", "Processes"),
    ("incidents", "异常", "Incidents"),
    ("sign_in", "登录", "Sign in"),
    ("sign_out", "退出", "Sign out"),
    ("user", "用户名", "User name"),
    ("password", "密码", "Password"),
    (
        "bad_login",
        "用户名或密码不正确。",
        "Wrong user name or password.",
    ),
    ("open_tasks", "我的待办", "My open tasks"),
    ("process", "流程", "Process"),
    ("request", "申请", "Request"),
    ("summary", "摘要", "Summary"),
    ("submitter", "申请人", "Submitter"),
    ("step", "步骤", "Step"),
    ("age", "已等待", "Waiting"),
    ("due", "截止", "Due"),
    ("overdue", "已超时", "Overdue"),
    ("all", "全部", "All"),
    ("filter", "筛选", "Filter"),
    ("no_tasks", "没有待办。", "Nothing waiting for you."),
    ("cc_requests", "抄送给我的", "Copied to me"),
    ("batch_approve", "批量同意所选", "Approve the selected"),
    ("done_by_me", "已办", "Done by me"),
    ("search", "搜索", "Search"),
    ("search_hint", "单号、申请人、流程、步骤或内容", "Number, submitter, process, step or content"),
    ("sort", "排序", "Sort"),
    ("sort_due", "最先截止", "Due soonest"),
    ("sort_waiting", "等待最久", "Waiting longest"),
    ("sort_submitted", "最新提交", "Newest"),
    ("sort_amount", "金额最大", "Largest amount"),
    ("submitted_since", "提交日期从", "Submitted from"),
    ("submitted_until", "到", "to"),
    ("cc_read", "已阅", "Read"),
    ("cc_unread", "未读", "Unread"),
    ("decision", "处理结果", "Decision"),
    ("acted_at", "处理时间", "When"),
    ("no_done", "还没有处理过的待办。", "Nothing decided yet."),
    ("batch_comment", "审批意见（用于所选各项）", "Comment (for each selected task)"),
    ("batch_select", "选择", "Select"),
    ("batch_approved", "已同意", "Approved"),
    ("batch_refused", "未能同意", "Not approved"),
    ("batch_choose", "请选择要同意的待办。", "Choose the tasks to approve."),
    ("none", "无", "None"),
    ("fields", "申请内容", "Request"),
    ("links", "关联申请", "Linked requests"),
    ("previous", "上一页", "Previous"),
    ("urge", "催办", "Urge"),
    ("urged_notice", "已催办当前处理人", "the people holding it were urged"),
    ("next_page", "下一页", "Next"),
    ("first_page", "第一页", "First page"),
    ("refers_to", "本申请引用", "This request refers to"),
    ("referred_by", "引用本申请", "Referred to by"),
    ("history", "审批记录", "History"),
    ("diagram", "流程图", "Process diagram"),
    ("current", "当前", "current"),
    ("actions", "处理", "Act"),
    ("comment", "意见", "Comment"),
    ("to_user", "交给（用户名）", "To (user name)"),
    ("return_to", "退回到", "Return to"),
    ("approve", "同意", "Approve"),
    ("reject", "驳回", "Reject"),
    ("return", "退回", "Return"),
    ("complete", "完成", "Complete"),
    ("delegate", "委托", "Delegate"),
    ("transfer", "转交", "Transfer"),
    ("add_signer", "加签", "Add signer"),
    ("remove_signer", "减签", "Remove signer"),
    ("claim", "认领", "Claim"),
    ("consult", "征求意见", "Ask an opinion"),
    ("reply", "回复意见", "Give my opinion"),
    ("copy_to", "抄送", "Copy to"),
    ("take_back", "拿回", "Take back"),
    ("take_back_hint", "下一位处理人还没有处理：可以拿回重新审批。", "The next person has not acted yet: you can take it back and decide again."),
    ("owner_actions", "流程负责人操作", "Process owner's actions"),
    ("jump", "跳转", "Move to step"),
    ("jump_to", "转到步骤", "Move to step"),
    ("terminate", "终止", "Terminate"),
    ("report", "报表", "Report"),
    ("report_months", "每月发起与完成", "Started and finished per month"),
    ("report_range", "报表的日期范围须为 1 到 732 天，从第一天到最后一天。", "A report covers 1 to 732 days, from its first day to its last."),
    ("show", "查看", "Show"),
    ("started", "发起", "Started"),
    ("finished", "完成", "Finished"),
    ("requests_count", "申请数", "Requests"),
    ("cycle_time", "办理时长", "Cycle time"),
    ("backlog", "当前积压", "Backlog now"),
    ("open_count", "待办数", "Open"),
    ("task_times", "处理时长与超期", "Task times and lateness"),
    ("tasks_count", "待办数", "Tasks"),
    ("overdue_share", "超期比例", "Overdue"),
    ("diagram_edited", "流程图（修改后）", "Diagram (as edited)"),
    ("try_it", "试一试", "Try it"),
    ("try_hint", "填一份样例表单，看申请会走哪些步骤、由谁审批、谁被跳过及原因。这是演练：不保存任何内容，也不发邮件。", "Fill in a sample form to see the steps a request would take, who would be asked, who is left out and why. A dry run: nothing is stored, no mail is sent."),
    ("try_submitter", "提交人", "Submitted by"),
    ("try_reject_at", "在此步骤驳回（可选）", "Reject at (optional)"),
    ("try_none", "（全部同意）", "(approve everywhere)"),
    ("try_run", "演练", "Run it"),
    ("try_path", "演练路径", "The path"),
    ("try_people", "审批人", "Asked"),
    ("try_notes", "说明", "Notes"),
    ("try_ends", "结果", "Ends"),
    ("try_waits", "停在", "Waits at"),
    ("changes_against", "与已发布版本的差异：", "Changes against the published"),
    ("no_changes", "与已发布版本相同。", "The same as the published version."),
    ("diagram_published", "流程图（已发布）", "Diagram (published)"),
    ("cc_short", "抄送", "cc"),
    ("out_of_office", "外出代理", "Out of office"),
    ("out_of_office_help", "外出期间（含首尾两天），新的待办交给代理人处理；记录中两人都会显示。", "While you are away (both days included), new tasks go to your deputy; the history shows you both."),
    ("deputy", "代理人", "Deputy"),
    ("first_day", "第一天", "First day"),
    ("last_day", "最后一天", "Last day"),
    ("set_absence", "设置外出代理", "Set out of office"),
    ("back_in_office", "我已回来（今天结束代理）", "I am back (the deputy ends today)"),
    ("print", "打印", "Print"),
    ("export_csv", "导出审批记录（CSV）", "History as CSV"),
    ("printed_at", "打印时间", "Printed"),
    ("csv_time", "时间", "Time"),
    ("csv_actor", "处理人", "By"),
    ("csv_on_behalf_of", "代表", "On behalf of"),
    ("csv_action", "操作", "Action"),
    ("csv_step", "步骤", "Step"),
    ("csv_detail", "说明", "Detail"),
    ("csv_comment", "意见", "Comment"),
    ("csv_changes", "修改", "Changes"),
    ("csv_inputs", "填写", "Inputs"),
    ("comment_action", "仅评论", "Comment only"),
    ("resubmit", "重新提交", "Resubmit"),
    ("withdraw", "撤回", "Withdraw"),
    ("retry", "重试", "Retry"),
    ("submit", "提交", "Submit"),
    ("add_line", "添加一行", "Add a line"),
    ("remove_line", "删除", "Remove"),
    ("status", "状态", "Status"),
    ("outcome", "结果", "Outcome"),
    ("holder", "处理人", "Held by"),
    ("created", "提交时间", "Submitted"),
    ("no_requests", "还没有申请。", "No requests yet."),
    ("done_notice", "已处理", "Done"),
    (
        "form_errors",
        "表单有错误，请看各字段旁的提示。",
        "The form has errors: see the notes beside the fields.",
    ),
    ("versions", "版本", "Versions"),
    ("latest", "最新", "latest"),
    ("source", "YAML 定义", "YAML definition"),
    ("check", "检查", "Check"),
    ("publish", "发布新版本", "Publish as new version"),
    ("check_ok", "没有问题。", "No problems found."),
    ("running_none", "目前没有进行中的申请：发布后所有新申请使用新版本。", "No request is running: every new request will use the new version."),
    ("running_on_version", "v{version} 上 {n} 件", "{n} on v{version}"),
    ("running_some", "进行中的申请：{counts}。发布后它们仍按各自的版本走完，新申请使用新版本；如需改用新版本，请用 signoff migrate 迁移（会拒绝把申请迁到不存在的步骤）。", "Running requests: {counts}. After publishing they finish on their own versions and new requests use the new one; `signoff migrate` moves them (it refuses to strand one on a step that no longer exists)."),
    ("list_separator", "，", ", "),
    ("editor_ok", "边写边检查：没有问题。", "Checked as you type: no problems."),
    ("editor_problems", "边写边检查：{errors} 个错误，{warnings} 个警告（见左侧标记）。", "Checked as you type: {errors} errors, {warnings} warnings (marked in the margin)."),
    ("editor_unavailable", "暂时无法边写边检查；点“检查”仍可检查。", "Checking as you type is unavailable now; \"Check\" still works."),
    (
        "owner_only",
        "只有流程负责人可以发布。",
        "Only the process owner may publish.",
    ),
    ("published", "已发布版本", "Published version"),
    ("reason", "原因", "Reason"),
    ("no_incidents", "没有异常。", "No incidents."),
    (
        "read_only",
        "您可以查看这项申请，但这一步不由您处理。",
        "You can see this request, but this step is not yours.",
    ),
    (
        "task_closed",
        "这项任务已经处理过了。",
        "This task has already been handled.",
    ),
    ("start", "开始", "Start"),
    ("end", "结束", "End"),
    ("language", "English", "中文"),
    ("required", "必填", "required"),
    ("signed_in_as", "当前用户", "Signed in as"),
    ("actor", "处理人", "By"),
    ("action", "动作", "Action"),
    ("time", "时间", "Time"),
    ("yes", "是", "Yes"),
    ("inputs", "评分等输入", "Inputs"),
    // A request's state (`status_` and its status, or its outcome once it has ended).
    ("status_running", "进行中", "In progress"),
    ("status_completed", "已完成", "Completed"),
    ("status_withdrawn", "已撤回", "Withdrawn"),
    ("status_incident", "异常待处理", "Stopped (incident)"),
    ("status_approved", "已批准", "Approved"),
    ("status_rejected", "已驳回", "Rejected"),
    ("status_cancelled", "已终止", "Terminated"),
];

/// What happened, as a history entry says it.
pub fn history_verb(action: HistoryAction, lang: Lang) -> &'static str {
    use HistoryAction as A;
    let (zh, en) = match action {
        A::Submit => ("提交", "submitted"),
        A::Approve => ("同意", "approved"),
        A::Reject => ("驳回", "rejected"),
        A::Return => ("退回", "returned"),
        A::Resubmit => ("重新提交", "resubmitted"),
        A::Complete => ("完成", "completed"),
        A::Delegate => ("委托", "delegated"),
        A::Transfer => ("转交", "transferred"),
        A::AddSigner => ("加签", "added a signer"),
        A::RemoveSigner => ("减签", "removed a signer"),
        A::Claim => ("认领", "claimed"),
        A::Comment => ("评论", "commented"),
        A::Withdraw => ("撤回", "withdrew"),
        A::Urge => ("催办", "urged"),
        A::Retry => ("重试", "retried"),
        A::Consult => ("征求意见", "asked the opinion of"),
        A::Reply => ("回复意见", "gave an opinion"),
        A::TakeBack => ("拿回", "took it back"),
        A::Jump => ("跳转到", "moved it to"),
        A::Terminate => ("终止", "terminated it"),
        A::Enter => ("进入步骤", "entered the step"),
        A::Leave => ("离开步骤", "left the step"),
        A::Set => ("设置变量", "set variables"),
        A::Assign => ("分配给", "assigned to"),
        A::Skip => ("跳过", "skipped"),
        A::Cc => ("抄送", "copied to"),
        A::Cancel => ("取消任务", "cancelled a task"),
        A::End => ("结束", "ended"),
        A::Escalate => ("升级给", "escalated to"),
        A::EscalateFailed => ("无法升级", "could not escalate"),
        A::EscalateSkipped => ("未升级", "did not escalate"),
        A::Incident => ("异常", "incident"),
        A::Remind => ("提醒", "reminded"),
        A::RouteToDeputy => ("转给代理人", "routed to the deputy"),
        A::Timeout => ("超时", "timed out"),
        A::AutoApprove => ("超时自动同意", "approved on timeout"),
        A::AutoReject => ("超时自动驳回", "rejected on timeout"),
        A::Migrate => ("迁移到新版本", "moved to a new version"),
        A::DueMoved => ("调整期限", "moved the due date"),
        A::FinishedBy => ("由关联申请完成", "finished by a linked request"),
        A::LinkMissed => ("关联申请未生效", "link had no effect"),
        A::Unknown => ("其他", "other"),
    };
    if lang == Lang::En {
        en
    } else {
        zh
    }
}

/// One of the engine's notes in the history, in the reader's words.
pub fn note(note: Note, lang: Lang) -> &'static str {
    let (zh, en) = match note {
        Note::DeadlineNear => ("期限快到了", "the deadline is near"),
        Note::DeadlinePassed => ("已超过期限", "the deadline has passed"),
        Note::NobodyToEscalateTo => (
            "处理人之上没有可以升级的人",
            "nobody above the people who hold it to escalate to",
        ),
        Note::AssigneeIsSubmitter => ("处理人就是申请人", "the assignee is the submitter"),
        Note::AssigneeAlreadyApproved => ("处理人之前已经同意过", "the assignee already approved"),
        Note::AddedSignerRejected => ("加签人驳回了", "an added signer rejected"),
        Note::OwnSignersDecided => (
            "本步骤的审批人已经决定",
            "the step's own signers have decided",
        ),
        Note::AlreadyHolds => ("已经在处理这一步", "already holds the step"),
        Note::TheirsOrAbout => (
            "不能审批本人的或与本人有关的申请",
            "may not decide a request that is theirs or about them",
        ),
        Note::ReportsToHolder => (
            "是这一步处理人的下属：升级只能向上",
            "reports to someone who holds the step: escalation goes up, not down",
        ),
    };
    if lang == Lang::En {
        en
    } else {
        zh
    }
}

/// The words of one language, for templates (`t.inbox`).
pub fn phrases(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    PHRASES
        .iter()
        .map(|(key, zh, en)| (*key, if lang == Lang::En { *en } else { *zh }))
        .collect()
}

/// The word for `key`, or the key itself.
pub fn phrase(lang: Lang, key: &str) -> String {
    PHRASES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| if lang == Lang::En { *en } else { *zh })
        .unwrap_or(key)
        .to_string()
}

/// An engine refusal as a sentence in the reader's language. English is the engine's own
/// message; Chinese says the same in the reader's words, keeping ids and names.
pub fn engine_message(lang: Lang, e: &EngineError) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        EngineError::UnknownProcess(p) => format!("没有流程 {p}。"),
        EngineError::UnknownTask(t) => format!("没有待办 #{t}，或您无权查看。"),
        EngineError::UnknownInstance(i) => format!("没有申请 #{i}，或您无权查看。"),
        EngineError::UnknownUser(u) => format!("目录中没有用户 {u}。"),
        EngineError::NotYourTask { task, .. } => format!("待办 #{task} 不由您处理。"),
        EngineError::Stale { task, .. } => format!("待办 #{task} 已经有人处理过了。"),
        EngineError::UrgedToday(instance) => {
            format!("申请 {instance} 今天已经催办过，请下一个工作日再催办。")
        }
        EngineError::CannotWithdraw { instance, why } => {
            let why = match why {
                WithdrawRefused::Ended => "它已经结束",
                WithdrawRefused::Decided => "已经有人审批过",
                WithdrawRefused::Never => "这个流程不允许撤回",
            };
            format!("申请 #{instance} 不能撤回：{why}。")
        }
        EngineError::OnlySubmitter { instance, .. } => {
            format!("只有申请 #{instance} 的申请人可以这样做。")
        }
        EngineError::OnlyOwner { instance, .. } => {
            format!("只有申请 #{instance} 所属流程的负责人或流程管理员可以这样做。")
        }
        EngineError::CannotTakeBack { instance, why } => {
            let why = match why {
                TakeBackRefused::Ended => "它已经结束",
                TakeBackRefused::NotYours => "最近的审批不是您做的",
                TakeBackRefused::Acted => "下一位处理人已经处理过",
            };
            format!("申请 #{instance} 不能拿回：{why}。")
        }
        EngineError::CommentRequired { action } => match *action {
            "reply" => "请填写您的意见。".to_string(),
            _ => "请填写原因。".to_string(),
        },
        EngineError::UnknownStep(step) => format!("流程中没有可以转到的步骤 {step}。"),
        EngineError::BadAbsence { why, .. } => match why {
            AbsenceRefused::OwnDeputy => "不能指定自己为代理人。",
            AbsenceRefused::NotADate => "请按 年-月-日 填写日期。",
            AbsenceRefused::Backwards => "结束日期不能早于开始日期。",
        }
        .to_string(),
        EngineError::NotAStarter(p) => format!("您不能发起流程 {p}：流程定义规定了谁可以发起。"),
        EngineError::OwnRequest(u) => {
            format!("{u} 不能审批这项申请（是本人的申请或与本人有关），请选择其他人。")
        }
        EngineError::TooLong { max, .. } => format!("内容太长：最多 {max} 个字符。"),
        EngineError::BatchSize { max, .. } => format!("请选择要同意的待办（1 到 {max} 项）。"),
        EngineError::Busy | EngineError::Closed => "服务器繁忙，请稍后再试。".to_string(),
        EngineError::CommitFailed(_) => {
            "数据库未能保存这次操作，什么都没有改变，请重试。".to_string()
        }
        EngineError::InvalidForm(_) => "表单有错误，请查看各字段旁的说明。".to_string(),
        EngineError::NotAllowed(detail) => format!("不允许此操作（{detail}）。"),
        EngineError::Definition(_) | EngineError::Storage(_) | EngineError::Migration(_) => {
            phrase(lang, "internal_error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signoff_engine::model::EndOutcome;
    use signoff_engine::runtime::InstanceStatus;

    /// Every `t.key` a template reads is in the catalogue, in both languages.
    #[test]
    fn every_word_a_template_uses_is_in_the_catalogue() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let known = phrases(Lang::Zh);
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("templates") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("template");
            for (i, _) in text.match_indices("t.") {
                let before = text[..i].chars().last().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' || before == '.' {
                    continue;
                }
                let key: String = text[i + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !key.is_empty() && !known.contains_key(key.as_str()) {
                    missing.push(format!("{}: t.{key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "not in the catalogue: {missing:?}");
        let mut seen = std::collections::BTreeSet::new();
        for (key, zh, en) in PHRASES {
            assert!(!zh.is_empty() && !en.is_empty(), "`{key}` lacks a language");
            assert!(seen.insert(key), "`{key}` is in the catalogue twice");
        }
    }

    /// Every state and outcome a badge shows has its words.
    #[test]
    fn every_status_and_outcome_has_words() {
        let statuses = [
            InstanceStatus::Running,
            InstanceStatus::Completed,
            InstanceStatus::Withdrawn,
            InstanceStatus::Incident,
        ]
        .map(InstanceStatus::as_str);
        let outcomes = [
            EndOutcome::Approved,
            EndOutcome::Rejected,
            EndOutcome::Completed,
            EndOutcome::Withdrawn,
            EndOutcome::Cancelled,
        ]
        .map(EndOutcome::as_str);
        for code in statuses.iter().chain(&outcomes) {
            let key = format!("status_{code}");
            assert_ne!(phrase(Lang::Zh, &key), key, "no words for `{code}`");
        }
    }

    /// Every action a button or a notice names, and every note, has its words in both
    /// languages (the catalogue is looked up by these names).
    #[test]
    fn every_action_and_note_has_words_in_both_languages() {
        use signoff_engine::runtime::ActionKind;
        for action in ActionKind::ALL {
            let key = if action == ActionKind::Comment {
                "comment_action"
            } else {
                action.as_str()
            };
            assert_ne!(phrase(Lang::Zh, key), key, "no words for `{key}`");
        }
        for key in ["take_back", "jump", "terminate"] {
            assert_ne!(phrase(Lang::Zh, key), key, "no words for `{key}`");
        }
        for n in Note::ALL {
            assert_ne!(note(n, Lang::Zh), note(n, Lang::En));
            assert_eq!(note(n, Lang::En), n.as_str());
        }
    }

    #[test]
    fn history_verbs_differ_by_language() {
        for action in HistoryAction::ALL {
            assert_ne!(
                history_verb(action, Lang::Zh),
                history_verb(action, Lang::En)
            );
        }
    }
}
