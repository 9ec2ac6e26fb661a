//! Administration: shops, their secrets and skill groups, and agents.
//! Admins only, except the read-only team views supervisors need.

use axum::extract::{Path, State};
use kefu_core::agent::{Agent, AgentStatus, Role, Username};
use kefu_core::desk;
use kefu_core::event::Event;
use kefu_core::id::{AgentId, ShopId, SkillGroupId};
use kefu_core::shop::{Shop, ShopSecret, ShopSlug, SkillGroup};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentAuth, Body, parse_id, require};
use crate::SharedState;
use crate::auth;
use crate::dto::{AgentDto, ShopDto, SkillGroupDto};
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<Value>;

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(Code::InvalidInput, e.to_string())
}

pub async fn shops(State(state): State<SharedState>, auth: AgentAuth) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let shops = state.ctx.store.shops().await?;
    let list: Vec<Value> = shops
        .iter()
        .map(|s| json!({ "id": s.id.to_string(), "slug": s.slug.as_str(), "name": s.name, "secret": s.secret.expose(), "created_at": s.created_at.millis() }))
        .collect();
    Ok(axum::Json(json!({ "shops": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewShop {
    slug: String,
    name: String,
}

pub async fn create_shop(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Body(body): Body<NewShop>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::new(Code::InvalidInput, "name must be 1-64 characters"));
    }
    let shop = Shop {
        id: ShopId::from_uuid(state.ctx.ids.new_uuid()),
        slug: ShopSlug::parse(&body.slug).map_err(invalid)?,
        name: name.to_owned(),
        secret: ShopSecret::new(auth::random_token()),
        created_at: state.ctx.clock.now(),
    };
    state.ctx.store.create_shop(&shop).await?;
    Ok(axum::Json(json!({ "shop": ShopDto::from(&shop), "secret": shop.secret.expose() })))
}

pub async fn rotate_secret(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let id = parse_id(&id, ShopId::parse)?;
    let secret = ShopSecret::new(auth::random_token());
    state.ctx.store.set_shop_secret(id, &secret).await?;
    Ok(axum::Json(json!({ "secret": secret.expose() })))
}

pub(crate) async fn shop_for(state: &SharedState, agent: &Agent, id: &str) -> ApiResult<ShopId> {
    shop_row_for(state, agent, id).await.map(|s| s.id)
}

/// The shop, when the agent may work in it (`not_found` otherwise, as for a shop that does not exist).
pub(crate) async fn shop_row_for(state: &SharedState, agent: &Agent, id: &str) -> ApiResult<kefu_core::shop::Shop> {
    let id = parse_id(id, ShopId::parse)?;
    match state.ctx.store.shop(id).await? {
        Some(shop) if agent.can_access_shop(id) => Ok(shop),
        _ => Err(ApiError::new(Code::NotFound, "shop not found")),
    }
}

pub async fn shop_agents(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let shop = shop_for(&state, &auth.agent, &id).await?;
    // Everyone handling chats may see who is online (to transfer to them).
    let loads = state.ctx.store.agents_of_shop(shop).await?;
    let list: Vec<AgentDto> = loads
        .iter()
        .map(|l| AgentDto { open_conversations: Some(l.open_conversations), ..AgentDto::from(&l.agent) })
        .collect();
    Ok(axum::Json(json!({ "agents": list })))
}

pub async fn skill_groups(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let shop = shop_for(&state, &auth.agent, &id).await?;
    let groups = state.ctx.store.skill_groups(shop).await?;
    let list: Vec<SkillGroupDto> = groups.iter().map(SkillGroupDto::from).collect();
    Ok(axum::Json(json!({ "skill_groups": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    name: String,
}

pub async fn create_skill_group(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<NewGroup>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let shop = shop_for(&state, &auth.agent, &id).await?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(ApiError::new(Code::InvalidInput, "name must be 1-32 characters"));
    }
    let group =
        SkillGroup { id: SkillGroupId::from_uuid(state.ctx.ids.new_uuid()), shop_id: shop, name: name.to_owned() };
    state.ctx.store.create_skill_group(&group).await?;
    Ok(axum::Json(json!({ "skill_group": SkillGroupDto::from(&group) })))
}

pub async fn agents(State(state): State<SharedState>, auth: AgentAuth) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let mut seen = std::collections::HashSet::new();
    let mut list = Vec::new();
    for shop in state.ctx.store.shops().await? {
        for l in state.ctx.store.agents_of_shop(shop.id).await? {
            if seen.insert(l.agent.id) {
                list.push(AgentDto { open_conversations: Some(l.open_conversations), ..AgentDto::from(&l.agent) });
            }
        }
    }
    Ok(axum::Json(json!({ "agents": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    username: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
    role: Option<String>,
    shops: Option<Vec<String>>,
    skill_groups: Option<Vec<String>>,
    max_concurrent: Option<u32>,
}

async fn apply_agent_body(state: &SharedState, agent: &mut Agent, body: AgentBody) -> ApiResult<()> {
    if let Some(u) = body.username {
        agent.username = Username::parse(&u).map_err(invalid)?;
    }
    if let Some(d) = body.display_name {
        let d = d.trim();
        if d.is_empty() || d.chars().count() > 32 {
            return Err(ApiError::new(Code::InvalidInput, "display_name must be 1-32 characters"));
        }
        d.clone_into(&mut agent.display_name);
    }
    if let Some(r) = body.role {
        agent.role = Role::parse(&r)
            .ok_or_else(|| ApiError::new(Code::InvalidInput, "role must be agent, senior, qa, supervisor or admin"))?;
    }
    if let Some(m) = body.max_concurrent {
        if !(1..=100).contains(&m) {
            return Err(ApiError::new(Code::InvalidInput, "max_concurrent must be 1-100"));
        }
        agent.max_concurrent = m;
    }
    if let Some(shops) = body.shops {
        let known = state.ctx.store.shops().await?;
        agent.shops = shops
            .iter()
            .map(|s| {
                let id = ShopId::parse(s).map_err(invalid)?;
                known
                    .iter()
                    .any(|k| k.id == id)
                    .then_some(id)
                    .ok_or_else(|| ApiError::new(Code::InvalidInput, format!("unknown shop {s}")))
            })
            .collect::<ApiResult<_>>()?;
    }
    if let Some(groups) = body.skill_groups {
        let mut known = Vec::new();
        for shop in &agent.shops {
            known.extend(state.ctx.store.skill_groups(*shop).await?.into_iter().map(|g| g.id));
        }
        agent.skill_groups = groups
            .iter()
            .map(|g| {
                let id = SkillGroupId::parse(g).map_err(invalid)?;
                known.contains(&id).then_some(id).ok_or_else(|| {
                    ApiError::new(Code::InvalidInput, format!("skill group {g} is not in the agent's shops"))
                })
            })
            .collect::<ApiResult<_>>()?;
    }
    if let Some(p) = body.password {
        if p.chars().count() < 8 {
            return Err(ApiError::new(Code::InvalidInput, "password must have at least 8 characters"));
        }
        agent.password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&p))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(|e| ApiError::new(Code::Internal, e.to_string()))?;
    }
    Ok(())
}

pub async fn create_agent(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Body(body): Body<AgentBody>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    if body.username.is_none() || body.password.is_none() {
        return Err(ApiError::new(Code::InvalidInput, "username and password are required"));
    }
    let mut agent = Agent {
        id: AgentId::from_uuid(state.ctx.ids.new_uuid()),
        username: Username::parse("placeholder").map_err(invalid)?,
        display_name: String::new(),
        password_hash: String::new(),
        role: Role::Agent,
        shops: Vec::new(),
        skill_groups: Vec::new(),
        max_concurrent: 5,
        status: AgentStatus::Offline,
        created_at: state.ctx.clock.now(),
        disabled: false,
    };
    apply_agent_body(&state, &mut agent, body).await?;
    if agent.display_name.is_empty() {
        agent.display_name = agent.username.as_str().to_owned();
    }
    state.ctx.store.create_agent(&agent).await?;
    Ok(axum::Json(json!({ "agent": AgentDto::from(&agent) })))
}

pub async fn update_agent(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<AgentBody>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let id = parse_id(&id, AgentId::parse)?;
    let before = state.ctx.store.agent(id).await?.ok_or_else(|| ApiError::new(Code::NotFound, "agent not found"))?;
    let mut agent = before.clone();
    apply_agent_body(&state, &mut agent, body).await?;
    state.ctx.store.update_agent(&agent).await?;
    let myself = agent.id == auth.agent.id;
    if agent.password_hash != before.password_hash {
        // A new password ends the account's other sessions: whoever knew the
        // old one is out. The admin changing their own stays in this one.
        let keep = myself.then_some(auth.session.token_hash);
        state.ctx.store.revoke_sessions(agent.id, keep).await?;
        state.ctx.bus.publish(Event::AccountChanged { agent: agent.id, signed_out: !myself });
    } else if !agent.same_rights(&before) {
        // Open connections were granted the old rights: they reconnect.
        state.ctx.bus.publish(Event::AccountChanged { agent: agent.id, signed_out: false });
    }
    Ok(axum::Json(json!({ "agent": AgentDto::from(&agent) })))
}

/// `POST /api/admin/agents/{id}/disable`: a person who left (see `desk::disable_agent`).
pub async fn disable_agent(state: State<SharedState>, auth: AgentAuth, id: Path<String>) -> ApiResult<Json> {
    set_disabled(state, auth, id, true).await
}

/// `POST /api/admin/agents/{id}/enable`.
pub async fn enable_agent(state: State<SharedState>, auth: AgentAuth, id: Path<String>) -> ApiResult<Json> {
    set_disabled(state, auth, id, false).await
}

async fn set_disabled(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    disabled: bool,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let id = parse_id(&id, AgentId::parse)?;
    let agent = if disabled {
        desk::disable_agent(&state.ctx, &auth.agent, id).await?
    } else {
        desk::enable_agent(&state.ctx, &auth.agent, id).await?
    };
    Ok(axum::Json(json!({ "agent": AgentDto::from(&agent) })))
}
