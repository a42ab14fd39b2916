//! Plan-time checks for values the Woodpecker server validates weakly or not at all.
//!
//! What the server itself checks (Woodpecker 3.17.0, from the recordings): secret events
//! (non-empty, known names), secret name (non-empty only), secret value (non-empty), secret
//! images (a regex), repo `visibility`, `require_approval` and `timeout >= 1`, cron schedule,
//! timezone and name (non-empty), registry address/username/password (non-empty). Everything
//! else is stored as sent: `cancel_previous_pipeline_events: ["bogus"]`, secret names with spaces
//! or 300 characters, `config_file: "../../etc/passwd"`. Resources call these functions at plan
//! time so that a bad value fails `plan`, not half-way through `apply`.
//!
//! Every function returns `Err(message)` with a sentence fit for a diagnostic's detail.

/// Events a secret may be limited to: the server's webhook events (3.17.0). Any other name is
/// refused with `422 ... invalid webhook event: NAME`; an empty list with `422 ... invalid
/// secret event: no event specified` (400 on PATCH). The server stores and answers them sorted.
pub const SECRET_EVENTS: &[&str] = &[
    "push",
    "pull_request",
    "pull_request_closed",
    "pull_request_metadata",
    "tag",
    "release",
    "deployment",
    "cron",
    "manual",
];

/// Webhook events, the value set of a repo's `cancel_previous_pipeline_events` (the server does
/// not validate that list at all). The same names as [`SECRET_EVENTS`].
pub const WEBHOOK_EVENTS: &[&str] = SECRET_EVENTS;

/// `visibility` values the server accepts on `PATCH /api/repos/{id}` (else 400 `Invalid
/// visibility type`).
pub const REPO_VISIBILITIES: &[&str] = &["public", "private", "internal"];

/// `require_approval` values the server accepts (else 400 `Invalid require-approval setting`).
pub const REQUIRE_APPROVAL_MODES: &[&str] = &["none", "forks", "pull_requests", "all_events"];

/// Longest secret or cron name the provider accepts: the server's column is a `varchar(255)` on
/// MySQL and Postgres (SQLite, as in the recordings, stores longer names too).
pub const MAX_NAME_LEN: usize = 255;

/// The provider's secret name rule, stricter than the server (which only refuses an empty
/// name): 1 to 255 ASCII letters, digits and underscores, not starting with a digit, i.e.
/// `^[A-Za-z_][A-Za-z0-9_]{0,254}$`. Every name the recordings use for real work fits
/// (`docker_password`, `UPPER_CASE`, `org_token`, `many_000`); the ones the server merely
/// tolerates (`has space`, `dash-name`, 300 characters) do not. Such names are awkward in a
/// pipeline's `from_secret` and need escaping as a URL path segment. Names are case-sensitive
/// on the server (`DOCKER_PASSWORD` and `docker_password` are two secrets).
pub fn validate_secret_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("A secret name must not be empty.".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "A secret name may have at most {MAX_NAME_LEN} characters; this one has {}.",
            name.len()
        ));
    }
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let first_ok = !name.as_bytes()[0].is_ascii_digit();
    if !ok_chars || !first_ok {
        return Err(format!(
            "{name:?} is not a valid secret name: use ASCII letters, digits and underscores, \
             not starting with a digit (e.g. docker_password)."
        ));
    }
    Ok(())
}

/// A secret's events: at least one, each one of [`SECRET_EVENTS`], no repeats.
pub fn validate_secret_events<S: AsRef<str>>(events: &[S]) -> Result<(), String> {
    if events.is_empty() {
        return Err(format!(
            "A secret needs at least one event; choose from {}.",
            SECRET_EVENTS.join(", ")
        ));
    }
    validate_events(events, SECRET_EVENTS)
}

/// Events of a repo's `cancel_previous_pipeline_events` (may be empty: cancel nothing).
pub fn validate_webhook_events<S: AsRef<str>>(events: &[S]) -> Result<(), String> {
    validate_events(events, WEBHOOK_EVENTS)
}

