//! One comparison of an observed value with a test item's `compare.value`, and the sentence
//! kube-bench prints for it (its `expected_result`).

use crate::model::Op;

/// Compares `observed` (the value found for `name`) with `wanted` using `op`; the sentence
/// kube-bench writes for the test, and whether it holds.
///
/// An unknown or empty operator is false and says nothing; numeric operators on values that
/// are not integers, and a bitmask on values that are not octal, are false with kube-bench's
/// message saying so; an invalid regular expression is false.
pub fn compare(op: &Op, observed: &str, wanted: &str, name: &str) -> (String, bool) {
    match op {
        Op::Eq => (
            format!("'{name}' is equal to '{wanted}'"),
            equal(observed, wanted),
        ),
        Op::NotEq => (
            format!("'{name}' is not equal to '{wanted}'"),
            !equal(observed, wanted),
        ),
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            let (Some(a), Some(b)) = (atoi(observed), atoi(wanted)) else {
                return (
                    format!("Invalid Number(s) used for comparison: '{observed}' '{wanted}'"),
                    false,
                );
            };
            match op {
                Op::Gt => (format!("'{name}' is greater than {wanted}"), a > b),
                Op::Gte => (format!("'{name}' is greater or equal to {wanted}"), a >= b),
                Op::Lt => (format!("'{name}' is lower than {wanted}"), a < b),
                _ => (format!("'{name}' is lower or equal to {wanted}"), a <= b),
            }
        }
        Op::Has => (
            format!("'{name}' has '{wanted}'"),
            observed.contains(wanted),
        ),
        Op::NotHave => (
            format!("'{name}' does not have '{wanted}'"),
            !observed.contains(wanted),
        ),
        Op::Regex => (
            format!("'{name}' matched by regex expression '{wanted}'"),
            crate::eval::bounded_regex(wanted).is_ok_and(|re| re.is_match(observed)),
        ),
        Op::ValidElements => (
            format!("'{name}' contains valid elements from '{wanted}'"),
            all_elements_valid(&split_list(observed), &split_list(wanted)),
        ),
        Op::Bitmask => {
            let Some(requested) = octal(observed) else {
                return (format!("Not numeric value - flag: {observed}"), false);
            };
            let Some(max) = octal(wanted) else {
                return (format!("Not numeric value - flag: {wanted}"), false);
            };
            (
                format!("{name} has permissions {observed}, expected {wanted} or more restrictive"),
                max & requested == requested,
            )
        }
        Op::Other(_) => (String::new(), false),
    }
}

/// `eq`: booleans compare case-insensitively on the observed side (`True` equals `true`).
fn equal(observed: &str, wanted: &str) -> bool {
    let lower = observed.to_lowercase();
    if lower == "true" || lower == "false" {
        lower == wanted
    } else {
        observed == wanted
    }
}

/// Go's `strconv.Atoi(strings.TrimSpace(s))`.
fn atoi(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.starts_with("+-") || s.starts_with("-+") {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Go's `strconv.ParseInt(s, 8, 64)`.
fn octal(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, 8).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

/// A comma list: white space around the list and its items trimmed, trailing commas dropped.
pub(crate) fn split_list(s: &str) -> Vec<&str> {
    let clean = s.trim().trim_end_matches(',');
    if clean.is_empty() {
        return Vec::new();
    }
    clean.split(',').map(str::trim).collect()
}

fn all_elements_valid(observed: &[&str], allowed: &[&str]) -> bool {
    match (observed.is_empty(), allowed.is_empty()) {
        (true, true) => true,
        (true, false) | (false, true) => false,
        (false, false) => observed.iter().all(|o| allowed.contains(o)),
    }
}
