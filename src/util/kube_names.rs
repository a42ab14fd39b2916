//! Kubernetes' rules for names, label keys and values and annotation keys (as the API server
//! checks them in `k8s.io/apimachinery/pkg/util/validation`), as schema validators, so that a
//! bad value fails `terraform validate` with its attribute path instead of a 422 at apply.

use tfplugin::validate::{map_keys, string_check, Validator};

const DNS_LABEL_MAX: usize = 63;
const DNS_SUBDOMAIN_MAX: usize = 253;
const LABEL_VALUE_MAX: usize = 63;

fn is_alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// A DNS-1123 label: at most 63 of `a-z0-9-`, starting and ending alphanumeric.
fn dns_label(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("must not be empty".into());
    }
    if s.len() > DNS_LABEL_MAX {
        return Some(format!("is longer than {DNS_LABEL_MAX} characters"));
    }
    let ok = s.chars().all(|c| is_alnum_lower(c) || c == '-')
        && s.starts_with(is_alnum_lower)
        && s.ends_with(is_alnum_lower);
    (!ok).then(|| {
        "must consist of lower-case letters, digits and '-', and start and end with a letter or digit"
            .into()
    })
}

/// A DNS-1123 subdomain (the names of most objects, Deployments included): at most 253
/// characters, dot-separated DNS-1123 labels.
pub fn dns_subdomain(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("must not be empty".into());
    }
    if s.len() > DNS_SUBDOMAIN_MAX {
        return Some(format!(
            "is longer than {DNS_SUBDOMAIN_MAX} characters (not a DNS-1123 subdomain)"
        ));
    }
    s.split('.').find_map(dns_label).map(|why| {
        format!(
            "is not a DNS-1123 subdomain: each dot-separated part {}",
            why.trim_start_matches("must ")
                .replace("consist", "must consist")
                .replace("is longer", "must not be longer")
        )
    })
}

/// The name part of a label key or value: at most 63 of `A-Za-z0-9-_.`, starting and ending
/// alphanumeric (empty allowed only for values).
fn name_part(s: &str) -> Option<String> {
    if s.len() > LABEL_VALUE_MAX {
        return Some(format!("is longer than {LABEL_VALUE_MAX} characters"));
    }
    let ok = s
        .chars()
        .all(|c| is_alnum(c) || matches!(c, '-' | '_' | '.'))
        && s.starts_with(is_alnum)
        && s.ends_with(is_alnum);
    (!ok).then(|| {
        "must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit"
            .into()
    })
}

/// A qualified name (label and annotation keys): `[prefix/]name`, the prefix a DNS-1123
/// subdomain, the name at most 63 characters of `A-Za-z0-9-_.`.
pub fn qualified_name(s: &str) -> Option<String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if name.is_empty() {
        return Some("has an empty name part".into());
    }
    if let Some(why) = prefix.and_then(dns_subdomain) {
        return Some(format!("has a prefix that {why}"));
    }
    name_part(name).map(|why| format!("has a name part that {why}"))
}

/// A label value: empty, or at most 63 of `A-Za-z0-9-_.` starting and ending alphanumeric.
pub fn label_value(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    name_part(s)
}

/// Validator: the name of a Deployment (or another object named by a DNS-1123 subdomain).
pub fn object_name() -> Validator {
    string_check(
        "a Kubernetes object name (a DNS-1123 subdomain)",
        dns_subdomain,
    )
}

/// Validator: the keys of a `labels` map.
pub fn label_keys() -> Validator {
    map_keys(
        "a Kubernetes qualified name (`[prefix/]name`)",
        qualified_name,
    )
}

/// Validator: the values of a `labels` map.
pub fn label_values() -> Validator {
    string_check(
        "a Kubernetes label value (at most 63 characters)",
        label_value,
    )
}

/// Validator: the keys of an `annotations` map.
pub fn annotation_keys() -> Validator {
    map_keys(
        "a Kubernetes qualified name (`[prefix/]name`)",
        qualified_name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_the_api_server_checks_them() {
        let long = "a".repeat(64);
        type Check = fn(&str) -> Option<String>;
        let cases: &[(Check, &str, bool)] = &[
            (dns_subdomain, "web", true),
            (dns_subdomain, "web-1.example", true),
            (dns_subdomain, "Web", false),
            (dns_subdomain, "web_1", false),
            (dns_subdomain, "-web", false),
            (dns_subdomain, "web.", false),
            (dns_subdomain, "", false),
            (dns_subdomain, &long, false),
            (qualified_name, "app", true),
            (qualified_name, "app.kubernetes.io/name", true),
            (qualified_name, "App_Name.x", true),
            (qualified_name, "example.com/", false),
            (qualified_name, "Example.com/x", false),
            (qualified_name, "a/b/c", false),
            (qualified_name, "-x", false),
            (qualified_name, "has space", false),
            (qualified_name, &long, false),
            (label_value, "", true),
            (label_value, "v1.2_3-x", true),
            (label_value, "a b", false),
            (label_value, "x-", false),
            (label_value, &long, false),
        ];
        for (f, s, ok) in cases {
            assert_eq!(f(s).is_none(), *ok, "{s:?}: {:?}", f(s));
        }
        assert!(
            dns_subdomain(&long).unwrap().contains("253")
                || dns_subdomain(&long).unwrap().contains("63")
        );
    }

    #[test]
    fn validators_report_the_key_or_value_path() {
        use tfplugin::diagnostics::{AttrPath, Diagnostics};
        use tfplugin::value::Value;
        let mut d = Diagnostics::new();
        let labels = Value::map([
            ("bad key", Value::string("ok")),
            ("k", Value::string("bad value")),
        ]);
        label_keys().check(&labels, &AttrPath::root("labels"), &mut d);
        label_values().check(&labels, &AttrPath::root("labels"), &mut d);
        let paths: Vec<_> =
            d.0.iter()
                .map(|x| x.path.clone().unwrap().to_string())
                .collect();
        assert_eq!(paths, ["labels[\"bad key\"]", "labels[\"k\"]"], "{:?}", d.0);
        let mut d = Diagnostics::new();
        object_name().check(
            &Value::string("My_App"),
            &AttrPath::root("deployment"),
            &mut d,
        );
        assert!(d.0[0].detail.contains("DNS-1123"), "{:?}", d.0);
        // Unknown values and unknown keys' maps are not checked.
        let mut d = Diagnostics::new();
        label_keys().check(&Value::unknown(), &AttrPath::root("labels"), &mut d);
        assert!(d.0.is_empty());
    }
}
