//! The `kefu` binary: reads configuration, wires the store, bus and server
//! together, and runs subcommands. The only crate that uses `anyhow`.

mod app;
mod bench;
mod bot;
mod config;
mod demo;
mod import;
mod nlu;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use config::{Config, Overrides};

#[derive(Parser)]
#[command(name = "kefu", version, about = "AI-assisted customer service for e-commerce shops")]
struct Cli {
    /// Configuration file (default: ./kefu.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Directory of the embedded SQLite database.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL; when set, used instead of SQLite.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Create (once) a demo store with shops, customers, orders and agents, and serve it.
    Demo {
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Seed and exit without serving.
        #[arg(long)]
        seed_only: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage agent accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import merchant data from JSONL or CSV: all rows or none.
    Import {
        /// customers, products, orders, shipments or knowledge
        kind: String,
        file: PathBuf,
        /// The shop's slug.
        #[arg(long)]
        shop: String,
        /// jsonl or csv (default: from the file name).
        #[arg(long)]
        format: Option<String>,
    },
    /// A consistent copy of the SQLite database while it serves.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// A shop's bot rules file: print the defaults, or check a file.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// The self-service bot: play dialogue stories.
    Bot {
        #[command(subcommand)]
        command: bot::BotCommand,
    },
    /// Language understanding: train, evaluate and run text classifiers.
    Nlu {
        #[command(subcommand)]
        command: nlu::NluCommand,
    },
    /// Benchmarks (not tests): see docs/PERFORMANCE.md.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an agent.
    Add {
        #[arg(long)]
        username: String,
        /// Read from KEFU_PASSWORD when omitted.
        #[arg(long)]
        password: Option<String>,
        #[arg(long, default_value = "agent")]
        role: String,
        /// Shop slugs the agent works for (repeatable).
        #[arg(long = "shop")]
        shops: Vec<String>,
        #[arg(long, default_value_t = 5)]
        max_concurrent: u32,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Set an agent's password (the admin who forgot theirs); ends the account's sessions.
    Password {
        #[arg(long)]
        username: String,
        /// Read from KEFU_PASSWORD when omitted.
        #[arg(long)]
        password: Option<String>,
    },
    /// Disable an account (a person who left): sessions ended, conversations back in the queue.
    /// Sockets open on a running server close at their next session check (within a minute); the
    /// admin page closes them at once.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Print an annotated rules file with every default (save as <data_dir>/rules/<shop>.toml).
    PrintDefault,
    /// Check a rules file; exits non-zero with the key or line of the first mistake.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print an annotated kefu.toml with every default.
    PrintDefault,
    /// Print the effective configuration (secrets redacted).
    Show,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let overrides = Overrides {
        config_file: cli.config.clone(),
        listen: match &cli.command {
            Command::Serve { listen } | Command::Demo { listen, .. } => *listen,
            _ => None,
        },
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    if let Command::Config { command: ConfigCommand::PrintDefault } = cli.command {
        print!("{}", config::DEFAULT_FILE);
        return Ok(());
    }
    if let Command::Rules { command } = &cli.command {
        return match command {
            RulesCommand::PrintDefault => {
                print!("{}", kefu_bot::rules::DEFAULT_FILE);
                Ok(())
            }
            RulesCommand::Check { file } => {
                let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
                kefu_bot::rules::ShopRules::parse(&text)?;
                println!("{}: ok", file.display());
                Ok(())
            }
        };
    }
    if let Command::Bot { command } = cli.command {
        return bot::run(command);
    }
    if let Command::Nlu { command } = cli.command {
        return nlu::run(command);
    }
    let config = Config::load(&overrides)?;
    app::init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => app::serve(&config).await,
            Command::Demo { seed_only, .. } => {
                let store = app::open_store(&config).await?;
                demo::seed(&store).await?;
                if seed_only {
                    return Ok(());
                }
                let shopper = demo::shopper_link(&store, &config).await?;
                drop(store);
                demo::print_welcome(&config, shopper.as_deref());
                app::serve(&config).await
            }
            Command::Migrate => {
                app::open_store(&config).await?;
                println!("migrations applied");
                Ok(())
            }
            Command::User {
                command: UserCommand::Add { username, password, role, shops, max_concurrent, display_name },
            } => {
                let password = match password.or_else(|| std::env::var("KEFU_PASSWORD").ok()) {
                    Some(p) => p,
                    None => bail!("give --password or set KEFU_PASSWORD"),
                };
                let store = app::open_store(&config).await?;
                app::add_user(&store, &username, &password, &role, &shops, max_concurrent, display_name).await?;
                println!("agent {username} created");
                Ok(())
            }
            Command::User { command: UserCommand::Password { username, password } } => {
                let password = match password.or_else(|| std::env::var("KEFU_PASSWORD").ok()) {
                    Some(p) => p,
                    None => bail!("give --password or set KEFU_PASSWORD"),
                };
                let store = app::open_store(&config).await?;
                let ended = app::set_password(&store, &username, &password).await?;
                println!("password of {username} changed; {ended} session(s) ended");
                Ok(())
            }
            Command::User { command: UserCommand::Disable { username } } => {
                let store = app::open_store(&config).await?;
                let released = app::set_disabled(&store, &username, true).await?;
                println!("{username} disabled; {released} conversation(s) back in the queue");
                Ok(())
            }
            Command::User { command: UserCommand::Enable { username } } => {
                let store = app::open_store(&config).await?;
                app::set_disabled(&store, &username, false).await?;
                println!("{username} enabled");
                Ok(())
            }
            Command::Import { kind, file, shop, format } => {
                let store = app::open_store(&config).await?;
                import::run(&store, &kind, &file, &shop, format.as_deref()).await
            }
            Command::Backup { out } => {
                if !config.database_url.is_empty() {
                    bail!("kefu backup copies the SQLite database; for PostgreSQL use pg_dump");
                }
                let store = kefu_store::sqlite::SqliteStore::open(
                    &kefu_store::sqlite_path(&config.data_dir),
                    kefu_store::Durability::Full,
                )
                .await?;
                store.backup_to(&out).await?;
                println!(
                    "backup written to {} (images: {})",
                    out.display(),
                    kefu_store::sqlite_images_path(&out).display()
                );
                Ok(())
            }
            Command::Config { command: ConfigCommand::Show } => {
                println!("{config:#?}");
                Ok(())
            }
            Command::Config { command: ConfigCommand::PrintDefault } => Ok(()),
            Command::Nlu { .. } | Command::Rules { .. } | Command::Bot { .. } => Ok(()),
            Command::Bench { command } => bench::run(command).await,
        }
    })
}
