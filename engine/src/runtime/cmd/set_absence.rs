//! `set_absence`: out of office: a user's new tasks go to a deputy between two dates
//! (`YYYY-MM-DD`, both included); or, with no deputy, the user is back: absences not yet
//! over end yesterday (those starting today or later go). Never oneself as deputy, never
//! an end before the start.

use super::prelude::*;

pub struct SetAbsence {
    pub user: String,
    /// None: back in the office.
    pub deputy: Option<String>,
    pub from: String,
    pub to: String,
}

impl SetAbsence {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let SetAbsence {
            user,
            deputy,
            from,
            to,
        } = self;
        let directory = &core.registry.directory;
        if directory.user(&user).is_none() {
            return Err(EngineError::UnknownUser(user));
        }
        let Some(deputy) = deputy else {
            let today = env.calendar.local_date(env.now);
            let yesterday = today
                .pred_opt()
                .unwrap_or(today)
                .format("%Y-%m-%d")
                .to_string();
            let today = today.format("%Y-%m-%d").to_string();
            let changed = crate::store::absences::end(conn, &user, &today, &yesterday).await?;
            env.appends.lock().forget_deputies();
            return Ok(Reply::Count(changed as usize));
        };
        check(directory, &user, &deputy, &from, &to)?;
        crate::store::absences::insert(conn, &user, &deputy, &from, &to).await?;
        env.appends.lock().forget_deputies();
        Ok(Reply::Count(1))
    }
}

/// A deputy who exists and is someone else, and two dates in order.
fn check(
    directory: &crate::directory::Directory,
    user: &str,
    deputy: &str,
    from: &str,
    to: &str,
) -> Result<(), EngineError> {
    use crate::runtime::types::AbsenceRefused as Why;
    let bad = |field, why| EngineError::BadAbsence { field, why };
    if directory.user(deputy).is_none() {
        return Err(EngineError::UnknownUser(deputy.to_string()));
    }
    if deputy == user {
        return Err(bad("deputy", Why::OwnDeputy));
    }
    let date = |text: &str, field| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad(field, Why::NotADate))
    };
    if date(to, "to")? < date(from, "from")? {
        return Err(bad("to", Why::Backwards));
    }
    Ok(())
}
