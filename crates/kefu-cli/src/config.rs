//! Configuration: defaults → `kefu.toml` → `KEFU_*` environment → flags,
//! validated once into [`Config`] and passed explicitly (no globals).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The file `kefu config print-default` prints, with every default.
pub const DEFAULT_FILE: &str = r#"# kefu.toml: every setting with its default. Environment variables
# KEFU_<NAME> (upper case, e.g. KEFU_LISTEN, KEFU_DATABASE_URL) override the
# file; command-line flags override both.

# Address the HTTP/WebSocket server listens on.
listen = "127.0.0.1:8080"

# Where the embedded SQLite database (kefu.db) and backups live.
data_dir = "./kefu-data"

# Leave empty for SQLite; set to postgres://user@host/db to use PostgreSQL.
database_url = ""

# PostgreSQL connections this node keeps open. Every store call in flight
# holds one, so this caps the node's concurrent reads and writes; all nodes'
# pools together must fit the server's max_connections.
database_pool_size = 16

# SQLite commit durability: "full" survives power loss, "normal" only a crash.
durability = "full"

# Log format: "text" or "json".
log_format = "text"

# Route new conversations straight to the least-loaded online agent
# (otherwise they wait in the queue for an agent to accept). A shop's rules
# may choose otherwise for that shop ([routing] mode = "push" or "pull").
auto_assign = false

# When routing: an agent accepts (or answers) a conversation routed to
# them within this many seconds, or it goes to someone else and they are set
# 挂起 (whoever does not answer offers is not at the desk). 0: routed
# conversations are theirs at once, with no accepting. A shop's rules may
# set their own ([routing] offer_seconds).
offer_seconds = 30

# Greet new conversations with the self-service bot: it answers from the
# shopper's orders under each shop's rules (<data_dir>/rules/<shop>.toml,
# see `kefu rules print-default`) and hands over to the queue when a person
# is needed.
bot = true

# A bot conversation nobody writes in for this many minutes is closed.
bot_idle_minutes = 30

# Images sent in conversations are deleted this many days after they were
# sent (the messages stay and say the image has expired); 0 keeps them.
attachment_days = 180

# Optional: an OpenAI-compatible chat endpoint (Ollama, vLLM, Xinference…)
# that rephrases knowledge-base answers and writes hand-off summaries. Empty
# is off, and everything works without it; on a timeout or a bad answer the
# bot uses its own text. http:// or https:// (certificates checked against
# the Mozilla roots built into kefu, and tls_ca_file's).
llm_url = ""                 # e.g. "http://127.0.0.1:11434/v1"
llm_model = ""               # e.g. "qwen2.5:7b"
llm_api_key = ""             # sent as a Bearer token when set
llm_timeout_ms = 4000

# WebSocket frames larger than this get the error code frame_too_large.
max_frame_bytes = 16384

# Per-connection frame rate limit: burst, then this many per second.
rate_burst = 30
rate_per_second = 15

# Agent sessions last this long.
session_hours = 12

# Send cookies with the Secure flag (set when served over HTTPS).
secure_cookies = false

# Behind a reverse proxy (nginx, a cloud load balancer): the header it puts
# the client's address in, e.g. "x-forwarded-for" (its last entry is read:
# the address the proxy saw). Set it only when kefu is reachable through the
# proxy alone: a client reaching kefu directly could write the header itself.
# Empty: the TCP peer. The limits below read it.
client_ip_header = ""

# New anonymous chat visitors one address may start a minute, and images
# shoppers behind one address may upload a minute (each also at once), on
# top of the per-shopper limits. Generous, because shoppers on a carrier NAT
# share an address. 0: no limit.
visitors_per_minute_per_ip = 30
uploads_per_minute_per_ip = 30

# An agent marked 接待中 or 挂起 whose workspace has been gone this many
# seconds (the browser closed without going 离线) is set offline, and a
# shopper of an offline agent who has waited as long goes back to the queue.
presence_timeout_seconds = 180

# A PEM file of CA certificates trusted for outgoing https:// (the model
# endpoint, shops' notification endpoints) besides the Mozilla roots built
# into kefu: a merchant's own CA inside their network. Empty: none.
tls_ca_file = ""

