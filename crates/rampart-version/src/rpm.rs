//! Not implemented yet.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(crate) struct RpmStub;

pub(crate) fn parse(_: &str) -> Result<RpmStub, &'static str> {
    Err("not implemented yet")
}

pub(crate) fn compare(_: &[u8], _: &RpmStub, _: &[u8], _: &RpmStub) -> Ordering {
    Ordering::Equal
}
