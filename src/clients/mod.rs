//! One typed client per system. No Terraform types in here: clients return
//! `Result<T, clients::Error>` and resources turn errors into diagnostics.

pub mod cache;
pub mod error;
pub mod forge_retention;
pub mod forgejo;
pub mod http;
pub mod integrity;
pub mod kubernetes;
pub mod registry;
pub mod vault;

pub use error::Error;