# Images all of a shop's shoppers may upload in a day (China time), in MiB:
# bounds the disk however many visitors a flood makes up. Past it, shoppers
# are told to try again tomorrow; agents' images do not count. 0: no limit.
shop_upload_mib_per_day = 10240
"#;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_pool_size: usize,
    pub durability: String,
    pub log_format: String,
    pub auto_assign: bool,
    pub offer_seconds: u64,
    pub bot: bool,
    pub bot_idle_minutes: i64,
    pub attachment_days: u32,
    pub llm_url: String,
    pub llm_model: String,
    pub llm_api_key: String,
    pub llm_timeout_ms: u64,
    pub max_frame_bytes: usize,
    pub rate_burst: u32,
    pub rate_per_second: u32,
    pub session_hours: i64,
    pub secure_cookies: bool,
    pub client_ip_header: String,
    pub visitors_per_minute_per_ip: u32,
    pub uploads_per_minute_per_ip: u32,
    pub shop_upload_mib_per_day: u64,
    pub tls_ca_file: String,
    pub presence_timeout_seconds: u64,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_pool_size", &self.database_pool_size)
            .field("durability", &self.durability)
            .field("log_format", &self.log_format)
            .field("auto_assign", &self.auto_assign)
            .field("offer_seconds", &self.offer_seconds)
            .field("bot", &self.bot)
            .field("bot_idle_minutes", &self.bot_idle_minutes)
            .field("attachment_days", &self.attachment_days)
            .field("llm_url", &self.llm_url)
            .field("llm_model", &self.llm_model)
            .field("llm_api_key", &if self.llm_api_key.is_empty() { "" } else { "***" })
            .field("llm_timeout_ms", &self.llm_timeout_ms)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .field("rate_burst", &self.rate_burst)
            .field("rate_per_second", &self.rate_per_second)
            .field("session_hours", &self.session_hours)
            .field("secure_cookies", &self.secure_cookies)
            .field("client_ip_header", &self.client_ip_header)
            .field("visitors_per_minute_per_ip", &self.visitors_per_minute_per_ip)
            .field("uploads_per_minute_per_ip", &self.uploads_per_minute_per_ip)
            .field("shop_upload_mib_per_day", &self.shop_upload_mib_per_day)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("presence_timeout_seconds", &self.presence_timeout_seconds)
            .finish()
    }
}

/// Hides a password in a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Command-line overrides; `None` leaves the lower layers' value.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

