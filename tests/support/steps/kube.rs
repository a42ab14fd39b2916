//! Steps for `cicd_registry_credentials` and `cicd_image_deployment` against the local stack:
//! a real kube-apiserver (with controllers and kwok nodes), OpenBao in dev mode and a Gitea
//! registry (images pushed with scripts/oci-push).
//! Each CLI gets its own namespaces, Vault paths, registry package and image tags, so the
//! per-CLI tests run in parallel; cleanup removes them whether the steps passed or not.

use crate::support::{stack_env, Cli, Exit, Scenario, Step};

/// `cicd_vault_kv` feeding a write-only password: tests/support/steps/ephemeral.rs.
#[path = "ephemeral.rs"]
pub mod ephemeral;
use base64::Engine;
use std::collections::BTreeMap;
use std::process::Command;

fn env() -> BTreeMap<String, String> {
    stack_env()
}

fn run(prog: &str, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let e = env();
    let mut c = Command::new(prog);
    c.args(args)
        .envs(&e)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("{prog}: {e}"));
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

fn kubectl(args: &[&str]) -> String {
    let k = env()["KUBECTL"].clone();
    let (ok, out) = run(&k, args, None);
    assert!(ok, "kubectl {args:?}: {out}");
    out
}

fn kubectl_stdin(args: &[&str], input: &str) -> String {
    let k = env()["KUBECTL"].clone();
    let (ok, out) = run(&k, args, Some(input));
    assert!(ok, "kubectl {args:?}: {out}");
    out
}

fn bao(args: &[&str]) -> String {
    let b = env()["BAO"].clone();
    let (ok, out) = run(&b, args, None);
    assert!(ok, "bao {args:?}: {out}");
    out
}

fn oci_push(args: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut script = root.join("scripts/oci-push");
    if !script.exists() {
        // A worktree without the stack: the main checkout's script (STACK_ENV_FILE's sibling).
        if let Ok(f) = std::env::var("STACK_ENV_FILE") {
            script = std::path::Path::new(&f)
                .parent()
                .and_then(|p| p.parent())
                .unwrap()
                .join("scripts/oci-push");
        }
    }
    let (ok, out) = run(script.to_str().unwrap(), args, None);
    assert!(ok, "oci-push {args:?}: {out}");
    out
}

/// host:port of the stack's registry (the forge), from FORGEJO_URL.
fn registry_host() -> String {
    let u = env()["FORGEJO_URL"].clone();
    u.split_once("://")
        .map_or(u.as_str(), |(_, rest)| rest)
        .trim_end_matches('/')
        .to_string()
}

/// Delete a tag or digest; one that is already gone (a child shared with a deleted tag) is fine.
fn run_oci_delete(repo_path: &str, reference: &str) -> bool {
    std::panic::catch_unwind(|| oci_push(&["delete", repo_path, reference])).is_ok()
}

fn slug(cli: &Cli) -> String {
    cli.label.replace('.', "-")
}

fn create_ns(ns: &str) {
    let _ = run(
        &env()["KUBECTL"],
        &["delete", "namespace", ns, "--wait=true"],
        None,
    );
    kubectl(&["create", "namespace", ns]);
}

fn delete_ns(ns: &str) {
    let _ = run(
        &env()["KUBECTL"],
        &["delete", "namespace", ns, "--wait=false"],
        None,
    );
}

