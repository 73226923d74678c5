//! `start`: a new request of a process's current version, its form checked, entering its first step.

use super::prelude::*;

pub struct Start {
    pub process: String,
    pub submitter: String,
    pub form: Value,
    /// The files uploaded with the form: they set its file fields, and are stored with
    /// the request in this transaction (or not at all).
    pub uploads: Vec<super::super::files::Upload>,
}

impl Start {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Start {
            process,
            submitter,
            mut form,
            uploads,
        } = self;
        let now = env.now;
        if core.registry.directory.user(&submitter).is_none() {
            return Err(EngineError::UnknownUser(submitter));
        }
        let (version, def) = core
            .registry
            .current(conn, &process)
            .await?
            .ok_or(EngineError::UnknownProcess(process.clone()))?;
        let vars = Value::Object(
            def.variables
                .iter()
                .map(|v| (v.id.value.clone(), v.initial.clone().unwrap_or(Value::Null)))
                .collect(),
        );
        crate::form::refuse_step_only(&def, &form).map_err(EngineError::InvalidForm)?;
        super::super::files::files_into_form(&def, &mut form, &uploads)?;
        let scope = machine::scope_for(env, &submitter, &Value::Null, &vars);
        let form = validate_form(&def, &form, &core.registry.directory, &scope)
            .map_err(EngineError::InvalidForm)?;
        let new = crate::store::instances::NewInstance {
            process: &process,
            version,
            submitter: &submitter,
            form: form.to_string(),
            vars: vars.to_string(),
            now: &to_db(now),
        };
        let id = crate::store::instances::insert(conn, &new).await?;
        store_uploads(conn, id, &uploads, &submitter, &to_db(now)).await?;
        let state = InstanceState {
            id: InstanceId(id),
            process,
            version,
            status: InstanceStatus::Running,
            outcome: None,
            submitter: submitter.clone(),
            form,
            vars,
            incident: None,
            decided: false,
        };
        let start = def
            .start_step()
            .map(|s| s.id.value.clone())
            .ok_or_else(|| EngineError::Definition("the process has no steps".into()))?;
        let mut m = Machine::new(conn, env, def, state);
        m.record(&submitter, HistoryAction::Submit).await?;
        m.record_links(&submitter).await?;
        m.enter(&start, None, None);
        m.drain().await?;
        Ok(Reply::Instance(InstanceId(id)))
    }
}

async fn store_uploads(
    conn: &mut Conn,
    instance: i64,
    uploads: &[super::super::files::Upload],
    by: &str,
    at: &str,
) -> Result<(), EngineError> {
    let files: Vec<_> = uploads
        .iter()
        .map(|u| crate::store::files::NewFile {
            field: &u.field,
            file: &u.file,
            bytes: &u.bytes,
        })
        .collect();
    crate::store::files::insert(conn, instance, &files, by, at).await?;
    Ok(())
}
