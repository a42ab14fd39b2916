//! Cron schedules the way Woodpecker reads them (robfig/cron's standard parser: five fields or a
//! descriptor such as `@daily` / `@every 6h`), with the same error texts, and the next run time
//! in a time zone. Time zones are looked up like Go's `time.LoadLocation` (system zoneinfo).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    Spec {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
        dom_star: bool,
        dow_star: bool,
    },
    Every(i64),
}

const STAR: u64 = 1 << 63;

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTE: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// Go's `strconv.Atoi` plus robfig's negative check.
fn must_parse_int(expr: &str) -> Result<u32, String> {
    let n: i64 = expr.parse().map_err(|_| {
        let why = if expr
            .trim_start_matches(['-', '+'])
            .chars()
            .all(|c| c.is_ascii_digit())
            && !expr.is_empty()
        {
            "value out of range"
        } else {
            "invalid syntax"
        };
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: {why}",
            go_quote(expr)
        )
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    u32::try_from(n).map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range",
            go_quote(expr)
        )
    })
}

fn parse_int_or_name(expr: &str, b: &Bounds) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    if let Some((_, v)) = b.names.iter().find(|(n, _)| *n == lower) {
        return Ok(*v);
    }
    must_parse_int(expr)
}

fn get_range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end, mut extra);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        start = b.min;
        end = b.max;
        extra = STAR;
    } else {
        start = parse_int_or_name(low_and_high[0], b)?;
        end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        extra = 0;
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let s = must_parse_int(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if s > 1 {
                extra = 0;
            }
            s
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = 0u64;
    let mut i = start;
    while i <= end {
        bits |= 1 << i;
        i += step;
    }
    Ok(bits | extra)
}

fn get_field(field: &str, b: &Bounds) -> Result<u64, String> {
    let mut bits = 0;
    for expr in field.split(',') {
        bits |= get_range(expr, b)?;
    }
    Ok(bits)
}

/// Go's `time.ParseDuration`, to whole seconds (robfig rounds `@every` down to seconds, min 1s).
fn parse_go_duration(s: &str) -> Result<f64, String> {
    let err = || format!("time: invalid duration {}", go_quote(s));
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." {
            return Err(err());
        }
        let n: f64 = num.parse().map_err(|_| err())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let secs = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration {}", go_quote(s))),
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(u),
                    go_quote(s)
                ))
            }
        };
        total += n * secs;
    }
    Ok(if neg { -total } else { total })
}

/// Parses like robfig/cron's `ParseStandard`; the error is robfig's text.
pub fn parse(spec: &str) -> Result<Schedule, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    if spec.starts_with('@') {
        let five = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ => {
                if let Some(d) = spec.strip_prefix("@every ") {
                    let secs = parse_go_duration(d)
                        .map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
                    let secs = (secs.floor() as i64).max(1);
                    return Ok(Schedule::Every(secs));
                }
                return Err(format!("unrecognized descriptor: {spec}"));
            }
        };
        return parse(five);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let minute = get_field(fields[0], &MINUTE)?;
    let hour = get_field(fields[1], &HOUR)?;
    let dom = get_field(fields[2], &DOM)?;
    let month = get_field(fields[3], &MONTH)?;
    let dow = get_field(fields[4], &DOW)?;
    Ok(Schedule::Spec {
        minute,
        hour,
        dom: dom & !STAR,
        month,
        dow: dow & !STAR,
        dom_star: dom & STAR != 0,
        dow_star: dow & STAR != 0,
    })
}

/// Go's `time.LoadLocation`: "" and "UTC" are UTC, other names come from the zoneinfo database.
pub fn load_location(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    let bad = || format!("unknown time zone {name}");
    if name.contains("..") || name.starts_with('/') {
        return Err(bad());
    }
    let tz = TimeZone::get(name).map_err(|_| bad())?;
    // Go's lookup is case-sensitive (file names); jiff's is not.
    match tz.iana_name() {
        Some(n) if n != name => Err(bad()),
        _ => Ok(tz),
    }
}

fn has(bits: u64, i: i8) -> bool {
    i >= 0 && bits & (1 << i) != 0
}

