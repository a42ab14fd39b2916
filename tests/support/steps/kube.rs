//! Steps for `cicd_registry_credentials` and `cicd_image_deployment` against the local stack:
//! a real kube-apiserver (with controllers and kwok nodes), OpenBao in dev mode and a Gitea
//! registry (images pushed with scripts/oci-push).
//! Each CLI gets its own namespaces, Vault paths, registry package and image tags, so the
//! per-CLI tests run in parallel; cleanup removes them whether the steps passed or not.

use crate::support::{oci_push_script, stack_env, Cli, Exit, Scenario, Step};

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
    let script = oci_push_script();
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
    /// A namespace where no Secret may be created (a ResourceQuota of 0 secrets).
    quota_ns: String,
    /// A namespace created in the same apply.
    late_ns: String,
    /// Each registry's user name before an import.
    users: BTreeMap<String, serde_json::Value>,
}

impl RegistryCredentials {
    fn jwt_file(&self) -> std::path::PathBuf {
        self.scratch.path().join("sa-token")
    }

    fn hcl(&self, provider: &str) -> String {
        let nss: Vec<&str> = self.nss.iter().map(String::as_str).collect();
        self.hcl_in(provider, &nss)
    }

    fn hcl_in(&self, provider: &str, namespaces: &[&str]) -> String {
        format!(
            r#"
{provider}
resource "cicd_registry_credentials" "r" {{
  namespaces = {namespaces:?}
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
        quota_ns: format!("acc-rc-{s}-quota"),
        late_ns: format!("acc-rc-{s}-late"),
        users: BTreeMap::new(),
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
            "import the copies by ns1,ns2,ns3/name: every attribute but passwords and Vault versions",
            RC,
            &["registries", "vault_versions"],
        )
        .pre(|w| {
            let a = w.here().attrs(RC);
            w.x.users = a["registries"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(h, r)| (h.clone(), r["username"].clone()))
                .collect();
        })
        .id(format!("{}/registry-credentials", x.nss.join(",")))
        .config(plain.clone())
        .check(|w, _| {
            let a = w.here().attrs(RC);
            let users: BTreeMap<String, serde_json::Value> = a["registries"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(h, r)| (h.clone(), r["username"].clone()))
                .collect();
            assert_eq!(users, w.x.users, "registries.*.username after import");
        }),
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
        S::cli(
            "an unknown namespace: a warning at plan naming it (the same apply may create it)",
            &["plan", "-no-color"],
            Exit::Success,
        )
        .output_contains(format!(
            "Namespace acc-no-such-namespace-{s} does not exist yet"
        ))
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
        S::apply_fails(
            "a write fails in one namespace while another is removed: the removal still runs, the state keeps the failed namespace",
            "Could not write Secret",
        )
        .pre(|w| {
            let q = w.x.quota_ns.clone();
            create_ns(&q);
            kubectl_stdin(
                &["-n", &q, "apply", "-f", "-"],
                "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: no-secrets}\nspec: {hard: {count/secrets: \"0\"}}\n",
            );
        })
        .config(x.hcl_in("", &[&x.nss[0], &x.nss[1], &x.quota_ns]))
        .check(|w, _| {
            let a = w.here().attrs(RC);
            let x = &w.x;
            assert!(
                !secret_exists(&x.nss[2], "registry-credentials"),
                "the removed namespace's copy is deleted despite the failed write"
            );
            let nss: Vec<&str> = a["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!(nss.contains(&x.quota_ns.as_str()), "{a}");
            assert!(!nss.contains(&x.nss[2].as_str()), "{a}");
            assert!(a["copies"].get(&x.quota_ns).is_none(), "{a}");
        }),
        S::apply("the quota gone, the next apply writes the missing copy")
            .pre(|w| {
                kubectl(&["-n", &w.x.quota_ns, "delete", "resourcequota", "no-secrets"]);
            })
            .check(|w, _| assert!(secret_exists(&w.x.quota_ns, "registry-credentials"))),
        S::destroy("destroy: every copy is gone").check(|w, _| {
            for ns in w.x.nss.iter().chain([&w.x.quota_ns]) {
                assert!(!secret_exists(ns, "registry-credentials"), "{ns}");
            }
        }),
    ]);
    if cli.version >= (1, 4, 0) {
        // terraform_data (Terraform >= 1.4, OpenTofu) stands for kubernetes_namespace_v1.
        let kubectl = x.e["KUBECTL"].clone();
        let late = x.late_ns.clone();
        steps.extend([
            S::apply(
                "a namespace created earlier in the same apply: a warning at plan, then written",
            )
            .on("fresh")
            .config(format!(
                r#"
resource "terraform_data" "ns" {{
  input = "{late}"
  provisioner "local-exec" {{
    command = "{kubectl} create namespace {late}"
  }}
}}

resource "cicd_registry_credentials" "late" {{
  namespaces = ["{late}"]
  depends_on = [terraform_data.ns]
  registries = {{ "r.example" = {{ username = "u", password = "p" }} }}
}}
"#
            ))
            .output_contains(format!("Namespace {late} does not exist yet"))
            .check(|w, _| assert!(secret_exists(&w.x.late_ns, "registry-credentials"))),
            S::destroy("destroy the same-apply copy").on("fresh"),
        ]);
    }

    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the namespaces and the Vault path",
        |w| {
            for ns in w.x.nss.iter().chain([&w.x.quota_ns, &w.x.late_ns]) {
                delete_ns(ns);
            }
            bao(&["kv", "metadata", "delete", &format!("secret/{}", w.x.vpath)]);
        },
    )])
}

