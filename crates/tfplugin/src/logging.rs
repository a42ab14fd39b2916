//! Logs as hclog-style JSON lines on stderr, the form go-plugin parses, so that Terraform's
//! TF_LOG / TF_LOG_PROVIDER decide what users see. Nothing is ever written to stdout.
//!
//! Secret values are kept out of log lines twice over: secrets travel in
//! [`Secret`](crate::secret::Secret), whose Debug output is redacted, and every value registered
//! with [`register_secret`](crate::secret::register_secret) is scrubbed from each rendered line
//! before it is written ([`redact`]), whatever code produced it.

use crate::secret::{for_each_registered, REDACTED};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Replace every registered secret in `line`.
pub fn redact(line: &str) -> String {
    let mut out = line.to_string();
    for_each_registered(|s| {
        if out.contains(s) {
            out = out.replace(s, REDACTED);
        }
        // The JSON-escaped form too (a secret with quotes or backslashes).
        let esc = serde_json::to_string(s).unwrap_or_default();
        let esc = esc.trim_matches('"');
        if esc != s && out.contains(esc) {
            out = out.replace(esc, REDACTED);
        }
    });
    out
}

/// The level asked for through the environment, as Terraform's own SDKs read it.
/// `provider_var` is the provider's own variable, e.g. `TF_LOG_PROVIDER_EXAMPLE`.
pub fn level_from_env(provider_var: &str) -> Option<Level> {
    let raw = [provider_var, "TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
    match raw.to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        _ => None,
    }
}

/// Install the hclog JSON layer as the global subscriber (stderr). `module` is the hclog
/// `@module` of every line (the provider's short name); `level_var` its own TF_LOG_PROVIDER_* name.
pub fn init(module: &'static str, level_var: &str) {
    let level = level_from_env(level_var);
    let layer = HclogLayer {
        max: level.unwrap_or(Level::WARN),
        module,
    };
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

pub struct HclogLayer {
    max: Level,
    module: &'static str,
}

struct JsonVisitor(BTreeMap<String, serde_json::Value>);

impl Visit for JsonVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            serde_json::Value::String(format!("{value:?}")),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(
            field.name().to_string(),
            serde_json::Value::String(value.to_string()),
        );
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.into());
    }
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *meta.level() <= self.max
    }

    /// Lets tracing skip the events below the level at their call site, at no cost per event.
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(self.max))
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > self.max {
            return;
        }
        let line = render(event, self.module);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.write_all(b"\n");
    }
}

fn render(event: &Event<'_>, module: &str) -> String {
    let meta = event.metadata();
    let mut v = JsonVisitor(BTreeMap::new());
    event.record(&mut v);
    let message =
        v.0.remove("message")
            .and_then(|m| m.as_str().map(str::to_string))
            .unwrap_or_default();
    let mut obj = serde_json::Map::new();
    obj.insert("@level".into(), hclog_level(*meta.level()).into());
    obj.insert("@message".into(), message.into());
    obj.insert("@module".into(), module.into());
    obj.insert("@timestamp".into(), rfc3339_now().into());
    obj.insert("@caller".into(), meta.target().into());
    for (k, val) in v.0 {
        obj.insert(k, val);
    }
    redact(&serde_json::Value::Object(obj).to_string())
}

fn hclog_level(l: Level) -> &'static str {
    match l {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// UTC timestamp with microseconds, e.g. 2026-11-27T08:34:32.123456Z.
fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's civil_from_days algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::register_secret;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_784), (2026, 11, 27));
    }

    #[test]
    fn registered_secrets_are_scrubbed() {
        register_secret("s3cr3t-token-value");
        register_secret("ab"); // too short: ignored
        let line = redact(r#"{"@message":"using s3cr3t-token-value for ab"}"#);
        assert!(!line.contains("s3cr3t-token-value"));
        assert!(line.contains("[redacted]"));
        assert!(line.contains(" ab"));
    }
}
