//! Deferred actions: when the provider's own configuration is not known yet (e.g. `address =
//! vault_mount.x.path`) and the client can defer (`deferral_allowed`, Terraform >= 1.9 with
//! deferred actions enabled), plans and reads of resources and data sources are deferred with
//! reason PROVIDER_CONFIG_UNKNOWN instead of failing: the client plans them again once the
//! configuration is known.
//!
//! What a deferred call answers: PlanResourceChange the framework's own plan (the proposed
//! state with defaults, computed attributes unknown, write-only null), ReadResource the current
//! state unchanged, ReadDataSource an unknown value. The resource's own code is not called.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::proto::tfplugin6 as pb;
use crate::resource::{plan_default, DynResource};
use crate::value::Value;

/// Whether the last ConfigureProvider had unknown values in its configuration.
#[derive(Debug, Default)]
pub struct ProviderConfigKnown(AtomicBool);

impl ProviderConfigKnown {
    /// Record the configuration ConfigureProvider received.
    pub fn record(&self, config: &Value) {
        self.0.store(!config.is_wholly_known(), Ordering::SeqCst);
    }

    /// The Deferred answer for a call from a client with `caps`, or none: the configuration was
    /// known, or the client cannot defer.
    pub fn defer(&self, caps: Option<&pb::ClientCapabilities>) -> Option<pb::Deferred> {
        let allowed = caps.is_some_and(|c| c.deferral_allowed);
        (allowed && self.0.load(Ordering::SeqCst)).then_some(pb::Deferred {
            reason: pb::deferred::Reason::ProviderConfigUnknown as i32,
        })
    }
}

/// The plan of a deferred PlanResourceChange (see the module docs).
pub fn deferred_plan(
    res: &dyn DynResource,
    prior: &Value,
    config: &Value,
    proposed: &Value,
) -> Value {
    if proposed.is_null() {
        return Value::Null;
    }
    plan_default(&res.schema().block, prior, config, proposed).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defers_only_an_unknown_configuration_for_a_client_that_can_defer() {
        let k = ProviderConfigKnown::default();
        let can = pb::ClientCapabilities {
            deferral_allowed: true,
            write_only_attributes_allowed: false,
        };
        k.record(&Value::object([("a", Value::string("x"))]));
        assert_eq!(k.defer(Some(&can)), None);
        k.record(&Value::object([("a", Value::unknown())]));
        let d = k.defer(Some(&can)).expect("deferred");
        assert_eq!(d.reason, pb::deferred::Reason::ProviderConfigUnknown as i32);
        assert_eq!(k.defer(None), None);
        let cannot = pb::ClientCapabilities::default();
        assert_eq!(k.defer(Some(&cannot)), None);
    }
}
