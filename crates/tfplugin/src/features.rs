//! Which Terraform / OpenTofu release each protocol feature needs, and the one error a
//! configuration gets when its client is older: the feature's name and the minimum versions.
//!
//! A provider learns what its client can do from two places: the `ClientCapabilities` of a
//! request (`write_only_attributes_allowed` is set by Terraform/OpenTofu >= 1.11) and the
//! `terraform_version` of ConfigureProvider ([`ClientVersion`]). Both end in
//! [`Feature::refuse`], so every "too old" error reads alike.
//!
//! NOTE: a client that predates a language feature cannot parse its block at all (Terraform
//! 1.0.3 answers `ephemeral "..." {}` with "Unsupported block type" before any provider runs),
//! so for ephemeral resources, actions and list resources the CLI's own error is usually what a
//! user sees; the provider's check covers what does reach it (an attribute, a value).

use crate::diagnostics::{AttrPath, Diagnostics};

/// A protocol feature that needs a minimum client version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Protocol 6.8: attributes never stored in state (`*_wo`).
    WriteOnlyAttributes,
    /// Protocol 6.7: `ephemeral` blocks.
    EphemeralResources,
    /// Protocol 6.10: `action` blocks, `action_trigger`, `terraform apply -invoke`.
    Actions,
    /// Protocol 6.10: `list` blocks in `*.tfquery.hcl`, `terraform query`.
    ListResources,
}

impl Feature {
    pub const ALL: [Feature; 4] = [
        Feature::WriteOnlyAttributes,
        Feature::EphemeralResources,
        Feature::Actions,
        Feature::ListResources,
    ];

    /// What the feature is called in messages ("Write-only attributes").
    pub fn name(self) -> &'static str {
        match self {
            Feature::WriteOnlyAttributes => "Write-only attributes",
            Feature::EphemeralResources => "Ephemeral resources",
            Feature::Actions => "Actions",
            Feature::ListResources => "List resources (terraform query)",
        }
    }

    /// One use of the feature, for the error's summary ("Write-only attribute").
    pub fn noun(self) -> &'static str {
        match self {
            Feature::WriteOnlyAttributes => "Write-only attribute",
            Feature::EphemeralResources => "Ephemeral resource",
            Feature::Actions => "Action",
            Feature::ListResources => "List resource",
        }
    }

    /// The first Terraform release with the feature (major, minor).
    pub fn min_terraform(self) -> (u32, u32) {
        match self {
            Feature::WriteOnlyAttributes => (1, 11),
            Feature::EphemeralResources => (1, 10),
            Feature::Actions | Feature::ListResources => (1, 14),
        }
    }

    /// The first OpenTofu release with the feature, if one has it.
    pub fn min_opentofu(self) -> Option<(u32, u32)> {
        match self {
            Feature::WriteOnlyAttributes | Feature::EphemeralResources => Some((1, 11)),
            Feature::Actions | Feature::ListResources => None,
        }
    }

    /// "Terraform >= 1.11 or OpenTofu >= 1.11", "Terraform >= 1.14 (no OpenTofu release yet)".
    pub fn requirement(self) -> String {
        let (a, b) = self.min_terraform();
        match self.min_opentofu() {
            Some((c, d)) => format!("Terraform >= {a}.{b} or OpenTofu >= {c}.{d}"),
            None => format!("Terraform >= {a}.{b} (no OpenTofu release has them yet)"),
        }
    }

    /// Whether a Terraform release of this version has the feature.
    pub fn in_terraform(self, v: ClientVersion) -> bool {
        let (a, b) = self.min_terraform();
        (v.major, v.minor) >= (a, b)
    }

    /// Report that the client is too old for the feature: `used` says what in the configuration
    /// needs it (e.g. `"password_wo" is write-only (never stored in state)`), `instead` what to
    /// do on the older client. The summary is "<noun> not supported by this Terraform version".
    pub fn refuse(
        self,
        diags: &mut Diagnostics,
        path: Option<AttrPath>,
        used: &str,
        instead: &str,
    ) {
        let summary = format!("{} not supported by this Terraform version", self.noun());
        let mut detail = format!("{used}. {} need {}", self.name(), self.requirement());
        if instead.is_empty() {
            detail.push('.');
        } else {
            detail.push_str("; ");
            detail.push_str(instead);
        }
        match path {
            Some(p) => diags.error_at(p, summary, detail),
            None => diags.error(summary, detail),
        }
    }
}

/// A client version as ConfigureProvider's `terraform_version` gives it ("1.15.0", "1.11.4",
/// "1.9.0-beta1"). OpenTofu sends its own version there, which is why the checks compare
/// against Terraform's minimums only where that is safe (OpenTofu's are never lower).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClientVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ClientVersion {
    pub fn parse(s: &str) -> Option<ClientVersion> {
        let core = s.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut it = core.split('.').map(str::parse::<u32>);
        Some(ClientVersion {
            major: it.next()?.ok()?,
            minor: it.next()?.ok()?,
            patch: it.next().unwrap_or(Ok(0)).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        let v = |a, b, c| ClientVersion {
            major: a,
            minor: b,
            patch: c,
        };
        assert_eq!(ClientVersion::parse("1.15.0"), Some(v(1, 15, 0)));
        assert_eq!(ClientVersion::parse("1.9.0-beta1"), Some(v(1, 9, 0)));
        assert_eq!(ClientVersion::parse("v1.0.3"), Some(v(1, 0, 3)));
        assert_eq!(ClientVersion::parse("1.14"), Some(v(1, 14, 0)));
        assert_eq!(ClientVersion::parse(""), None);
        assert_eq!(ClientVersion::parse("dev"), None);
    }

    #[test]
    fn minimums_follow_the_protocol_table() {
        let v = |s| ClientVersion::parse(s).unwrap();
        assert!(!Feature::EphemeralResources.in_terraform(v("1.9.8")));
        assert!(Feature::EphemeralResources.in_terraform(v("1.10.0")));
        assert!(!Feature::WriteOnlyAttributes.in_terraform(v("1.10.5")));
        assert!(Feature::WriteOnlyAttributes.in_terraform(v("1.11.4")));
        for f in [Feature::Actions, Feature::ListResources] {
            assert!(!f.in_terraform(v("1.13.3")), "{f:?}");
            assert!(f.in_terraform(v("1.14.0")), "{f:?}");
            assert!(f.in_terraform(v("2.0.0")), "{f:?}");
        }
    }

    #[test]
    fn refusal_names_feature_and_versions() {
        let mut d = Diagnostics::new();
        Feature::EphemeralResources.refuse(
            &mut d,
            None,
            "cicd_vault_kv is an ephemeral resource",
            "",
        );
        let e = &d.0[0];
        assert_eq!(
            e.summary,
            "Ephemeral resource not supported by this Terraform version"
        );
        assert!(
            e.detail.contains("Terraform >= 1.10 or OpenTofu >= 1.11"),
            "{}",
            e.detail
        );
        let mut d = Diagnostics::new();
        Feature::Actions.refuse(&mut d, None, "x", "run the step by hand");
        assert!(d.0[0].detail.contains("Terraform >= 1.14 (no OpenTofu"));
        assert!(d.0[0].detail.ends_with("; run the step by hand"));
    }
}
