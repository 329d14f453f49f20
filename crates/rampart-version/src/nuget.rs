//! Not implemented yet.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(crate) struct NugetStub;

pub(crate) fn parse(_: &str) -> Result<NugetStub, &'static str> {
    Err("not implemented yet")
}

pub(crate) fn compare(_: &[u8], _: &NugetStub, _: &[u8], _: &NugetStub) -> Ordering {
    Ordering::Equal
}
