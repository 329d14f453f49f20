//! Lists, for rules files loaded in order, the fields the rules' conditions read (macros
//! expanded) and the fields only their outputs use, with any field rampart does not provide.
//!
//! `cargo run -p rampart-falco --example falco_rule_fields -- FILE...`

use std::collections::BTreeSet;

fn main() {
    let mut loader = rampart_falco::Loader::new();
    for f in std::env::args().skip(1) {
        let Ok(text) = std::fs::read_to_string(&f) else {
            eprintln!("{f}: unreadable");
            std::process::exit(2)
        };
        loader.load(&f, &text);
    }
    let Ok(rs) = loader.finish() else {
        eprintln!("the files do not load");
        std::process::exit(1)
    };
    let base = |f: &str| f.split('[').next().unwrap_or(f).to_owned();
    let cond: BTreeSet<String> = rs
        .rules()
        .iter()
        .flat_map(|r| r.fields.iter().map(|f| base(f)))
        .collect();
    let out: BTreeSet<String> = rs
        .rules()
        .iter()
        .flat_map(|r| r.output.fields().map(|(_, t)| base(t)).collect::<Vec<_>>())
        .filter(|f| !cond.contains(f))
        .collect();
    let missing: BTreeSet<String> = rs
        .rules()
        .iter()
        .flat_map(|r| {
            r.unsupported_fields
                .iter()
                .cloned()
                .chain(r.output.unsupported().map(str::to_owned))
        })
        .collect();
    println!(
        "condition fields ({}): {}",
        cond.len(),
        cond.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    println!(
        "output-only fields ({}): {}",
        out.len(),
        out.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    println!(
        "not provided ({}): {}",
        missing.len(),
        missing.iter().cloned().collect::<Vec<_>>().join(" ")
    );
}