/// The first activation strictly after `now` (unix seconds); 0 when none within five years.
pub fn next(s: &Schedule, tz: &TimeZone, now: i64) -> i64 {
    match s {
        Schedule::Every(d) => now + d,
        Schedule::Spec {
            minute,
            hour,
            dom,
            month,
            dow,
            dom_star,
            dow_star,
        } => {
            let Ok(ts) = Timestamp::from_second(now) else {
                return 0;
            };
            let local = tz.to_datetime(ts);
            let mut t: DateTime = local
                .with()
                .second(0)
                .subsec_nanosecond(0)
                .build()
                .ok()
                .and_then(|d| d.checked_add(1.minute()).ok())
                .unwrap_or(local);
            let limit = t.year() + 5;
            let day_ok = |d: &DateTime| {
                let dm = has(*dom, d.day());
                let dw = has(*dow, d.weekday().to_sunday_zero_offset());
                if *dom_star || *dow_star {
                    dm && dw
                } else {
                    dm || dw
                }
            };
            let mut guard = 0;
            while t.year() <= limit && guard < 100_000 {
                guard += 1;
                if !has(*month, t.month()) {
                    let first = t
                        .first_of_month()
                        .with()
                        .hour(0)
                        .minute(0)
                        .build()
                        .unwrap_or(t);
                    t = first.checked_add(1.month()).unwrap_or(t);
                    continue;
                }
                if !day_ok(&t) {
                    let d = t.with().hour(0).minute(0).build().unwrap_or(t);
                    t = d.checked_add(1.day()).unwrap_or(t);
                    continue;
                }
                if !has(*hour, t.hour()) {
                    let h = t.with().minute(0).build().unwrap_or(t);
                    t = h.checked_add(1.hour()).unwrap_or(t);
                    continue;
                }
                if !has(*minute, t.minute()) {
                    t = t.checked_add(1.minute()).unwrap_or(t);
                    continue;
                }
                return tz
                    .to_ambiguous_zoned(t)
                    .compatible()
                    .map(|z| z.timestamp().as_second())
                    .unwrap_or(0);
            }
            0
        }
    }
}

/// Go's `%q` for a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` for an integer (a quoted rune: 2 is `'\x02'`, 65 is `'A'`).
pub fn go_quote_int(n: i64) -> String {
    let inner = match u32::try_from(n).ok().and_then(char::from_u32) {
        None => "\\ufffd".to_string(),
        Some('\'') => "\\'".into(),
        Some('\\') => "\\\\".into(),
        Some('\n') => "\\n".into(),
        Some('\t') => "\\t".into(),
        Some('\r') => "\\r".into(),
        Some('\u{7}') => "\\a".into(),
        Some('\u{8}') => "\\b".into(),
        Some('\u{c}') => "\\f".into(),
        Some('\u{b}') => "\\v".into(),
        Some(c) if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
        Some(c) if c.is_control() && (c as u32) < 0x10000 => format!("\\u{:04x}", c as u32),
        Some(c) if c.is_control() => format!("\\U{:08x}", c as u32),
        Some(c) => c.to_string(),
    };
    format!("'{inner}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_match_robfig() {
        assert_eq!(
            parse("not a schedule").unwrap_err(),
            "expected exactly 5 fields, found 3: [not a schedule]"
        );
        assert_eq!(
            parse("61 * * * *").unwrap_err(),
            "end of range (61) above maximum (59): 61"
        );
        assert_eq!(
            parse("@bogus").unwrap_err(),
            "unrecognized descriptor: @bogus"
        );
        assert!(parse("*/5 1-3 * jan-mar mon,fri").is_ok());
        assert_eq!(parse("@every 6h").unwrap(), Schedule::Every(21600));
    }

    #[test]
    fn next_in_zone() {
        let tz = load_location("Europe/London").unwrap();
        // 2026-11-29 10:24:41 UTC -> 2026-11-30 03:00 London (= UTC in winter).
        assert_eq!(
            next(&parse("0 3 * * *").unwrap(), &tz, 1795947881),
            1796007600
        );
        assert_eq!(
            next(&parse("@every 6h").unwrap(), &tz, 1795947881),
            1795969481
        );
        assert_eq!(
            load_location("Mars/Olympus").unwrap_err(),
            "unknown time zone Mars/Olympus"
        );
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote_int(2), "'\\x02'");
        assert_eq!(go_quote_int(65), "'A'");
        assert_eq!(go_quote("a\"b"), "\"a\\\"b\"");
    }
}
