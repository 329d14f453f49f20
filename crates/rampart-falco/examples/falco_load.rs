//! Loads rules files in order and prints Falco's per-file results as JSON
//! (`falco -V a.yaml -V b.yaml -o json_output=true`), then the rules and their event types.
//!
//! `cargo run -p rampart-falco --example falco_load -- FILE...`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut loader = rampart_falco::Loader::new();
    for f in &args {
        match std::fs::read_to_string(f) {
            Ok(text) => {
                loader.load(f, &text);
            }
            Err(e) => {
                eprintln!("{f}: {e}");
                std::process::exit(2);
            }
        }
    }
    let results = loader.results().to_vec();
    println!("{}", serde_json::json!({ "falco_load_results": results }));
    match loader.finish() {
        Ok(rs) => {
            for r in rs.rules() {
                let types = r.event_types().map_or("ALL".to_owned(), |t| {
                    t.iter().cloned().collect::<Vec<_>>().join(",")
                });
                println!(
                    "{}\t{}\t{}\t{}",
                    r.name,
                    r.priority.name(),
                    r.enabled,
                    types
                );
            }
            let et = rs.event_types();
            println!("event types: {} (all: {})", et.types.len(), et.all());
            println!("needs host events: {}", rs.needs_host_events());
        }
        Err(_) => std::process::exit(1),
    }
}
