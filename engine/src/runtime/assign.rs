//! Who a step goes to: assignee rules resolved against the directory and the request,
//! the top of the hierarchy handled as the definition says (`no_manager`), and the
//! segregation of duties: nobody decides or reviews a request that is theirs or about
//! them (its submitter and its `subjects`). Such a person reached through a role, a
//! manager line, a user or an expression is replaced by their nearest manager who is not
//! excluded; only a rule that names them by their part in the request (`submitter`, or
//! `field:` of a subject, as in "revise", "self-assessment", "handover") gives them the
//! step.

use serde_json::Value;

use crate::directory::LookupError;
use crate::guard;
use crate::located::Located;
use crate::model::{Assignee, NoManager};

use super::machine::Machine;

/// People a step goes to, and why anyone the rules named is not among them.
#[derive(Debug, Default)]
pub struct Assigned {
    pub users: Vec<String>,
    /// (whom it is about, why), for the history.
    pub notes: Vec<(String, String)>,
}

impl Assigned {
    fn add(&mut self, user: String) {
        if !self.users.contains(&user) {
            self.users.push(user);
        }
    }

    fn extend(&mut self, other: Assigned) {
        for user in other.users {
            self.add(user);
        }
        self.notes.extend(other.notes);
    }
}

impl Machine<'_, '_> {
    /// Who a human step goes to: its rules resolved, with the segregation of duties.
    /// Excluded people are taken out; only when that leaves nobody does the step go up,
    /// to each excluded person's nearest manager who is not excluded (or what
    /// `no_manager` says at the top).
    pub fn assign(&self, assignees: &[Located<Assignee>]) -> Result<Assigned, String> {
        let subjects: Vec<&str> = self.def.subjects.iter().map(|s| s.value.as_str()).collect();
        let excluded = self.excluded();
        let mut out = Assigned::default();
        let mut left_out = Vec::new();
        for a in assignees {
            let found = self.resolve(&a.value)?;
            let own_part = match &a.value {
                Assignee::Submitter => true,
                Assignee::Field(field) => subjects.contains(&field.as_str()),
                _ => false,
            };
            out.notes.extend(found.notes);
            for user in found.users {
                if own_part || !excluded.contains(&user) {
                    out.add(user);
                } else if !left_out.contains(&user) {
                    left_out.push(user);
                }
            }
        }
        for user in &left_out {
            out.notes.push((
                user.clone(),
                format!("`{user}` may not decide a request that is theirs or about them"),
            ));
        }
        if out.users.is_empty() {
            for user in &left_out {
                out.extend(self.above(user, &excluded));
            }
        }
        Ok(out)
    }

    /// The users one assignee rule names.
    pub fn resolve(&self, a: &Assignee) -> Result<Assigned, String> {
        let dir = self.env.directory;
        let submitter = self.inst.submitter.as_str();
        let mut out = Assigned::default();
        match a {
            Assignee::User(u) => out.add(u.clone()),
            Assignee::Role(r) => {
                for u in dir.members(r) {
                    out.add(u.id.value.clone());
                }
            }
            Assignee::Submitter => out.add(submitter.to_string()),
            Assignee::Manager => out.extend(self.manager_or_top(submitter)?),
            Assignee::ManagerOf(field) => out.extend(self.manager_or_top(&self.form_user(field)?)?),
            Assignee::ManagerChain(n) => match dir.manager_chain(submitter, *n) {
                Ok(chain) => chain.iter().for_each(|u| out.add(u.id.value.clone())),
                Err(LookupError::NoManager(u)) => out.extend(self.top(&u)),
                Err(e) => return Err(e.to_string()),
            },
            Assignee::RegionalHead(r) => {
                out.add(
                    dir.regional_head(r)
                        .map_err(|e| e.to_string())?
                        .id
                        .value
                        .clone(),
                );
            }
            Assignee::RegionalHeadOf(field) => {
                let region = self.form_user(field)?;
                out.add(
                    dir.regional_head(&region)
                        .map_err(|e| e.to_string())?
                        .id
                        .value
                        .clone(),
                );
            }
            Assignee::Field(field) => out.add(self.form_user(field)?),
            Assignee::Expr(e) => {
                let value = guard::compile_cached(e)
                    .and_then(|c| c.eval(&self.scope()))
                    .map_err(|e| e.to_string())?;
                match value {
                    Value::String(s) => out.add(s),
                    Value::Array(items) => items
                        .into_iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .for_each(|u| out.add(u)),
                    other => return Err(format!("`{e}` gave {other}, not user ids")),
                }
            }
        }
        if let Some(u) = out.users.iter().find(|u| dir.user(u).is_none()) {
            return Err(format!("no user `{u}` in the directory"));
        }
        Ok(out)
    }

    fn form_user(&self, field: &str) -> Result<String, String> {
        self.inst
            .form
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("form field `{field}` holds no user"))
    }

    /// `user`'s manager, or what the definition says happens at the top.
    fn manager_or_top(&self, user: &str) -> Result<Assigned, String> {
        match self.env.directory.manager_of(user) {
            Ok(m) => Ok(Assigned {
                users: vec![m.id.value.clone()],
                notes: Vec::new(),
            }),
            Err(LookupError::NoManager(u)) => Ok(self.top(&u)),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Who decides in place of the manager `user` does not have (`no_manager`).
    fn top(&self, user: &str) -> Assigned {
        let mut out = Assigned::default();
        match &self.def.no_manager.value {
            NoManager::Skip => out.notes.push((
                user.to_string(),
                format!("`{user}` has no manager in the directory: the step passes without one"),
            )),
            NoManager::Role(role) => {
                for u in self.env.directory.members(role) {
                    out.add(u.id.value.clone());
                }
                out.notes.push((
                    user.to_string(),
                    format!("`{user}` has no manager in the directory: role `{role}` decides"),
                ));
            }
        }
        out
    }

    /// The people who may not decide this request: its submitter (unless the definition
    /// says `submitter_may_decide`) and its subjects.
    pub fn excluded(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.def.submitter_may_decide {
            out.push(self.inst.submitter.clone());
        }
        for field in &self.def.subjects {
            if let Some(user) = self
                .inst
                .form
                .get(field.value.as_str())
                .and_then(Value::as_str)
            {
                out.push(user.to_string());
            }
        }
        out
    }

    /// Who decides in place of an excluded `user`: their nearest manager who is not
    /// excluded, or what `no_manager` says when there is none.
    fn above(&self, user: &str, excluded: &[String]) -> Assigned {
        if let Some(manager) = self.nearest_allowed_manager(user, excluded) {
            return Assigned {
                notes: vec![(user.to_string(), format!("the step goes up to `{manager}`"))],
                users: vec![manager],
            };
        }
        let mut top = self.top(user);
        top.users.retain(|u| !excluded.contains(u));
        top
    }

    /// The first manager above `user` who is not excluded, if the directory has one.
    fn nearest_allowed_manager(&self, user: &str, excluded: &[String]) -> Option<String> {
        let chain = self.env.directory.manager_chain(user, 32).ok()?;
        chain
            .into_iter()
            .map(|m| m.id.value.clone())
            .find(|m| !excluded.contains(m))
    }
}
