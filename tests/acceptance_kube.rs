//! Acceptance tests for `cicd_registry_credentials` and `cicd_image_deployment` under every CLI,
//! against the local stack: a real kube-apiserver (with controllers and kwok nodes), OpenBao in
//! dev mode and a Gitea registry (images pushed with scripts/oci-push).
//! Each CLI gets its own namespaces, Vault paths and image tags, removed at the end.

mod support;

use base64::Engine;
use std::collections::BTreeMap;
use std::process::Command;
use support::{clis, stack_env, Attach, Cli, Workdir};

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

fn apply_traced(w: &Workdir, secrets: &[&str]) {
    let r = w.run_env(
        &["apply", "-auto-approve", "-no-color"],
        &[("TF_LOG", "trace")],
    );
    assert_eq!(r.code, 0, "[{}] apply failed:\n{}", w.cli.label, r.all());
    let all = r.all();
    for s in secrets {
        let bad: Vec<&str> = all.lines().filter(|l| l.contains(s)).collect();
        assert!(
            bad.is_empty(),
            "[{}] a secret value appears in the TF_LOG=trace output: {:?}",
            w.cli.label,
            bad.iter().take(3).collect::<Vec<_>>()
        );
    }
}

#[test]
fn registry_credentials_under_every_cli() {
    let e = env();
    let pid = std::process::id();
    let reg = registry_host();
    for cli in clis() {
        eprintln!("== cicd_registry_credentials with {}", cli.label);
        let l = cli.label.clone();
        let s = slug(&cli);
        let nss: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|x| format!("acc-rc-{s}-{x}"))
            .collect();
        for ns in &nss {
            create_ns(ns);
        }
        let vpath = format!("acc/{s}/registry");
        let pw1 = format!("vault-pw-one-{pid}-{s}");
        let pw2 = format!("vault-pw-two-{pid}-{s}");
        bao(&[
            "kv",
            "put",
            &format!("secret/{vpath}"),
            &format!("password={pw1}"),
        ]);

        let hcl = |provider: &str| {
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
                a = nss[0],
                b = nss[1],
                c = nss[2]
            )
        };
        let w = Workdir::new(&cli, Attach::Binary);
        w.write(&hcl("provider \"cicd\" {}"));

        // 1. Create: three copies, correct content, no Vault value in logs or state.
        apply_traced(&w, &[&pw1]);
        w.expect_empty_plan();
        for ns in &nss {
            let a = secret_auths(ns, "registry-credentials");
            let r = &a["auths"][reg.as_str()];
            assert_eq!(r["username"], "viktor", "[{l}] {ns}");
            assert_eq!(r["password"], pw1.as_str(), "[{l}] {ns}");
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("viktor:{pw1}"));
            assert_eq!(r["auth"], auth.as_str(), "[{l}] {ns}");
            assert_eq!(a["auths"]["ghcr.example"]["password"], "plain-password-42");
        }
        let st = w.state_file_text();
        assert!(!st.contains(&pw1), "[{l}] Vault value in state");
        let attrs = w.attrs("cicd_registry_credentials.r");
        let v1 = attrs["vault_versions"][format!("secret/{vpath}")]
            .as_i64()
            .unwrap_or_else(|| panic!("[{l}] no version in {attrs}"));

        // 2. A copy edited by hand: the plan shows that namespace only; apply restores it.
        kubectl(&[
            "-n",
            &nss[1],
            "patch",
            "secret",
            "registry-credentials",
            "-p",
            r#"{"data":{".dockerconfigjson":"eyJhdXRocyI6e319"}}"#,
        ]);
        let plan = w.expect_changes();
        let lines = unknown_lines(&plan);
        assert_eq!(lines.len(), 1, "[{l}] {plan}");
        assert!(lines[0].contains(&nss[1]), "[{l}] {plan}");
        w.apply();
        w.expect_empty_plan();
        assert_eq!(
            secret_auths(&nss[1], "registry-credentials")["auths"][reg.as_str()]["password"],
            pw1.as_str()
        );

        // A deleted copy too.
        kubectl(&["-n", &nss[2], "delete", "secret", "registry-credentials"]);
        let plan = w.expect_changes();
        assert!(plan.contains(&nss[2]), "[{l}] {plan}");
        assert!(
            unknown_lines(&plan).is_empty(),
            "[{l}] only the missing copy: {plan}"
        );
        w.apply();
        assert!(secret_exists(&nss[2], "registry-credentials"));
        w.expect_empty_plan();

        // 3. Rotation in Vault: the plan updates every copy.
        bao(&[
            "kv",
            "put",
            &format!("secret/{vpath}"),
            &format!("password={pw2}"),
        ]);
        let plan = w.expect_changes();
        for ns in &nss {
            assert!(
                unknown_lines(&plan).iter().any(|x| x.contains(ns.as_str())),
                "[{l}] rotation should rewrite {ns}:\n{plan}"
            );
        }
        apply_traced(&w, &[&pw1, &pw2]);
        w.expect_empty_plan();
        for ns in &nss {
            assert_eq!(
                secret_auths(ns, "registry-credentials")["auths"][reg.as_str()]["password"],
                pw2.as_str(),
                "[{l}] {ns}"
            );
        }
        assert!(
            !w.state_file_text().contains(&pw2),
            "[{l}] Vault value in state"
        );
        let attrs = w.attrs("cicd_registry_credentials.r");
        assert_eq!(
            attrs["vault_versions"][format!("secret/{vpath}")],
            v1 + 1,
            "[{l}]"
        );

        // 4. Vault through Kubernetes auth (the service account's JWT read from a file).
        let jwt = kubectl(&[
            "-n",
            &e["VAULT_K8S_NAMESPACE"],
            "create",
            "token",
            &e["VAULT_K8S_SERVICE_ACCOUNT"],
        ]);
        let jwt_file = w.path().join("sa-token");
        std::fs::write(&jwt_file, jwt.trim()).unwrap();
        w.write(&hcl(&format!(
            "provider \"cicd\" {{\n  vault {{\n    kubernetes_auth {{\n      role = \"{}\"\n      jwt_path = \"{}\"\n    }}\n  }}\n}}",
            e["VAULT_K8S_ROLE"],
            jwt_file.display()
        )));
        w.expect_empty_plan();
        // A rotated token file is read at the next login.
        let jwt2 = kubectl(&[
            "-n",
            &e["VAULT_K8S_NAMESPACE"],
            "create",
            "token",
            &e["VAULT_K8S_SERVICE_ACCOUNT"],
        ]);
        std::fs::write(&jwt_file, jwt2.trim()).unwrap();
        w.expect_empty_plan();
        std::fs::write(&jwt_file, "not-a-jwt").unwrap();
        let r = w.run(&["plan", "-no-color"]);
        assert_ne!(r.code, 0, "[{l}] a bad JWT must fail: {}", r.all());
        assert!(r.all().contains("Kubernetes login"), "[{l}] {}", r.all());
        w.write(&hcl("provider \"cicd\" {}"));

        // 5. Import one copy by namespace/name, then converge.
        w.import_and_compare(
            "cicd_registry_credentials.r",
            &format!("{}/registry-credentials", nss[0]),
            &[
                "namespaces",
                "registries",
                "copies",
                "vault_versions",
                "labels",
            ],
        );
        w.apply();
        w.expect_empty_plan();

        // 6. Write-only password (Terraform/OpenTofu >= 1.11).
        let wo = format!("write-only-pw-{pid}-{s}");
        let w2 = Workdir::new(&cli, Attach::Binary);
        w2.write(&format!(
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
            a = nss[0]
        ));
        if cli.supports_write_only() {
            apply_traced(&w2, &[&wo]);
            w2.expect_empty_plan();
            assert!(
                !w2.state_file_text().contains(&wo),
                "[{l}] write-only value in state"
            );
            assert_eq!(
                secret_auths(&nss[0], "wo-credentials")["auths"][reg.as_str()]["password"],
                wo.as_str()
            );
            w2.destroy();
            assert!(!secret_exists(&nss[0], "wo-credentials"));
        } else {
            w2.validate_expect_error("Write-only attribute not supported");
        }

        // 7. Bad input: an unknown namespace fails the plan, naming it; two password sources fail validate.
        let w3 = Workdir::new(&cli, Attach::Binary);
        w3.write(&format!(
            r#"
resource "cicd_registry_credentials" "bad" {{
  namespaces = ["{a}", "acc-no-such-namespace-{s}"]
  registries = {{ "r.example" = {{ username = "u", password = "p" }} }}
}}
"#,
            a = nss[0]
        ));
        let r = w3.plan_expect_error(&format!(
            "Namespace acc-no-such-namespace-{s} does not exist"
        ));
        assert!(r.all().contains("namespaces"), "[{l}] {}", r.all());
        w3.write(
            "resource \"cicd_registry_credentials\" \"bad\" {\n  namespaces = [\"x\"]\n  registries = { \"r.example\" = { username = \"u\" } }\n}\n",
        );
        w3.validate_expect_error("Exactly one password source");

        // 8. Destroy: every copy is gone.
        w.destroy();
        for ns in &nss {
            assert!(!secret_exists(ns, "registry-credentials"), "[{l}] {ns}");
        }
        for ns in &nss {
            delete_ns(ns);
        }
        bao(&["kv", "metadata", "delete", &format!("secret/{vpath}")]);
    }
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

