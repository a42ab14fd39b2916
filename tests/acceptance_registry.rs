//! cicd_forgejo_package_retention and cicd_registry_integrity against the stack's real forge
//! (Gitea or Forgejo: same packages API and registry) under every CLI. Each CLI run gets its
//! own organization, so runs do not collide; the organization is removed at the end.

mod support;

use cicd::clients::forgejo::{ForgejoClient, PackageVersion};
use cicd::clients::registry::{ManifestKind, RegistryClient};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use support::{clis, Attach, Workdir};
use tfplugin::secret::Secret;

struct Forge {
    env: BTreeMap<String, String>,
    url: String,
    rt: tokio::runtime::Runtime,
    api: ForgejoClient,
    reg: RegistryClient,
    http: reqwest::Client,
}

impl Forge {
    fn new() -> Option<Forge> {
        let env = support::stack_env();
        let url = env.get("FORGEJO_URL")?.trim_end_matches('/').to_string();
        let token = Secret::new(env.get("FORGEJO_TOKEN")?.clone());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let api = ForgejoClient::new(&url, token.clone());
        let reg = RegistryClient::new();
        reg.set_basic(&api.registry_host(), &env["FORGEJO_USER"], token);
        Some(Forge {
            env,
            url,
            rt,
            api,
            reg,
            http: reqwest::Client::new(),
        })
    }

    fn oci_push(&self, args: &[&str]) -> String {
        let script = std::env::var("OCI_PUSH")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/oci-push"));
        assert!(
            script.exists(),
            "{} not found: the tests push images with scripts/oci-push (or set OCI_PUSH)",
            script.display()
        );
        let out = Command::new("python3")
            .arg(script)
            .args(args)
            .envs(&self.env)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "oci-push {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn token_req(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(m, format!("{}{path}", self.url)).header(
            "Authorization",
            format!("token {}", self.env["FORGEJO_TOKEN"]),
        )
    }

    fn create_org(&self, name: &str) {
        let r = self
            .rt
            .block_on(
                self.token_req(reqwest::Method::POST, "/api/v1/orgs")
                    .json(&serde_json::json!({"username": name, "visibility": "public"}))
                    .send(),
            )
            .unwrap();
        assert!(r.status().is_success(), "create org {name}: {}", r.status());
    }

    fn delete_org(&self, name: &str) {
        let vs = self.versions(name);
        let pkgs: BTreeSet<&str> = vs.iter().map(|v| v.name.as_str()).collect();
        for p in pkgs {
            let _ = self.rt.block_on(
                self.token_req(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/packages/{name}/container/{p}"),
                )
                .send(),
            );
        }
        let _ = self.rt.block_on(
            self.token_req(reqwest::Method::DELETE, &format!("/api/v1/orgs/{name}"))
                .send(),
        );
    }

    /// A token of the admin user with only read scopes (created with the password).
    fn read_only_token(&self, name: &str) -> String {
        let user = &self.env["FORGEJO_USER"];
        let r = self
            .rt
            .block_on(
                self.http
                    .post(format!("{}/api/v1/users/{user}/tokens", self.url))
                    .basic_auth(user, Some(&self.env["FORGEJO_PASSWORD"]))
                    .json(&serde_json::json!({"name": name, "scopes": ["read:package", "read:user", "read:organization"]}))
                    .send(),
            )
            .unwrap();
        assert!(r.status().is_success(), "token: {}", r.status());
        let j: serde_json::Value = self.rt.block_on(r.json()).unwrap();
        j["sha1"].as_str().unwrap().to_string()
    }

    fn delete_token(&self, name: &str) {
        let user = &self.env["FORGEJO_USER"];
        let _ = self.rt.block_on(
            self.http
                .delete(format!("{}/api/v1/users/{user}/tokens/{name}", self.url))
                .basic_auth(user, Some(&self.env["FORGEJO_PASSWORD"]))
                .send(),
        );
    }

    fn versions(&self, owner: &str) -> Vec<PackageVersion> {
        self.rt
            .block_on(self.api.list_versions(owner, "container"))
            .unwrap()
    }

    /// `package:version` of every version of `owner`.
    fn version_set(&self, owner: &str) -> BTreeSet<String> {
        self.versions(owner)
            .into_iter()
            .map(|v| format!("{}:{}", v.name, v.version))
            .collect()
    }

    fn delete_version(&self, owner: &str, name: &str, version: &str) {
        assert!(self
            .rt
            .block_on(self.api.delete_version(owner, "container", name, version))
            .unwrap());
    }

    /// Every tag of `owner/name` pulls: its manifest answers, and so does each index child.
    fn assert_tags_pull(&self, owner: &str, name: &str, tags: &[&str]) {
        let host = self.api.registry_host();
        let repo = format!("{owner}/{name}");
        for t in tags {
            let m = self
                .rt
                .block_on(self.reg.get_manifest(&host, &repo, t))
                .unwrap()
                .unwrap_or_else(|| panic!("{repo}:{t} does not pull"));
            if m.kind == ManifestKind::Index {
                for c in &m.children {
                    assert!(
                        self.rt
                            .block_on(self.reg.head_manifest(&host, &repo, &c.digest))
                            .unwrap()
                            .is_some(),
                        "{repo}:{t} child {} is gone",
                        c.digest
                    );
                }
            }
        }
    }
}

