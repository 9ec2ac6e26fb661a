//! Agents: the people who answer, with their role, shops, skill groups and
//! how many conversations they can hold at once.

use crate::clock::Timestamp;
use crate::id::{AgentId, ShopId, SkillGroupId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Agent,
    Senior,
    Qa,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Agent, Role::Senior, Role::Qa, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Senior => "senior",
            Role::Qa => "qa",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Who may take, answer, transfer and close conversations.
    pub fn handles_conversations(self) -> bool {
        matches!(self, Role::Agent | Role::Senior | Role::Supervisor | Role::Admin)
    }

    /// Who may read every conversation of their shops (QA reviews them).
    pub fn reads_all_conversations(self) -> bool {
        matches!(self, Role::Qa | Role::Supervisor | Role::Admin)
    }

    /// Who may assign conversations to others and see the team.
    pub fn supervises(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    /// Who may manage shops, agents, skill groups and secrets.
    pub fn administers(self) -> bool {
        matches!(self, Role::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentStatus {
    /// 接待中: takes new conversations.
    Online,
    /// 挂起: keeps open conversations, gets no new ones.
    Away,
    Offline,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        [AgentStatus::Online, AgentStatus::Away, AgentStatus::Offline].into_iter().find(|s| s.as_str() == text)
    }
}

/// A login name: 2-32 characters of letters, digits, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a username is 2-32 characters of a-z, 0-9, '.', '_' and '-'")]
pub struct InvalidUsername;

impl Username {
    pub fn parse(text: &str) -> Result<Self, InvalidUsername> {
        let text = text.trim().to_ascii_lowercase();
        let ok = (2..=32).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if ok { Ok(Self(text)) } else { Err(InvalidUsername) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub username: Username,
    pub display_name: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    pub role: Role,
    pub shops: Vec<ShopId>,
    pub skill_groups: Vec<SkillGroupId>,
    pub max_concurrent: u32,
    pub status: AgentStatus,
    pub created_at: Timestamp,
    /// 停用: a person who left. Cannot log in, holds no session, gets no
    /// conversation; kept so their name stays on what they did.
    pub disabled: bool,
}

impl Agent {
    /// Whether `other` (the same account, read again) may do what this one
    /// was granted: a connection granted the old rights must not outlive them.
    pub fn same_rights(&self, other: &Agent) -> bool {
        (self.role, &self.shops, &self.skill_groups, self.disabled)
            == (other.role, &other.shops, &other.skill_groups, other.disabled)
    }

    /// Admins see every shop; everybody else only the shops they belong to.
    pub fn can_access_shop(&self, shop: ShopId) -> bool {
        self.role.administers() || self.shops.contains(&shop)
    }
}

/// A logged-in browser session. The store keeps only the token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSession {
    pub token_hash: [u8; 32],
    pub agent_id: AgentId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
