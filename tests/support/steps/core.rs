//! Steps for ring 3 of the protocol layer: a real CLI drives the provider.
//! - the shipped binary through dev_overrides with AutoMTLS: `providers schema -json`;
//! - a test-only resource served in-process through TF_REATTACH_PROVIDERS: create, empty
//!   re-plan, update, replace, unknown values flowing between resources, drift, import,
//!   write-only values, destroy. Each test serves its own provider and store.

use crate::support::thing::{Store, Thing};
use crate::support::{Attach, Cli, Exit, Scenario, Step};
use cicd::provider::CicdProvider;
use tfplugin::handshake::InProcess;
use tfplugin::resource;

pub fn providers_schema(_cli: &Cli) -> Scenario<()> {
    Scenario::new(
        (),
        vec![Step::cli(
            "providers schema -json through dev_overrides (no init)",
            &["providers", "schema", "-json"],
            Exit::Success,
        )
        // dev_overrides: no init needed (and the registry is not reachable anyway).
        .config("provider \"cicd\" {}\n")
        .check(|_, r| {
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let schemas = v["provider_schemas"].as_object().unwrap();
            let (addr, p) = schemas
                .iter()
                .find(|(k, _)| k.ends_with("viktorbarzin/cicd"))
                .unwrap_or_else(|| panic!("cicd not in {schemas:?}"));
            assert!(addr.contains("viktorbarzin/cicd"));
            let mut blocks: Vec<_> = p["provider"]["block"]["block_types"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            blocks.sort();
            assert_eq!(blocks, ["forgejo", "kubernetes", "vault", "woodpecker"]);
        })],
    )
}

/// The provider with `cicd_test_thing`, served in this process, and what a step keeps.
pub struct Served {
    _rt: tokio::runtime::Runtime,
    srv: InProcess,
    store: Store,
    /// `a`'s id at create.
    a_id: String,
    /// How many objects there were before the bad input.
    before: usize,
}

fn serve() -> Served {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = Store::default();
    let p = resource::provider(
        CicdProvider::new(cicd::resources::all, cicd::data_sources::all).with_resource(
            resource::resource(Thing {
                store: store.clone(),
            }),
        ),
    );
    let srv = rt.block_on(InProcess::start(p, cicd::PLUGIN)).unwrap();
    Served {
        _rt: rt,
        srv,
        store,
        a_id: String::new(),
        before: 0,
    }
}

fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

const V2: &str = r#"
resource "cicd_test_thing" "a" {
  name   = "alpha"
  tags   = ["x"]
  note   = "updated"
  size   = 3
  secret = "sensitive-alpha-0001"
}
resource "cicd_test_thing" "b" {
  name = "beta"
  note = cicd_test_thing.a.id
}
"#;

const WO: &str = r#"
resource "cicd_test_thing" "w" {
  name              = "wo"
  secret_wo         = "write-only-value-42"
  secret_wo_version = 1
}
"#;

pub fn test_resource_lifecycle(cli: &Cli) -> Scenario<Served> {
    type S = Step<Served>;
    let x = serve();
    let attach = Attach::Reattach(x.srv.reattach.clone());
    let mut steps = vec![
        S::apply("create two objects; b's note is a's id, unknown at plan time")
            .config(
                r#"
resource "cicd_test_thing" "a" {
  name   = "alpha"
  tags   = ["x", "y"]
  secret = "sensitive-alpha-0001"
}
resource "cicd_test_thing" "b" {
  name = "beta"
  note = cicd_test_thing.a.id
}
output "a_id" { value = cicd_test_thing.a.id }
"#,
            )
            .stdout_contains("2 added")
            .check(|w, _| {
                let a = w.here().attrs("cicd_test_thing.a");
                let b = w.here().attrs("cicd_test_thing.b");
                assert_eq!(b["note"], a["id"], "unknown value flowed from a to b");
                assert_eq!(a["size"], 1);
                assert_eq!(w.x.store.len(), 2);
                w.x.a_id = id_of(&a);
            }),
        S::plan_changes("an update in place shows in the plan")
            .config(V2)
            .stdout_contains("1 to change, 0 to destroy"),
        S::apply("update in place: id kept, revision bumped").check(|w, _| {
            let a2 = w.here().attrs("cicd_test_thing.a");
            assert_eq!(a2["id"], w.x.a_id.as_str());
            assert_eq!(a2["revision"], 2);
            assert_eq!(w.x.store.get(&w.x.a_id).unwrap().size, 3);
        }),
        S::plan_changes("drift: a change made out of band shows in the plan, exactly that")
            .pre(|w| {
                w.x.store
                    .edit(&w.x.a_id, |o| o.note = Some("changed by hand".into()))
            })
            .stdout_contains("changed by hand")
            .stdout_contains("1 to change"),
        S::apply("apply restores it").check(|w, _| {
            assert_eq!(
                w.x.store.get(&w.x.a_id).unwrap().note.as_deref(),
                Some("updated")
            );
        }),
        S::plan_changes("deleted out of band: the plan recreates it")
            .pre(|w| {
                let b_id = id_of(&w.here().attrs("cicd_test_thing.b"));
                w.x.store.remove(&b_id);
            })
            .stdout_contains("1 to add"),
        S::apply("apply recreates it"),
        S::import(
            "import and compare every attribute",
            "cicd_test_thing.b",
            &[],
        ),
        S::plan_empty("the plan after the import is empty"),
        S::plan_changes("replace: a new name forces a new object")
            .config(V2.replace("\"alpha\"", "\"alpha-2\""))
            .stdout_contains("must be replaced"),
        S::apply("apply the replacement: b follows the new id").check(|w, _| {
            let a3 = w.here().attrs("cicd_test_thing.a");
            assert_ne!(a3["id"], w.x.a_id.as_str());
            assert!(w.x.store.get(&w.x.a_id).is_none(), "old object deleted");
            assert_eq!(w.here().attrs("cicd_test_thing.b")["note"], a3["id"]);
        }),
    ];

    // Write-only values: never in state (CLIs that support them), a clear error otherwise.
    if cli.supports_write_only() {
        steps.extend([
            S::apply("write-only value: written, never in state")
                .on("wo")
                .config(WO)
                .check(|w, _| {
                    assert!(
                        !w.here().state_file_text().contains("write-only-value-42"),
                        "write-only value in state"
                    );
                    let id = id_of(&w.here().attrs("cicd_test_thing.w"));
                    assert_eq!(
                        w.x.store.get(&id).unwrap().secret_written.as_deref(),
                        Some("write-only-value-42")
                    );
                }),
            S::apply("a new write-only version writes again")
                .on("wo")
                .config(
                    WO.replace("write-only-value-42", "write-only-value-43")
                        .replace("= 1", "= 2"),
                )
                .check(|w, _| {
                    let id = id_of(&w.here().attrs("cicd_test_thing.w"));
                    assert_eq!(
                        w.x.store.get(&id).unwrap().secret_written.as_deref(),
                        Some("write-only-value-43")
                    );
                }),
            S::destroy("destroy the write-only object").on("wo"),
        ]);
    } else {
        steps.push(
            S::validate_fails(
                "write-only value: refused by a CLI without write-only support",
                "Write-only attribute not supported",
            )
            .on("wo")
            .config(WO),
        );
    }

    steps.extend([
        S::validate_fails(
            "bad input fails validate naming the attribute; nothing is created",
            "Empty name",
        )
        .on("bad")
        .pre(|w| w.x.before = w.x.store.len())
        .config(
            "resource \"cicd_test_thing\" \"bad\" {\n  name = \"\"\n  tags = [\"has space\"]\n}\n",
        )
        .output_contains("tags")
        .check(|w, _| assert_eq!(w.x.store.len(), w.x.before)),
        S::destroy("destroy: everything gone").check(|w, _| {
            assert_eq!(w.x.store.len(), 0, "objects left after destroy");
        }),
    ]);
    Scenario::new(x, steps).attach(attach)
}