fn secret_auths(ns: &str, name: &str) -> serde_json::Value {
    let b64 = kubectl(&[
        "-n",
        ns,
        "get",
        "secret",
        name,
        "-o",
        "jsonpath={.data.\\.dockerconfigjson}",
    ]);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

fn secret_exists(ns: &str, name: &str) -> bool {
    run(
        &env()["KUBECTL"],
        &["-n", ns, "get", "secret", name, "-o", "name"],
        None,
    )
    .0
}

/// Lines of a plan that turn a value into "(known after apply)".
fn unknown_lines(plan: &str) -> Vec<String> {
    plan.lines()
        .filter(|l| l.contains("-> (known after apply)"))
        .map(|l| l.trim().to_string())
        .collect()
}

fn sa_token(e: &BTreeMap<String, String>) -> String {
    kubectl(&[
        "-n",
        &e["VAULT_K8S_NAMESPACE"],
        "create",
        "token",
        &e["VAULT_K8S_SERVICE_ACCOUNT"],
    ])
}

/// `cicd_registry_credentials`: names for one CLI, and what a step keeps for a later one.
pub struct RegistryCredentials {
    e: BTreeMap<String, String>,
    /// The stack's registry host.
    reg: String,
    /// The CLI's label as a name part.
    s: String,
    /// Three namespaces of this CLI's own.
    nss: Vec<String>,
    /// Vault path (under secret/) of this CLI's own.
    vpath: String,
    pw1: String,
    pw2: String,
    wo: String,
    /// Holds the service account token file the provider reads.
    scratch: tempfile::TempDir,
    /// The Vault version recorded at create.
    v1: Option<i64>,
}

impl RegistryCredentials {
    fn jwt_file(&self) -> std::path::PathBuf {
        self.scratch.path().join("sa-token")
    }

    fn hcl(&self, provider: &str) -> String {
        format!(
            r#"
{provider}
resource "cicd_registry_credentials" "r" {{
  namespaces = ["{a}", "{b}", "{c}"]
  registries = {{
    "{reg}" = {{
      username            = "viktor"
      password_from_vault = {{ path = "{vpath}", key = "password" }}
    }}
    "ghcr.example" = {{
      username = "bot"
      password = "plain-password-42"
    }}
  }}
  labels = {{ "app.kubernetes.io/part-of" = "ci" }}
}}
"#,
            a = self.nss[0],
            b = self.nss[1],
            c = self.nss[2],
            reg = self.reg,
            vpath = self.vpath,
        )
    }

    fn password(&self, ns: &str, secret: &str) -> serde_json::Value {
        secret_auths(ns, secret)["auths"][self.reg.as_str()]["password"].clone()
    }
}

const RC: &str = "cicd_registry_credentials.r";

pub fn registry_credentials(cli: &Cli) -> Scenario<RegistryCredentials> {
    type S = Step<RegistryCredentials>;
    let pid = std::process::id();
    let s = slug(cli);
    let x = RegistryCredentials {
        e: env(),
        reg: registry_host(),
        nss: ["a", "b", "c"]
            .iter()
            .map(|n| format!("acc-rc-{s}-{n}"))
            .collect(),
        vpath: format!("acc/{s}/registry"),
        pw1: format!("vault-pw-one-{pid}-{s}"),
        pw2: format!("vault-pw-two-{pid}-{s}"),
        wo: format!("write-only-pw-{pid}-{s}"),
        scratch: tempfile::Builder::new()
            .prefix("cicd-acc-jwt-")
            .tempdir()
            .unwrap(),
        v1: None,
        s,
    };
    let plain = x.hcl("provider \"cicd\" {}");
    let kube_auth = x.hcl(&format!(
        "provider \"cicd\" {{\n  vault {{\n    kubernetes_auth {{\n      role = \"{}\"\n      jwt_path = \"{}\"\n    }}\n  }}\n}}",
        x.e["VAULT_K8S_ROLE"],
        x.jwt_file().display()
    ));
    let (a, s, reg) = (x.nss[0].clone(), x.s.clone(), x.reg.clone());
    let mut steps = vec![
        S::out_of_band("seed: three namespaces and the Vault secret", |w| {
            let x = &w.x;
            for ns in &x.nss {
                create_ns(ns);
            }
            bao(&[
                "kv",
                "put",
                &format!("secret/{}", x.vpath),
                &format!("password={}", x.pw1),
            ]);
        }),
        S::apply("create: three copies, correct content, no Vault value in logs or state")
            .config(plain.clone())
            .traced_without(&[&x.pw1])
            .check(|w, _| {
                let x = &w.x;
                for ns in &x.nss {
                    let a = secret_auths(ns, "registry-credentials");
                    let r = &a["auths"][x.reg.as_str()];
                    assert_eq!(r["username"], "viktor", "{ns}");
                    assert_eq!(r["password"], x.pw1.as_str(), "{ns}");
                    let auth = base64::engine::general_purpose::STANDARD
                        .encode(format!("viktor:{}", x.pw1));
                    assert_eq!(r["auth"], auth.as_str(), "{ns}");
                    assert_eq!(a["auths"]["ghcr.example"]["password"], "plain-password-42");
                }
                let pw1 = w.x.pw1.clone();
                assert!(
                    !w.here().state_file_text().contains(&pw1),
                    "Vault value in state"
                );
                let attrs = w.here().attrs(RC);
                let key = format!("secret/{}", w.x.vpath);
                w.x.v1 = Some(
                    attrs["vault_versions"][key]
                        .as_i64()
                        .unwrap_or_else(|| panic!("no version in {attrs}")),
                );
            }),
        S::plan_changes("a copy edited by hand: the plan shows that namespace only")
            .pre(|w| {
                kubectl(&[
                    "-n",
                    &w.x.nss[1],
                    "patch",
                    "secret",
                    "registry-credentials",
                    "-p",
                    r#"{"data":{".dockerconfigjson":"eyJhdXRocyI6e319"}}"#,
                ]);
            })
            .check(|w, plan| {
                let lines = unknown_lines(&plan.stdout);
                assert_eq!(lines.len(), 1, "{}", plan.stdout);
                assert!(lines[0].contains(&w.x.nss[1]), "{}", plan.stdout);
            }),
        S::apply("apply restores the edited copy").check(|w, _| {
            assert_eq!(
                w.x.password(&w.x.nss[1], "registry-credentials"),
                w.x.pw1.as_str()
            );
        }),
        S::plan_changes("a deleted copy: the plan shows only the missing copy")
            .pre(|w| {
                kubectl(&[
                    "-n",
                    &w.x.nss[2],
                    "delete",
                    "secret",
                    "registry-credentials",
                ]);
            })
            .stdout_contains(x.nss[2].clone())
            .check(|_, plan| {
                assert!(
                    unknown_lines(&plan.stdout).is_empty(),
                    "only the missing copy: {}",
                    plan.stdout
                );
            }),
        S::apply("apply recreates the deleted copy").check(|w, _| {
            assert!(secret_exists(&w.x.nss[2], "registry-credentials"));
        }),
        S::plan_changes("rotation in Vault: the plan rewrites every copy")
            .pre(|w| {
                bao(&[
                    "kv",
                    "put",
                    &format!("secret/{}", w.x.vpath),
                    &format!("password={}", w.x.pw2),
                ]);
            })
            .check(|w, plan| {
                for ns in &w.x.nss {
                    assert!(
                        unknown_lines(&plan.stdout)
                            .iter()
                            .any(|l| l.contains(ns.as_str())),
                        "rotation should rewrite {ns}:\n{}",
                        plan.stdout
                    );
                }
            }),
        S::apply("apply the rotation: every copy, no Vault value in logs or state")
            .traced_without(&[&x.pw1, &x.pw2])
            .check(|w, _| {
                for ns in &w.x.nss {
                    assert_eq!(
                        w.x.password(ns, "registry-credentials"),
                        w.x.pw2.as_str(),
                        "{ns}"
                    );
                }
                let pw2 = w.x.pw2.clone();
                assert!(
                    !w.here().state_file_text().contains(&pw2),
                    "Vault value in state"
                );
                let attrs = w.here().attrs(RC);
                let v1 = w.x.v1.expect("version recorded at create");
                assert_eq!(
                    attrs["vault_versions"][format!("secret/{}", w.x.vpath)],
                    v1 + 1
                );
            }),
        S::plan_empty("Vault through Kubernetes auth (the service account's JWT read from a file)")
            .pre(|w| {
                let jwt = sa_token(&w.x.e);
                std::fs::write(w.x.jwt_file(), jwt.trim()).unwrap();
            })
            .config(kube_auth),
        S::plan_empty("a rotated token file is read at the next login").pre(|w| {
            let jwt = sa_token(&w.x.e);
            std::fs::write(w.x.jwt_file(), jwt.trim()).unwrap();
        }),
        S::cli(
            "a bad JWT fails the plan",
            &["plan", "-no-color"],
            Exit::Failure,
        )
        .pre(|w| std::fs::write(w.x.jwt_file(), "not-a-jwt").unwrap())
        .output_contains("Kubernetes login"),
        S::import(
            "import one copy by namespace/name",
            RC,
            &[
                "namespaces",
                "registries",
                "copies",
                "vault_versions",
                "labels",
            ],
        )
        .id(format!("{a}/registry-credentials"))
        .config(plain),
        S::apply("apply after the import converges"),
    ];

    // Write-only password (Terraform/OpenTofu >= 1.11).
    let wo_hcl = format!(
        r#"
resource "cicd_registry_credentials" "wo" {{
  name       = "wo-credentials"
  namespaces = ["{a}"]
  registries = {{
    "{reg}" = {{
      username            = "viktor"
      password_wo         = "{wo}"
      password_wo_version = 1
    }}
  }}
}}
"#,
        wo = x.wo
    );
    if cli.supports_write_only() {
        steps.extend([
            S::apply("write-only password: written, never in logs or state")
                .on("wo")
                .config(wo_hcl)
                .traced_without(&[&x.wo])
                .check(|w, _| {
                    let wo = w.x.wo.clone();
                    assert!(
                        !w.here().state_file_text().contains(&wo),
                        "write-only value in state"
                    );
                    assert_eq!(w.x.password(&w.x.nss[0], "wo-credentials"), wo.as_str());
                }),
            S::destroy("destroy the write-only copy")
                .on("wo")
                .check(|w, _| assert!(!secret_exists(&w.x.nss[0], "wo-credentials"))),
        ]);
    } else {
        steps.push(
            S::validate_fails(
                "write-only password: refused by a CLI without write-only support",
                "Write-only attribute not supported",
            )
            .on("wo")
            .config(wo_hcl),
        );
    }

    steps.extend([
        S::plan_fails(
            "an unknown namespace fails the plan, naming it",
            format!("Namespace acc-no-such-namespace-{s} does not exist"),
        )
        .on("bad")
        .config(format!(
            r#"
resource "cicd_registry_credentials" "bad" {{
  namespaces = ["{a}", "acc-no-such-namespace-{s}"]
  registries = {{ "r.example" = {{ username = "u", password = "p" }} }}
}}
"#
        ))
        .output_contains("namespaces"),
        S::validate_fails(
            "a registry without exactly one password source fails validate",
            "Exactly one password source",
        )
        .on("bad")
        .config(
            "resource \"cicd_registry_credentials\" \"bad\" {\n  namespaces = [\"x\"]\n  registries = { \"r.example\" = { username = \"u\" } }\n}\n",
        ),
        S::destroy("destroy: every copy is gone").check(|w, _| {
            for ns in &w.x.nss {
                assert!(!secret_exists(ns, "registry-credentials"), "{ns}");
            }
        }),
    ]);

    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the namespaces and the Vault path",
        |w| {
            for ns in &w.x.nss {
                delete_ns(ns);
            }
            bao(&["kv", "metadata", "delete", &format!("secret/{}", w.x.vpath)]);
        },
    )])
}

