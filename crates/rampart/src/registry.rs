//! Registry targets: client options from the command line and the environment, then
//! `rampart_registry::open_image`.

use std::io::Read;

use anyhow::{Context, Result};
use rampart_image::Image;
use rampart_registry::{ClientOptions, Reference, Secret};
use rampart_scan::images::ImageOptions;

use crate::cli::ImageArgs;

/// The registry password, when no flag gives one: the environment (CI secrets).
pub const PASSWORD_ENV: &str = "RAMPART_REGISTRY_PASSWORD";
/// The registry user, when no flag gives one.
pub const USERNAME_ENV: &str = "RAMPART_REGISTRY_USERNAME";

pub(crate) fn client_options(args: &ImageArgs) -> Result<ClientOptions> {
    let mut opts = ClientOptions {
        insecure: args.insecure,
        ca_file: args.ca_file.clone(),
        docker_config: args.docker_config.clone(),
        ..ClientOptions::default()
    };
    let username = args
        .username
        .clone()
        .or_else(|| std::env::var(USERNAME_ENV).ok().filter(|u| !u.is_empty()));
    if let Some(user) = username {
        let password = if args.password_stdin {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the registry password from standard input")?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        } else {
            std::env::var(PASSWORD_ENV).with_context(|| {
                format!("a registry user was given: pass its password with --password-stdin or {PASSWORD_ENV}")
            })?
        };
        opts.username = Some(user);
        opts.password = Some(Secret::new(password));
    }
    Ok(opts)
}

/// Opens an image from a registry.
pub fn open(reference: &str, args: &ImageArgs, opts: &ImageOptions) -> Result<(Image, Reference)> {
    let parsed = Reference::parse(reference).with_context(|| {
        format!("`{reference}` is not a file, a directory or an image reference")
    })?;
    let client = client_options(args)?;
    let image =
        rampart_registry::open_image(&parsed, opts.platform.as_ref(), &client, &opts.limits)
            .with_context(|| format!("pulling {parsed}"))?;
    Ok((image, parsed))
}