fn validate_events<S: AsRef<str>>(events: &[S], known: &[&str]) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for e in events {
        let e = e.as_ref();
        if !known.contains(&e) {
            return Err(format!(
                "{e:?} is not a Woodpecker event; choose from {}.",
                known.join(", ")
            ));
        }
        if seen.contains(&e) {
            return Err(format!("The event {e:?} is listed twice."));
        }
        seen.push(e);
    }
    Ok(())
}

/// An image a secret is limited to, by the server's own rule (3.17.0's 422 text):
/// `^([\w\d\-_\.]+(:\d+)?/)?([\w\d\-_\.][\w\d\-_\.\/]*/)?([\w\d\-_\.]+)(:[\w\d\-_]+)?(@sha256:[a-f\d]{64})?$`
/// (Go's `\w` is ASCII-only, as here).
pub fn validate_secret_image(image: &str) -> Result<(), String> {
    if image_re().is_match(image) {
        Ok(())
    } else {
        Err(format!(
            "{image:?} is not an image reference Woodpecker accepts (e.g. \
             woodpeckerci/plugin-docker-buildx, docker.io/library/alpine:3, \
             registry:5000/team/app)."
        ))
    }
}

fn image_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        let w = r"[A-Za-z0-9_\-.]";
        regex::Regex::new(&format!(
            r"^({w}+(:[0-9]+)?/)?({w}[A-Za-z0-9_\-./]*/)?({w}+)(:[A-Za-z0-9_\-]+)?(@sha256:[a-f0-9]{{64}})?$"
        ))
        .expect("image regex")
    })
}

/// A repo's `visibility`: one of [`REPO_VISIBILITIES`].
pub fn validate_visibility(v: &str) -> Result<(), String> {
    one_of("visibility", v, REPO_VISIBILITIES)
}

/// A repo's `require_approval`: one of [`REQUIRE_APPROVAL_MODES`].
pub fn validate_require_approval(v: &str) -> Result<(), String> {
    one_of("require_approval", v, REQUIRE_APPROVAL_MODES)
}

fn one_of(what: &str, v: &str, set: &[&str]) -> Result<(), String> {
    if set.contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "{v:?} is not a valid {what}; choose from {}.",
            set.join(", ")
        ))
    }
}

/// A repo's pipeline `timeout` in minutes: at least 1 (the server's own check). The server
/// accepts any larger value from an admin (100000 in the recordings); the upper bound is the
/// server's configured maximum, which only the server knows.
pub fn validate_timeout(minutes: i64) -> Result<(), String> {
    if minutes < 1 {
        return Err(format!(
            "A pipeline timeout must be at least 1 minute (got {minutes})."
        ));
    }
    Ok(())
}

/// A registry address: non-empty, no whitespace, no scheme, no `/` (the address is the
/// registry's key in `/api/.../registries/{address}`, so a slash could not be addressed), e.g.
/// `docker.io`, `ghcr.io`, `registry.example.com:5000`.
pub fn validate_registry_address(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("A registry address must not be empty.".into());
    }
    if address.contains("://") {
        return Err(format!(
            "{address:?}: give the registry's host (and port) without a scheme, e.g. ghcr.io."
        ));
    }
    if address.contains('/') || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{address:?} is not a registry address: a host with an optional port, e.g. \
             registry.example.com:5000."
        ));
    }
    Ok(())
}

/// A cron's name: non-empty (the server's check), at most 255 characters, no control
/// characters. Crons are addressed by id, so any other name is fine.
pub fn validate_cron_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("A cron name must not be empty.".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "A cron name may have at most {MAX_NAME_LEN} characters."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{name:?}: a cron name must not contain control characters."
        ));
    }
    Ok(())
}

/// A cron schedule the way the server parses it (robfig/cron's standard parser, 3.17.0):
/// exactly five fields `minute hour day-of-month month day-of-week` (no seconds field: six
/// fields are refused with `expected exactly 5 fields`), each a comma-separated list of `*`,
/// `?`, `N`, `N-M`, with an optional `/step`; month and weekday names (`jan`, `mon`) in any
/// case; or a descriptor `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
/// `@midnight`, `@hourly`, `@every DURATION` (Go duration, e.g. `6h`, `1h30m`).
///
/// Stricter than the server: a `TZ=`/`CRON_TZ=` prefix is refused (the cron's `timezone`
/// says that), and `@every` needs at least one second (the server rounds shorter ones up).
pub fn validate_cron_schedule(spec: &str) -> Result<(), String> {
    parse_schedule(spec).map_err(|e| format!("{spec:?} is not a valid cron schedule: {e}."))
}

