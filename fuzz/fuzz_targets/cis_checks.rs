//! Arbitrary bytes through the CIS controls loader and the evaluator: the input up to the first
//! NUL (lossy UTF-8) is a controls file → `rampart_cis::parse`; the rest, split at NUL, is the
//! command line, the configuration (JSON or YAML) and the environment every check it holds is
//! evaluated on (with and without the configuration, and one line at a time).
//!
//! Panics, timeouts and out-of-memory are bugs: the loader bounds nodes and nesting, the
//! configuration and JSONPath output are bounded, and regular expressions from the input are
//! compiled under the regex crate's size limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_cis::{Input, evaluate, parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let controls = parts.next().unwrap_or("");
    let command = parts.next().unwrap_or("");
    let config = parts.next().unwrap_or("");
    let env = parts.next().unwrap_or("");
    let Ok(controls) = parse(controls, "fuzz.yaml") else {
        return;
    };
    for check in controls.checks() {
        for config in [Some(config), None] {
            let input = Input {
                command,
                config,
                env,
                error: None,
            };
            let outcome = evaluate(check, &input);
            std::hint::black_box(&outcome);
            let mut multiple = check.clone();
            multiple.use_multiple_values = !multiple.use_multiple_values;
            std::hint::black_box(evaluate(&multiple, &input));
        }
    }
});
