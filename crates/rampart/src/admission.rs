//! `rampart admission`: the Kubernetes admission webhook (crate `rampart-admission`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use rampart_admission::manifests::{self, CertSource, FailurePolicy, ManifestOptions};
use rampart_admission::{Config, Engine, Server};

use crate::cli::{AdmissionArgs, AdmissionCommand, AdmissionManifestsArgs, AdmissionServeArgs};

/// `rampart admission ...`.
pub fn run(args: &AdmissionArgs) -> Result<u8> {
    match &args.command {
        AdmissionCommand::Serve(a) => serve(a),
        AdmissionCommand::Manifests(a) => print_manifests(a),
    }
}

fn serve(args: &AdmissionServeArgs) -> Result<u8> {
    let config = Config::load(&args.config)?;
    let mut server = config.server.clone();
    if let Some(listen) = args.listen {
        server.listen = listen;
    }
    if let Some(cert) = &args.cert {
        server.cert = cert.clone();
    }
    if let Some(key) = &args.key {
        server.key = key.clone();
    }
    if args.self_signed && !(server.cert.exists() && server.key.exists()) {
        self_signed(&server.cert, &server.key, server.listen.ip())?;
    }
    let routes = config.routes();
    let engine = Engine::new(config).context("starting the admission engine")?;
    let bound = Server::bind(server, Arc::new(engine))?;
    eprintln!(
        "rampart: admission webhook on https://{} (/validate, /mutate, {} label route(s); /healthz /readyz /metrics)",
        bound.local_addr(),
        routes.len()
    );
    bound.run_until_signal()?;
    Ok(0)
}

/// Writes a CA (`ca.crt` beside `cert`) and a serving certificate for localhost, 127.0.0.1 and
/// the listening address.
fn self_signed(cert: &Path, key: &Path, ip: std::net::IpAddr) -> Result<()> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    let tls = manifests::generate_tls_for("localhost", names)?;
    let dir = cert.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = dir.join("ca.crt");
    write_private(&ca, &tls.ca_pem, false)?;
    write_private(cert, &tls.cert_pem, false)?;
    write_private(key, &tls.key_pem, true)?;
    eprintln!(
        "rampart: generated a serving certificate for localhost in {}; clients trust {}",
        cert.display(),
        ca.display()
    );
    Ok(())
}

fn write_private(path: &Path, text: &str, private: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    if private {
        opts.mode(0o600);
    }
    opts.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn print_manifests(args: &AdmissionManifestsArgs) -> Result<u8> {
    let (routes, default_mutate, config_toml) = match &args.config {
        Some(path) => {
            let config = Config::load(path)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            (config.routes(), config.default_mutates(), Some(text))
        }
        None => (Vec::new(), false, None),
    };
    let options = ManifestOptions {
        namespace: args.namespace.clone(),
        name: args.name.clone(),
        image: args.image.clone(),
        image_digest: args.image_digest.clone(),
        replicas: args.replicas,
        timeout_seconds: args.timeout_seconds,
        failure_policy: match args.failure_policy {
            crate::cli::FailurePolicyArg::Fail => FailurePolicy::Fail,
            crate::cli::FailurePolicyArg::Ignore => FailurePolicy::Ignore,
        },
        certificates: if args.cert_manager {
            CertSource::CertManager
        } else {
            CertSource::Generated
        },
        routes,
        default_mutate,
        config_toml,
        seccomp_profile: args.seccomp_profile.clone(),
        ..ManifestOptions::default()
    };
    let generated = manifests::generate(&options)?;
    if let (Some(dir), Some(tls)) = (&args.tls_dir, &generated.tls) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        manifests::write_tls(tls, dir)?;
    }
    crate::write_out(None, &manifests::to_yaml(&generated.documents)?)?;
    Ok(0)
}
