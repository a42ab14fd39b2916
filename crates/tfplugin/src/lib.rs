//! A Terraform / OpenTofu plugin protocol 6 server for providers written in Rust: everything
//! Terraform-specific, nothing about what a provider manages.
//!
//! * [`handshake`], [`server`], [`proto`]: go-plugin handshake (AutoMTLS) and the gRPC service.
//! * [`tls`]: the process's TLS crypto provider (ring, plus P-521 verification).
//! * [`value`]: cty types and values, their msgpack and JSON codecs.
//! * [`typed`]: cty values to and from a resource's serde state struct (`Val<T>`).
//! * [`schema`], [`validate`], [`state!`]: schemas, validators, state structs declared once.
//! * [`resource`]: the typed traits, their type-erased adapters and the framework's plan rules.
//! * [`ephemeral`]: ephemeral resources (typed trait, erased adapter, their RPCs).
//! * [`features`]: which client version each protocol feature needs, and the error for an older one.
//! * [`action`]: actions (Terraform >= 1.14), typed and erased, and their RPCs.
//! * [`list`]: list resources for `terraform query` (Terraform >= 1.14).
//! * [`identity`]: resource identity (Terraform >= 1.12).
//! * [`agreement`]: checks that a state struct and its schema agree.
//! * [`diagnostics`], [`logging`], [`secret`]: diagnostics with paths, hclog logs, secrets.

pub mod action;
pub mod agreement;
pub mod cancel;
pub mod deferral;
pub mod diagnostics;
pub mod ephemeral;
pub mod features;
pub mod handshake;
pub mod identity;
pub mod list;
pub mod logging;
#[doc(hidden)]
pub mod proto;
pub mod resource;
pub mod schema;
pub mod secret;
pub mod server;
pub mod state;
pub mod tls;
pub mod typed;
pub mod validate;
pub mod value;
