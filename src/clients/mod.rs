//! One typed client per system. No Terraform types in here: clients return
//! `Result<T, clients::Error>` and resources turn errors into diagnostics.

pub mod cache;
pub mod error;
pub mod forgejo;
pub mod http;
pub mod image_ref;
pub mod kube_watch;
pub mod kubernetes;
pub mod registry;
pub mod retry;
pub mod vault;
pub mod woodpecker;

pub use error::Error;
