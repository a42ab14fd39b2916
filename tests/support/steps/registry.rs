//! Steps for cicd_forgejo_package_retention and cicd_registry_integrity against the stack's real
//! forge (Gitea or Forgejo: same packages API and registry). Each CLI's test gets its own
//! organization (and read-only token), so the per-CLI tests run in parallel; cleanup removes
//! them whether the steps passed or not.

use crate::support::{Cli, Exit, Run, Scenario, Step, World};
use cicd::clients::forgejo::{ForgejoClient, PackageVersion};
use cicd::clients::registry::{ManifestKind, RegistryClient};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use tfplugin::secret::Secret;

pub struct Forge {
    env: BTreeMap<String, String>,
    url: String,
    rt: tokio::runtime::Runtime,
    api: ForgejoClient,
    reg: RegistryClient,
    http: reqwest::Client,
}

impl Forge {
    fn new() -> Forge {
        let env = crate::support::stack_env();
        let (Some(url), Some(token)) = (env.get("FORGEJO_URL"), env.get("FORGEJO_TOKEN")) else {
            panic!(
                "FORGEJO_URL / FORGEJO_TOKEN unset: run `scripts/stack up` (or set STACK_ENV_FILE)"
            );
        };
        let url = url.trim_end_matches('/').to_string();
        let token = Secret::new(token.clone());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let api = ForgejoClient::new(&url, token.clone());
        let reg = RegistryClient::new();
        reg.set_basic(&api.registry_host(), &env["FORGEJO_USER"], token);
        Forge {
            env,
            url,
            rt,
            api,
            reg,
            http: reqwest::Client::new(),
        }
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
        let vs = self
            .rt
            .block_on(self.api.list_versions(name, "container"))
            .unwrap_or_default();
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

fn with_token(token: &str, hcl: &str) -> String {
    format!("provider \"cicd\" {{\n  forgejo {{\n    token = \"{token}\"\n  }}\n}}\n{hcl}")
}

/// The retention scenario's context: the forge, this CLI's organization, and what a step
/// keeps for a later one.
pub struct Retention {
    f: Forge,
    org: String,
    /// Name of the read-only token.
    ro_name: String,
    ro: String,
    /// Every version seeded.
    all: BTreeSet<String>,
    /// What the policy must delete.
    expected_gone: BTreeSet<String>,
    /// The newer index (its arm64 child is broken on purpose at the end).
    mnew: serde_json::Value,
    /// Versions after the policy first applied.
    left: BTreeSet<String>,
    /// Versions before destroy.
    before: BTreeSet<String>,
}

impl Retention {
    fn img(&self, n: &str) -> String {
        format!("{}/{n}", self.org)
    }

    fn push(&self, name: &str, tag: &str) {
        let org = &self.org;
        self.f.oci_push(&[
            "push-image",
            &self.img(name),
            tag,
            "--seed",
            &format!("{org}{tag}"),
        ]);
    }

    fn backdate(&self, name: &str, tag: &str, days: &str) {
        self.f.oci_push(&["backdate", &self.img(name), tag, days]);
    }

    fn broken_child(&self) -> String {
        child(&self.mnew, "linux/arm64")
    }
}

fn child(j: &serde_json::Value, p: &str) -> String {
    j["children"][p].as_str().unwrap().to_string()
}

const R: &str = "cicd_forgejo_package_retention.r";

pub fn retention_and_integrity(cli: &Cli) -> Scenario<Retention> {
    type S = Step<Retention>;
    let org = format!(
        "ret-{}-{}",
        cli.label.replace('.', "").replace("terraform", "tf"),
        std::process::id()
    );
    let x = Retention {
        f: Forge::new(),
        ro_name: format!("ro-{org}"),
        ro: String::new(),
        org: org.clone(),
        all: BTreeSet::new(),
        expected_gone: BTreeSet::new(),
        mnew: serde_json::Value::Null,
        left: BTreeSet::new(),
        before: BTreeSet::new(),
    };
    let mut steps = vec![
        // Single-arch tags of different ages, a multi-arch index old and new, `latest`, a tag
        // matching keep_tags, and a package the policy does not select.
        S::out_of_band("seed: organization and images", |w| {
            let x = &mut w.x;
            x.f.create_org(&x.org);
            for t in ["old1", "old2", "old3"] {
                x.push("app", t);
                x.backdate("app", t, "40");
            }
            for t in ["v1.0.0", "latest"] {
                x.push("app", t);
                x.backdate("app", t, "100");
            }
            x.push("app", "new1");
            let org = x.org.clone();
            let plats = "linux/amd64,linux/arm64";
            let mold: serde_json::Value = serde_json::from_str(&x.f.oci_push(&[
                "push-index",
                &x.img("multi"),
                "m-old",
                "--platforms",
                plats,
                "--seed",
                &format!("{org}mo"),
            ]))
            .unwrap();
            x.backdate("multi", "m-old", "50");
            x.mnew = serde_json::from_str(&x.f.oci_push(&[
                "push-index",
                &x.img("multi"),
                "m-new",
                "--platforms",
                plats,
                "--seed",
                &format!("{org}mn"),
                "--format",
                "docker",
            ]))
            .unwrap();
            x.f.oci_push(&[
                "push-image",
                &x.img("other"),
                "x-old",
                "--seed",
                &format!("{org}x"),
            ]);
            x.backdate("other", "x-old", "100");
            x.all = x.f.version_set(&org);
            assert_eq!(x.all.len(), 13, "seeded: {:?}", x.all);
            x.expected_gone = [
                "app:old1".to_string(),
                "app:old2".into(),
                "app:old3".into(),
                "multi:m-old".into(),
                format!("multi:{}", child(&mold, "linux/amd64")),
                format!("multi:{}", child(&mold, "linux/arm64")),
            ]
            .into();
        }),
        // Bad input: fails naming the attribute, nothing deleted.
        S::validate_fails("keep_last below 0 fails validate", "keep_last must be 0 or more")
            .on("bad")
            .config(policy(&org, "  keep_last = -1\n").replace("  keep_last       = 1\n", "")),
        S::validate_fails(
            "an invalid keep_tags pattern fails validate",
            "invalid keep_tags pattern",
        )
        .on("bad")
        .config(policy(&org, "").replace("v\\\\d+", "v(\\\\d+")),
        S::validate_fails(
            "an unknown package type fails validate, showing the attribute",
            "unknown package type",
        )
        .on("bad")
        .config(policy(&org, "  type = \"oci\"\n"))
        .output_contains("type = \"oci\""),
        S::validate_fails(
            "an invalid package regex fails validate",
            "invalid package regex",
        )
        .on("bad")
        .config(
            policy(&org, "  package_regex = \"a(\"\n")
                .replace("  packages        = [\"app\", \"multi\"]\n", ""),
        ),
        S::plan_fails(
            "an owner that does not exist fails the plan, naming the attribute",
            "does not exist",
        )
        .on("bad")
        .config(policy(&format!("{org}-nobody"), ""))
        .output_contains("owner"),
        // The plan only reads: a read-only token plans the deletions; the apply asks for
        // write:package and deletes nothing.
        S::plan_changes("a read-only token can plan the deletions")
            .on("bad")
            .pre(|w| {
                let x = &mut w.x;
                x.ro = x.f.read_only_token(&x.ro_name);
            })
            .config_with(|x| with_token(&x.ro, &policy(&x.org, "")))
            .stdout_contains("\"old1\""),
        S::apply_fails(
            "a read-only token fails the apply, asking for write:package",
            "write:package",
        )
        .on("bad")
        .check(|w, _| {
            assert_eq!(w.x.f.version_set(&w.x.org), w.x.all, "a read-only apply deleted");
        }),
        // The same read-only token is enough for a dry run.
        S::apply("the read-only token is enough for a dry run; bad input deleted nothing")
            .on("bad")
            .config_with(|x| with_token(&x.ro, &policy(&x.org, "  dry_run = true\n")))
            .skip_plan_check()
            .check(|w, _| {
                let x = &w.x;
                x.f.delete_token(&x.ro_name);
                assert_eq!(
                    x.f.version_set(&x.org),
                    x.all,
                    "bad input deleted something"
                );
            }),
        S::apply("dry_run: nothing deleted, pending deletions in the state")
            .config(policy(&org, "  dry_run = true\n"))
            .check(|w, _| {
                assert_eq!(
                    w.x.f.version_set(&w.x.org),
                    w.x.all,
                    "dry_run deleted something"
                );
                let pending: BTreeSet<String> = w.here().attrs(R)["pending_deletions"]
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
                assert_eq!(pending, w.x.expected_gone, "dry-run pending");
            }),
        S::plan_changes("switching the policy on shows in the plan")
            .config(policy(&org, ""))
            .stdout_contains("1 to change"),
        S::apply("apply deletes exactly the expected set; what is kept still pulls").check(
            |w, _| {
                let x = &mut w.x;
                x.left = x.f.version_set(&x.org);
                let gone: BTreeSet<String> = x.all.difference(&x.left).cloned().collect();
                assert_eq!(gone, x.expected_gone, "deleted set");
                x.f
                    .assert_tags_pull(&x.org, "app", &["v1.0.0", "latest", "new1"]);
                x.f.assert_tags_pull(&x.org, "multi", &["m-new"]);
                x.f.assert_tags_pull(&x.org, "other", &["x-old"]);
            },
        ),
        S::import(
            "import by owner/type",
            R,
            &[
                "packages",
                "keep_last",
                "keep_tags",
                "keep_newer_than",
                "kept_count",
                "deletions",
            ],
        )
        .id(format!("{org}/container")),
        S::apply("apply after the import converges, deleting nothing").check(|w, _| {
            assert_eq!(
                w.x.f.version_set(&w.x.org),
                w.x.left,
                "import + apply deleted something"
            );
        }),
        S::plan_changes("new pushes push an older tag out: the plan shows it pending")
            .pre(|w| {
                w.x.backdate("app", "new1", "35");
                w.x.push("app", "new2");
            })
            .stdout_contains("\"new1\"")
            .stdout_contains("1 to change"),
        S::apply("apply deletes the older tag").check(|w, _| {
            let now = w.x.f.version_set(&w.x.org);
            assert!(
                !now.contains("app:new1") && now.contains("app:new2"),
                "{now:?}"
            );
        }),
        // The registry changes between plan and apply: apply deletes only what the plan
        // showed and is still deletable, leaves what became deletable since for the next
        // plan, and the result is consistent with the plan.
        S::cli(
            "a plan saved before the registry changes",
            &["plan", "-no-color", "-input=false", "-out=saved.tfplan"],
            Exit::Success,
        )
        .pre(|w| {
            w.x.backdate("app", "new2", "35");
            w.x.push("app", "new3");
        })
        .stdout_contains("\"new2\""),
        S::cli(
            "applying the saved plan deletes only what it showed",
            &["apply", "-no-color", "-input=false", "saved.tfplan"],
            Exit::Success,
        )
        .pre(|w| {
            w.x.backdate("app", "new3", "35");
            w.x.push("app", "new4");
        })
        .check(|w, _| {
            let now = w.x.f.version_set(&w.x.org);
            assert!(
                !now.contains("app:new2") && now.contains("app:new3") && now.contains("app:new4"),
                "{now:?}"
            );
        }),
        S::plan_changes("the next plan shows what became deletable since")
            .stdout_contains("\"new3\""),
        S::apply("apply deletes it").check(|w, _| {
            assert!(!w.x.f.version_set(&w.x.org).contains("app:new3"));
        }),
        S::destroy("destroy removes only the policy")
            .pre(|w| w.x.before = w.x.f.version_set(&w.x.org))
            .check(|w, _| {
                assert_eq!(
                    w.x.f.version_set(&w.x.org),
                    w.x.before,
                    "destroy deleted packages"
                );
            }),
        // Break an index on purpose: the integrity check reports exactly that image and digest.
        S::apply("integrity: a broken index is reported with its image, tag and missing digest")
            .on("integrity")
            .pre(|w| {
                let x = &w.x;
                x.f.delete_version(&x.org, "multi", &x.broken_child());
            })
            .config(format!(
                r#"
data "cicd_registry_integrity" "x" {{
  owner = "{org}"
}}
output "broken" {{ value = data.cicd_registry_integrity.x.broken }}
output "counts" {{
  value = [data.cicd_registry_integrity.x.broken_count, data.cicd_registry_integrity.x.images_checked, data.cicd_registry_integrity.x.tags_checked]
}}
"#
            ))
            .skip_plan_check()
            .check(|w, _| {
                let out = w.here().run(&["output", "-json"]);
                let j: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
                let broken = j["broken"]["value"].as_array().unwrap();
                assert_eq!(broken.len(), 1, "{broken:?}");
                assert_eq!(broken[0]["image"], w.x.img("multi").as_str());
                assert_eq!(broken[0]["tag"], "m-new");
                assert_eq!(broken[0]["missing_digest"], w.x.broken_child().as_str());
                assert_eq!(broken[0]["platform"], "linux/arm64");
                // app: v1.0.0, latest, new4
                assert_eq!(j["counts"]["value"], serde_json::json!([1, 3, 5]));
            }),
        S::plan_fails(
            "integrity: an owner that does not exist fails the plan",
            "does not exist",
        )
        .on("integrity")
        .config(format!(
            "data \"cicd_registry_integrity\" \"x\" {{\n  owner = \"{org}-nobody\"\n}}\n"
        )),
    ];
    if cli.version >= (1, 5, 0) {
        // A failing check is a warning, not an error (Terraform then plans to re-read the data
        // source during apply, so the plan is not empty).
        steps.push(
            S::cli(
                "integrity in a check block: a broken image is a warning naming the digest",
                &["plan", "-no-color", "-input=false"],
                Exit::Success,
            )
            .on("check")
            .config(format!(
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
            ))
            .output_contains("Warning: Check block assertion failed")
            .check(|w, r| {
                assert!(r.all().contains(&w.x.broken_child()), "{}", r.all());
            }),
        );
    }
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the organization, its packages and the read-only token",
        |w| {
            w.x.f.delete_token(&w.x.ro_name);
            w.x.f.delete_org(&w.x.org);
        },
    )])
}

