//! `cargo run -p rampart-intent --example compile -- FILE`: prints the compiled artefacts.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: compile FILE");
        std::process::exit(2);
    };
    let path = std::path::PathBuf::from(path);
    match rampart_intent::Intent::load(&path) {
        Ok(intent) => {
            match rampart_intent::compile(&intent, &rampart_intent::Options::for_file(&path)) {
                Ok(c) => {
                    for a in &c.artefacts {
                        println!("==> {} ({})", a.file, a.target.as_str());
                        print!("{}", String::from_utf8_lossy(&a.bytes));
                    }
                    for n in &c.notes {
                        println!("note: {}: {}", n.target.as_str(), n.message);
                    }
                }
                Err(e) => eprintln!("{e}"),
            }
        }
        Err(e) => eprintln!("{e}"),
    }
}
