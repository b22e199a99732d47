//! `webrtc-gateway`: the command line (serve, check-config, outbox status), configuration and logging.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gateway_config::{Config, LogFormat};

#[derive(Parser)]
#[command(
    name = "webrtc-gateway",
    version,
    about = "WebRTC <-> SIP gateway for Asterisk"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// TOML configuration file; without it the embedded defaults are used.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check a configuration file and print every problem found.
    CheckConfig {
        /// TOML configuration file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Inspect the outbox of reports to Odoo.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Print the backlog, the delivery counters and the oldest pending event's age.
    Status {
        /// TOML configuration file (its `[storage] data_dir` locates the outbox).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// `outbox status`: reads the outbox under `[storage] data_dir` without starting the gateway.
fn outbox_status(config: Option<&PathBuf>) -> ExitCode {
    let config = match load(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The CLI's one wall-clock read: the status core is told the time.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    match gateway::report::outbox_status(&config.storage.data_dir, now) {
        Ok(status) => {
            print!("{status}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("webrtc-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: Option<&PathBuf>) -> Result<Config, ExitCode> {
    Config::load(path.map(PathBuf::as_path), std::env::vars()).map_err(|errors| {
        eprintln!("configuration is invalid:");
        for e in &errors.errors {
            eprintln!("  {}: {}", e.key, e.message);
        }
        ExitCode::from(2)
    })
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match load(config.as_ref()) {
            Ok(_) => {
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Outbox {
            command: OutboxCommand::Status { config },
        } => outbox_status(config.as_ref()),
        Command::Serve { config } => {
            let config = match load(config.as_ref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing(&config);
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(gateway::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("webrtc-gateway: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
