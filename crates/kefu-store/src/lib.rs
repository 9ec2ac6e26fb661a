//! kefu-store: the two implementations of `kefu_core::store::Store`.
//!
//! [`sqlite::SqliteStore`] is the embedded default (WAL, one writer thread that
//! commits concurrent writes as a group, a pool of readers);
//! [`postgres::PostgresStore`] is for deployments that outgrow one machine.
//! Each has hand-written SQL and its own numbered migrations under
//! `migrations/<backend>/`, with the same file names in both (a test checks).
//!
//! Nothing above this crate names SQL; this crate knows nothing of HTTP.
//! Start reading at [`open`], then `sqlite.rs`.

use std::path::Path;
use std::sync::Arc;

use kefu_core::store::{Store, StoreError};

mod codec;
pub mod postgres;
pub mod sqlite;

/// Where the data lives: a SQLite file in a data directory, or a PostgreSQL URL.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite { path: std::path::PathBuf, durability: Durability },
    Postgres { url: String, schema: Option<String>, pool_size: usize },
}

/// How hard a SQLite commit waits for the disk. `Full` survives power loss;
/// `Normal` survives a killed process but may lose the last commits on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Full,
    Normal,
}

/// Opens (creating and migrating if needed) the store a backend names.
pub async fn open(backend: &Backend) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match backend {
        Backend::Sqlite { path, durability } => Arc::new(sqlite::SqliteStore::open(path, *durability).await?),
        Backend::Postgres { url, schema, pool_size } => {
            Arc::new(postgres::PostgresStore::connect(url, schema.as_deref(), *pool_size).await?)
        }
    })
}

/// The migrations of one backend, in order: (number, name, SQL).
pub type Migration = (i64, &'static str, &'static str);

