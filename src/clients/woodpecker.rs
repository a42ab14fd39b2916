//! Woodpecker CI API client.

use tfplugin::secret::Secret;

/// The server and the token to use (what the provider's `woodpecker` block resolves to).
#[derive(Clone, Debug)]
pub struct WoodpeckerConfig {
    pub server: String,
    pub token: Secret,
}