fn parse_schedule(spec: &str) -> Result<(), String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("it is empty".into());
    }
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        return Err("set the time zone with the cron's timezone, not in the schedule".into());
    }
    if let Some(d) = spec.strip_prefix('@') {
        if let Some(dur) = d.strip_prefix("every ") {
            let secs = go_duration_seconds(dur.trim())?;
            if secs < 1.0 {
                return Err("@every needs a duration of at least 1s".into());
            }
            return Ok(());
        }
        return match d {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ => Err(format!(
                "unknown descriptor {spec}; use @yearly, @annually, @monthly, @weekly, \
                 @daily, @midnight, @hourly or @every DURATION"
            )),
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let specs: [(&str, u32, u32, &[&str], u32); 5] = [
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day of month", 1, 31, &[], 0),
        ("month", 1, 12, MONTHS, 1),
        ("day of week", 0, 6, DAYS, 0),
    ];
    for (field, (what, min, max, names, name_base)) in fields.iter().zip(specs) {
        for part in field.split(',') {
            check_range(part, min, max, names, name_base)
                .map_err(|e| format!("{what} field {field:?}: {e}"))?;
        }
    }
    Ok(())
}

/// One `*`, `?`, `N`, `N-M`, each with an optional `/step` (robfig's getRange).
fn check_range(
    expr: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(), String> {
    let mut slash = expr.split('/');
    let range = slash.next().unwrap_or_default();
    let step = slash.next();
    if slash.next().is_some() {
        return Err(format!("too many slashes in {expr:?}"));
    }
    let (start, end) = if range == "*" || range == "?" {
        (min, max)
    } else {
        let mut dash = range.split('-');
        let lo = value(dash.next().unwrap_or_default(), names, name_base)?;
        let hi = match dash.next() {
            Some(h) => value(h, names, name_base)?,
            None if step.is_some() => max,
            None => lo,
        };
        if dash.next().is_some() {
            return Err(format!("too many hyphens in {expr:?}"));
        }
        (lo, hi)
    };
    if start < min {
        return Err(format!("{start} is below the minimum {min}"));
    }
    if end > max {
        return Err(format!("{end} is above the maximum {max}"));
    }
    if start > end {
        return Err(format!("the range starts at {start}, after its end {end}"));
    }
    if let Some(s) = step {
        let s: u32 = s
            .parse()
            .map_err(|_| format!("the step {s:?} is not a number"))?;
        if s == 0 {
            return Err("a step must be a positive number".into());
        }
    }
    Ok(())
}

fn value(s: &str, names: &[&str], name_base: u32) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + name_base);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a number"));
    }
    s.parse().map_err(|_| format!("{s:?} is out of range"))
}

/// Go's `time.ParseDuration`, in seconds (no sign: a schedule's interval is positive).
fn go_duration_seconds(s: &str) -> Result<f64, String> {
    let bad = || format!("{s:?} is not a duration (e.g. 30m, 6h, 1h30m)");
    if s.is_empty() || s.starts_with('-') || s.starts_with('+') {
        return Err(bad());
    }
    let mut rest = s;
    let mut total = 0.0;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..n_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(bad());
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[u_end..];
        total += n * unit;
    }
    Ok(total)
}