fn deployment_yaml(name: &str, image: &str, stuck: bool) -> String {
    deployment_yaml_with(name, image, stuck, stuck)
}

/// A Deployment with an init container `migrate` and a container `app`; `deadline`: a progress
/// deadline of 8 s; `unschedulable`: a node selector no node has.
fn deployment_yaml_with(name: &str, image: &str, deadline: bool, unschedulable: bool) -> String {
    let extra = if deadline {
        "  progressDeadlineSeconds: 8\n"
    } else {
        ""
    };
    let selector = if unschedulable {
        "      nodeSelector: {stack.local/never: \"true\"}\n"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 2\n{extra}  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n{selector}      initContainers: [{{name: migrate, image: \"{image}\"}}]\n      containers: [{{name: app, image: \"{image}\"}}]\n"
    )
}

/// A LimitRange giving every container without requests a request of 1000 CPUs: its pods are
/// created but never scheduled, until pods are made again after the LimitRange is gone.
const HUGE_DEFAULT_REQUESTS: &str = "apiVersion: v1\nkind: LimitRange\nmetadata: {name: huge}\nspec:\n  limits:\n  - type: Container\n    default: {cpu: \"1000\"}\n    defaultRequest: {cpu: \"1000\"}\n";

/// The template annotation of a rollout restart, or "".
fn restarted_at(ns: &str, name: &str) -> String {
    kubectl(&[
        "-n",
        ns,
        "get",
        "deployment",
        name,
        "-o",
        "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    ])
    .trim()
    .to_string()
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
    /// Pushed by a provisioner during an apply.
    t4: String,
    /// The namespace of the Deployment whose rollout gets stuck.
    stuck_ns: String,
    /// The image the Deployments start with (not in the registry: kwok does not pull).
    initial: String,
    /// The index's children, pushed by digest (removed at the end).
    children: Vec<String>,
}

impl ImageDeployment {
    fn image(&self, tag: &str) -> String {
        format!("{}:{tag}", self.repo)
    }

    /// `force`: `None` leaves it out (the default, true).
    fn hcl(&self, tag: &str, container: &str, force: Option<bool>) -> String {
        let force = force.map_or(String::new(), |f| format!("  force      = {f}\n"));
        format!(
            r#"
resource "cicd_image_deployment" "web" {{
  namespace  = "{ns}"
  deployment = "web"
  container  = "{container}"
  image      = "{repo}"
  tag        = "{tag}"
{force}}}
"#,
            ns = self.ns,
            repo = self.repo
        )
    }
}

impl ImageDeployment {
    /// A Deployment applied and a tag pushed by provisioners, and an image deployment of both
    /// in the same apply.
    fn same_apply_hcl(&self) -> String {
        let kubectl = env()["KUBECTL"].clone();
        format!(
            r#"
resource "terraform_data" "deployment" {{
  provisioner "local-exec" {{
    command = "{kubectl} -n {ns} apply -f late.yaml && {kubectl} -n {ns} rollout status deployment/late --timeout=90s"
  }}
}}

resource "terraform_data" "build" {{
  provisioner "local-exec" {{
    command = "{push} push-image {repo_path} {t4}"
  }}
}}

resource "cicd_image_deployment" "late" {{
  namespace  = "{ns}"
  deployment = "late"
  container  = "app"
  image      = "{repo}"
  tag        = "{t4}"
  depends_on = [terraform_data.deployment, terraform_data.build]
}}
"#,
            ns = self.ns,
            push = oci_push_script().display(),
            repo_path = self.repo_path,
            repo = self.repo,
            t4 = self.t4,
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
        t4: tag(cli, 4),
        stuck_ns: format!("acc-img-{s}-stuck"),
        children: Vec::new(),
    };
    let missing = tag(cli, 3);
    let (ns, repo, t1, t2) = (x.ns.clone(), x.repo.clone(), x.t1.clone(), x.t2.clone());
    let stuck_ns = x.stuck_ns.clone();
    let mut steps = vec![
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
        .config(x.hcl(&t1, "app", Some(false)))
        .output_contains("force = true")
        .check(|w, _| {
            assert_eq!(image_of(&w.x.ns, "web", false), w.x.initial, "nothing changed");
        }),
        S::apply("by default (force = true) the image field is taken over: applied, rollout complete")
            .config(x.hcl(&t1, "app", None))
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
                assert_eq!(a["force"], true, "{a}");
                assert_eq!(a["live_image"], w.x.image(&w.x.t1).as_str(), "{a}");
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
            &["previous_image"],
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
        S::apply("force (the default) takes the image back").check(|w, _| {
            assert_eq!(image_of(&w.x.ns, "web", false), w.x.image(&w.x.t1));
        }),
        S::apply("a multi-arch index (the child for the nodes' linux/amd64 checked)")
            .config(x.hcl(&t2, "app", None))
            .check(|w, _| {
                assert_eq!(image_of(&w.x.ns, "web", false), w.x.image(&w.x.t2));
            }),
        S::cli(
            "a tag not in the registry yet: the plan warns (a provisioner may push it in the same apply)",
            &["plan", "-no-color"],
            Exit::Success,
        )
        .config(x.hcl(&missing, "app", None))
        .output_contains("not found in the registry yet")
        .output_contains("tag"),
        S::apply_fails(
            "... the apply checks it again and fails; nothing changes",
            "not found in the registry",
        )
        .check(|w, _| {
            assert_eq!(
                image_of(&w.x.ns, "web", false),
                w.x.image(&w.x.t2),
                "nothing changed"
            );
        }),
        S::validate_fails("tag \"latest\" fails validate", "The tag \"latest\" is not allowed")
            .config(x.hcl("latest", "app", None))
            .output_contains("tag"),
        S::validate_fails(
            "a tag outside the tag policy fails validate",
            "does not match the tag policy",
        )
        .config(x.hcl("v1.2.3", "app", None)),
        S::validate_fails("an image with a tag fails validate", "Image must not carry a tag")
            .config(format!(
                "resource \"cicd_image_deployment\" \"x\" {{\n  namespace = \"{ns}\"\n  deployment = \"web\"\n  container = \"app\"\n  image = \"{repo}:{t1}\"\n  tag = \"{t1}\"\n}}\n"
            )),
        S::cli(
            "an unknown container: a warning at plan (the same apply may create it)",
            &["plan", "-no-color"],
            Exit::Success,
        )
        .config(x.hcl(&t2, "nope", None))
        .output_contains("Container nope not found in deployment")
        .output_contains("unable to find container named"),
        S::cli(
            "an unknown namespace: a warning at plan; nothing changed",
            &["plan", "-no-color"],
            Exit::Success,
        )
        .config(
            x.hcl(&t2, "app", None)
                .replace(&format!("\"{ns}\""), "\"acc-no-such-ns\""),
        )
        .output_contains("Namespace acc-no-such-ns does not exist yet")
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
                x.hcl(&t2, "app", None)
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
            // Pods made while the LimitRange is there ask for 1000 CPUs: never scheduled.
            create_ns(&w.x.stuck_ns);
            kubectl_stdin(&["-n", &w.x.stuck_ns, "apply", "-f", "-"], HUGE_DEFAULT_REQUESTS);
            kubectl_stdin(
                &["-n", &w.x.stuck_ns, "apply", "-f", "-"],
                &deployment_yaml_with("stuck", &w.x.initial, true, false),
            );
        })
        .config(format!(
            "resource \"cicd_image_deployment\" \"stuck\" {{\n  namespace = \"{stuck_ns}\"\n  deployment = \"stuck\"\n  container = \"app\"\n  image = \"{repo}\"\n  tag = \"{t1}\"\n  rollout_timeout = \"2m\"\n}}\n"
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
                image_of(&w.x.stuck_ns, "stuck", false),
                "state matches the cluster"
            );
            assert!(
                a["rollout_status"].as_str().unwrap().starts_with("failed"),
                "{a}"
            );
        }),
        S::plan_changes("... and the next plan offers another attempt").on("stuck"),
        S::apply("the cause fixed (LimitRange removed), the retry restarts the rollout like `kubectl rollout restart` and completes")
            .on("stuck")
            .pre(|w| {
                kubectl(&["-n", &w.x.stuck_ns, "delete", "limitrange", "huge"]);
            })
            .check(|w, _| {
                let a = w.here().attrs("cicd_image_deployment.stuck");
                let x = &w.x;
                assert!(!restarted_at(&x.stuck_ns, "stuck").is_empty(), "restartedAt set");
                assert_eq!(a["rollout_status"], "complete", "{a}");
                assert_eq!(image_of(&x.stuck_ns, "stuck", false), x.image(&x.t1));
            }),
        S::destroy("destroy leaves the workload as it is").check(|w, _| {
            let x = &w.x;
            assert_eq!(image_of(&x.ns, "web", false), x.image(&x.t2));
            assert_eq!(image_of(&x.ns, "web", true), x.image(&x.t1));
        }),
        S::destroy("... the stuck one too").on("stuck"),
    ];
    if cli.version >= (1, 4, 0) {
        // terraform_data (Terraform >= 1.4, OpenTofu) stands for helm_release and a build step.
        steps.extend([
            S::apply("a Deployment and a tag made earlier in the same apply: warnings at plan, then applied")
                .on("fresh")
                .pre(|w| {
                    let yaml = deployment_yaml_with("late", &w.x.initial, false, false);
                    std::fs::write(w.dir("fresh").path().join("late.yaml"), yaml).unwrap();
                })
                .config(x.same_apply_hcl())
                .output_contains("does not exist yet")
                .output_contains("not found in the registry yet")
                .check(|w, _| {
                    let x = &w.x;
                    assert_eq!(image_of(&x.ns, "late", false), x.image(&x.t4));
                    let a = w.here().attrs("cicd_image_deployment.late");
                    assert_eq!(a["rollout_status"], "complete", "{a}");
                }),
            S::destroy("destroy the same-apply resources").on("fresh"),
        ]);
    }
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the namespace and the images",
        |w| {
            let x = &w.x;
            delete_ns(&x.ns);
            delete_ns(&x.stuck_ns);
            for t in [&x.t1, &x.t2, &x.t4].into_iter().chain(x.children.iter()) {
                let _ = run_oci_delete(&x.repo_path, t);
            }
        },
    )])
}