/// The context of [`retention_follows_the_plan`].
pub struct Follow {
    f: Forge,
    org: String,
    /// Versions right before the step's command (after the step's registry changes).
    before: BTreeSet<String>,
}

impl Follow {
    fn push(&self, tag: &str) {
        let org = &self.org;
        self.f.oci_push(&[
            "push-image",
            &format!("{org}/app"),
            tag,
            "--seed",
            &format!("{org}{tag}"),
        ]);
    }

    fn backdate(&self, tag: &str, days: &str) {
        self.f
            .oci_push(&["backdate", &format!("{}/app", self.org), tag, days]);
    }

    fn snap(&mut self) {
        self.before = self.f.version_set(&self.org);
    }

    /// The versions deleted since [`Self::snap`] must be exactly `want` (`app` tags).
    fn assert_gone(&self, want: &[&str]) {
        let now = self.f.version_set(&self.org);
        let gone: BTreeSet<String> = self.before.difference(&now).cloned().collect();
        let want: BTreeSet<String> = want.iter().map(|t| format!("app:{t}")).collect();
        assert_eq!(gone, want, "deleted; left: {now:?}");
    }
}

/// The `version`s of a `deletions` value, in order.
fn versions_of(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|d| d["version"].as_str().unwrap().to_string())
        .collect()
}

