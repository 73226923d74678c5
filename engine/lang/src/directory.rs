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
    /// Chat groups and HTTP endpoints told besides mail, and whose messages each gets.
    #[serde(default)]
    pub channels: Vec<Channel>,
}

/// A channel besides mail: a group robot (DingTalk, WeCom, Feishu) or any HTTP endpoint
/// taking JSON (`webhook`). It gets a message for each one mail goes to that it covers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Its name in logs and listings, e.g. `finance_group`.
    pub id: Located<String>,
    /// What it speaks: `webhook` (Signoff's JSON), `dingtalk`, `wecom` or `feishu`.
    pub kind: ChannelKind,
    /// Where messages are posted (`https://...`), or `${NAME}` to read it from the
    /// environment variable NAME (robot URLs carry their access token).
    pub url: Located<String>,
    /// The people whose messages it carries.
    #[serde(default)]
    pub users: Vec<Located<String>>,
    /// The roles whose holders' messages it carries.
    #[serde(default)]
    pub roles: Vec<Located<String>>,
}

/// The format a channel speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Signoff's own JSON: the event, the request, the person, the link.
    Webhook,
    /// A DingTalk group robot (markdown message).
    Dingtalk,
    /// A WeCom (企业微信) group robot (markdown message).
    Wecom,
    /// A Feishu (飞书) group robot (text message).
    Feishu,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Wecom => "wecom",
            ChannelKind::Feishu => "feishu",
        }
    }
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

    /// The channels that carry `user`'s messages, by name or by a role they hold.
    pub fn channels_for(&self, user: &str) -> Vec<&Channel> {
        let roles: Vec<&str> = self
            .user(user)
            .map(|u| u.roles.iter().map(|r| r.value.as_str()).collect())
            .unwrap_or_default();
        self.channels
            .iter()
            .filter(|c| {
                c.users.iter().any(|u| u.value == user)
                    || c.roles.iter().any(|r| roles.contains(&r.value.as_str()))
            })
            .collect()
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
        out.extend(self.channel_problems());
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

    /// Problems with the channels: duplicate ids, URLs that are not HTTP, unknown people
    /// and roles.
    fn channel_problems(&self) -> Vec<(crate::located::Position, String)> {
        let mut out = Vec::new();
        let mut ids = BTreeSet::new();
        for c in &self.channels {
            if !ids.insert(c.id.value.as_str()) {
                out.push((c.id.at, format!("duplicate channel id `{}`", c.id.value)));
            }
            let url = c.url.value.trim();
            let from_env = url.starts_with("${") && url.ends_with('}') && url.len() > 3;
            if !(from_env || url.starts_with("https://") || url.starts_with("http://")) {
                out.push((
                    c.url.at,
                    format!(
                        "channel `{}`: the url must start with https:// (or name a variable as ${{NAME}})",
                        c.id.value
                    ),
                ));
            }
            for u in &c.users {
                if self.user(u).is_none() {
                    out.push((u.at, format!("unknown user `{}`", u.value)));
                }
            }
            for r in &c.roles {
                if !self.has_role(r) {
                    out.push((r.at, format!("unknown role `{}`", r.value)));
                }
            }
        }
        out
    }
}