/// A cron's time zone, by shape only: empty (the server reads it as UTC), `UTC`, or an IANA
/// name such as `Europe/London`, `America/Argentina/Buenos_Aires`, `Etc/GMT+5`.
///
/// Whether the zone EXISTS is for the server to say (Go's `time.LoadLocation` on the server
/// host, case-sensitive; unknown zones are refused with 422 `can't parse timezone: unknown
/// time zone NAME`, which the client surfaces at apply). The provider carries no time zone
/// database, and the local machine's may differ from the server's.
pub fn validate_timezone(tz: &str) -> Result<(), String> {
    if tz.is_empty() || tz == "UTC" {
        return Ok(());
    }
    let bad = || {
        format!("{tz:?} is not a time zone name; use an IANA name such as Europe/London, or UTC.")
    };
    if tz == "Local" {
        return Err(format!(
            "{tz:?} means the server's own zone, which differs between hosts; name the zone, \
             e.g. Europe/London."
        ));
    }
    for part in tz.split('/') {
        let first_ok = part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
        let rest_ok = part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'));
        if !first_ok || !rest_ok {
            return Err(bad());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for ok in ["docker_password", "UPPER_CASE", "_x", "many_000", "s", "a1"] {
            assert!(validate_secret_name(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(256);
        for bad in [
            "",
            "has space",
            "dash-name",
            "1abc",
            "a/b",
            "é",
            long.as_str(),
        ] {
            assert!(validate_secret_name(bad).is_err(), "{bad}");
        }
        assert!(validate_secret_name(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn events() {
        // The nine events of recording 01 #87, all accepted by the server.
        assert!(validate_secret_events(SECRET_EVENTS).is_ok());
        assert!(validate_secret_events::<&str>(&[]).is_err());
        assert!(validate_secret_events(&["bogus"]).is_err());
        assert!(validate_secret_events(&["push", "push"]).is_err());
        assert!(validate_webhook_events::<&str>(&[]).is_ok());
        assert!(validate_webhook_events(&["push", "pull_request"]).is_ok());
    }

    #[test]
    fn images_follow_the_server_regex() {
        for ok in [
            "plugins/docker",
            "woodpeckerci/plugin-s3",
            "docker.io/woodpeckerci/plugin-git",
            "registry:5000/team/app:1",
            "alpine",
        ] {
            assert!(validate_secret_image(ok).is_ok(), "{ok}");
        }
        let digest = format!("alpine@sha256:{}", "a".repeat(64));
        assert!(validate_secret_image(&digest).is_ok());
        for bad in ["Not A Valid/Image:%%", "", "a b", "é/x"] {
            assert!(validate_secret_image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn value_sets() {
        for v in ["public", "private", "internal"] {
            assert!(validate_visibility(v).is_ok());
        }
        assert!(validate_visibility("bogus").is_err());
        for v in ["none", "forks", "pull_requests", "all_events"] {
            assert!(validate_require_approval(v).is_ok());
        }
        assert!(validate_require_approval("").is_err());
        assert!(validate_timeout(1).is_ok());
        assert!(validate_timeout(0).is_err());
        assert!(validate_timeout(-5).is_err());
    }

    #[test]
    fn registry_addresses() {
        for ok in [
            "docker.io",
            "ghcr.io",
            "registry.example.com:5000",
            "[::1]:5000",
        ] {
            assert!(validate_registry_address(ok).is_ok(), "{ok}");
        }
        for bad in ["", "https://ghcr.io", "ghcr.io/owner", "a b"] {
            assert!(validate_registry_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schedules_as_robfig_standard() {
        for ok in [
            "0 3 * * *",
            "*/15 * * * *",
            "0 0 1 1 *",
            "0 9-17/2 * * mon-fri",
            "0 0 * JAN,jul SUN",
            "5,10 ? * * *",
            "0 0 31 * *",
            "@daily",
            "@midnight",
            "@every 6h",
            "@every 1h30m",
            "@every 1.5h",
        ] {
            assert!(validate_cron_schedule(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "not a schedule",
            "0 0 3 * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "5-1 * * * *",
            "*/0 * * * *",
            "1/2/3 * * * *",
            "@often",
            "@every",
            "@every 6",
            "@every 10ms",
            "@every -5m",
            "TZ=UTC 0 3 * * *",
        ] {
            assert!(validate_cron_schedule(bad).is_err(), "{bad}");
        }
        let e = validate_cron_schedule("not a schedule").unwrap_err();
        assert!(e.contains("expected exactly 5 fields"), "{e}");
    }

    #[test]
    fn time_zones_by_shape() {
        for ok in [
            "",
            "UTC",
            "Europe/London",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
            "EST5EDT",
            "Mars/Olympus",
        ] {
            assert!(validate_timezone(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Local",
            "../etc/passwd",
            "/etc/localtime",
            "Europe//London",
            "Europe/London ",
        ] {
            assert!(validate_timezone(bad).is_err(), "{bad}");
        }
    }
}