/// The `deletions` a saved plan lists (`show -json`), sorted.
fn planned_in(w: &mut World<Follow>, file: &str) -> Vec<String> {
    let r = w.here().run(&["show", "-json", file]);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let change = j["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == R)
        .unwrap_or_else(|| panic!("no change of {R}: {}", r.stdout));
    let mut v = versions_of(&change["change"]["after"]["deletions"]);
    v.sort();
    v
}

/// After an apply without a saved plan: what was deleted is exactly the `deletions` its plan
/// listed (the state holds the planned value; Terraform checks that it does), and the plan
/// output showed each.
fn assert_applied_as_listed(w: &mut World<Follow>, r: &Run, want: &[&str]) {
    let mut listed = versions_of(&w.here().attrs(R)["deletions"]);
    listed.sort();
    assert_eq!(listed, want, "listed");
    for v in want {
        assert!(
            r.stdout.contains(&format!("\"{v}\"")),
            "{v} not shown: {}",
            r.stdout
        );
    }
    w.x.assert_gone(want);
}

fn follow_policy(owner: &str, newer_than: &str) -> String {
    format!(
        r#"
resource "cicd_forgejo_package_retention" "r" {{
  owner           = "{owner}"
  packages        = ["app"]
  keep_last       = 1
  keep_newer_than = "{newer_than}"
}}
"#
    )
}

/// Apply deletes exactly what the plan listed: a saved plan applied after the registry changed
/// (a push, a version aging out) for a new, a changed and an unchanged policy, and an apply
/// without a saved plan. The forge is checked directly.
pub fn retention_follows_the_plan(cli: &Cli) -> Scenario<Follow> {
    type S = Step<Follow>;
    let org = format!(
        "follow-{}-{}",
        cli.label.replace('.', "").replace("terraform", "tf"),
        std::process::id()
    );
    let p30 = follow_policy(&org, "30d");
    let p15 = follow_policy(&org, "15d");
    let saved_plan = |name: &str, file: &'static str| {
        S::cli(
            name,
            &["plan", "-no-color", "-input=false", &format!("-out={file}")],
            Exit::Success,
        )
    };
    let apply_saved = |name: &str, file: &str, exit: Exit| {
        S::cli(name, &["apply", "-no-color", "-input=false", file], exit)
    };
    let x = Follow {
        f: Forge::new(),
        org: org.clone(),
        before: BTreeSet::new(),
    };
    let mut steps = vec![
        S::out_of_band("seed: tags of different ages", |w| {
            let x = &mut w.x;
            x.f.create_org(&x.org);
            for (t, days) in [("a1", "40"), ("a2", "40"), ("a3", "20"), ("b1", "20")] {
                x.push(t);
                x.backdate(t, days);
            }
            x.push("a4");
        }),
        // A new policy: evaluated at plan time against the registry.
        saved_plan("new policy: the saved plan lists a1 and a2", "new.tfplan")
            .on("new")
            .config(p30.clone())
            .check(|w, _| assert_eq!(planned_in(w, "new.tfplan"), ["a1", "a2"])),
        apply_saved(
            "new policy: a push after the plan; the saved plan deletes exactly a1 and a2",
            "new.tfplan",
            Exit::Success,
        )
        .on("new")
        .pre(|w| {
            w.x.push("a5");
            w.x.snap();
        })
        .check(|w, _| w.x.assert_gone(&["a1", "a2"])),
        saved_plan("new policy again: the saved plan lists a3", "fresh.tfplan")
            .on("fresh")
            .config(p30.clone())
            .pre(|w| w.x.backdate("a3", "40"))
            .check(|w, _| assert_eq!(planned_in(w, "fresh.tfplan"), ["a3"])),
        // The list of a new policy is evaluated again right before the apply: when a4 aged out
        // meanwhile, Terraform stops the apply and nothing is deleted.
        apply_saved(
            "new policy: a version aged out after the plan; the apply stops, nothing deleted",
            "fresh.tfplan",
            Exit::Failure,
        )
        .on("fresh")
        .pre(|w| {
            w.x.backdate("a4", "40");
            w.x.snap();
        })
        .output_contains("inconsistent final plan")
        .check(|w, _| w.x.assert_gone(&[])),
        S::apply("apply without a saved plan deletes exactly what its plan listed (a3, a4)")
            .on("fresh")
            .pre(|w| w.x.snap())
            .check(|w, r| assert_applied_as_listed(w, r, &["a3", "a4"])),
        // A changed policy: evaluated against what the refresh read.
        saved_plan("changed policy: the saved plan lists b1", "changed.tfplan")
            .on("new")
            .config(p15.clone())
            .pre(|w| {
                w.x.push("b2");
                w.x.backdate("b2", "10");
            })
            .check(|w, _| assert_eq!(planned_in(w, "changed.tfplan"), ["b1"])),
        apply_saved(
            "changed policy: b2 aged out and b3 was pushed after the plan; only b1 is deleted",
            "changed.tfplan",
            Exit::Success,
        )
        .on("new")
        .pre(|w| {
            w.x.backdate("b2", "20");
            w.x.push("b3");
            w.x.snap();
        })
        .check(|w, _| w.x.assert_gone(&["b1"])),
        // The same policy: the nightly case.
        saved_plan("unchanged policy: the saved plan lists b2", "same.tfplan")
            .on("new")
            .check(|w, _| assert_eq!(planned_in(w, "same.tfplan"), ["b2"])),
        apply_saved(
            "unchanged policy: b3 aged out and b4 was pushed after the plan; only b2 is deleted",
            "same.tfplan",
            Exit::Success,
        )
        .on("new")
        .pre(|w| {
            w.x.backdate("b3", "20");
            w.x.push("b4");
            w.x.snap();
        })
        .check(|w, _| w.x.assert_gone(&["b2"])),
        S::apply("apply without a saved plan deletes b3, which its plan listed")
            .on("new")
            .pre(|w| w.x.snap())
            .check(|w, r| assert_applied_as_listed(w, r, &["b3"])),
    ];
    if cli.version >= (1, 4, 0) {
        // A policy value unknown at plan (terraform_data's output on create: keep_newer_than): the plan lists no
        // deletion, so the apply deletes none; once known, the policy would delete a5, and
        // Terraform stops the apply. The next plan lists a5.
        let unknown = format!(
            r#"
resource "terraform_data" "age" {{
  input = "15d"
}}
{}"#,
            p15.replace("\"15d\"", "terraform_data.age.output")
        );
        steps.extend([
            S::apply_fails(
                "a policy unknown at plan deletes nothing: the apply stops",
                "inconsistent final plan",
            )
            .on("unknown")
            .config(unknown)
            .pre(|w| {
                w.x.backdate("a5", "40");
                w.x.snap();
            })
            .output_contains("not known until apply")
            .check(|w, _| w.x.assert_gone(&[])),
            S::apply("once known, the plan lists a5 and apply deletes it")
                .on("unknown")
                .pre(|w| w.x.snap())
                .check(|w, r| assert_applied_as_listed(w, r, &["a5"])),
        ]);
    }
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the organization and its packages",
        |w| w.x.f.delete_org(&w.x.org),
    )])
}

