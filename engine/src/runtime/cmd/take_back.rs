//! `take_back` (拿回): whoever made the latest decision on a request (an approval or a
//! completed task) takes it back while nobody has acted since. Their task opens again;
//! if their step had already been left, the steps it led to are cancelled and it is
//! active again. The history keeps both the decision and the taking back.

use super::prelude::*;
use crate::model::Mode;
use crate::runtime::actions::TaskRow;
use crate::runtime::types::TakeBackRefused;
use crate::store;
use crate::store::status::RunStatus;

pub struct TakeBack {
    pub instance: InstanceId,
    pub actor: String,
    pub comment: Option<String>,
}

impl TakeBack {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let instance = self.instance;
        let refuse = |why| EngineError::CannotTakeBack { instance, why };
        let mut m = core.machine(conn, env, instance).await?;
        if m.inst.status != InstanceStatus::Running {
            return Err(refuse(TakeBackRefused::Ended));
        }
        let (actor, action, task) = last_decision(&mut m)
            .await?
            .ok_or(refuse(TakeBackRefused::NotYours))?;
        let task = match (task, action) {
            (Some(task), HistoryAction::Approve | HistoryAction::Complete)
                if actor == self.actor =>
            {
                task
            }
            _ => return Err(refuse(TakeBackRefused::NotYours)),
        };
        let task = read_task(&mut m, task).await?;
        reopen_run(&mut m, &task).await.map_err(|e| match e {
            Reopen::Moved => refuse(TakeBackRefused::Acted),
            Reopen::Failed(e) => e,
        })?;
        store::tasks::reopen(m.conn, task.id.0).await?;
        m.log(
            Entry::new(&self.actor, HistoryAction::TakeBack)
                .step(&task.step)
                .task(task.id)
                .comment(self.comment.as_deref()),
        )
        .await?;
        m.save().await?;
        Ok(Reply::Instance(instance))
    }
}

/// The request's latest decision: who, what, on which task (this batch's first, then
/// the stored history).
async fn last_decision(
    m: &mut Machine<'_, '_>,
) -> Result<Option<(String, HistoryAction, Option<TaskId>)>, EngineError> {
    let id = m.inst.id.0;
    if let Some(e) = m.env.appends.lock().last_decision(id) {
        return Ok(Some((e.actor.clone(), e.action, e.task.map(TaskId))));
    }
    let decisions: Vec<&str> = HistoryAction::ALL
        .into_iter()
        .filter(|a| a.is_decision())
        .map(HistoryAction::as_str)
        .collect();
    let row = store::events::latest_among(m.conn, id, &decisions).await?;
    Ok(row.map(|(actor, action, task)| (actor, HistoryAction::parse(&action), task.map(TaskId))))
}

async fn read_task(m: &mut Machine<'_, '_>, id: TaskId) -> Result<TaskRow, EngineError> {
    let task = store::tasks::for_action(m.conn, id.0)
        .await?
        .ok_or(EngineError::UnknownTask(id))?;
    Ok(task.into())
}

enum Reopen {
    /// The step was left and what it led to can no longer be undone here (a parallel
    /// step's join has been passed).
    Moved,
    Failed(EngineError),
}

impl From<EngineError> for Reopen {
    fn from(e: EngineError) -> Reopen {
        Reopen::Failed(e)
    }
}

impl From<sqlx::Error> for Reopen {
    fn from(e: sqlx::Error) -> Reopen {
        Reopen::Failed(e.into())
    }
}

/// Makes the task's run active again: a step still running only puts later signers of
/// a sequential step back to waiting; a step already left cancels the steps entered
/// after it (in its branch, for a step of a parallel branch) and becomes active again.
async fn reopen_run(m: &mut Machine<'_, '_>, task: &TaskRow) -> Result<(), Reopen> {
    let run = m.run_row(task.run).await?;
    if run.status == RunStatus::Active {
        let sequential = m
            .def
            .step(&task.step)
            .is_some_and(|s| s.mode() == Mode::Sequential);
        if sequential {
            store::tasks::wait_after(m.conn, task.run, task.seq).await?;
        }
        return Ok(());
    }
    let later: Vec<i64> = match (run.parent_run, &run.branch_id) {
        (Some(parent), branch) => {
            if m.run_row(parent).await?.status != RunStatus::Active {
                return Err(Reopen::Moved);
            }
            store::runs::active_in_branch(m.conn, parent, branch.as_deref()).await?
        }
        (None, _) => store::runs::active_top_level(m.conn, m.inst.id.0).await?,
    };
    for id in later {
        m.close_run(id, RunStatus::Cancelled, None).await?;
    }
    m.reactivate_run(task.run).await?;
    store::timers::restore(m.conn, task.run).await?;
    Ok(())
}
