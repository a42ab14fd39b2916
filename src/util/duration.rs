//! The one duration grammar every attribute that takes a duration accepts.
//!
//! One or more `<number><unit>` parts, units `w` (weeks), `d` (days), `h` (hours), `m`
//! (minutes), `s` (seconds), each at most once and largest first, no spaces inside:
//! `90s`, `5m`, `1h30m`, `2d`, `1w`, `1d12h`. [`DOC`] says so in the docs of each attribute.

use std::time::Duration;

/// One line for attribute descriptions.
pub const DOC: &str = "a duration such as `90s`, `5m`, `1h30m`, `2d` or `1w` \
    (units w, d, h, m, s, largest first)";

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

/// Why a text is not a duration; the message names the text and shows the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {why}; expected {DOC}")]
pub struct DurationError {
    pub text: String,
    pub why: String,
}

/// Parses `s` in the grammar above.
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    let err = |why: String| DurationError {
        text: s.to_string(),
        why,
    };
    let text = s.trim();
    if text.is_empty() {
        return Err(err("it is empty".into()));
    }
    let mut total: u64 = 0;
    // Index into UNITS of the next unit allowed (units go largest first).
    let mut next_unit = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == c) else {
            return Err(err(format!("unexpected character {c:?}")));
        };
        if number.is_empty() {
            return Err(err(format!("unit {c:?} has no number before it")));
        }
        if pos < next_unit {
            return Err(err(format!("unit {c:?} is repeated or out of order")));
        }
        let n: u64 = number.parse().map_err(|_| err("number too large".into()))?;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| err("duration too large".into()))?;
        number.clear();
        next_unit = pos + 1;
    }
    if !number.is_empty() {
        return Err(err(format!("number {number} has no unit")));
    }
    Ok(Duration::from_secs(total))
}

/// Formats whole seconds the way [`parse`] reads them, in d/h/m/s
/// (`2592000` -> `30d`, `129600` -> `1d12h`, `0` -> `0s`).
pub fn format(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        for (text, secs) in [
            ("90s", 90),
            ("5m", 300),
            ("1h30m", 5_400),
            ("2d", 172_800),
            ("1w", 604_800),
            ("1d12h", 129_600),
            ("30d", 2_592_000),
            (" 12h ", 43_200),
            ("0s", 0),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
    }

    #[test]
    fn refuses_everything_else_with_a_reason() {
        for (text, why) in [
            ("", "empty"),
            ("5", "no unit"),
            ("m", "no number"),
            ("5 minutes", "unexpected character ' '"),
            ("30m1h", "out of order"),
            ("1h1h", "repeated"),
            ("250ms", "'s' has no number before it"),
            ("-5m", "unexpected character '-'"),
            ("99999999999999999999s", "too large"),
            ("999999999999999999w", "too large"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
            assert!(e.to_string().contains("1h30m"), "the grammar is shown: {e}");
        }
    }

    #[test]
    fn format_round_trips() {
        for secs in [
            0u64, 1, 59, 60, 3_600, 5_400, 86_400, 129_600, 2_592_000, 700_000,
        ] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse(&format(d)), Ok(d), "{secs}");
        }
        assert_eq!(format(Duration::from_secs(129_600)), "1d12h");
    }
}
