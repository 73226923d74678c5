//! The mail planner: who is told of the history an action just wrote, as outbox rows,
//! inside the action's transaction. A rolled-back action leaves neither history nor mail
//! behind; a committed one always has its mail queued.

use crate::store::status::{Channel, MailKind, TaskKind};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::store::{self, Conn};
use serde_json::Value;

use super::appends::{Mark, NewEvent, NewMail, Shared};
use super::{EngineError, HistoryAction, Registry};
use crate::clock::from_db;
use crate::directory::Directory;
use crate::display::{attachments, key_facts, Fact, Lang};
use crate::model::{EndOutcome, Event, Principal, ProcessDef, Recipient};

use crate::notify::templates::{MailContext, Templates};

/// What planning needs besides the transaction.
pub struct Planner {
    pub templates: Templates,
    /// Where links in mail point, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// The right-hand side of Message-IDs, from the base URL's host.
    pub domain: String,
}

/// One person to tell about one history entry, with the task the mail links to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    user: String,
    task: Option<i64>,
    template: Option<String>,
}

struct EventRow {
    id: i64,
    instance: i64,
    at: String,
    actor: String,
    on_behalf_of: Option<String>,
    action: HistoryAction,
    step: Option<String>,
    task: Option<i64>,
    comment: Option<String>,
    detail: Option<String>,
}

impl From<store::events::EventRow> for EventRow {
    fn from(r: store::events::EventRow) -> EventRow {
        EventRow {
            id: r.id,
            instance: r.instance_id,
            at: r.at,
            actor: r.actor,
            on_behalf_of: r.on_behalf_of,
            action: HistoryAction::parse(&r.action),
            step: r.step_id,
            task: r.task_id,
            comment: r.comment,
            detail: r.detail,
        }
    }
}

impl From<&NewEvent> for EventRow {
    fn from(e: &NewEvent) -> EventRow {
        EventRow {
            id: e.id,
            instance: e.instance,
            at: e.at.clone(),
            actor: e.actor.clone(),
            on_behalf_of: e.on_behalf_of.clone(),
            action: e.action,
            step: e.step.clone(),
            task: e.task,
            comment: e.comment.clone(),
            detail: e.detail.clone(),
        }
    }
}

struct InstanceRow {
    def: Arc<ProcessDef>,
    submitter: String,
    form: Value,
}

impl Planner {
    pub fn new(templates: Templates, base_url: &str) -> Planner {
        // Links are put into HTML as they are; the URL comes from configuration, but a
        // quote or bracket in it must still not break out of the attribute.
        let base_url = base_url
            .trim_end_matches('/')
            .replace('"', "%22")
            .replace('<', "%3C")
            .replace('>', "%3E")
            .replace('\'', "%27");
        let domain = base_url
            .split("://")
            .nth(1)
            .unwrap_or(&base_url)
            .split(['/', ':'])
            .next()
            .filter(|h| !h.is_empty())
            .unwrap_or("signoff.localhost")
            .to_string();
        Planner {
            templates,
            base_url,
            domain,
        }
    }

