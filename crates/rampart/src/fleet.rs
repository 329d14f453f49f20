//! `rampart fleet`: the fleet store and work queue in PostgreSQL (rampart-fleet; docs/fleet.md).

use anyhow::Result;
use clap::{Args, Subcommand};

/// `rampart fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: FleetCommand,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {}

pub fn run(args: FleetArgs) -> Result<u8> {
    match args.command {}
}
