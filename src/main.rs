//! `webrtc-gateway`: the command line (serve, check-config, doctor, outbox status, and the AMI
//! commands ami, events, originate), configuration and logging.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gateway_config::Config;

mod logging;

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
    /// Check a deployment: ports, Asterisk, AMI, Odoo, STUN, TURN, TLS; exit code = failures.
    Doctor {
        /// TOML configuration file; without it the embedded defaults are used.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Inspect the outbox of reports to Odoo.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Run an AMI action and print the reply, e.g. `webrtc-gateway ami '{"Action":"Ping"}'`.
    Ami {
        /// The action as a JSON object; an array value repeats its key.
        action: String,
        /// The `[[ami.servers]]` name (default: the first).
        #[arg(long)]
        server: Option<String>,
        /// Print YAML-like text instead of JSON.
        #[arg(long)]
        yaml: bool,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Print AMI events as they arrive, until interrupted (Ctrl-C).
    Events {
        /// Only events of this `[[ami.servers]]` name (default: every server).
        #[arg(long)]
        server: Option<String>,
        /// Only events whose header matches: `Key=Value` or `Key=re:<regex>`; repeat to combine.
        #[arg(long = "filter", value_name = "KEY=VALUE")]
        filters: Vec<String>,
        /// One pretty JSON block per event instead of one JSON line.
        #[arg(long)]
        pretty: bool,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Click-to-call: ring the user's devices, then dial the number.
    Originate {
        /// The gateway user to ring first.
        #[arg(long)]
        user: String,
        /// The number Asterisk dials once the user answers.
        #[arg(long)]
        number: String,
        /// The `[[ami.servers]]` name (default: the first).
        #[arg(long)]
        server: Option<String>,
        /// CallerID of the call, e.g. '"Odoo" <5000>'.
        #[arg(long)]
        caller_id: Option<String>,
        #[command(flatten)]
        conn: ConnArgs,
    },
}

/// How the AMI commands reach Asterisk.
#[derive(Args)]
struct ConnArgs {
    /// TOML configuration file (its http.listen is the default --url; --direct uses its ami.servers).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The running gateway, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: Option<String>,
    /// One of the gateway's http.api_keys (default: the WEBRTC_GATEWAY_API_KEY environment variable).
    #[arg(long)]
    api_key: Option<String>,
    /// Log in to AMI directly with the configuration's [[ami.servers]] instead of using the gateway.
    #[arg(long)]
    direct: bool,
}

/// The AMI subcommands.
enum AmiCommand {
    Ami {
        action: String,
        server: Option<String>,
        yaml: bool,
    },
    Events {
        server: Option<String>,
        filters: Vec<String>,
        pretty: bool,
    },
    Originate {
        user: String,
        number: String,
        server: Option<String>,
        caller_id: Option<String>,
    },
}

/// Runs an AMI subcommand to completion (events: until the stream ends or Ctrl-C).
fn ami_command(command: AmiCommand, args: ConnArgs) -> ExitCode {
    use gateway::ami::cli;
    let config = match load(args.config.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let conn = cli::Connection {
        config,
        url: args.url,
        api_key: args
            .api_key
            .or_else(|| std::env::var("WEBRTC_GATEWAY_API_KEY").ok()),
        direct: args.direct,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            AmiCommand::Ami {
                action,
                server,
                yaml,
            } => cli::ami(&conn, server.as_deref(), &action, yaml)
                .await
                .map(|out| println!("{out}")),
            AmiCommand::Events {
                server,
                filters,
                pretty,
            } => {
                use std::io::Write as _;
                let ready = |names: &[String]| eprintln!("listening to {}", names.join(", "));
                let print = |line: &str| {
                    let mut stdout = std::io::stdout().lock();
                    // A closed pipe (`| head`) ends the command at the next write.
                    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
                };
                cli::events(&conn, server.as_deref(), &filters, pretty, ready, print).await
            }
            AmiCommand::Originate {
                user,
                number,
                server,
                caller_id,
            } => {
                let req = gateway::ami::originate::OriginateRequest {
                    user,
                    number,
                    server,
                    caller_id,
                    variables: Default::default(),
                    res_model: None,
                    res_method: None,
                    pass_back: None,
                };
                cli::originate(&conn, req)
                    .await
                    .map(|out| println!("{out}"))
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webrtc-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
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

/// `doctor`: one line per check on stdout; the exit code is the number of failures.
fn doctor(path: Option<&PathBuf>) -> ExitCode {
    let path = path.map(PathBuf::as_path);
    let report = match Config::load(path, std::env::vars()) {
        Ok(config) => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            // The CLI's wall-clock read: TURN credential expiry and certificate validity.
            #[allow(clippy::disallowed_methods)]
            let now = std::time::SystemTime::now();
            runtime.block_on(gateway::doctor::run(&config, path, now))
        }
        Err(errors) => gateway::doctor::config_failure(path, &errors),
    };
    print!("{report}");
    ExitCode::from(u8::try_from(report.failures()).unwrap_or(u8::MAX))
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
        Command::Doctor { config } => doctor(config.as_ref()),
        Command::Outbox {
            command: OutboxCommand::Status { config },
        } => outbox_status(config.as_ref()),
        Command::Ami {
            action,
            server,
            yaml,
            conn,
        } => ami_command(
            AmiCommand::Ami {
                action,
                server,
                yaml,
            },
            conn,
        ),
        Command::Events {
            server,
            filters,
            pretty,
            conn,
        } => ami_command(
            AmiCommand::Events {
                server,
                filters,
                pretty,
            },
            conn,
        ),
        Command::Originate {
            user,
            number,
            server,
            caller_id,
            conn,
        } => ami_command(
            AmiCommand::Originate {
                user,
                number,
                server,
                caller_id,
            },
            conn,
        ),
        Command::Serve { config } => {
            let config = match load(config.as_ref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            logging::init_tracing(&config);
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