    /// Queues the mail for every history entry the action appended after `mark`;
    /// returns how many messages.
    pub async fn plan(
        &self,
        conn: &mut Conn,
        registry: &Registry,
        appends: &Shared,
        mark: Mark,
    ) -> Result<usize, EngineError> {
        let events: Vec<EventRow> = appends
            .lock()
            .events_since(mark)
            .iter()
            .map(EventRow::from)
            .collect();
        if events.is_empty() {
            return Ok(0);
        }
        // An escalation also assigns a task: the escalation mail says more, so the
        // plain assignment mail for the same task and person is dropped.
        let escalated: HashSet<(i64, String)> = events
            .iter()
            .filter(|e| e.action == HistoryAction::Escalate)
            .filter_map(|e| Some((e.task?, e.detail.clone()?)))
            .collect();
        let mut instances: HashMap<i64, InstanceRow> = HashMap::new();
        let mut queued = 0;
        for event in &events {
            let Some(kind) = notice_of(event) else {
                continue;
            };
            let inst = match instances.entry(event.instance) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    match load_instance(conn, registry, appends, event.instance).await? {
                        Some(row) => e.insert(row),
                        None => continue,
                    }
                }
            };
            let mut targets =
                default_targets(conn, appends, kind, event, inst, &registry.directory).await?;
            targets.extend(rule_targets(conn, kind, event, inst, &registry.directory).await?);
            let human_actor = event.actor != "engine";
            for target in merge(targets) {
                let superseded = kind == Event::TaskAssigned
                    && target
                        .task
                        .is_some_and(|t| escalated.contains(&(t, target.user.clone())));
                if (human_actor && target.user == event.actor) || superseded {
                    continue;
                }
                queued += self
                    .queue(conn, registry, appends, (kind, event), inst, &target)
                    .await?;
            }
        }
        Ok(queued)
    }

    /// The message for `target`: its rule's template when it names one that renders,
    /// else the event's own. A broken override must not block approvals, so it falls
    /// back and says so; `None` when nothing renders.
    fn render(
        &self,
        target: &Target,
        kind: Event,
        ctx: &MailContext,
        event: i64,
    ) -> Option<crate::notify::templates::Rendered> {
        let chosen = target.template.as_deref().filter(|t| self.templates.has(t));
        if let Some(name) = chosen {
            match self.templates.render(name, ctx) {
                Ok(r) => return Some(r),
                Err(e) => {
                    tracing::error!(error = %e, "mail template failed; using the event's template")
                }
            }
        }
        self.templates
            .render(kind.as_str(), ctx)
            .map_err(|e| tracing::error!(error = %e, event, "mail not queued"))
            .ok()
    }

    /// The request's attachments as names and download links.
    fn file_links(&self, def: &ProcessDef, form: &Value, instance: i64) -> Vec<Fact> {
        attachments(def, form)
            .into_iter()
            .map(|f| Fact {
                value: format!("{}/requests/{instance}/files/{}", self.base_url, f.id),
                label: f.name,
            })
            .collect()
    }

    async fn queue(
        &self,
        conn: &mut Conn,
        registry: &Registry,
        appends: &Shared,
        (kind, event): (Event, &EventRow),
        inst: &InstanceRow,
        target: &Target,
    ) -> Result<usize, EngineError> {
        let directory = &registry.directory;
        let Some(user) = directory.user(&target.user) else {
            tracing::warn!(user = %target.user, event = event.id, "no such user in the directory: mail not sent");
            return Ok(0);
        };
        if user.email.trim().is_empty() {
            tracing::warn!(user = %target.user, "the directory has no address: mail not sent");
            return Ok(0);
        }
        let lang = Lang::of_user(directory, &user.id.value);
        // A rejection's mail tells who rejected, at which step and why.
        let decision = if kind == Event::Rejected {
            last_rejection(conn, appends, event.instance).await?
        } else {
            None
        };
        let event = decision.as_ref().unwrap_or(event);
        let name_of = |id: &str| {
            directory
                .user(id)
                .map_or_else(|| id.to_string(), |u| u.name.clone())
        };
        let step = event.step.as_deref().and_then(|s| inst.def.step(s));
        let (due, task_kind) = task_due_and_kind(conn, appends, target.task).await?;
        let link = match target.task {
            Some(task) => format!("{}/tasks/{task}", self.base_url),
            None => format!("{}/requests/{}", self.base_url, event.instance),
        };
        let ctx = MailContext {
            lang: lang.code().to_string(),
            recipient_name: user.name.clone(),
            process_name: lang.pick(&inst.def.name).to_string(),
            request_id: event.instance,
            submitter_name: name_of(&inst.submitter),
            step_name: step_name(step, event, lang),
            actor_name: if event.actor == "engine" {
                String::new()
            } else {
                name_of(&event.actor)
            },
            on_behalf_of: event
                .on_behalf_of
                .as_deref()
                .filter(|_| kind == Event::TaskAssigned)
                .map(name_of)
                .unwrap_or_default(),
            comment: event.comment.clone().unwrap_or_default(),
            reason: if kind == Event::Incident {
                event.detail.clone().unwrap_or_default()
            } else {
                String::new()
            },
            overdue: event.detail.as_deref() == Some(super::Note::DeadlinePassed.as_str()),
            due: local_time(due.as_deref()),
            link,
            facts: key_facts(&inst.def, &inst.form, directory, lang),
            files: self.file_links(&inst.def, &inst.form, event.instance),
            task_ask: ask_of(step, task_kind).to_string(),
        };
        let Some(rendered) = self.render(target, kind, &ctx, event.id) else {
            return Ok(0);
        };
        let message_id = format!(
            "<signoff.{}.{}.{}@{}>",
            event.id,
            kind.as_str(),
            sanitize(&user.id.value),
            self.domain
        );
        let hooks = self.hook_messages(directory, (kind, event), user, &ctx, &rendered);
        let mut appended = appends.lock();
        let mut queued =
            usize::from(appended.mail(new_mail(message_id, event, kind, user, rendered)));
        for hook in hooks {
            queued += usize::from(appended.mail(hook));
        }
        Ok(queued)
    }

    /// The messages for the channels that carry `user`'s mail (webhooks, group robots):
    /// one each, saying what the mail's subject says, for whom, and the link.
    fn hook_messages(
        &self,
        directory: &Directory,
        (kind, event): (Event, &EventRow),
        user: &crate::directory::User,
        ctx: &MailContext,
        rendered: &crate::notify::templates::Rendered,
    ) -> Vec<NewMail> {
        let mut out = Vec::new();
        for channel in directory.channels_for(&user.id.value) {
            let Some(url) = crate::notify::webhook::resolve_url(&channel.url.value) else {
                tracing::warn!(channel = %channel.id.value, "the channel's URL variable is not set: not posted");
                continue;
            };
            let message = crate::notify::webhook::HookMessage {
                event: kind.as_str(),
                request: event.instance,
                process: &ctx.process_name,
                subject: &rendered.subject,
                person: (&user.id.value, &user.name),
                facts: &ctx.facts,
                link: &ctx.link,
            };
            let body = crate::notify::webhook::body(channel.kind, &message);
            out.push(NewMail {
                message_id: format!(
                    "<signoff.{}.{}.{}.{}@{}>",
                    event.id,
                    kind.as_str(),
                    sanitize(&user.id.value),
                    sanitize(&channel.id.value),
                    self.domain
                ),
                channel: channel.kind.into(),
                instance: event.instance,
                event: event.id,
                kind: MailKind(kind),
                recipient: user.id.value.clone(),
                address: url,
                subject: rendered.subject.clone(),
                body_text: body.to_string(),
                body_html: String::new(),
                created_at: event.at.clone(),
            });
        }
        out
    }
}