impl Config {
    pub fn load(over: &Overrides) -> anyhow::Result<Config> {
        let mut table: toml::Table = toml::from_str(DEFAULT_FILE).context("invariant: the default file parses")?;
        let file =
            over.config_file.clone().or_else(|| Path::new("kefu.toml").exists().then(|| PathBuf::from("kefu.toml")));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let user: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            for (k, v) in user {
                if !table.contains_key(&k) {
                    bail!("{}: unknown setting {k:?} (see `kefu config print-default`)", path.display());
                }
                table.insert(k, v);
            }
        }
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            let var = format!("KEFU_{}", key.to_ascii_uppercase());
            if let Ok(value) = std::env::var(&var) {
                let typed = match table.get(&key) {
                    Some(toml::Value::Boolean(_)) => {
                        toml::Value::Boolean(matches!(value.as_str(), "1" | "true" | "yes" | "on"))
                    }
                    Some(toml::Value::Integer(_)) => {
                        toml::Value::Integer(value.parse().with_context(|| format!("{var} must be a whole number"))?)
                    }
                    _ => toml::Value::String(value),
                };
                table.insert(key, typed);
            }
        }
        if let Some(v) = over.listen {
            table.insert("listen".into(), toml::Value::String(v.to_string()));
        }
        if let Some(v) = &over.data_dir {
            table.insert("data_dir".into(), toml::Value::String(v.display().to_string()));
        }
        if let Some(v) = &over.database_url {
            table.insert("database_url".into(), toml::Value::String(v.clone()));
        }
        let config: Config = table.try_into_config()?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !matches!(self.durability.as_str(), "full" | "normal") {
            bail!("durability must be \"full\" or \"normal\"");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be \"text\" or \"json\"");
        }
        if !(256..=1 << 20).contains(&self.max_frame_bytes) {
            bail!("max_frame_bytes must be between 256 and 1048576");
        }
        // Above a minute: a workspace says it is there every 30 to 60 seconds.
        if !(90..=86_400).contains(&self.presence_timeout_seconds) {
            bail!("presence_timeout_seconds must be between 90 and 86400");
        }
        // Under 10 s nobody switching from another conversation makes it.
        if !kefu_core::routing::Routing::offer_seconds_allowed(self.offer_seconds) {
            bail!("offer_seconds must be 0 (no offers) or between 10 and 600");
        }
        if self.rate_burst == 0 || self.rate_per_second == 0 {
            bail!("rate_burst and rate_per_second must be positive");
        }
        if !(1..=1000).contains(&self.database_pool_size) {
            bail!("database_pool_size must be between 1 and 1000");
        }
        if !self.database_url.is_empty() && !self.database_url.starts_with("postgres") {
            bail!("database_url must be a postgres:// URL (or empty for SQLite)");
        }
        let header = self.client_ip_header.trim();
        if !header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            bail!("client_ip_header must be a header name such as \"x-forwarded-for\" (or empty)");
        }
        self.llm().map_err(|e| anyhow::anyhow!(e))?;
        self.http_client()?;
        Ok(())
    }

    /// What outgoing HTTPS trusts: the built-in roots, and `tls_ca_file`'s.
    pub fn http_client(&self) -> anyhow::Result<kefu_server::http_out::Client> {
        let path = self.tls_ca_file.trim();
        if path.is_empty() {
            return Ok(kefu_server::http_out::Client::default());
        }
        let pem = std::fs::read(path).with_context(|| format!("tls_ca_file: reading {path}"))?;
        kefu_server::http_out::Client::with_extra_roots(&pem).with_context(|| format!("tls_ca_file {path}"))
    }

    /// The model endpoint, when one is configured.
    pub fn llm(&self) -> Result<Option<kefu_server::llm::LlmConfig>, String> {
        if self.llm_url.trim().is_empty() {
            return Ok(None);
        }
        kefu_server::llm::LlmConfig::parse(&self.llm_url, &self.llm_model, &self.llm_api_key, self.llm_timeout_ms)
            .map(Some)
    }

    pub fn backend(&self) -> kefu_store::Backend {
        if self.database_url.is_empty() {
            kefu_store::Backend::Sqlite {
                path: kefu_store::sqlite_path(&self.data_dir),
                durability: if self.durability == "normal" {
                    kefu_store::Durability::Normal
                } else {
                    kefu_store::Durability::Full
                },
            }
        } else {
            kefu_store::Backend::Postgres {
                url: self.database_url.clone(),
                schema: None,
                pool_size: self.database_pool_size,
            }
        }
    }

    pub fn server(&self) -> kefu_server::ServerConfig {
        kefu_server::ServerConfig {
            max_frame_bytes: self.max_frame_bytes,
            rate_burst: self.rate_burst,
            rate_per_second: self.rate_per_second,
            session_hours: self.session_hours,
            secure_cookies: self.secure_cookies,
            bot_idle_minutes: self.bot_idle_minutes,
            attachment_days: self.attachment_days,
            llm: self.llm().ok().flatten(),
            client_ip_header: Some(self.client_ip_header.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()),
            visitors_per_minute_per_ip: self.visitors_per_minute_per_ip,
            uploads_per_minute_per_ip: self.uploads_per_minute_per_ip,
            presence_timeout: std::time::Duration::from_secs(self.presence_timeout_seconds),
            ..kefu_server::ServerConfig::default()
        }
    }

    /// How shops route unless their rules say otherwise. The offer's time
    /// is kept when pulling: a shop whose rules push takes it from here.
    pub fn routing(&self) -> kefu_core::routing::Routing {
        kefu_core::routing::Routing {
            auto_assign: self.auto_assign,
            offer_ms: kefu_core::routing::Routing::offer_ms_of(self.offer_seconds),
        }
    }

    /// What shoppers may upload, each and per shop.
    pub fn uploads(&self) -> kefu_core::attachment::Quota {
        kefu_core::attachment::Quota {
            shop_bytes_per_day: self.shop_upload_mib_per_day.saturating_mul(1024 * 1024),
            ..kefu_core::attachment::Quota::default()
        }
    }
}

trait IntoConfig {
    fn try_into_config(self) -> anyhow::Result<Config>;
}