/// Least privilege: a ServiceAccount whose Role names the one Deployment and the one Secret
/// (`resourceNames`), and no access to namespaces or nodes.
pub struct Rbac {
    ns: String,
    repo_path: String,
    repo: String,
    tag: String,
    initial: String,
    /// The ServiceAccount's token (set by the seed step).
    token: String,
}

const RBAC_ROLE: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cicd-limited}
rules:
- apiGroups: [apps]
  resources: [deployments]
  resourceNames: [web]
  verbs: [get, patch, watch]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [registry-credentials]
  verbs: [get, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cicd-limited}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cicd-limited}
subjects:
- {kind: ServiceAccount, name: cicd-limited}
"#;

impl Rbac {
    fn hcl(&self) -> String {
        let e = env();
        format!(
            r#"
provider "cicd" {{
  kubernetes {{
    host                   = "{host}"
    token                  = "{token}"
    cluster_ca_certificate = file("{ca}")
  }}
}}

resource "cicd_image_deployment" "web" {{
  namespace  = "{ns}"
  deployment = "web"
  container  = "app"
  image      = "{repo}"
  tag        = "{tag}"
}}

resource "cicd_registry_credentials" "r" {{
  namespaces = ["{ns}"]
  registries = {{ "r.example" = {{ username = "u", password = "p" }} }}
}}
"#,
            host = e["KUBE_API"],
            ca = e["KUBE_CA_FILE"],
            token = self.token,
            ns = self.ns,
            repo = self.repo,
            tag = self.tag,
        )
    }
}

