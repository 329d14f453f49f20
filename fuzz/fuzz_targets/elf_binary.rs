//! The ELF reader of the image layer (Go build information, cargo-auditable `.dep-v0`) on a
//! hostile executable, streamed as a layer would stream it. Seeds: real ELF headers; the input is
//! prefixed with an ELF magic half the time so the parser gets past the first check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_image::FileContent;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut input = Vec::with_capacity(rest.len() + 4);
    if pick % 2 == 0 {
        input.extend_from_slice(b"\x7fELF");
    }
    input.extend_from_slice(rest);
    let mut slice = input.as_slice();
    let _ = rampart_inspect::binary::analyze("fuzz", FileContent::Stream(&mut slice));
});
