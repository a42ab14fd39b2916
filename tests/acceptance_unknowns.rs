//! Unknown values everywhere: every resource and data source, with each attribute in turn
//! (elements of collections and attributes of nested objects included) from an unknown value,
//! must validate and plan under every CLI. The configurations are generated from the schemas;
//! see tests/support/steps/unknowns.rs.

#[path = "support/steps/unknowns.rs"]
mod steps;
mod support;

support::per_cli!(unknowns, steps::unknowns);
support::per_cli!(bad_input, steps::bad_input);