#[test]
fn image_deployment_under_every_cli() {
    let pid = std::process::id();
    let repo_path = "viktor/cicd-acc-kube";
    let repo = format!("{}/{repo_path}", registry_host());
    for (i, cli) in clis().into_iter().enumerate() {
        eprintln!("== cicd_image_deployment with {}", cli.label);
        let l = cli.label.clone();
        let s = slug(&cli);
        let ns = format!("acc-img-{s}");
        create_ns(&ns);
        // Tags: 8 hex characters, unique per run and CLI.
        let t1 = format!("{:08x}", (pid as u64 * 16 + i as u64 * 4) & 0xffff_ffff);
        let t2 = format!("{:08x}", (pid as u64 * 16 + i as u64 * 4 + 1) & 0xffff_ffff);
        let missing = format!("{:08x}", (pid as u64 * 16 + i as u64 * 4 + 2) & 0xffff_ffff);
        oci_push(&["push-image", repo_path, &t1]);
        let index = oci_push(&[
            "push-index",
            repo_path,
            &t2,
            "--platforms",
            "linux/amd64,linux/arm64",
        ]);
        // {"digest": ..., "children": {"linux/amd64": "sha256:..", ...}}: removed at the end.
        let children: Vec<String> = index
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
        let initial = format!("{repo}:00000000");
        kubectl_stdin(
            &["-n", &ns, "apply", "-f", "-"],
            &deployment_yaml("web", &initial, false),
        );
        kubectl(&[
            "-n",
            &ns,
            "rollout",
            "status",
            "deployment/web",
            "--timeout=90s",
        ]);

        let hcl = |tag: &str, container: &str, force: bool, extra: &str| {
            format!(
                r#"
resource "cicd_image_deployment" "web" {{
  namespace  = "{ns}"
  deployment = "web"
  container  = "{container}"
  image      = "{repo}"
  tag        = "{tag}"
  force      = {force}
{extra}}}
"#
            )
        };
        let w = Workdir::new(&cli, Attach::Binary);

        // 1. Without force, taking the image over from kubectl's field manager is a conflict.
        w.write(&hcl(&t1, "app", false, ""));
        let r = w.apply_expect_error("Field manager conflict");
        assert!(r.all().contains("force = true"), "[{l}] {}", r.all());
        assert_eq!(
            image_of(&ns, "web", false),
            initial,
            "[{l}] nothing changed"
        );

        // 2. With force: applied, rollout complete, empty plan.
        w.write(&hcl(&t1, "app", true, ""));
        w.apply();
        w.expect_empty_plan();
        assert_eq!(image_of(&ns, "web", false), format!("{repo}:{t1}"), "[{l}]");
        assert_eq!(
            image_of(&ns, "web", true),
            initial,
            "[{l}] init container untouched"
        );
        let a = w.attrs("cicd_image_deployment.web");
        assert_eq!(a["rollout_status"], "complete", "[{l}] {a}");
        assert_eq!(a["previous_image"], initial.as_str(), "[{l}]");
        assert!(
            a["revision"]
                .as_str()
                .is_some_and(|r| r.parse::<u32>().unwrap_or(0) >= 2),
            "[{l}] {a}"
        );

        // 3. Import by namespace/deployment/container.
        w.import_and_compare(
            "cicd_image_deployment.web",
            &format!("{ns}/web/app"),
            &["force", "previous_image"],
        );
        w.apply();
        w.expect_empty_plan();

        // 4. Out-of-band `kubectl set image`: the plan shows it; force takes it back.
        kubectl(&[
            "-n",
            &ns,
            "set",
            "image",
            "deployment/web",
            &format!("app={repo}:{t2}"),
        ]);
        let plan = w.expect_changes();
        assert!(
            plan.contains(&format!("\"{t2}\" -> \"{t1}\"")),
            "[{l}] {plan}"
        );
        w.apply();
        assert_eq!(image_of(&ns, "web", false), format!("{repo}:{t1}"), "[{l}]");
        w.expect_empty_plan();

        // 5. A multi-arch index (child for the nodes' linux/amd64 checked).
        w.write(&hcl(&t2, "app", true, ""));
        w.apply();
        w.expect_empty_plan();
        assert_eq!(image_of(&ns, "web", false), format!("{repo}:{t2}"), "[{l}]");

        // 6. A tag that is not in the registry fails the plan; nothing changes.
        w.write(&hcl(&missing, "app", true, ""));
        let r = w.plan_expect_error("not found in the registry");
        assert!(r.all().contains("tag"), "[{l}]");
        let r = w.run(&["apply", "-auto-approve", "-no-color"]);
        assert_ne!(r.code, 0, "[{l}]");
        assert_eq!(
            image_of(&ns, "web", false),
            format!("{repo}:{t2}"),
            "[{l}] nothing changed"
        );

        // 7. Bad input at validate time, naming the attribute.
        w.write(&hcl("latest", "app", true, ""));
        let r = w.validate_expect_error("The tag \"latest\" is not allowed");
        assert!(r.all().contains("tag"), "[{l}]");
        w.write(&hcl("v1.2.3", "app", true, ""));
        w.validate_expect_error("does not match the tag policy");
        w.write(&format!(
            "resource \"cicd_image_deployment\" \"x\" {{\n  namespace = \"{ns}\"\n  deployment = \"web\"\n  container = \"app\"\n  image = \"{repo}:{t1}\"\n  tag = \"{t1}\"\n}}\n"
        ));
        w.validate_expect_error("Image must not carry a tag");
        // ... and at plan time: unknown container, unknown namespace.
        w.write(&hcl(&t2, "nope", true, ""));
        let r = w.plan_expect_error("Container nope not found");
        assert!(r.all().contains("unable to find container named"), "[{l}]");
        w.write(&hcl(&t2, "app", true, "").replace(&format!("\"{ns}\""), "\"acc-no-such-ns\""));
        w.plan_expect_error("Namespace acc-no-such-ns does not exist");
        assert_eq!(
            image_of(&ns, "web", false),
            format!("{repo}:{t2}"),
            "[{l}] nothing changed"
        );

        // 8. Init containers are found like kubectl does.
        w.write(&format!(
            "{}\nresource \"cicd_image_deployment\" \"migrate\" {{\n  namespace = \"{ns}\"\n  deployment = \"web\"\n  container = \"migrate\"\n  image = \"{repo}\"\n  tag = \"{t1}\"\n  force = true\n}}\n",
            hcl(&t2, "app", true, "")
        ));
        w.apply();
        w.expect_empty_plan();
        assert_eq!(image_of(&ns, "web", true), format!("{repo}:{t1}"), "[{l}]");
        assert_eq!(image_of(&ns, "web", false), format!("{repo}:{t2}"), "[{l}]");

        // 9. A rollout that cannot progress: the apply fails with the reason, the state says
        //    what the cluster has, and the next plan offers another attempt.
        kubectl_stdin(
            &["-n", &ns, "apply", "-f", "-"],
            &deployment_yaml("stuck", &initial, true),
        );
        let w4 = Workdir::new(&cli, Attach::Binary);
        w4.write(&format!(
            "resource \"cicd_image_deployment\" \"stuck\" {{\n  namespace = \"{ns}\"\n  deployment = \"stuck\"\n  container = \"app\"\n  image = \"{repo}\"\n  tag = \"{t1}\"\n  force = true\n  rollout_timeout = \"2m\"\n}}\n"
        ));
        let r = w4.apply_expect_error("ProgressDeadlineExceeded");
        assert!(
            r.all().contains("deployment") && r.all().contains("stuck"),
            "[{l}] {}",
            r.all()
        );
        let a = w4.attrs("cicd_image_deployment.stuck");
        assert_eq!(
            format!(
                "{}:{}",
                a["image"].as_str().unwrap(),
                a["tag"].as_str().unwrap()
            ),
            image_of(&ns, "stuck", false),
            "[{l}] state matches the cluster"
        );
        assert!(
            a["rollout_status"].as_str().unwrap().starts_with("failed"),
            "[{l}] {a}"
        );
        w4.expect_changes();

        // 10. Destroy leaves the workload as it is.
        w.destroy();
        assert_eq!(image_of(&ns, "web", false), format!("{repo}:{t2}"), "[{l}]");
        assert_eq!(image_of(&ns, "web", true), format!("{repo}:{t1}"), "[{l}]");
        let _ = w4.run(&["state", "rm", "cicd_image_deployment.stuck"]);

        delete_ns(&ns);
        for t in [&t1, &t2].into_iter().chain(children.iter()) {
            let _ = run_oci_delete(repo_path, t);
        }
    }
}
