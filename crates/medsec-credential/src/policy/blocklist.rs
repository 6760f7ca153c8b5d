//! The built-in list of common passwords.
//!
//! 5,000 entries: the most common passwords of at least 8 code points from Royce Williams's list
//! of 20,000 that Django ships, deduplicated to 19,640 lines, as `common-passwords.txt.gz` (taken
//! from the `django` 5.2.19 wheel on PyPI). Entries are NFKC-normalised and lowercased; the file is sorted
//! by UTF-8 bytes. `data/derive-blocklist.py` regenerates it and `data/README.md` records the
//! source and checksum. Lookups compare the lowercased NFKC form of the candidate.

/// The list, one entry per line, sorted by bytes.
pub const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// Number of entries in [`COMMON_PASSWORDS`].
pub const LEN: usize = 5000;

/// True when `folded` (already NFKC-normalised and lowercased) is on the list.
///
/// Binary search over byte offsets: no allocation, no index built at start-up.
pub fn contains(folded: &str) -> bool {
    let list = COMMON_PASSWORDS.as_bytes();
    let needle = folded.as_bytes();
    let (mut lo, mut hi) = (0usize, list.len());
    while lo < hi {
        let mid = usize::midpoint(lo, hi);
        // The line holding `mid`, clamped to [lo, hi).
        let start = list
            .get(lo..mid)
            .and_then(|s| s.iter().rposition(|&b| b == b'\n'))
            .map_or(lo, |p| lo.saturating_add(p).saturating_add(1));
        let end = list
            .get(start..hi)
            .and_then(|s| s.iter().position(|&b| b == b'\n'))
            .map_or(hi, |p| start.saturating_add(p));
        let Some(line) = list.get(start..end) else {
            return false;
        };
        match line.cmp(needle) {
            core::cmp::Ordering::Equal => return true,
            core::cmp::Ordering::Less => lo = end.saturating_add(1),
            core::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    #[test]
    fn sorted_unique_and_every_entry_found() {
        let lines: alloc::vec::Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert_eq!(lines.len(), LEN);
        for w in lines.windows(2) {
            assert!(w[0].as_bytes() < w[1].as_bytes(), "{:?} {:?}", w[0], w[1]);
        }
        for l in &lines {
            assert!(contains(l), "{l}");
            assert!(l.chars().count() >= 8);
            // A near miss is not found.
            let mut longer = alloc::string::String::from(*l);
            longer.push('\u{1}');
            assert!(!contains(&longer));
        }
        assert!(!contains(""));
        assert!(!contains("\u{10FFFF}"));
    }
}
