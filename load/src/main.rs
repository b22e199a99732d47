//! `webrtc-gateway-load`: N concurrent WebRTC calls through the gateway to an echo, measuring
//! setup time, loss, echo RTT and the gateway's resources; prints one JSON summary line.
//! See docs/performance.md.

use std::process::ExitCode;

use clap::Parser;
use webrtc_gateway_load::{args, report, run};

fn main() -> ExitCode {
    let args = args::Args::parse();
    let plan = match args::Plan::from_args(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("webrtc-gateway-load: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("webrtc-gateway-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(plan)) {
        Ok(summary) => {
            match serde_json::to_string(&summary) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    eprintln!("webrtc-gateway-load: {e}");
                    return ExitCode::FAILURE;
                }
            }
            if args.pretty {
                eprint!("{}", report::table(&summary));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("webrtc-gateway-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}