fn policy(owner: &str, extra: &str) -> String {
    format!(
        r#"
resource "cicd_forgejo_package_retention" "r" {{
  owner           = "{owner}"
  packages        = ["app", "multi"]
  keep_last       = 1
  keep_tags       = ["v\\d+\\.\\d+\\.\\d+"]
  keep_newer_than = "30d"
{extra}}}
output "pending" {{ value = cicd_forgejo_package_retention.r.pending_deletions }}
"#
    )
}

#[test]
fn retention_and_integrity_under_every_cli() {
    let Some(f) = Forge::new() else {
        eprintln!("no stack env: skipped");
        return;
    };
    for cli in clis() {
        let l = cli.label.clone();
        let org = format!(
            "ret-{}-{}",
            l.replace('.', "").replace("terraform", "tf"),
            std::process::id()
        );
        eprintln!("== retention with {l} in {org}");
        f.create_org(&org);
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&f, &cli, &org)));
        f.delete_org(&org);
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
    }
}

fn run_one(f: &Forge, cli: &support::Cli, org: &str) {
    let l = &cli.label;
    let img = |n: &str| format!("{org}/{n}");
    // Seed: single-arch tags of different ages, a multi-arch index old and new, `latest`, a
    // tag matching keep_tags, and a package the policy does not select.
    for t in ["old1", "old2", "old3"] {
        f.oci_push(&["push-image", &img("app"), t, "--seed", &format!("{org}{t}")]);
        f.oci_push(&["backdate", &img("app"), t, "40"]);
    }
    for t in ["v1.0.0", "latest"] {
        f.oci_push(&["push-image", &img("app"), t, "--seed", &format!("{org}{t}")]);
        f.oci_push(&["backdate", &img("app"), t, "100"]);
    }
    f.oci_push(&[
        "push-image",
        &img("app"),
        "new1",
        "--seed",
        &format!("{org}new1"),
    ]);
    let plats = "linux/amd64,linux/arm64";
    let mold: serde_json::Value = serde_json::from_str(&f.oci_push(&[
        "push-index",
        &img("multi"),
        "m-old",
        "--platforms",
        plats,
        "--seed",
        &format!("{org}mo"),
    ]))
    .unwrap();
    f.oci_push(&["backdate", &img("multi"), "m-old", "50"]);
    let mnew: serde_json::Value = serde_json::from_str(&f.oci_push(&[
        "push-index",
        &img("multi"),
        "m-new",
        "--platforms",
        plats,
        "--seed",
        &format!("{org}mn"),
        "--format",
        "docker",
    ]))
    .unwrap();
    f.oci_push(&[
        "push-image",
        &img("other"),
        "x-old",
        "--seed",
        &format!("{org}x"),
    ]);
    f.oci_push(&["backdate", &img("other"), "x-old", "100"]);
    let all = f.version_set(org);
    assert_eq!(all.len(), 13, "[{l}] seeded: {all:?}");
    let child = |j: &serde_json::Value, p: &str| j["children"][p].as_str().unwrap().to_string();
    let expected_gone: BTreeSet<String> = [
        "app:old1".to_string(),
        "app:old2".into(),
        "app:old3".into(),
        "multi:m-old".into(),
        format!("multi:{}", child(&mold, "linux/amd64")),
        format!("multi:{}", child(&mold, "linux/arm64")),
    ]
    .into();

    // Bad input: fails naming the attribute, nothing deleted.
    let w = Workdir::new(cli, Attach::Binary);
    w.write(&policy(org, "  keep_last = -1\n").replace("  keep_last       = 1\n", ""));
    w.validate_expect_error("keep_last must be 0 or more");
    w.write(&policy(org, "").replace("v\\\\d+", "v(\\\\d+"));
    w.validate_expect_error("invalid keep_tags pattern");
    w.write(&policy(org, "  type = \"oci\"\n"));
    let r = w.validate_expect_error("unknown package type");
    assert!(
        r.all().contains("type = \"oci\""),
        "[{l}] attribute not shown: {}",
        r.all()
    );
    w.write(
        &policy(org, "  package_regex = \"a(\"\n")
            .replace("  packages        = [\"app\", \"multi\"]\n", ""),
    );
    w.validate_expect_error("invalid package regex");
    w.write(&policy(&format!("{org}-nobody"), ""));
    let r = w.plan_expect_error("does not exist");
    assert!(r.all().contains("owner"), "[{l}] {}", r.all());
    let ro_name = format!("ro-{org}");
    let ro = f.read_only_token(&ro_name);
    w.write(&format!(
        "provider \"cicd\" {{\n  forgejo {{\n    token = \"{ro}\"\n  }}\n}}\n{}",
        policy(org, "")
    ));
    w.plan_expect_error("write:package");
    // The same read-only token is enough for a dry run.
    w.write(&format!(
        "provider \"cicd\" {{\n  forgejo {{\n    token = \"{ro}\"\n  }}\n}}\n{}",
        policy(org, "  dry_run = true\n")
    ));
    w.apply();
    f.delete_token(&ro_name);
    assert_eq!(f.version_set(org), all, "[{l}] bad input deleted something");

    // dry_run: nothing deleted, pending shown in state, empty plan.
    let w = Workdir::new(cli, Attach::Binary);
    w.write(&policy(org, "  dry_run = true\n"));
    w.apply();
    assert_eq!(f.version_set(org), all, "[{l}] dry_run deleted something");
    let pending: BTreeSet<String> = w.attrs("cicd_forgejo_package_retention.r")
        ["pending_deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p["package"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(pending, expected_gone, "[{l}] dry-run pending");
    w.expect_empty_plan();

    // Switch the policy on: the plan shows the change, apply deletes exactly the expected set.
    w.write(&policy(org, ""));
    let plan = w.expect_changes();
    assert!(plan.contains("1 to change"), "[{l}] {plan}");
    w.apply();
    let left = f.version_set(org);
    let gone: BTreeSet<String> = all.difference(&left).cloned().collect();
    assert_eq!(gone, expected_gone, "[{l}] deleted set");
    f.assert_tags_pull(org, "app", &["v1.0.0", "latest", "new1"]);
    f.assert_tags_pull(org, "multi", &["m-new"]);
    f.assert_tags_pull(org, "other", &["x-old"]);
    w.expect_empty_plan();

    // Import by owner/type.
    let addr = "cicd_forgejo_package_retention.r";
    w.import_and_compare(
        addr,
        &format!("{org}/container"),
        &[
            "packages",
            "keep_last",
            "keep_tags",
            "keep_newer_than",
            "kept_count",
        ],
    );
    w.apply();
    w.expect_empty_plan();
    assert_eq!(
        f.version_set(org),
        left,
        "[{l}] import + apply deleted something"
    );

    // New pushes push an older tag out: the drift plan shows it as a pending deletion.
    f.oci_push(&["backdate", &img("app"), "new1", "35"]);
    f.oci_push(&[
        "push-image",
        &img("app"),
        "new2",
        "--seed",
        &format!("{org}new2"),
    ]);
    let plan = w.expect_changes();
    assert!(
        plan.contains("\"new1\"") && plan.contains("1 to change"),
        "[{l}] {plan}"
    );
    w.apply();
    let now = f.version_set(org);
    assert!(
        !now.contains("app:new1") && now.contains("app:new2"),
        "[{l}] {now:?}"
    );
    w.expect_empty_plan();

    // The registry changes between plan and apply: apply deletes only what the plan showed
    // and is still deletable, leaves what became deletable since for the next plan, and the
    // result is consistent with the plan.
    f.oci_push(&["backdate", &img("app"), "new2", "35"]);
    f.oci_push(&[
        "push-image",
        &img("app"),
        "new3",
        "--seed",
        &format!("{org}new3"),
    ]);
    let r = w.run(&["plan", "-no-color", "-input=false", "-out=saved.tfplan"]);
    assert!(
        r.code == 0 && r.stdout.contains("\"new2\""),
        "[{l}] {}",
        r.all()
    );
    f.oci_push(&["backdate", &img("app"), "new3", "35"]);
    f.oci_push(&[
        "push-image",
        &img("app"),
        "new4",
        "--seed",
        &format!("{org}new4"),
    ]);
    let r = w.run(&["apply", "-no-color", "-input=false", "saved.tfplan"]);
    assert_eq!(r.code, 0, "[{l}] apply of the saved plan: {}", r.all());
    assert!(
        r.all().contains("became deletable after the plan"),
        "[{l}] {}",
        r.all()
    );
    let now = f.version_set(org);
    assert!(
        !now.contains("app:new2") && now.contains("app:new3") && now.contains("app:new4"),
        "[{l}] {now:?}"
    );
    let plan = w.expect_changes();
    assert!(plan.contains("\"new3\""), "[{l}] {plan}");
    w.apply();
    w.expect_empty_plan();
    assert!(!f.version_set(org).contains("app:new3"));

    // Destroy removes only the policy.
    let before = f.version_set(org);
    w.destroy();
    assert_eq!(f.version_set(org), before, "[{l}] destroy deleted packages");

    // Break an index on purpose: the integrity check reports exactly that image and digest.
    let broken_child = child(&mnew, "linux/arm64");
    f.delete_version(org, "multi", &broken_child);
    let d = Workdir::new(cli, Attach::Binary);
    d.write(&format!(
        r#"
data "cicd_registry_integrity" "x" {{
  owner = "{org}"
}}
output "broken" {{ value = data.cicd_registry_integrity.x.broken }}
output "counts" {{
  value = [data.cicd_registry_integrity.x.broken_count, data.cicd_registry_integrity.x.images_checked, data.cicd_registry_integrity.x.tags_checked]
}}
"#
    ));
    d.apply();
    let out = d.run(&["output", "-json"]);
    let j: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let broken = j["broken"]["value"].as_array().unwrap();
    assert_eq!(broken.len(), 1, "[{l}] {broken:?}");
    assert_eq!(broken[0]["image"], img("multi").as_str());
    assert_eq!(broken[0]["tag"], "m-new");
    assert_eq!(broken[0]["missing_digest"], broken_child.as_str());
    assert_eq!(broken[0]["platform"], "linux/arm64");
    assert_eq!(j["counts"]["value"], serde_json::json!([1, 3, 5]), "[{l}]"); // app: v1.0.0, latest, new4
    d.write(&format!(
        "data \"cicd_registry_integrity\" \"x\" {{\n  owner = \"{org}-nobody\"\n}}\n"
    ));
    d.plan_expect_error("does not exist");
    if cli.version >= (1, 5, 0) {
        let c = Workdir::new(cli, Attach::Binary);
        c.write(&format!(
            r#"
check "registry" {{
  data "cicd_registry_integrity" "x" {{
    owner = "{org}"
  }}
  assert {{
    condition     = data.cicd_registry_integrity.x.broken_count == 0
    error_message = "broken: ${{jsonencode(data.cicd_registry_integrity.x.broken)}}"
  }}
}}
"#
        ));
        // A failing check is a warning, not an error (Terraform then plans to re-read the data
        // source during apply, so the plan is not empty).
        let r = c.run(&["plan", "-no-color", "-input=false"]);
        assert_eq!(r.code, 0, "[{l}] a check failure is a warning: {}", r.all());
        let text = r.all();
        assert!(
            text.contains("Warning: Check block assertion failed") && text.contains(&broken_child),
            "[{l}] {text}"
        );
    }
}
