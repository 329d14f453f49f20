//! Unbounded decimal numbers compared without converting them.

use std::cmp::Ordering;

/// `digits` without its leading zeros.
pub(crate) fn strip_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    digits.get(zeros..).unwrap_or_default()
}

/// Compares two runs of ASCII digits as non-negative integers of any size.
pub(crate) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether a run of ASCII digits is zero (an empty run is zero too).
pub(crate) fn is_zero(digits: &[u8]) -> bool {
    digits.iter().all(|&c| c == b'0')
}

/// The number of leading bytes of `s` from `start` that satisfy `pred`.
pub(crate) fn span(s: &[u8], start: usize, pred: impl Fn(u8) -> bool) -> usize {
    s.get(start..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| pred(c)).count())
}

/// The bytes of `s` in `range`, empty when out of bounds (never, for ranges the parsers made).
pub(crate) fn slice(s: &[u8], range: std::ops::Range<usize>) -> &[u8] {
    s.get(range).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_compare_as_numbers() {
        assert_eq!(cmp_digits(b"010", b"9"), Ordering::Greater);
        assert_eq!(cmp_digits(b"000", b""), Ordering::Equal);
        assert_eq!(
            cmp_digits(b"18446744073709551616", b"18446744073709551615"),
            Ordering::Greater
        );
        assert!(is_zero(b"000") && !is_zero(b"010"));
    }
}
