//! Not implemented yet.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(crate) struct RubygemsStub;

pub(crate) fn parse(_: &str) -> Result<RubygemsStub, &'static str> {
    Err("not implemented yet")
}

pub(crate) fn compare(_: &[u8], _: &RubygemsStub, _: &[u8], _: &RubygemsStub) -> Ordering {
    Ordering::Equal
}
