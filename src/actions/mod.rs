//! One file per action type (Terraform >= 1.14: `action` blocks, `terraform apply -invoke`,
//! `action_trigger`). An action keeps no state: it does something and reports progress.

pub mod rollout_restart;
pub mod woodpecker_pipeline;

use crate::provider::ProviderData;
use std::sync::Arc;
use tfplugin::action::{action, DynAction};

/// Every action type the provider serves.
pub fn all(data: &ProviderData) -> Vec<Arc<dyn DynAction>> {
    vec![
        action(woodpecker_pipeline::WoodpeckerPipeline::new(data.clone())),
        action(rollout_restart::RolloutRestart::new(data.clone())),
    ]
}
