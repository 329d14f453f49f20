//! Prints the field registry as a Markdown table (the one in docs/falco-rules.md).
//!
//! `cargo run -p rampart-falco --example falco_fields`

use rampart_falco::fields::{ArgSpec, FIELDS};

fn main() {
    println!("| field | type | argument | description |");
    println!("|---|---|---|---|");
    for f in FIELDS {
        let arg = match f.arg {
            ArgSpec::None => "",
            ArgSpec::OptIndex => "`[N]` optional (none: any ancestor)",
            ArgSpec::Key => "`[key]` or `.key` required",
            ArgSpec::OptKey => "`[key]` optional",
        };
        println!("| `{}` | {} | {} | {} |", f.name, f.ty.name(), arg, f.desc);
    }
}