pub const SQLITE_MIGRATIONS: &[Migration] = &[
    (1, "0001_init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "0002_bot", include_str!("../migrations/sqlite/0002_bot.sql")),
    (3, "0003_knowledge", include_str!("../migrations/sqlite/0003_knowledge.sql")),
    (4, "0004_list_indexes", include_str!("../migrations/sqlite/0004_list_indexes.sql")),
    (5, "0005_shop_rules", include_str!("../migrations/sqlite/0005_shop_rules.sql")),
    (6, "0006_rules_history", include_str!("../migrations/sqlite/0006_rules_history.sql")),
    (7, "0007_bot_state_version", include_str!("../migrations/sqlite/0007_bot_state_version.sql")),
    (8, "0008_quick_phrases", include_str!("../migrations/sqlite/0008_quick_phrases.sql")),
    (9, "0009_attachments", include_str!("../migrations/sqlite/0009_attachments.sql")),
    (10, "0010_request_handling", include_str!("../migrations/sqlite/0010_request_handling.sql")),
    (11, "0011_upload_quota", include_str!("../migrations/sqlite/0011_upload_quota.sql")),
    (12, "0012_attachment_age", include_str!("../migrations/sqlite/0012_attachment_age.sql")),
    (13, "0013_notify", include_str!("../migrations/sqlite/0013_notify.sql")),
    (14, "0014_agent_disabled", include_str!("../migrations/sqlite/0014_agent_disabled.sql")),
    (15, "0015_notify_events", include_str!("../migrations/sqlite/0015_notify_events.sql")),
    (16, "0016_upload_days", include_str!("../migrations/sqlite/0016_upload_days.sql")),
    (17, "0017_deliveries_due_by_shop", include_str!("../migrations/sqlite/0017_deliveries_due_by_shop.sql")),
    (18, "0018_agent_seen", include_str!("../migrations/sqlite/0018_agent_seen.sql")),
    (19, "0019_responses", include_str!("../migrations/sqlite/0019_responses.sql")),
    (20, "0020_answers_on_messages", include_str!("../migrations/sqlite/0020_answers_on_messages.sql")),
    (21, "0021_offers", include_str!("../migrations/sqlite/0021_offers.sql")),
];

/// The SQLite image database's own migrations (`kefu-images.db`; on
/// PostgreSQL images stay in the one database, where writers do not queue).
pub const SQLITE_IMAGE_MIGRATIONS: &[Migration] = &[
    (1, "0001_images", include_str!("../migrations/sqlite-images/0001_images.sql")),
    (2, "0002_upload_days", include_str!("../migrations/sqlite-images/0002_upload_days.sql")),
];

pub const POSTGRES_MIGRATIONS: &[Migration] = &[
    (1, "0001_init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "0002_bot", include_str!("../migrations/postgres/0002_bot.sql")),
    (3, "0003_knowledge", include_str!("../migrations/postgres/0003_knowledge.sql")),
    (4, "0004_list_indexes", include_str!("../migrations/postgres/0004_list_indexes.sql")),
    (5, "0005_shop_rules", include_str!("../migrations/postgres/0005_shop_rules.sql")),
    (6, "0006_rules_history", include_str!("../migrations/postgres/0006_rules_history.sql")),
    (7, "0007_bot_state_version", include_str!("../migrations/postgres/0007_bot_state_version.sql")),
    (8, "0008_quick_phrases", include_str!("../migrations/postgres/0008_quick_phrases.sql")),
    (9, "0009_attachments", include_str!("../migrations/postgres/0009_attachments.sql")),
    (10, "0010_request_handling", include_str!("../migrations/postgres/0010_request_handling.sql")),
    (11, "0011_upload_quota", include_str!("../migrations/postgres/0011_upload_quota.sql")),
    (12, "0012_attachment_age", include_str!("../migrations/postgres/0012_attachment_age.sql")),
    (13, "0013_notify", include_str!("../migrations/postgres/0013_notify.sql")),
    (14, "0014_agent_disabled", include_str!("../migrations/postgres/0014_agent_disabled.sql")),
    (15, "0015_notify_events", include_str!("../migrations/postgres/0015_notify_events.sql")),
    (16, "0016_upload_days", include_str!("../migrations/postgres/0016_upload_days.sql")),
    (17, "0017_deliveries_due_by_shop", include_str!("../migrations/postgres/0017_deliveries_due_by_shop.sql")),
    (18, "0018_agent_seen", include_str!("../migrations/postgres/0018_agent_seen.sql")),
    (19, "0019_responses", include_str!("../migrations/postgres/0019_responses.sql")),
    (20, "0020_answers_on_messages", include_str!("../migrations/postgres/0020_answers_on_messages.sql")),
    (21, "0021_offers", include_str!("../migrations/postgres/0021_offers.sql")),
];

/// The conversation list's order: who has waited longest first, then the
/// rest by priority and recency.
pub(crate) const OPEN_ORDER: &str = "c.waiting_since IS NULL, c.waiting_since, c.priority DESC, c.updated_at DESC";
/// The history tab's order: the most recently closed first.
pub(crate) const CLOSED_ORDER: &str = "c.closed_at DESC, c.updated_at DESC";

/// The default SQLite file inside a data directory.
pub fn sqlite_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("kefu.db")
}

/// The image database beside a SQLite database: `kefu.db` → `kefu-images.db`.
pub fn sqlite_images_path(db: &Path) -> std::path::PathBuf {
    let stem = db.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "kefu".into());
    db.with_file_name(format!("{stem}-images.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &[Migration]| m.iter().map(|(n, name, _)| (*n, *name)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE_MIGRATIONS), names(POSTGRES_MIGRATIONS));
        let on_disk = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                .expect("migrations dir")
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().trim_end_matches(".sql").to_owned())
                .collect();
            v.sort();
            v
        };
        let listed: Vec<String> = SQLITE_MIGRATIONS.iter().map(|m| m.1.to_owned()).collect();
        assert_eq!(on_disk("migrations/sqlite"), listed, "every migration file is listed");
        assert_eq!(on_disk("migrations/postgres"), listed);
    }
}
