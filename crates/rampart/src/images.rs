//! Opening the images named on the command line: target parsing, registry options, the progress
//! bar on a terminal, and the SBOM writers.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rampart_image::{Limits, ProgressEvent};
use rampart_inspect::{InspectOptions, Inspection};
use rampart_scan::images::{ImageOptions, ImageTarget};

use crate::cli::ImageArgs;

/// A progress bar on standard error when it is a terminal (never in CI logs or pipes).
fn progress_bar(name: &str, total: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {pos} entries {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(format!("reading {name}"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// Opens and inspects one image target, with a progress bar on a terminal; for a registry
/// target, also the parsed reference.
pub fn inspect_target(
    target: &str,
    args: &ImageArgs,
) -> Result<(Inspection, Option<rampart_registry::Reference>)> {
    let limits = Limits::default();
    let platform = args
        .platform
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--platform")?;
    let mut opts = ImageOptions {
        platform,
        limits: limits.clone(),
        inspect: InspectOptions {
            secrets: !args.no_secrets,
            today: jiff::Zoned::now().date(),
        },
        progress: None,
    };
    let (image, reference) = match ImageTarget::parse(target, &limits)? {
        ImageTarget::Local(source) => (rampart_scan::images::open_local(&source, &opts)?, None),
        ImageTarget::Registry(reference) => {
            let (image, parsed) = crate::registry::open(&reference, args, &opts)?;
            (image, Some(parsed))
        }
    };
    let bar = progress_bar(
        target,
        image
            .total_layer_bytes()
            .filter(|_| !image.layers().is_empty()),
    );
    if let Some(bar) = &bar {
        let b = bar.clone();
        opts.progress = Some(Arc::new(move |e| match e {
            ProgressEvent::LayerBytes(n) | ProgressEvent::Entries(n) => b.inc(n),
        }));
    }
    let result = rampart_scan::images::inspect(image, target, &opts);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok((result?, reference))
}
