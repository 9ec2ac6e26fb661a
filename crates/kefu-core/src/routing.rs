//! Routing: which agent gets a conversation.

use crate::agent::AgentStatus;
use crate::id::{AgentId, SkillGroupId};
use crate::store::AgentLoad;

/// How a shop's shoppers who wait for people reach them: the deployment's
/// choice (kefu.toml), which a shop's own rules may override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Routing {
    /// Push: each shopper in the queue goes at once to the least-loaded agent
    /// 接待中 who may serve them, and a freed place takes the next. Pull
    /// (false): they wait in the queue until an agent takes them.
    pub auto_assign: bool,
    /// When pushing: what is pushed is an offer its agent accepts (or
    /// answers) within this many ms, or it goes back to the queue and they
    /// go 挂起. `None`: theirs at once.
    pub offer_ms: Option<i64>,
}

impl Routing {
    /// Shoppers wait in the queue until an agent takes them.
    pub const PULL: Routing = Routing { auto_assign: false, offer_ms: None };

    /// Whether an offer may last this many seconds: 0 (no offers) or 10 s to
    /// 10 min (kefu.toml and a shop's rules alike).
    pub fn offer_seconds_allowed(seconds: u64) -> bool {
        seconds == 0 || (10..=600).contains(&seconds)
    }

    /// An offer's time from its seconds; 0: no offers.
    pub fn offer_ms_of(seconds: u64) -> Option<i64> {
        (seconds > 0).then(|| i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX))
    }

    /// When an offer made at `now` lapses, if this routing makes offers.
    pub fn offer_until(&self, now: crate::clock::Timestamp) -> Option<crate::clock::Timestamp> {
        self.offer_ms.filter(|_| self.auto_assign).map(|ms| now.plus_millis(ms))
    }
}

/// The agent a conversation of `group` should go to: online (and not disabled), a handler, in
/// the group (any agent when the conversation has none), below their
/// concurrency limit; the least loaded relative to their limit first, then
/// the fewest open conversations, then by id so the choice is deterministic.
pub fn pick_agent(candidates: &[AgentLoad], group: Option<SkillGroupId>) -> Option<AgentId> {
    candidates
        .iter()
        .filter(|c| takes_conversations(c) && c.pending_offers < MAX_PENDING_OFFERS)
        .filter(|c| group.is_none_or(|g| c.agent.skill_groups.contains(&g)))
        .filter(|c| c.open_conversations < c.agent.max_concurrent)
        .min_by(|a, b| {
            // Compare a.open/a.max with b.open/b.max without floating point.
            let lhs = u64::from(a.open_conversations) * u64::from(b.agent.max_concurrent);
            let rhs = u64::from(b.open_conversations) * u64::from(a.agent.max_concurrent);
            lhs.cmp(&rhs).then(a.open_conversations.cmp(&b.open_conversations)).then(a.agent.id.cmp(&b.agent.id))
        })
        .map(|c| c.agent.id)
}

/// The most offers an agent has to accept at once: one back 接待中 in front
/// of a long queue gets them a few at a time (each accepted brings the
/// next), not their whole limit, each with its own countdown and any one
/// missed setting them 挂起.
pub const MAX_PENDING_OFFERS: u32 = 2;

/// How many more conversations the agents who take them now could hold
/// together: what a shop's queue can hand out at once.
pub fn room(candidates: &[AgentLoad]) -> u32 {
    candidates
        .iter()
        .filter(|c| takes_conversations(c))
        .map(|c| c.agent.max_concurrent.saturating_sub(c.open_conversations))
        .fold(0, u32::saturating_add)
}

/// Online, enabled, a handler (not QA or an admin only).
fn takes_conversations(c: &AgentLoad) -> bool {
    c.agent.status == AgentStatus::Online && !c.agent.disabled && c.agent.role.handles_conversations()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{Agent, Role, Username};
    use crate::clock::Timestamp;
    use uuid::Uuid;

    fn load(n: u128, status: AgentStatus, open: u32, max: u32, groups: &[u128]) -> AgentLoad {
        AgentLoad {
            agent: Agent {
                id: AgentId::from_uuid(Uuid::from_u128(n)),
                username: Username::parse(&format!("a{n}")).expect("valid"),
                display_name: format!("a{n}"),
                password_hash: String::new(),
                role: Role::Agent,
                shops: vec![],
                skill_groups: groups.iter().map(|g| SkillGroupId::from_uuid(Uuid::from_u128(*g))).collect(),
                max_concurrent: max,
                status,
                created_at: Timestamp(0),
                disabled: false,
            },
            open_conversations: open,
            pending_offers: 0,
        }
    }

    fn id(n: u128) -> AgentId {
        AgentId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn least_loaded_online_agent_with_capacity_in_group() {
        let g = Some(SkillGroupId::from_uuid(Uuid::from_u128(100)));
        let agents = [
            load(1, AgentStatus::Online, 1, 5, &[100]),
            load(2, AgentStatus::Online, 0, 5, &[200]),  // wrong group
            load(3, AgentStatus::Away, 0, 5, &[100]),    // 挂起
            load(4, AgentStatus::Online, 3, 3, &[100]),  // full
            load(5, AgentStatus::Online, 2, 10, &[100]), // 20% < 1/5=20%? tie on ratio, more open
        ];
        assert_eq!(pick_agent(&agents, g), Some(id(1)));
        assert_eq!(pick_agent(&agents, None), Some(id(2)));
        assert_eq!(pick_agent(&agents[2..4], g), None);
        // 4 + 5 + 8 free among the online; the 挂起 agent's room does not count.
        assert_eq!(room(&agents), 4 + 5 + 8);
        assert_eq!(room(&agents[2..4]), 0);
        // Two offers not yet accepted: nothing more for them until one is.
        let mut waiting_on = agents.to_vec();
        waiting_on[0].pending_offers = MAX_PENDING_OFFERS;
        assert_eq!(pick_agent(&waiting_on, g), Some(id(5)));
    }
}
