//! Not implemented yet.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(crate) struct MavenStub;

pub(crate) fn parse(_: &str) -> Result<MavenStub, &'static str> {
    Err("not implemented yet")
}

pub(crate) fn compare(_: &[u8], _: &MavenStub, _: &[u8], _: &MavenStub) -> Ordering {
    Ordering::Equal
}
