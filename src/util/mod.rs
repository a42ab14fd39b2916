//! Small pieces every part of the provider shares.

pub mod duration;
pub mod kube_names;
