//! The protocol layer: everything Terraform-specific and nothing about Woodpecker or Kubernetes.
//! It could become its own crate.

pub mod agreement;
pub mod diagnostics;
pub mod handshake;
pub mod logging;
#[doc(hidden)]
pub mod proto;
pub mod resource;
pub mod schema;
pub mod secret;
pub mod server;
pub mod state;
pub mod typed;
pub mod validate;
pub mod value;
