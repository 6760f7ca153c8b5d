//! Repetitive and sequential patterns, specified in docs/credential-format.md ("Policy").

/// One unit repeated at least twice over the whole candidate, or fewer than three distinct
/// characters.
pub(crate) fn is_repetitive(chars: &[char]) -> bool {
    let n = chars.len();
    if n == 0 {
        return false;
    }
    let mut distinct: [Option<char>; 3] = [None; 3];
    let mut count = 0usize;
    for &c in chars {
        if !distinct.iter().flatten().any(|&d| d == c) {
            if let Some(slot) = distinct.get_mut(count) {
                *slot = Some(c);
            }
            count = count.saturating_add(1);
            if count >= 3 {
                break;
            }
        }
    }
    if count < 3 {
        return true;
    }
    (1..=n / 2).any(|period| {
        n.is_multiple_of(period)
            && chars
                .iter()
                .zip(chars.iter().skip(period))
                .all(|(a, b)| a == b)
    })
}

/// Every step between neighbours is +1, or every step is -1 (code points; among ASCII digits
/// 9 -> 0 counts as +1 and 0 -> 9 as -1). At least three characters.
pub(crate) fn is_sequential(chars: &[char]) -> bool {
    if chars.len() < 3 {
        return false;
    }
    let step = |a: char, b: char| -> i64 {
        if a.is_ascii_digit() && b.is_ascii_digit() {
            let d = i64::from(u32::from(b))
                .saturating_sub(i64::from(u32::from(a)))
                .rem_euclid(10);
            return match d {
                1 => 1,
                9 => -1,
                _ => 0,
            };
        }
        i64::from(u32::from(b)).saturating_sub(i64::from(u32::from(a)))
    };
    let mut steps = chars.windows(2).filter_map(|w| match w {
        [a, b] => Some(step(*a, *b)),
        _ => None,
    });
    match steps.next() {
        Some(first @ (1 | -1)) => steps.all(|s| s == first),
        _ => false,
    }
}

/// PIN-only shapes people pick when told to avoid repeats and runs: a mirror (`123321`,
/// `4004`) and a doubled run or repeat (`112233`, `998877`, `445566`: every digit written twice,
/// and the halved string is sequential or repetitive).
pub(crate) fn is_pin_shape(chars: &[char]) -> bool {
    let n = chars.len();
    if n < 4 {
        return false;
    }
    let mirror = chars.iter().eq(chars.iter().rev());
    let doubled =
        n.is_multiple_of(2) && chars.chunks(2).all(|pair| matches!(pair, [a, b] if a == b));
    if mirror {
        return true;
    }
    if doubled {
        let halved: alloc::vec::Vec<char> = chars.iter().step_by(2).copied().collect();
        return is_sequential(&halved) || is_repetitive(&halved);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn v(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn repetitive() {
        for s in [
            "aaaaaaaaaaaaaaaa",
            "abcabcabcabcabc",
            "121212",
            "ababababab",
            "aaaaaaab",
        ] {
            assert!(is_repetitive(&v(s)), "{s}");
        }
        for s in ["abcabcabcabcabd", "123457", "correct horse"] {
            assert!(!is_repetitive(&v(s)), "{s}");
        }
    }

    #[test]
    fn sequential() {
        for s in [
            "abcdefghijklmnop",
            "987654",
            "7890123",
            "3210987",
            "lmnopqrstuvwxyz",
        ] {
            assert!(is_sequential(&v(s)), "{s}");
        }
        for s in ["ab", "abd", "135790", "abcdefghijklmnoq", "aaaa"] {
            assert!(!is_sequential(&v(s)), "{s}");
        }
    }

    #[test]
    fn pin_shapes() {
        for s in [
            "123321", "4004", "112233", "998877", "00112233", "445566", "135531",
        ] {
            assert!(is_pin_shape(&v(s)), "{s}");
        }
        for s in ["480917", "112234", "1212", "123", "902718", "5589"] {
            assert!(!is_pin_shape(&v(s)), "{s}");
        }
    }
}