/// The context of [`http_forge_elsewhere`].
pub struct Elsewhere {
    f: Forge,
    org: String,
    /// `http://ip:port` of a forwarder to the forge on a non-loopback address.
    url: String,
}

/// A non-loopback address of this machine (the source address of a route out).
fn non_loopback_ip() -> std::net::IpAddr {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("198.51.100.1:9")
        .expect("this test needs a non-loopback network interface with a route");
    let ip = s.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    ip
}

/// An http forge on a host that is not loopback (`FORGEJO_URL=http://<address>:<port>`): the
/// provider reaches its registry over http too, as the URL says.
pub fn http_forge_elsewhere(cli: &Cli) -> Scenario<Elsewhere> {
    type S = Step<Elsewhere>;
    let org = format!(
        "elsewhere-{}-{}",
        cli.label.replace('.', "").replace("terraform", "tf"),
        std::process::id()
    );
    let f = Forge::new();
    let forge = url::Url::parse(&f.url).unwrap();
    let target = format!(
        "{}:{}",
        forge.host_str().unwrap(),
        forge.port_or_known_default().unwrap()
    );
    let listener =
        f.rt.block_on(tokio::net::TcpListener::bind((non_loopback_ip(), 0)))
            .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    f.rt.spawn(async move {
        while let Ok((mut a, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut b) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
                }
            });
        }
    });
    let x = Elsewhere {
        f,
        org: org.clone(),
        url: url.clone(),
    };
    let steps = vec![
        S::out_of_band("seed: an organization with one image", |w| {
            let x = &w.x;
            x.f.create_org(&x.org);
            x.f.oci_push(&["push-image", &format!("{}/app", x.org), "v1"]);
        }),
        S::apply("the integrity walk reads the registry over http")
            .env("FORGEJO_URL", url)
            .config(format!(
                r#"
data "cicd_registry_integrity" "x" {{
  owner = "{org}"
}}
output "counts" {{
  value = [data.cicd_registry_integrity.x.tags_checked, data.cicd_registry_integrity.x.broken_count]
}}
"#
            ))
            .skip_plan_check()
            .check(|w, _| {
                assert!(w.x.url.starts_with("http://"));
                let out = w.here().run(&["output", "-json"]);
                let j: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
                assert_eq!(j["counts"]["value"], serde_json::json!([1, 0]));
            }),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the organization and its packages",
        |w| w.x.f.delete_org(&w.x.org),
    )])
}