/// The outbox row of one rendered mail.
fn new_mail(
    message_id: String,
    event: &EventRow,
    kind: Event,
    user: &crate::directory::User,
    rendered: crate::notify::templates::Rendered,
) -> NewMail {
    NewMail {
        message_id,
        channel: Channel::Mail,
        instance: event.instance,
        event: event.id,
        kind: MailKind(kind),
        recipient: user.id.value.clone(),
        address: format!("{} <{}>", user.name, user.email),
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
        created_at: event.at.clone(),
    }
}

/// The step's name in `lang`, or its id when it has none (or no longer exists).
fn step_name(step: Option<&crate::model::Step>, event: &EventRow, lang: Lang) -> String {
    step.and_then(|s| s.name.as_ref())
        .map(|n| lang.pick(n).to_string())
        .or_else(|| event.step.clone())
        .unwrap_or_default()
}

/// A stored time as people in the company read it (Shanghai, to the minute).
fn local_time(stored: Option<&str>) -> String {
    stored
        .and_then(from_db)
        .map(|d| {
            d.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// A task's due time and kind (`step`, `resubmit`, `added`), when the mail is about one.
async fn task_due_and_kind(
    conn: &mut Conn,
    appends: &Shared,
    task: Option<i64>,
) -> Result<(Option<String>, Option<TaskKind>), EngineError> {
    let Some(task) = task else {
        return Ok((None, None));
    };
    if let Some(t) = appends.lock().task(task) {
        return Ok((t.due.clone(), Some(t.kind)));
    }
    let row = store::tasks::due_and_kind(conn, task).await?;
    Ok(row.map_or((None, None), |(due, kind)| (due, Some(kind))))
}

/// Who holds task `task`: as the batch created it, or as stored.
async fn task_holder(
    conn: &mut Conn,
    appends: &Shared,
    task: i64,
) -> Result<Option<store::tasks::Holder>, EngineError> {
    if let Some(t) = appends.lock().task(task) {
        return Ok(Some(store::tasks::Holder {
            id: task,
            assignee: t.assignee.clone(),
            delegate: t.delegate.clone(),
            kind: t.kind,
        }));
    }
    Ok(store::tasks::holder(conn, task).await?)
}

/// What a task asks of its holder, for the subject and the request line of the mail:
/// `revise` (a returned request), `approve` (an approval step), `fill_in` (a step with
/// fields to fill in) or `do`.
fn ask_of(step: Option<&crate::model::Step>, task_kind: Option<TaskKind>) -> &'static str {
    match (step, task_kind) {
        (_, Some(TaskKind::Resubmit)) => "revise",
        (Some(s), _) if s.kind.value == crate::model::StepKind::Approval => "approve",
        (Some(s), _) if !s.editable.is_empty() || !s.inputs.is_empty() => "fill_in",
        _ => "do",
    }
}

/// The last rejection of a request: who, at which step, with what comment (in this
/// batch, or stored).
async fn last_rejection(
    conn: &mut Conn,
    appends: &Shared,
    instance: i64,
) -> Result<Option<EventRow>, EngineError> {
    if let Some(e) = appends.lock().last_event(instance, HistoryAction::Reject) {
        return Ok(Some(EventRow::from(e)));
    }
    let row = store::events::latest_of(conn, instance, HistoryAction::Reject.as_str()).await?;
    Ok(row.map(EventRow::from))
}

/// Which kind of mail a history entry causes, if any.
fn notice_of(event: &EventRow) -> Option<Event> {
    use HistoryAction as A;
    Some(match event.action {
        A::Assign | A::Delegate | A::Transfer => Event::TaskAssigned,
        A::Escalate => Event::Escalated,
        A::Remind => Event::Reminder,
        A::Urge => Event::Urged,
        A::Comment => Event::Commented,
        A::Cc => Event::Cc,
        A::End => match event.detail.as_deref() {
            Some(o) if o == EndOutcome::Rejected.as_str() => Event::Rejected,
            Some(o)
                if o == EndOutcome::Approved.as_str() || o == EndOutcome::Completed.as_str() =>
            {
                Event::Approved
            }
            _ => return None,
        },
        A::Return if event.detail.as_deref() == Some("submitter") => Event::Returned,
        A::Withdraw => Event::Withdrawn,
        A::Jump => Event::Moved,
        A::Terminate => Event::Terminated,
        A::Incident => Event::Incident,
        A::Enter => Event::StepEntered,
        _ => return None,
    })
}

/// The request an entry is about: as the batch saved it, else as stored.
async fn load_instance(
    conn: &mut Conn,
    registry: &Registry,
    appends: &Shared,
    id: i64,
) -> Result<Option<InstanceRow>, EngineError> {
    let touched = appends.lock().request(id).cloned();
    if let Some(t) = touched {
        return Ok(registry
            .version(&t.process, t.version)
            .map(|def| InstanceRow {
                def,
                submitter: t.submitter,
                form: t.form,
            }));
    }
    let Some(row) = store::instances::head(conn, id).await? else {
        return Ok(None);
    };
    let Some(def) = registry.version(&row.process_id, row.version) else {
        return Ok(None);
    };
    Ok(Some(InstanceRow {
        def,
        submitter: row.submitter,
        form: serde_json::from_str(&row.form).unwrap_or(Value::Null),
    }))
}

/// One message per person: a rule's template wins over the default one, and a task to
/// link to is kept whichever entry named it.
fn merge(targets: Vec<Target>) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::with_capacity(targets.len());
    for target in targets {
        match out.iter_mut().find(|t| t.user == target.user) {
            Some(kept) => {
                if kept.template.is_none() {
                    kept.template = target.template;
                }
                if kept.task.is_none() {
                    kept.task = target.task;
                }
            }
            None => out.push(target),
        }
    }
    out
}

fn person(user: &str, task: Option<i64>) -> Target {
    Target {
        user: user.to_string(),
        task,
        template: None,
    }
}

/// Who is told when the definition says nothing.
async fn default_targets(
    conn: &mut Conn,
    appends: &Shared,
    kind: Event,
    event: &EventRow,
    inst: &InstanceRow,
    directory: &Directory,
) -> Result<Vec<Target>, EngineError> {
    Ok(match kind {
        Event::TaskAssigned if event.action == HistoryAction::Assign => {
            let Some(task) = event.task else {
                return Ok(Vec::new());
            };
            match task_holder(conn, appends, task).await? {
                // A resubmit task is announced by the "returned" mail.
                Some(h) if h.kind != TaskKind::Resubmit => holders(&[h]),
                _ => Vec::new(),
            }
        }
        Event::TaskAssigned | Event::Escalated | Event::Cc => event
            .detail
            .iter()
            .map(|user| person(user, event.task))
            .collect(),
        Event::Reminder | Event::Urged => open_task_holders(conn, event).await?,
        Event::Commented if event.actor == inst.submitter => open_task_holders(conn, event).await?,
        Event::Commented => vec![person(&inst.submitter, None)],
        Event::Approved | Event::Rejected => vec![person(&inst.submitter, None)],
        Event::Returned => {
            let task = store::tasks::open_resubmit(conn, event.instance).await?;
            vec![person(&inst.submitter, task)]
        }
        Event::Withdrawn => cancelled_holders(conn, event).await?,
        Event::Moved | Event::Terminated => {
            let mut told = involved(conn, event).await?;
            told.push(person(&inst.submitter, None));
            told.retain(|t| t.user != event.actor);
            told
        }
        Event::Incident => principal_users(&inst.def.owner.value, directory),
        Event::StepEntered => Vec::new(),
    })
}

/// Everyone who has held a task on the request (an owner's jump or termination tells
/// them all).
async fn involved(conn: &mut Conn, event: &EventRow) -> Result<Vec<Target>, EngineError> {
    let mut seen = HashSet::new();
    Ok(store::tasks::involved(conn, event.instance)
        .await?
        .iter()
        .flat_map(store::tasks::Holder::people)
        .filter(|u| seen.insert(u.to_string()))
        .map(|u| person(u, None))
        .collect())
}

/// The holders of the tasks a withdrawal cancelled, stamped with its time.
async fn cancelled_holders(conn: &mut Conn, event: &EventRow) -> Result<Vec<Target>, EngineError> {
    Ok(store::tasks::cancelled_at(conn, event.instance, &event.at)
        .await?
        .iter()
        .flat_map(store::tasks::Holder::people)
        .map(|u| person(u, None))
        .collect())
}

/// Each task's holders (assignee, then delegate), linked to the task.
fn holders(tasks: &[store::tasks::Holder]) -> Vec<Target> {
    tasks
        .iter()
        .flat_map(|t| t.people().map(move |u| person(u, Some(t.id))))
        .collect()
}

/// Who the definition's notification rules (the step's, then the process's) add.
async fn rule_targets(
    conn: &mut Conn,
    kind: Event,
    event: &EventRow,
    inst: &InstanceRow,
    directory: &Directory,
) -> Result<Vec<Target>, EngineError> {
    let step_rules = event
        .step
        .as_deref()
        .and_then(|s| inst.def.step(s))
        .map(|s| s.notify.as_slice())
        .unwrap_or_default();
    let mut out = Vec::new();
    for rule in step_rules.iter().chain(&inst.def.notify) {
        if rule.on.value != kind {
            continue;
        }
        let template = rule.template.as_ref().map(|t| t.value.clone());
        for recipient in &rule.to {
            let mut found = match &recipient.value {
                Recipient::Submitter => vec![person(&inst.submitter, None)],
                Recipient::Assignees => open_task_holders(conn, event).await?,
                Recipient::Owner => principal_users(&inst.def.owner.value, directory),
                Recipient::Manager => directory
                    .manager_of(&inst.submitter)
                    .map(|m| vec![person(&m.id.value, None)])
                    .unwrap_or_default(),
                Recipient::User(u) => vec![person(u, None)],
                Recipient::Role(r) => principal_users(&Principal::Role(r.clone()), directory),
                Recipient::Field(f) => inst
                    .form
                    .get(f)
                    .and_then(Value::as_str)
                    .map(|u| vec![person(u, None)])
                    .unwrap_or_default(),
            };
            for t in &mut found {
                t.template.clone_from(&template);
            }
            out.extend(found);
        }
    }
    Ok(out)
}

/// The holders (and delegates) of the open tasks at the event's step, or of the whole
/// request when the event has no step.
async fn open_task_holders(conn: &mut Conn, event: &EventRow) -> Result<Vec<Target>, EngineError> {
    let open = store::tasks::open_holders(conn, event.instance, event.step.as_deref()).await?;
    Ok(holders(&open))
}

fn principal_users(principal: &Principal, directory: &Directory) -> Vec<Target> {
    match principal {
        Principal::User(u) => vec![person(u, None)],
        Principal::Role(r) => directory
            .members(r)
            .into_iter()
            .map(|u| person(&u.id.value, None))
            .collect(),
    }
}

/// A user id as a Message-ID may carry it.
fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
