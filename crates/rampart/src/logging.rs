//! `-v` / `--debug`: what rampart is doing, logged to standard error with `tracing`.
//!
//! Off by default (warnings aside); `-v` shows the steps (files discovered, images opened,
//! the advisory database), `-vv` each file parsed, `--debug` everything with its source.
//! `RAMPART_LOG` (a level: error, warn, info, debug, trace) sets the level without a flag.

use tracing_subscriber::filter::LevelFilter;

use crate::cli::LogArgs;

/// Installs the subscriber.
pub fn init(args: &LogArgs) {
    let level = if args.debug {
        LevelFilter::TRACE
    } else {
        match args.verbose {
            0 => std::env::var("RAMPART_LOG")
                .ok()
                .and_then(|v| v.parse::<LevelFilter>().ok())
                .unwrap_or(LevelFilter::WARN),
            1 => LevelFilter::INFO,
            _ => LevelFilter::DEBUG,
        }
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    // A second initialisation (never in the binary) is harmless: its error is ignored.
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(args.debug)
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .try_init();
}
