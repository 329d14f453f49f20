//! Minimal ANSI styling and column alignment. Hand-written (a few lines) rather than pulling a
//! terminal crate: alignment must ignore escape codes, and colour is all-or-nothing by flag.

use rampart_core::{LayerState, Severity};

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn severity(&self, s: Severity, t: &str) -> String {
        let code = match s {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, t)
    }
    pub fn state(&self, s: LayerState, t: &str) -> String {
        let code = match s {
            LayerState::Holds => "32",
            LayerState::Weak => "33",
            LayerState::Breached => "1;31",
            LayerState::NotAssessed => "2",
            LayerState::PartlyAssessed => "35",
        };
        self.paint(code, t)
    }
}

/// Visible width of `s`, escape codes excluded.
pub fn width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Lays out rows in columns separated by two spaces; `right` marks right-aligned columns.
pub fn table(rows: &[Vec<String>], right: &[bool], indent: &str) -> String {
    let widths = column_widths(rows);
    let mut out = String::new();
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        push_line(&mut out, indent, &cells, &widths, |c| {
            right.get(c).copied().unwrap_or(false)
        });
    }
    out
}

/// One line of a table: the cells padded to their column's width (right-aligned where
/// `right(column)`), two spaces apart, trailing blanks trimmed.
fn push_line(
    out: &mut String,
    indent: &str,
    cells: &[&str],
    widths: &[usize],
    right: impl Fn(usize) -> bool,
) {
    let mut line = String::from(indent);
    for (c, cell) in cells.iter().enumerate() {
        let w = widths.get(c).copied().unwrap_or(0);
        let pad = " ".repeat(w.saturating_sub(width(cell)));
        let last = c + 1 == cells.len();
        if right(c) {
            line.push_str(&pad);
            line.push_str(cell);
        } else {
            line.push_str(cell);
            if !last {
                line.push_str(&pad);
            }
        }
        if !last {
            line.push_str("  ");
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// How a column of a [`fit`] table gives way when the table is wider than the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Give {
    /// never narrowed
    Fixed,
    /// cut at the end with `…`, down to this many columns
    Elide(usize),
    /// the first word kept, the middle cut with `…`, the end kept (`Dockerfile …/web/Dockerfile`)
    ElideMiddle(usize),
    /// the last column only: wrapped inside the column when at least this many columns are
    /// left for it, else moved to its own indented lines below the row
    Wrap(usize),
}

/// One column of a [`fit`] table.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub right: bool,
    pub give: Give,
}

impl Col {
    pub const fn left(give: Give) -> Self {
        Col { right: false, give }
    }
    pub const fn right() -> Self {
        Col {
            right: true,
            give: Give::Fixed,
        }
    }
}

/// The escape sequence a styled cell starts with (re-applied to each wrapped line).
fn leading_escape(s: &str) -> Option<&str> {
    if !s.starts_with('\x1b') {
        return None;
    }
    s.find('m').and_then(|end| s.get(..=end))
}

/// Text without escape codes.
pub fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => out.push(c),
        }
    }
    out
}

/// `s` cut to `w` visible columns with `…` at the end; escape codes kept (so colours close).
pub fn elide(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    let keep = w.saturating_sub(1);
    let mut out = String::with_capacity(s.len());
    let mut n = 0;
    let mut in_escape = false;
    let mut cut = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => {
                in_escape = true;
                out.push(c);
            }
            (true, 'm') => {
                in_escape = false;
                out.push(c);
            }
            (true, _) => out.push(c),
            (false, _) => {
                if n < keep {
                    out.push(c);
                    n += 1;
                } else if !cut {
                    if w > 0 {
                        out.push('…');
                    }
                    cut = true;
                }
            }
        }
    }
    out
}

/// `s` cut to `w` visible columns with `…` at the start (the end of a path is kept).
pub fn elide_start(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    let text = plain(s);
    let keep = w.saturating_sub(1);
    let count = text.chars().count();
    let tail: String = text.chars().skip(count.saturating_sub(keep)).collect();
    let body = if w > 0 { format!("…{tail}") } else { tail };
    match leading_escape(s) {
        Some(code) => format!("{code}{body}\x1b[0m"),
        None => body,
    }
}

/// `s` cut to `w` visible columns keeping its first word and its end (`Dockerfile …/Dockerfile`):
/// both the kind of a subject and its distinctive tail stay readable.
pub fn elide_middle(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    let text = plain(s);
    let Some((first, _)) = text.split_once(' ') else {
        return elide_start(s, w);
    };
    let head = first.chars().count() + 2; // the word, a space and `…`
    if w < head + 4 {
        return elide(s, w);
    }
    let count = text.chars().count();
    let mut tail: String = text.chars().skip(count - (w - head)).collect();
    // start the tail at a path boundary when one leaves enough of it
    if let Some(i) = tail.find('/').filter(|i| tail.len() - i >= 8) {
        tail = tail.split_off(i);
    }
    let body = format!("{first} …{tail}");
    match leading_escape(s) {
        Some(code) => format!("{code}{body}\x1b[0m"),
        None => body,
    }
}