pub fn rbac(cli: &Cli) -> Scenario<Rbac> {
    type S = Step<Rbac>;
    let s = slug(cli);
    let repo_path = format!("viktor/cicd-acc-rbac-{s}");
    let repo = format!("{}/{repo_path}", registry_host());
    let x = Rbac {
        ns: format!("acc-rbac-{s}"),
        initial: format!("{repo}:00000000"),
        tag: tag(cli, 11),
        repo_path,
        repo,
        token: String::new(),
    };
    let steps = vec![
        S::out_of_band(
            "seed: a namespace, the web Deployment, a ServiceAccount limited by resourceNames",
            |w| {
                let x = &mut w.x;
                create_ns(&x.ns);
                oci_push(&["push-image", &x.repo_path, &x.tag]);
                kubectl_stdin(
                    &["-n", &x.ns, "apply", "-f", "-"],
                    &deployment_yaml("web", &x.initial, false),
                );
                kubectl(&["-n", &x.ns, "create", "serviceaccount", "cicd-limited"]);
                kubectl_stdin(&["-n", &x.ns, "apply", "-f", "-"], RBAC_ROLE);
                let token = kubectl(&[
                    "-n",
                    &x.ns,
                    "create",
                    "token",
                    "cicd-limited",
                    "--duration=2h",
                ]);
                x.token = token.trim().to_string();
            },
        ),
        S::apply("apply with the limited ServiceAccount: a warning for the namespace, no error")
            .config_with(Rbac::hcl)
            .output_contains("Could not check namespace")
            .check(|w, _| {
                let x = &w.x;
                assert_eq!(
                    image_of(&x.ns, "web", false),
                    format!("{}:{}", x.repo, x.tag)
                );
                assert!(secret_exists(&x.ns, "registry-credentials"));
                let a = w.here().attrs(WEB);
                assert_eq!(a["rollout_status"], "complete", "{a}");
            }),
        S::plan_empty("refresh with the limited ServiceAccount: each Deployment read by GET"),
        S::plan_changes("an out-of-band change shows in the plan").pre(|w| {
            let x = &w.x;
            kubectl(&[
                "-n",
                &x.ns,
                "set",
                "image",
                "deployment/web",
                &format!("app={}", x.initial),
            ]);
        }),
        S::apply("... and is taken back"),
        S::destroy("destroy with the limited ServiceAccount")
            .check(|w, _| assert!(!secret_exists(&w.x.ns, "registry-credentials"))),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the namespace and the image",
        |w| {
            delete_ns(&w.x.ns);
            let _ = run_oci_delete(&w.x.repo_path, &w.x.tag);
        },
    )])
}
