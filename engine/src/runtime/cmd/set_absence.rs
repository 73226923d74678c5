//! `set_absence`: out of office: a user's new tasks go to a deputy between two dates.

use super::prelude::*;

pub struct SetAbsence {
    pub user: String,
    pub deputy: String,
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
        for u in [&user, &deputy] {
            if core.registry.directory.user(u).is_none() {
                return Err(EngineError::UnknownUser(u.clone()));
            }
        }
        sqlx::query(
            "INSERT INTO absences (user_id, deputy, from_date, to_date) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user)
        .bind(&deputy)
        .bind(&from)
        .bind(&to)
        .execute(&mut *conn)
        .await?;
        env.appends.lock().forget_deputies();
        Ok(Reply::Count(1))
    }
}
