//! A stand-alone webhook for benchmarking the server before the decision engine is wired in:
//! it generates a CA and serving certificate into `--dir` (`ca.crt`, `tls.crt`, `tls.key`) and
//! serves with a reviewer that evaluates Pod Security Standards `restricted` (rampart-pss) on
//! the pod or pod template. Stops on SIGTERM / Ctrl-C.
//!
//! ```text
//! cargo run --release -p rampart-admission --example serve_pss -- --dir /tmp/adm --listen 127.0.0.1:8443
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use rampart_admission::audit::AuditTarget;
use rampart_admission::manifests::{generate_tls, write_tls};
use rampart_admission::review::{
    AdmissionRequest, AdmissionResponse, Decision, Endpoint, GateOutcome, Reviewer,
};
use rampart_admission::{Server, ServerConfig};
use serde_json::Value;

/// A PSS-restricted webhook for benchmarks.
#[derive(Parser, Debug)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Directory for the generated certificate files.
    #[arg(long)]
    dir: PathBuf,
    /// Audit log target: stdout, none or a path.
    #[arg(long, default_value = "none")]
    audit_log: String,
    /// Server worker threads (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    worker_threads: usize,
}

struct Pss;

impl Reviewer for Pss {
    fn review(&self, _endpoint: &Endpoint, request: &AdmissionRequest) -> Decision {
        let object = &request.object;
        let template;
        let pod = if object.get("kind").and_then(Value::as_str) == Some("Pod") {
            object
        } else {
            template = object
                .pointer("/spec/jobTemplate/spec/template")
                .or_else(|| object.pointer("/spec/template"))
                .cloned()
                .unwrap_or(Value::Null);
            &template
        };
        let evaluation = rampart_pss::evaluate(
            rampart_pss::Level::Restricted,
            rampart_pss::Version::LATEST,
            pod,
        );
        let (response, outcome) = if evaluation.allowed() {
            (AdmissionResponse::allow(&request.uid), "allow")
        } else {
            (
                AdmissionResponse::deny(&request.uid, evaluation.message()),
                "deny",
            )
        };
        let message = evaluation.message();
        Decision {
            response,
            gates: vec![GateOutcome {
                mode: None,
                gate: "pss".to_owned(),
                outcome,
                message,
            }],
            profile: None,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)?;
    let tls = generate_tls("rampart-admission", "rampart-system")?;
    let files = write_tls(&tls, &args.dir)?;
    let config = ServerConfig {
        listen: args.listen,
        cert: files.cert,
        key: files.key,
        audit_log: AuditTarget::from(args.audit_log),
        worker_threads: args.worker_threads,
        ..ServerConfig::default()
    };
    let server = Server::bind(config, Arc::new(Pss))?;
    eprintln!(
        "serve_pss: listening on {} (CA in {})",
        server.local_addr(),
        files.ca.display()
    );
    server.run_until_signal()?;
    Ok(())
}
