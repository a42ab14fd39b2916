//! Ring 3 for the protocol layer: every available real CLI (Terraform 1.0.3, the machine's
//! newer Terraform, OpenTofu) drives the provider.
//! - the shipped binary through dev_overrides with AutoMTLS: `providers schema -json`;
//! - a test-only resource served in-process through TF_REATTACH_PROVIDERS: create, empty
//!   re-plan, update, replace, unknown values flowing between resources, drift, import,
//!   write-only values, destroy.

mod support;

use cicd::provider::CicdProvider;
use support::thing::{Store, Thing};
use support::{clis, Attach, Workdir};
use tfplugin::handshake::InProcess;
use tfplugin::resource;

#[test]
fn providers_schema_json_through_dev_overrides() {
    for cli in clis() {
        eprintln!("== providers schema -json with {}", cli.label);
        let w = Workdir::new(&cli, Attach::Binary);
        w.write("provider \"cicd\" {}\n");
        // dev_overrides: no init needed (and the registry is not reachable anyway).
        let r = w.run(&["providers", "schema", "-json"]);
        assert_eq!(r.code, 0, "[{}] {}", cli.label, r.all());
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let schemas = v["provider_schemas"].as_object().unwrap();
        let (addr, p) = schemas
            .iter()
            .find(|(k, _)| k.ends_with("viktorbarzin/cicd"))
            .unwrap_or_else(|| panic!("[{}] cicd not in {schemas:?}", cli.label));
        assert!(addr.contains("viktorbarzin/cicd"));
        let mut blocks: Vec<_> = p["provider"]["block"]["block_types"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        blocks.sort();
        assert_eq!(
            blocks,
            ["forgejo", "kubernetes", "vault", "woodpecker"],
            "[{}]",
            cli.label
        );
    }
}

struct Served {
    _rt: tokio::runtime::Runtime,
    srv: InProcess,
    store: Store,
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
    }
}

#[test]
fn test_resource_lifecycle_under_every_cli() {
    for cli in clis() {
        eprintln!("== lifecycle with {}", cli.label);
        let s = serve();
        let w = Workdir::new(&cli, Attach::Reattach(s.srv.reattach.clone()));
        let l = &cli.label;

        // 1. Create two objects; b's note is a's id, unknown at plan time.
        w.write(
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
        );
        let out = w.apply();
        assert!(out.stdout.contains("2 added"), "[{l}] {}", out.stdout);
        w.expect_empty_plan();
        let a = w.attrs("cicd_test_thing.a");
        let b = w.attrs("cicd_test_thing.b");
        let a_id = a["id"].as_str().unwrap().to_string();
        assert_eq!(b["note"], a["id"], "[{l}] unknown value flowed from a to b");
        assert_eq!(a["size"], 1);
        assert_eq!(s.store.len(), 2);

        // 2. Update in place: id kept, revision bumped, empty plan after.
        w.write(
            r#"
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
"#,
        );
        let plan = w.expect_changes();
        assert!(plan.contains("1 to change, 0 to destroy"), "[{l}] {plan}");
        w.apply();
        w.expect_empty_plan();
        let a2 = w.attrs("cicd_test_thing.a");
        assert_eq!(a2["id"], a_id.as_str());
        assert_eq!(a2["revision"], 2);
        assert_eq!(s.store.get(&a_id).unwrap().size, 3);

        // 3. Drift: changed out of band -> plan shows exactly that; apply restores it.
        s.store
            .edit(&a_id, |o| o.note = Some("changed by hand".into()));
        let plan = w.expect_changes();
        assert!(
            plan.contains("changed by hand") && plan.contains("1 to change"),
            "[{l}] {plan}"
        );
        w.apply();
        assert_eq!(s.store.get(&a_id).unwrap().note.as_deref(), Some("updated"));
        w.expect_empty_plan();

        // 4. Deleted out of band -> plan recreates it.
        let b_id = w.attrs("cicd_test_thing.b")["id"]
            .as_str()
            .unwrap()
            .to_string();
        s.store.remove(&b_id);
        let plan = w.expect_changes();
        assert!(plan.contains("1 to add"), "[{l}] {plan}");
        w.apply();
        w.expect_empty_plan();

        // 5. Import and compare every attribute.
        let b_id = w.attrs("cicd_test_thing.b")["id"]
            .as_str()
            .unwrap()
            .to_string();
        w.import_and_compare("cicd_test_thing.b", &b_id, &[]);
        w.expect_empty_plan();

        // 6. Replace: a new name forces a new object, and b follows the new id.
        w.write(
            r#"
resource "cicd_test_thing" "a" {
  name   = "alpha-2"
  tags   = ["x"]
  note   = "updated"
  size   = 3
  secret = "sensitive-alpha-0001"
}
resource "cicd_test_thing" "b" {
  name = "beta"
  note = cicd_test_thing.a.id
}
"#,
        );
        let plan = w.expect_changes();
        assert!(plan.contains("must be replaced"), "[{l}] {plan}");
        w.apply();
        w.expect_empty_plan();
        let a3 = w.attrs("cicd_test_thing.a");
        assert_ne!(a3["id"], a_id.as_str());
        assert!(s.store.get(&a_id).is_none(), "[{l}] old object deleted");
        assert_eq!(w.attrs("cicd_test_thing.b")["note"], a3["id"]);

        // 7. Write-only values: never in state (CLIs that support them), a clear error otherwise.
        let wo = r#"
resource "cicd_test_thing" "w" {
  name              = "wo"
  secret_wo         = "write-only-value-42"
  secret_wo_version = 1
}
"#;
        let w2 = Workdir::new(&cli, Attach::Reattach(s.srv.reattach.clone()));
        w2.write(wo);
        if cli.supports_write_only() {
            w2.apply();
            w2.expect_empty_plan();
            assert!(
                !w2.state_file_text().contains("write-only-value-42"),
                "[{l}] write-only value in state"
            );
            let id = w2.attrs("cicd_test_thing.w")["id"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(
                s.store.get(&id).unwrap().secret_written.as_deref(),
                Some("write-only-value-42")
            );
            // A new version writes again.
            w2.write(
                &wo.replace("write-only-value-42", "write-only-value-43")
                    .replace("= 1", "= 2"),
            );
            w2.apply();
            assert_eq!(
                s.store.get(&id).unwrap().secret_written.as_deref(),
                Some("write-only-value-43")
            );
            w2.expect_empty_plan();
            w2.destroy();
        } else {
            w2.validate_expect_error("Write-only attribute not supported");
        }

        // 8. Bad input fails at validate with the attribute named; nothing is created.
        let before = s.store.len();
        let w3 = Workdir::new(&cli, Attach::Reattach(s.srv.reattach.clone()));
        w3.write(
            "resource \"cicd_test_thing\" \"bad\" {\n  name = \"\"\n  tags = [\"has space\"]\n}\n",
        );
        let r = w3.validate_expect_error("Empty name");
        assert!(r.all().contains("tags"), "[{l}] {}", r.all());
        assert_eq!(s.store.len(), before);

        // 9. Destroy: everything gone.
        w.destroy();
        assert_eq!(s.store.len(), 0, "[{l}] objects left after destroy");
    }
}
