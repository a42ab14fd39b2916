//! The typed adapter: what reaches the server for each answer of a typed method.

use super::*;
use crate::diagnostics::Severity;
use crate::schema::{Attribute, Block};
use crate::typed::Val;
use serde::Deserialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    name: Val<String>,
}

/// What `read` answers, chosen by the stored name.
struct Probe;

#[async_trait]
impl Resource for Probe {
    type State = State;

    fn type_name(&self) -> &'static str {
        "test_probe"
    }

    fn schema(&self) -> Schema {
        let name = Attribute::string("name")
            .required()
            .validate(crate::validate::not_empty());
        Schema::new(0, Block::new("").attr(name))
    }

    async fn create(
        &self,
        _cx: &Ctx,
        _req: &mut ApplyRequest<State>,
        _diags: &mut Diagnostics,
    ) -> Option<State> {
        None // forgets to say why
    }

    async fn read(
        &self,
        _cx: &Ctx,
        state: State,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        match state.name.known().map(String::as_str) {
            Some("found") => Some(Read::Found(State {
                name: Val::Known("refreshed".into()),
            })),
            Some("gone") => Some(Read::Gone),
            Some("error") => {
                diags.error("Could not read", "the API said no");
                None
            }
            _ => None, // forgets to say why
        }
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        _diags: &mut Diagnostics,
    ) -> Option<State> {
        Some(req.planned.clone())
    }

    async fn delete(&self, _cx: &Ctx, _prior: State, _private: &Private, _diags: &mut Diagnostics) {
    }
}

fn state(name: &str) -> Value {
    Value::object([("name", Value::string(name))])
}

fn errors(d: &Diagnostics) -> Vec<String> {
    d.0.iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| x.summary.clone())
        .collect()
}

#[tokio::test]
async fn read_says_found_or_gone_and_a_failure_keeps_the_object() {
    let r = resource(Probe);
    let cx = Ctx::default();
    let mut private = Private::default();
    private.set("k", &1);
    let cases: [(&str, Value, Vec<&str>); 4] = [
        ("found", state("refreshed"), vec![]),
        ("gone", Value::Null, vec![]),
        ("error", state("error"), vec!["Could not read"]),
        (
            "silent",
            state("silent"),
            vec!["Provider bug: test_probe read failed without saying why"],
        ),
    ];
    for (name, want, want_errors) in cases {
        let mut d = Diagnostics::new();
        let (got, got_private) = r.read(&cx, &state(name), private.clone(), &mut d).await;
        assert_eq!(got, want, "{name}");
        assert_eq!(errors(&d), want_errors, "{name}");
        let private_kept = got_private == private;
        assert_eq!(private_kept, name != "gone", "{name}: private data");
    }
}

#[tokio::test]
async fn a_create_that_fails_silently_is_reported() {
    let r = resource(Probe);
    let mut d = Diagnostics::new();
    let planned = state("x");
    let (got, _) = r
        .apply(
            &Ctx::default(),
            &Value::Null,
            &planned,
            &planned,
            Private::default(),
            &mut d,
        )
        .await;
    assert_eq!(got, Value::Null);
    assert_eq!(
        errors(&d),
        ["Provider bug: test_probe create failed without saying why"]
    );
}

#[tokio::test]
async fn import_without_support_says_so_once() {
    let r = resource(Probe);
    let mut d = Diagnostics::new();
    assert!(r.import(&Ctx::default(), "x", &mut d).await.is_none());
    assert_eq!(errors(&d), ["test_probe does not support import"]);
}

#[tokio::test]
async fn validation_runs_the_schema_validators() {
    let r = resource(Probe);
    let mut d = Diagnostics::new();
    r.validate(&Ctx::default(), &state(""), &mut d).await;
    assert_eq!(errors(&d), ["Invalid attribute value"]);
    assert_eq!(
        d.0[0].path,
        Some(crate::diagnostics::AttrPath::root("name"))
    );
    let mut d = Diagnostics::new();
    r.validate(&Ctx::default(), &state("x"), &mut d).await;
    assert!(d.is_empty());
}