impl IntoConfig for toml::Table {
    fn try_into_config(self) -> anyhow::Result<Config> {
        toml::Value::Table(self).try_into().context("invalid configuration")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_urls_are_redacted() {
        let c = Config::load(&Overrides { config_file: None, ..Default::default() }).expect("defaults");
        assert_eq!(c.max_frame_bytes, 16384);
        assert_eq!(redact_url("postgres://kefu:hunter2@db/kefu"), "postgres://kefu:***@db/kefu");
        assert!(!format!("{:?}", Config { database_url: "postgres://a:pw@h/d".into(), ..c.clone() }).contains("pw"));
        assert_eq!(c.llm(), Ok(None), "the model endpoint is off by default");
        assert_eq!(c.server().client_ip_header, None);
        let proxied = Config { client_ip_header: " X-Forwarded-For ".into(), ..c.clone() };
        assert!(proxied.validate().is_ok());
        assert_eq!(proxied.server().client_ip_header.as_deref(), Some("x-forwarded-for"));
        assert!(Config { client_ip_header: "x forwarded".into(), ..c.clone() }.validate().is_err());
    }

    #[test]
    fn the_model_endpoint_is_checked_and_its_key_hidden() {
        let c = Config::load(&Overrides::default()).expect("defaults");
        let on = Config {
            llm_url: "http://127.0.0.1:11434/v1".into(),
            llm_model: "qwen2.5".into(),
            llm_api_key: "sk-secret".into(),
            ..c.clone()
        };
        assert!(on.validate().is_ok() && on.llm().expect("valid").is_some());
        assert!(on.server().llm.is_some());
        assert!(!format!("{on:?}").contains("sk-secret"));
        let https = Config { llm_url: "https://api.example.com/v1".into(), ..on.clone() };
        assert!(https.validate().is_ok(), "a hosted API over HTTPS");
        assert!(Config { llm_url: "ftp://h/v1".into(), ..on.clone() }.validate().is_err());
        let no_model = Config { llm_model: String::new(), ..on };
        assert!(no_model.validate().is_err());
    }

    #[test]
    fn offers_only_under_auto_assign_and_never_too_short_to_take() {
        let c = Config::load(&Overrides::default()).expect("defaults");
        let now = kefu_core::clock::Timestamp(1_000);
        assert_eq!(c.routing().offer_until(now), None, "no auto-assign, no offers");
        assert_eq!(c.routing().offer_ms, Some(30_000), "kept for a shop whose rules push");
        let auto = Config { auto_assign: true, ..c.clone() };
        assert_eq!(auto.routing().offer_until(now), Some(kefu_core::clock::Timestamp(31_000)));
        assert_eq!(Config { offer_seconds: 0, ..auto.clone() }.routing().offer_until(now), None);
        assert!(Config { offer_seconds: 5, ..auto.clone() }.validate().is_err());
        assert!(Config { offer_seconds: 0, ..auto }.validate().is_ok());
    }

    #[test]
    fn the_presence_timeout_is_read_and_kept_above_the_heartbeat() {
        let c = Config::load(&Overrides::default()).expect("defaults");
        assert_eq!(c.server().presence_timeout, std::time::Duration::from_secs(180));
        let longer = Config { presence_timeout_seconds: 600, ..c.clone() };
        assert!(longer.validate().is_ok());
        assert_eq!(longer.server().presence_timeout, std::time::Duration::from_secs(600));
        assert!(Config { presence_timeout_seconds: 30, ..c }.validate().is_err(), "under the heartbeat");
    }

    #[test]
    fn an_extra_ca_file_must_hold_certificates() {
        let c = Config::load(&Overrides::default()).expect("defaults");
        let dir = std::env::temp_dir().join(format!("kefu-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "no certificate here").expect("write");
        let missing = Config { tls_ca_file: dir.join("none.pem").display().to_string(), ..c.clone() };
        assert!(missing.validate().expect_err("missing").to_string().contains("tls_ca_file"));
        let not_pem = Config { tls_ca_file: bad.display().to_string(), ..c.clone() };
        assert!(not_pem.validate().expect_err("not PEM").to_string().contains("tls_ca_file"));
        let good = dir.join("ca.pem");
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../kefu-server/tests/fixtures/tls/ca.pem"), &good)
            .expect("copy");
        assert!(Config { tls_ca_file: good.display().to_string(), ..c }.validate().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
