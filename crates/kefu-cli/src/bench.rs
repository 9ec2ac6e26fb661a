pub async fn run(_c: BenchCommand) -> anyhow::Result<()> { Ok(()) }
#[derive(clap::Subcommand)] pub enum BenchCommand { Chat }
