//! A Terraform / OpenTofu plugin protocol 6 server for providers written in Rust: everything
//! Terraform-specific, nothing about what a provider manages.
//!
//! * [`handshake`], [`server`], [`proto`]: go-plugin handshake (AutoMTLS) and the gRPC service.
//! * [`value`]: cty types and values, their msgpack and JSON codecs.
//! * [`typed`]: cty values to and from a resource's serde state struct (`Val<T>`).
//! * [`schema`], [`validate`], [`state!`]: schemas, validators, state structs declared once.
//! * [`resource`]: the typed traits, their type-erased adapters and the framework's plan rules.
//! * [`agreement`]: checks that a state struct and its schema agree.
//! * [`diagnostics`], [`logging`], [`secret`]: diagnostics with paths, hclog logs, secrets.

pub mod agreement;
pub mod cancel;
pub mod deferral;
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
