//! The directory of people (`processes/org.yaml`): users, roles, reporting lines and regions,
//! and the relations approvers are resolved from.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::located::Located;
use crate::model::Label;

/// The directory file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub regions: Vec<Region>,
    #[serde(default)]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: Located<String>,
    pub name: Label,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub id: Located<String>,
    pub name: Label,
    /// The user id of the regional head.
    pub head: Located<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login name, e.g. `wang.fang`.
    pub id: Located<String>,
    /// Display name, e.g. `王芳`.
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub title: Option<Label>,
    #[serde(default)]
    pub roles: Vec<Located<String>>,
    /// The user id of the direct manager.
    #[serde(default)]
    pub manager: Option<Located<String>>,
    #[serde(default)]
    pub region: Option<Located<String>>,
    /// Preferred language for mail: `zh` (default) or `en`.
    #[serde(default)]
    pub locale: Option<String>,
}

/// Why a relation could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("no user `{0}` in the directory")]
    UnknownUser(String),
    #[error("no region `{0}` in the directory")]
    UnknownRegion(String),
    #[error("user `{0}` has no manager in the directory")]
    NoManager(String),
}

impl Directory {
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id.value == id)
    }

    pub fn has_role(&self, id: &str) -> bool {
        self.roles.iter().any(|r| r.id.value == id)
    }

    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id.value == id)
    }

    /// Members of a role, in directory order.
    pub fn members(&self, role: &str) -> Vec<&User> {
        self.users
            .iter()
            .filter(|u| u.roles.iter().any(|r| r.value == role))
            .collect()
    }

    pub fn manager_of(&self, user: &str) -> Result<&User, LookupError> {
        let u = self
            .user(user)
            .ok_or_else(|| LookupError::UnknownUser(user.to_string()))?;
        let manager = u
            .manager
            .as_ref()
            .ok_or_else(|| LookupError::NoManager(user.to_string()))?;
        self.user(manager)
            .ok_or_else(|| LookupError::UnknownUser(manager.value.clone()))
    }

    /// The managers of `user` going up, at most `levels` of them; stops at the top.
    pub fn manager_chain(&self, user: &str, levels: u32) -> Result<Vec<&User>, LookupError> {
        let mut chain = Vec::new();
        let mut current = user.to_string();
        let mut seen = BTreeSet::new();
        for _ in 0..levels {
            match self.manager_of(&current) {
                Ok(m) => {
                    // A cycle in the reporting lines must not loop forever.
                    if !seen.insert(m.id.value.clone()) {
                        break;
                    }
                    current = m.id.value.clone();
                    chain.push(m);
                }
                Err(LookupError::NoManager(_)) if !chain.is_empty() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(chain)
    }

    pub fn regional_head(&self, region: &str) -> Result<&User, LookupError> {
        let r = self
            .region(region)
            .ok_or_else(|| LookupError::UnknownRegion(region.to_string()))?;
        self.user(&r.head)
            .ok_or_else(|| LookupError::UnknownUser(r.head.value.clone()))
    }

    /// Problems inside the directory itself: unknown roles, managers, regions, heads,
    /// duplicate ids and reporting cycles. Each comes with the position it concerns.
    pub fn problems(&self) -> Vec<(crate::located::Position, String)> {
        let mut out = Vec::new();
        let mut ids = BTreeMap::new();
        for u in &self.users {
            if ids.insert(u.id.value.clone(), u.id.at).is_some() {
                out.push((u.id.at, format!("duplicate user id `{}`", u.id.value)));
            }
        }
        for u in &self.users {
            for r in &u.roles {
                if !self.has_role(r) {
                    out.push((r.at, format!("unknown role `{}`", r.value)));
                }
            }
            if let Some(m) = &u.manager {
                if self.user(m).is_none() {
                    out.push((m.at, format!("unknown manager `{}`", m.value)));
                }
            }
            if let Some(r) = &u.region {
                if self.region(r).is_none() {
                    out.push((r.at, format!("unknown region `{}`", r.value)));
                }
            }
            let mut seen = BTreeSet::new();
            let mut current = u;
            while let Some(m) = current.manager.as_ref().and_then(|m| self.user(m)) {
                if !seen.insert(m.id.value.clone()) || m.id.value == u.id.value {
                    out.push((u.id.at, format!("`{}` is in a reporting cycle", u.id.value)));
                    break;
                }
                current = m;
            }
        }
        for r in &self.regions {
            if self.user(&r.head).is_none() {
                out.push((
                    r.head.at,
                    format!("unknown regional head `{}`", r.head.value),
                ));
            }
        }
        out
    }
}
