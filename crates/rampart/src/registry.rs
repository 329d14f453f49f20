//! Registry targets (wired to rampart-registry).

use anyhow::{Result, bail};
use rampart_image::Image;
use rampart_scan::images::ImageOptions;

use crate::cli::ImageArgs;

/// Opens an image from a registry.
pub fn open(reference: &str, _args: &ImageArgs, _opts: &ImageOptions) -> Result<Image> {
    bail!("{reference}: no such file, and registry references are not supported yet")
}
