//! Wiring: store + bus + clock + ids → the server, with signals for a
//! graceful shutdown.

use std::sync::Arc;

use anyhow::{Context, bail};
use kefu_core::agent::{Agent, AgentStatus, Role, Username};
use kefu_core::clock::SystemClock;
use kefu_core::desk::Ctx;
use kefu_core::event::InProcessBus;
use kefu_core::id::{AgentId, IdGen, UuidV7};
use kefu_core::routing::Routing;
use kefu_core::shop::ShopSlug;
use kefu_core::store::Store;

use crate::config::Config;

pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEFU_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    kefu_store::open(&config.backend()).await.context("opening the database")
}

pub fn context(store: Arc<dyn Store>, routing: Routing, bot: bool) -> Ctx {
    Ctx {
        store,
        bus: Arc::new(InProcessBus::new()),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7),
        routing: Arc::new(routing),
        bot,
        uploads: kefu_core::attachment::Quota::default(),
    }
}

/// Serves until SIGINT/SIGTERM, then drains.
pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let mut server = config.server();
    server.http = config.http_client()?;
    let rules_dir = config.data_dir.join("rules");
    server.bot_rules = load_rules(&rules_dir)?;
    server.bot_rules_source = Some(kefu_server::RulesSource(std::sync::Arc::new(move || {
        load_rules(&rules_dir).map_err(|e| format!("{e:#}"))
    })));
    server.bot_intents = load_intent_models(&config.data_dir.join("models"))?;
    let ctx = Ctx { uploads: config.uploads(), ..context(store, config.routing(), config.bot) };
    let state = kefu_server::AppState::new(ctx, server, shutdown_rx).await?;
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "kefu listening");
    let shutdown = async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        let _ = shutdown_tx.send(true);
    };
    kefu_server::serve(listener, state, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Every `<slug>.toml` in `dir` (absent is fine): a bad file stops the start
/// with its name and the mistake, rather than serving with a policy nobody wrote.
pub fn load_rules(
    dir: &std::path::Path,
) -> anyhow::Result<std::collections::HashMap<String, kefu_bot::rules::ShopRules>> {
    let mut rules = std::collections::HashMap::new();
    for (slug, path) in shop_files(dir, "toml")? {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let parsed = kefu_bot::rules::ShopRules::parse(&text).with_context(|| format!("{}", path.display()))?;
        tracing::info!(shop = slug, "bot rules loaded");
        rules.insert(slug, parsed);
    }
    Ok(rules)
}

/// Every `<slug>.model` in `dir` (absent is fine), a shop's own intent model
/// from `kefu nlu train`: a file that is not a model, or a model naming an
/// intent no flow handles, stops the start with its name and the reason.
pub fn load_intent_models(
    dir: &std::path::Path,
) -> anyhow::Result<std::collections::HashMap<String, std::sync::Arc<kefu_nlu::Classifier>>> {
    let mut models = std::collections::HashMap::new();
    for (slug, path) in shop_files(dir, "model")? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let model = kefu_nlu::Classifier::from_bytes(&bytes)
            .with_context(|| format!("{} is not a model written by `kefu nlu train`", path.display()))?;
        kefu_bot::intents::check(&model).with_context(|| format!("{}", path.display()))?;
        tracing::info!(shop = slug, labels = model.labels().len(), "shop intent model loaded");
        models.insert(slug, std::sync::Arc::new(model));
    }
    Ok(models)
}

