//! Opening the images named on the command line: target parsing, registry options, the progress
//! bar on a terminal, and the SBOM writers.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rampart_image::{Limits, ProgressEvent};
use rampart_inspect::{InspectOptions, Inspection};
use rampart_scan::images::{ImageOptions, ImageTarget};

use crate::cli::{ImageArgs, LayerCacheArgs};
use rampart_layercache::LayerCache;

/// The local layer cache is trimmed (least recently used first) once it holds more than this;
/// a shared PostgreSQL cache is left to `rampart cache purge --max-size`.
pub const LOCAL_CACHE_MAX_BYTES: u64 = 4 << 30;

/// Whether the layer cache's trouble was said already (it is said once per run).
static CACHE_TROUBLE_SAID: AtomicBool = AtomicBool::new(false);

/// Says, once per run, that the layer cache cannot be used, and that the run goes on without it
/// (unless `quiet`; the log always has it).
fn cache_trouble(what: &str, quiet: bool) {
    tracing::warn!("{what}");
    if !quiet && !CACHE_TROUBLE_SAID.swap(true, Ordering::Relaxed) {
        eprintln!("rampart: {what}; going on without it (images are read from their blobs)");
    }
}

/// Opens the layer cache of this run: `--layer-cache` (or RAMPART_LAYER_CACHE), else the
/// default file; `None` with `--no-layer-cache`, or when it cannot be opened (said on stderr).
pub fn open_layer_cache(args: &LayerCacheArgs, quiet: bool) -> Option<LayerCache> {
    if args.no_layer_cache {
        return None;
    }
    let opened = match args.layer_cache.as_deref().filter(|l| !l.is_empty()) {
        Some(location) => LayerCache::open(location),
        None => LayerCache::open_default(),
    };
    match opened {
        Ok(cache) => {
            tracing::info!(location = cache.location(), "layer cache opened");
            Some(cache)
        }
        Err(e) => {
            cache_trouble(&e.to_string(), quiet);
            None
        }
    }
}

/// Bounds a local cache that grew past [`LOCAL_CACHE_MAX_BYTES`] (to three quarters of it).
pub fn bound_layer_cache(cache: &LayerCache, quiet: bool) {
    if cache.is_shared() {
        return;
    }
    match cache.bytes() {
        Ok(n) if n > LOCAL_CACHE_MAX_BYTES => match cache.trim(LOCAL_CACHE_MAX_BYTES / 4 * 3) {
            Ok(removed) => tracing::info!(removed, "layer cache trimmed"),
            Err(e) => cache_trouble(&e.to_string(), quiet),
        },
        Ok(_) => {}
        Err(e) => cache_trouble(&e.to_string(), quiet),
    }
}

/// A progress bar on standard error when it is a terminal (never in CI logs or pipes, nor
/// with `--quiet`): the bytes read in human units, of the total when the layers' sizes are
/// known, with the rate (`12.5 MiB/350.2 MiB 48.1 MiB/s`).
fn progress_bar(name: &str, total: Option<u64>, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total.unwrap_or(0)).with_style(progress_style(total.is_some()));
    bar.set_message(format!("reading {name}"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// The bar's look: with a known total, a bar, bytes of the total, rate and time left; without
/// (a root filesystem, whose files are counted), a spinner with the count and rate.
pub(crate) fn progress_style(known_total: bool) -> ProgressStyle {
    if known_total {
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
    } else {
        ProgressStyle::with_template("{spinner} {msg} {human_pos} files {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
    }
}

/// Whether `path` is a file holding an image archive (`docker save` or an OCI layout in a
/// tar): `rampart scan app.tar` scans it as an image, as `trivy image --input` would.
pub fn is_image_archive(path: &std::path::Path) -> bool {
    path.is_file()
        && matches!(
            rampart_image::Source::detect(path, &Limits::default()),
            Ok(rampart_image::Source::DockerArchive(_) | rampart_image::Source::OciArchive(_))
        )
}

/// Opens and inspects one image target, with a progress bar on a terminal; for a registry
/// target, also the parsed reference.
pub fn inspect_target(
    target: &str,
    args: &ImageArgs,
    cache: Option<&LayerCache>,
    quiet: bool,
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
    let span = tracing::info_span!("image", target);
    let _entered = span.enter();
    let (image, reference) = match ImageTarget::parse(target, &limits)
        .with_context(|| target.to_owned())?
    {
        ImageTarget::Local(source) => (
            // every image error names the image (`rampart sbom` has no report to carry it)
            rampart_scan::images::open_local(&source, &opts).with_context(|| target.to_owned())?,
            None,
        ),
        ImageTarget::Registry(reference) => {
            let (image, parsed) = crate::registry::open(&reference, args, &opts)?;
            (image, Some(parsed))
        }
    };
    tracing::info!(
        layers = image.layers().len(),
        bytes = image.total_layer_bytes(),
        "image opened"
    );
    let bar = progress_bar(
        target,
        image
            .total_layer_bytes()
            .filter(|_| !image.layers().is_empty()),
        quiet,
    );
    if let Some(bar) = &bar {
        let b = bar.clone();
        opts.progress = Some(Arc::new(move |e| match e {
            ProgressEvent::LayerBytes(n) | ProgressEvent::Entries(n) => b.inc(n),
        }));
    }
    let store = cache.map(|c| c as &dyn rampart_image::LayerStore);
    let result = rampart_scan::images::inspect_cached(image, target, &opts, store);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (inspection, report) = result.with_context(|| target.to_owned())?;
    if let Some(report) = report {
        log_cache_use(&report, quiet);
    }
    Ok((inspection, reference))
}

/// What the layer cache gave, in the log; its write errors said once on stderr.
fn log_cache_use(report: &rampart_image::CacheReport, quiet: bool) {
    for layer in &report.layers {
        tracing::debug!(
            layer = layer.index,
            lookup = ?layer.lookup,
            blob_read = layer.blob_read,
            saved = ?layer.saved,
            "layer cache"
        );
    }
    tracing::info!(
        layers = report.layers.len(),
        replayed = report.hits(),
        resumed = report.resumed,
        blobs_read = report.blobs_read(),
        stored = report.saved(),
        "layer cache"
    );
    for (layer, why) in report.unusable() {
        tracing::info!(layer, why, "layer cache record not used");
    }
    for l in &report.layers {
        if let Some(why) = &l.not_recorded {
            tracing::info!(layer = l.index, why, "layer not recorded");
        }
    }
    if let Some((layer, e)) = report.save_errors().next() {
        cache_trouble(
            &format!("the layer cache could not record layer {layer}: {e}"),
            quiet,
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::progress_style;
    use indicatif::{ProgressBar, ProgressDrawTarget, TermLike};
    use std::io;
    use std::sync::{Arc, Mutex};

    /// A terminal that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.0.lock().unwrap().clear();
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn progress_shows_bytes_in_human_units_of_a_total_with_a_rate() {
        let screen = Screen::default();
        let bar = ProgressBar::with_draw_target(
            Some(369_623_040),
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        )
        .with_style(progress_style(true));
        bar.set_message("reading app.tar");
        bar.inc(12 * 1024 * 1024);
        bar.tick();
        let shown = screen.0.lock().unwrap().clone();
        assert!(shown.contains("reading app.tar"), "{shown}");
        assert!(shown.contains("12.00 MiB/352.50 MiB"), "{shown}");
        assert!(shown.contains("/s"), "a rate: {shown}");
        assert!(!shown.contains("entries"), "{shown}");
    }
}