fn deployment_yaml(name: &str, image: &str, stuck: bool) -> String {
    let extra = if stuck {
        "  progressDeadlineSeconds: 8\n"
    } else {
        ""
    };
    let selector = if stuck {
        "      nodeSelector: {stack.local/never: \"true\"}\n"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 2\n{extra}  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n{selector}      initContainers: [{{name: migrate, image: \"{image}\"}}]\n      containers: [{{name: app, image: \"{image}\"}}]\n"
    )
}

fn image_of(ns: &str, name: &str, init: bool) -> String {
    let list = if init { "initContainers" } else { "containers" };
    kubectl(&[
        "-n",
        ns,
        "get",
        "deployment",
        name,
        "-o",
        &format!("jsonpath={{.spec.template.spec.{list}[0].image}}"),
    ])
    .trim()
    .to_string()
}

/// 8 hex characters, unique per run, CLI and purpose.
fn tag(cli: &Cli, n: u32) -> String {
    use sha2::Digest;
    let seed = format!("{}-{}-{n}", std::process::id(), cli.label);
    hex::encode(sha2::Sha256::digest(seed.as_bytes()))[..8].to_string()
}

/// `cicd_image_deployment`: names for one CLI, and what a step keeps for a later one.
pub struct ImageDeployment {
    ns: String,
    /// owner/name of this CLI's own registry package.
    repo_path: String,
    /// host/owner/name.
    repo: String,
    t1: String,
    /// A multi-arch index.
    t2: String,
    /// The image the Deployments start with (not in the registry: kwok does not pull).
    initial: String,
    /// The index's children, pushed by digest (removed at the end).
    children: Vec<String>,
}

impl ImageDeployment {
    fn image(&self, tag: &str) -> String {
        format!("{}:{tag}", self.repo)
    }

    fn hcl(&self, tag: &str, container: &str, force: bool) -> String {
        format!(
            r#"
resource "cicd_image_deployment" "web" {{
  namespace  = "{ns}"
  deployment = "web"
  container  = "{container}"
  image      = "{repo}"
  tag        = "{tag}"
  force      = {force}
}}
"#,
            ns = self.ns,
            repo = self.repo
        )
    }
}

const WEB: &str = "cicd_image_deployment.web";

pub fn image_deployment(cli: &Cli) -> Scenario<ImageDeployment> {
    type S = Step<ImageDeployment>;
    let s = slug(cli);
    let repo_path = format!("viktor/cicd-acc-kube-{s}");
    let repo = format!("{}/{repo_path}", registry_host());
    let x = ImageDeployment {
        ns: format!("acc-img-{s}"),
        initial: format!("{repo}:00000000"),
        repo_path,
        repo,
        t1: tag(cli, 1),
        t2: tag(cli, 2),
        children: Vec::new(),
    };
    let missing = tag(cli, 3);
    let (ns, repo, t1, t2) = (x.ns.clone(), x.repo.clone(), x.t1.clone(), x.t2.clone());
    let steps = vec![
        S::out_of_band(
            "seed: namespace, a single-arch and a multi-arch image, the web Deployment",
            |w| {
                let x = &mut w.x;
                create_ns(&x.ns);
                oci_push(&["push-image", &x.repo_path, &x.t1]);
                let index = oci_push(&[
                    "push-index",
                    &x.repo_path,
                    &x.t2,
                    "--platforms",
                    "linux/amd64,linux/arm64",
                ]);
                // {"digest": ..., "children": {"linux/amd64": "sha256:..", ...}}
                x.children = index
                    .lines()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .flat_map(|j| {
                        j["children"]
                            .as_object()
                            .map(|m| {
                                m.values()
                                    .filter_map(|v| v.as_str().map(str::to_string))
                                    .collect::<Vec<_>>()
                            })
                            .unwrap_or_default()
                    })
                    .collect();
                kubectl_stdin(
                    &["-n", &x.ns, "apply", "-f", "-"],
                    &deployment_yaml("web", &x.initial, false),
                );
                kubectl(&[
                    "-n",
                    &x.ns,
                    "rollout",
                    "status",
                    "deployment/web",
                    "--timeout=90s",
                ]);
            },
        ),
        S::apply_fails(
            "without force, taking the image over from kubectl's field manager is a conflict",
            "Field manager conflict",
        )
        .config(x.hcl(&t1, "app", false))
        .output_contains("force = true")
        .check(|w, _| {
            assert_eq!(image_of(&w.x.ns, "web", false), w.x.initial, "nothing changed");
        }),
        S::apply("with force: applied, rollout complete")
            .config(x.hcl(&t1, "app", true))
            .check(|w, _| {
                let x = &w.x;
                assert_eq!(image_of(&x.ns, "web", false), x.image(&x.t1));
                assert_eq!(
                    image_of(&x.ns, "web", true),
                    x.initial,
                    "init container untouched"
                );
                let a = w.here().attrs(WEB);
                assert_eq!(a["rollout_status"], "complete", "{a}");
                assert_eq!(a["previous_image"], w.x.initial.as_str());
                assert!(
                    a["revision"]
                        .as_str()
                        .is_some_and(|r| r.parse::<u32>().unwrap_or(0) >= 2),
                    "{a}"
                );
            }),
        S::import(
            "import by namespace/deployment/container",
            WEB,
            &["force", "previous_image"],
        )
        .id(format!("{ns}/web/app")),
        S::apply("apply after the import converges"),
        S::plan_changes("an out-of-band `kubectl set image` shows in the plan")
            .pre(|w| {
                let x = &w.x;
                kubectl(&[
                    "-n",
                    &x.ns,
                    "set",
                    "image",
                    "deployment/web",
                    &format!("app={}", x.image(&x.t2)),
                ]);
            })
            .stdout_contains(format!("\"{t2}\" -> \"{t1}\"")),
        S::apply("force takes the image back").check(|w, _| {
            assert_eq!(image_of(&w.x.ns, "web", false), w.x.image(&w.x.t1));
        }),
        S::apply("a multi-arch index (the child for the nodes' linux/amd64 checked)")
            .config(x.hcl(&t2, "app", true))
            .check(|w, _| {
                assert_eq!(image_of(&w.x.ns, "web", false), w.x.image(&w.x.t2));
            }),
        S::plan_fails(
            "a tag that is not in the registry fails the plan",
            "not found in the registry",
        )
        .config(x.hcl(&missing, "app", true))
        .output_contains("tag"),
        S::cli(
            "... and the apply; nothing changes",
            &["apply", "-auto-approve", "-no-color"],
            Exit::Failure,
        )
        .check(|w, _| {
            assert_eq!(
                image_of(&w.x.ns, "web", false),
                w.x.image(&w.x.t2),
                "nothing changed"
            );
        }),
        S::validate_fails("tag \"latest\" fails validate", "The tag \"latest\" is not allowed")
            .config(x.hcl("latest", "app", true))
            .output_contains("tag"),
        S::validate_fails(
            "a tag outside the tag policy fails validate",
            "does not match the tag policy",
        )
        .config(x.hcl("v1.2.3", "app", true)),
        S::validate_fails("an image with a tag fails validate", "Image must not carry a tag")
            .config(format!(
                "resource \"cicd_image_deployment\" \"x\" {{\n  namespace = \"{ns}\"\n  deployment = \"web\"\n  container = \"app\"\n  image = \"{repo}:{t1}\"\n  tag = \"{t1}\"\n}}\n"
            )),
        S::plan_fails("an unknown container fails the plan", "Container nope not found")
            .config(x.hcl(&t2, "nope", true))
            .output_contains("unable to find container named"),
        S::plan_fails(
            "an unknown namespace fails the plan; nothing changed",
            "Namespace acc-no-such-ns does not exist",
        )
        .config(
            x.hcl(&t2, "app", true)
                .replace(&format!("\"{ns}\""), "\"acc-no-such-ns\""),
        )
        .check(|w, _| {
            assert_eq!(
                image_of(&w.x.ns, "web", false),
                w.x.image(&w.x.t2),
                "nothing changed"
            );
        }),
        S::apply("init containers are found like kubectl does")
            .config(format!(
                "{}\nresource \"cicd_image_deployment\" \"migrate\" {{\n  namespace = \"{ns}\"\n  deployment = \"web\"\n  container = \"migrate\"\n  image = \"{repo}\"\n  tag = \"{t1}\"\n  force = true\n}}\n",
                x.hcl(&t2, "app", true)
            ))
            .check(|w, _| {
                let x = &w.x;
                assert_eq!(image_of(&x.ns, "web", true), x.image(&x.t1));
                assert_eq!(image_of(&x.ns, "web", false), x.image(&x.t2));
            }),
        S::apply_fails(
            "a rollout that cannot progress: the apply fails with the reason, the state says what the cluster has",
            "ProgressDeadlineExceeded",
        )
        .on("stuck")
        .pre(|w| {
            kubectl_stdin(
                &["-n", &w.x.ns, "apply", "-f", "-"],
                &deployment_yaml("stuck", &w.x.initial, true),
            );
        })
        .config(format!(
            "resource \"cicd_image_deployment\" \"stuck\" {{\n  namespace = \"{ns}\"\n  deployment = \"stuck\"\n  container = \"app\"\n  image = \"{repo}\"\n  tag = \"{t1}\"\n  force = true\n  rollout_timeout = \"2m\"\n}}\n"
        ))
        .check(|w, r| {
            assert!(
                r.all().contains("deployment") && r.all().contains("stuck"),
                "{}",
                r.all()
            );
            let a = w.here().attrs("cicd_image_deployment.stuck");
            assert_eq!(
                format!(
                    "{}:{}",
                    a["image"].as_str().unwrap(),
                    a["tag"].as_str().unwrap()
                ),
                image_of(&w.x.ns, "stuck", false),
                "state matches the cluster"
            );
            assert!(
                a["rollout_status"].as_str().unwrap().starts_with("failed"),
                "{a}"
            );
        }),
        S::plan_changes("... and the next plan offers another attempt").on("stuck"),
        S::destroy("destroy leaves the workload as it is").check(|w, _| {
            let x = &w.x;
            assert_eq!(image_of(&x.ns, "web", false), x.image(&x.t2));
            assert_eq!(image_of(&x.ns, "web", true), x.image(&x.t1));
        }),
        S::cli(
            "forget the stuck deployment's resource",
            &["state", "rm", "cicd_image_deployment.stuck"],
            Exit::Any,
        )
        .on("stuck"),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the namespace and the images",
        |w| {
            let x = &w.x;
            delete_ns(&x.ns);
            for t in [&x.t1, &x.t2].into_iter().chain(x.children.iter()) {
                let _ = run_oci_delete(&x.repo_path, t);
            }
        },
    )])
}