/// `<slug>.<extension>` files in `dir` (none when it does not exist), by shop slug.
fn shop_files(dir: &std::path::Path, extension: &str) -> anyhow::Result<Vec<(String, std::path::PathBuf)>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(extension) {
            continue;
        }
        if let Some(slug) = path.file_stem().and_then(|s| s.to_str()) {
            files.push((slug.to_owned(), path.clone()));
        }
    }
    Ok(files)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn add_user(
    store: &Arc<dyn Store>,
    username: &str,
    password: &str,
    role: &str,
    shop_slugs: &[String],
    max_concurrent: u32,
    display_name: Option<String>,
) -> anyhow::Result<Agent> {
    let username = Username::parse(username)?;
    let Some(role) = Role::parse(role) else { bail!("role must be agent, senior, qa, supervisor or admin") };
    if password.chars().count() < 8 {
        bail!("the password needs at least 8 characters");
    }
    let mut shops = Vec::new();
    for slug in shop_slugs {
        let shop = store.shop_by_slug(&ShopSlug::parse(slug)?).await?;
        shops.push(shop.with_context(|| format!("no shop {slug:?}"))?.id);
    }
    let agent = Agent {
        id: AgentId::from_uuid(UuidV7.new_uuid()),
        display_name: display_name.unwrap_or_else(|| username.as_str().to_owned()),
        username,
        password_hash: kefu_server::auth::hash_password(password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?,
        role,
        shops,
        skill_groups: Vec::new(),
        max_concurrent: max_concurrent.clamp(1, 100),
        status: AgentStatus::Offline,
        created_at: kefu_core::clock::Clock::now(&SystemClock),
        disabled: false,
    };
    store.create_agent(&agent).await?;
    Ok(agent)
}

async fn agent_named(store: &Arc<dyn Store>, username: &str) -> anyhow::Result<Agent> {
    store.agent_by_username(username).await?.with_context(|| format!("no agent {username:?}"))
}

/// `kefu user password`: a new password; every session of the account ends.
pub async fn set_password(store: &Arc<dyn Store>, username: &str, password: &str) -> anyhow::Result<u32> {
    if password.chars().count() < 8 {
        bail!("the password needs at least 8 characters");
    }
    let mut agent = agent_named(store, username).await?;
    agent.password_hash = kefu_server::auth::hash_password(password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    store.update_agent(&agent).await?;
    Ok(store.revoke_sessions(agent.id, None).await?)
}

/// `kefu user disable|enable`; answers how many conversations went back to the queue.
pub async fn set_disabled(store: &Arc<dyn Store>, username: &str, disabled: bool) -> anyhow::Result<usize> {
    let agent = agent_named(store, username).await?;
    if disabled {
        Ok(store.disable_agent(agent.id, kefu_core::clock::Clock::now(&SystemClock)).await?.len())
    } else {
        store.enable_agent(agent.id).await?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cli_resets_a_password_and_disables_an_account() {
        let d = dir("users");
        let backend =
            kefu_store::Backend::Sqlite { path: d.join("kefu.db"), durability: kefu_store::Durability::Normal };
        let store = kefu_store::open(&backend).await.expect("open");
        let agent = add_user(&store, "ops-li", "first-password", "admin", &[], 5, None).await.expect("add");
        let session = kefu_core::agent::AgentSession {
            token_hash: [3; 32],
            agent_id: agent.id,
            csrf_token: "c".into(),
            created_at: kefu_core::clock::Timestamp(0),
            expires_at: kefu_core::clock::Timestamp(i64::MAX / 2),
        };
        store.create_session(&session).await.expect("session");
        assert!(set_password(&store, "ops-li", "short").await.is_err());
        assert_eq!(set_password(&store, "ops-li", "second-password").await.expect("password"), 1);
        let now = store.agent(agent.id).await.expect("read").expect("agent");
        assert!(kefu_server::auth::verify_password("second-password", &now.password_hash));
        assert!(!kefu_server::auth::verify_password("first-password", &now.password_hash));
        assert_eq!(set_disabled(&store, "ops-li", true).await.expect("disable"), 0);
        assert!(store.agent(agent.id).await.expect("read").expect("agent").disabled);
        set_disabled(&store, "ops-li", false).await.expect("enable");
        assert!(!store.agent(agent.id).await.expect("read").expect("agent").disabled);
        assert!(set_disabled(&store, "nobody", true).await.is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("kefu-models-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn a_shops_model_is_loaded_by_its_slug() {
        let d = dir("good");
        std::fs::write(d.join("tea-shop.model"), kefu_nlu::builtin::intent_model_bytes()).expect("write");
        std::fs::write(d.join("notes.txt"), "not a model, not read").expect("write");
        let models = load_intent_models(&d).expect("load");
        assert_eq!(models.keys().collect::<Vec<_>>(), ["tea-shop"]);
        assert!(load_intent_models(&d.join("absent")).expect("no directory is fine").is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_broken_or_foreign_model_stops_the_start_with_its_name() {
        let d = dir("bad");
        std::fs::write(d.join("tea-shop.model"), b"not a model").expect("write");
        let err = format!("{:#}", load_intent_models(&d).expect_err("refused"));
        assert!(err.contains("tea-shop.model"), "{err}");

        let d = dir("foreign");
        let examples: Vec<kefu_nlu::Example> =
            [("办个会员", "membership"), ("开会员", "membership"), ("快递呢", "logistics")]
                .iter()
                .map(|(t, l)| kefu_nlu::Example { text: (*t).into(), label: (*l).into(), group: None })
                .collect();
        let config = kefu_nlu::TrainConfig { min_df: 1, ..kefu_nlu::TrainConfig::default() };
        let model = kefu_nlu::Classifier::train(&examples, &config, &|_, _, _| {}).expect("train");
        std::fs::write(d.join("tea-shop.model"), model.to_bytes()).expect("write");
        let err = format!("{:#}", load_intent_models(&d).expect_err("refused"));
        assert!(err.contains("tea-shop.model") && err.contains("membership"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
