//! Not implemented yet.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(crate) struct ApkStub;

pub(crate) fn parse(_: &str) -> Result<ApkStub, &'static str> {
    Err("not implemented yet")
}

pub(crate) fn compare(_: &[u8], _: &ApkStub, _: &[u8], _: &ApkStub) -> Ordering {
    Ordering::Equal
}
