//! Resource, DataSource and Provider traits over typed state, their type-erased adapters,
//! and the plan rules every resource gets for free.
//!
//! * `traits`: what a provider implements ([`Resource`], [`DataSource`], [`Provider`]).
//! * `erased`: what the server calls ([`DynResource`], ...) and [`Typed`], the adapter between
//!   the two, made by [`resource`], [`data_source`] and [`provider`].
//! * `plan`: the default plan ([`plan_default`]) and the nulling of write-only attributes.
//! * `validation`: what is checked before the typed `validate` (write-only attributes on old
//!   clients, the schema's validators).
//! * `walk`: the one walk over a schema and its values that those rules go through.

mod erased;
mod plan;
mod traits;
mod validation;
mod walk;

pub use erased::{
    data_source, provider, resource, DynDataSource, DynProvider, DynResource, PlanOutcome, Typed,
};
pub(crate) use erased::{decode_config, LazySchema};
pub use plan::{null_write_only, plan_default};
pub use traits::{
    ApplyRequest, Ctx, DataSource, Plan, PlanRequest, Private, Provider, Read, Resource,
};
pub(crate) use validation::run_validators;