/// The width of the table [`fit`] would lay out with no limit.
pub fn natural_width(rows: &[Vec<String>], indent: &str) -> usize {
    let widths = column_widths(rows);
    width(indent) + widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1)
}

/// The visible width of each column: its widest cell.
fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| width(s))
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Words of `s` in lines of at most `w` visible columns (a word longer than `w` is cut into
/// pieces); the style `s` starts with is applied to each line.
pub fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let text = plain(s);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ').filter(|x| !x.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let need = if len == 0 {
                word.len()
            } else {
                len + 1 + word.len()
            };
            if need <= w {
                if len > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                len = need;
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                len = 0;
                continue;
            }
            // a word longer than the line: cut it
            let rest = word.split_off(w.min(word.len()));
            lines.push(word.iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    match leading_escape(s) {
        Some(code) => lines
            .into_iter()
            .map(|l| format!("{code}{l}\x1b[0m"))
            .collect(),
        None => lines,
    }
}

/// Lays out rows in columns (two spaces apart) no wider than `max` columns in all, narrowing
/// the columns that may give (see [`Give`]); rows are never broken by the terminal: a cell is
/// cut or, in the last column, wrapped. `max == 0` means no limit.
pub fn fit(rows: &[Vec<String>], cols: &[Col], indent: &str, max: usize) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let col = |c: usize| {
        cols.get(c).copied().unwrap_or(Col {
            right: false,
            give: Give::Fixed,
        })
    };
    let mut widths = column_widths(rows);
    let total = |widths: &[usize]| {
        width(indent) + widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1)
    };
    // The last column moves below its row when too little is left for it.
    let mut below = false;
    if max > 0 && total(&widths) > max {
        // Narrow the columns that give, from the last one back, down to their minimum.
        for c in (0..n).rev() {
            let over = total(&widths).saturating_sub(max);
            if over == 0 {
                break;
            }
            let Some(w) = widths.get_mut(c) else { continue };
            match col(c).give {
                Give::Fixed => {}
                Give::Elide(min) | Give::ElideMiddle(min) => {
                    *w = w.saturating_sub(over).max(min.min(*w));
                }
                Give::Wrap(min) => {
                    if w.saturating_sub(over) >= min {
                        *w -= over;
                    } else {
                        below = true;
                        *w = 0;
                    }
                }
            }
        }
    }
    let lead = width(indent);
    let mut out = String::new();
    for row in rows {
        let mut cells: Vec<Vec<String>> = Vec::with_capacity(row.len());
        let mut under: Vec<String> = Vec::new();
        for (c, cell) in row.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            let last = c + 1 == row.len();
            let lines = match col(c).give {
                Give::Elide(_) => vec![elide(cell, w)],
                Give::ElideMiddle(_) => vec![elide_middle(cell, w)],
                Give::Wrap(_) if last && below => {
                    if !cell.is_empty() {
                        under = wrap(cell, max.saturating_sub(lead + 4));
                    }
                    vec![String::new()]
                }
                Give::Wrap(_) if width(cell) > w => wrap(cell, w),
                _ => vec![cell.clone()],
            };
            cells.push(lines);
        }
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let line: Vec<&str> = cells
                .iter()
                .map(|lines| lines.get(i).map_or("", String::as_str))
                .collect();
            push_line(&mut out, indent, &line, &widths, |c| col(c).right);
        }
        for l in under {
            out.push_str(&format!("{indent}    {l}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_narrows_the_columns_that_give_and_never_exceeds_the_width() {
        let rows = vec![
            vec!["subject".to_owned(), "state".to_owned(), "why".to_owned()],
            vec![
                "Dockerfile examples/shop/worker/Dockerfile".to_owned(),
                "breached".to_owned(),
                "the final stage sets no USER and keeps a shell and a package manager".to_owned(),
            ],
        ];
        let cols = [
            Col::left(Give::ElideMiddle(16)),
            Col::left(Give::Fixed),
            Col::left(Give::Wrap(20)),
        ];
        for max in [40, 60, 80] {
            let out = fit(&rows, &cols, "  ", max);
            assert!(out.lines().all(|l| width(l) <= max), "{max}:\n{out}");
            // every word of the wrapped column is still there
            let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(text.contains("package manager"), "{out}");
        }
        // No limit: one line per row.
        assert_eq!(fit(&rows, &cols, "  ", 0).lines().count(), 2);
    }

    #[test]
    fn elision_keeps_the_kind_and_the_end_and_closes_colours() {
        assert_eq!(
            elide_middle("Dockerfile examples/shop/worker/Dockerfile", 30),
            "Dockerfile …/worker/Dockerfile"
        );
        let red = "\x1b[31mbreached badly\x1b[0m";
        let cut = elide(red, 5);
        assert_eq!(plain(&cut), "brea…");
        assert!(cut.ends_with("\x1b[0m"), "{cut:?}");
        assert_eq!(wrap("aaaa bbbb cccc", 9), vec!["aaaa bbbb", "cccc"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }
}
