//! Not implemented yet.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(crate) struct Pep440Stub;

pub(crate) fn parse(_: &str) -> Result<Pep440Stub, &'static str> {
    Err("not implemented yet")
}

pub(crate) fn compare(_: &[u8], _: &Pep440Stub, _: &[u8], _: &Pep440Stub) -> Ordering {
    Ordering::Equal
}
