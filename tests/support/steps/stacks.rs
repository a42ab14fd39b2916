//! Steps for the example stacks (examples/stacks/ci-cd and app) against the local stack:
//! seeded like the platform (Vault path, private images tagged with 8-character SHAs, app
//! Deployments), applied, re-planned empty, drift from `kubectl set image` shown and repaired,
//! then destroyed — which leaves the workloads and the images in place, as documented.
//! Each CLI's test has its own owner, namespace and tags; the Vault path is the stacks' own
//! `secret/viktor`, written once per test process so no test sees it change under it.

use crate::support::{Cli, Scenario, Step};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Once;

fn sh(env: &BTreeMap<String, String>, prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .envs(env)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn sha8(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))[..8].to_string()
}

/// `with_checks`: checks.tf (Terraform >= 1.5); `with_actions`: actions.tf (`action` blocks,
/// Terraform >= 1.14).
fn copy_stack(name: &str, to: &Path, with_checks: bool, with_actions: bool) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/stacks")
        .join(name);
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let f = e.file_name().to_string_lossy().to_string();
        let skip = (f == "checks.tf" && !with_checks) || (f == "actions.tf" && !with_actions);
        if !f.ends_with(".tf") || skip {
            continue;
        }
        std::fs::copy(e.path(), to.join(&f)).unwrap();
    }
}

/// The Vault value both stacks' pull secrets come from: one write per process (the ci-cd
/// stack records the path's version, so a write from a parallel test would show as drift).
static VAULT_SEED: Once = Once::new();

const APPS: [&str; 2] = ["website", "finance"];

pub struct Stacks {
    env: BTreeMap<String, String>,
    oci: String,
    kubectl: String,
    url: String,
    /// Registry host (FORGEJO_URL without its scheme).
    host: String,
    auth: String,
    label: String,
    owner: String,
    ns: String,
    /// The commit SHA deployed (both apps' newest image).
    tag: String,
    /// The app stack's `deployed_images` output, for the ci-cd stack.
    deployed: String,
    /// Vault path (mount `secret`) whose keys become Woodpecker global secrets.
    ci_path: String,
    /// Those keys (unique per CLI run: global secret names are instance-wide).
    ci_keys: Vec<String>,
}

impl Stacks {
    fn tag_of(&self, app: &str, i: u32) -> String {
        sha8(&format!("{}-{app}-{i}", self.label))
    }

    fn sh(&self, prog: &str, args: &[&str]) -> String {
        sh(&self.env, prog, args)
    }

    /// `curl` against the Woodpecker API with the admin token: (status, body).
    fn woodpecker(&self, method: &str, path: &str) -> (u16, String) {
        let out = Command::new("curl")
            .args([
                "-s",
                "-X",
                method,
                "-H",
                &format!("Authorization: Bearer {}", self.env["WOODPECKER_TOKEN"]),
                "-w",
                "\n%{http_code}",
                &format!("{}{path}", self.env["WOODPECKER_SERVER"]),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn website_image(&self) -> String {
        self.sh(
            &self.kubectl,
            &[
                "-n",
                &self.ns,
                "get",
                "deployment",
                "website",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
        )
    }
}

pub fn example_stacks(cli: &Cli) -> Scenario<Stacks> {
    type S = Step<Stacks>;
    let env = crate::support::stack_env();
    let root = env!("CARGO_MANIFEST_DIR");
    let url = env["FORGEJO_URL"].clone();
    let host = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let l = cli.label.clone();
    // An owner and a namespace per CLI run.
    let suffix = format!("{}-{}", l.replace(['.', '-'], ""), std::process::id());
    let mut x = Stacks {
        oci: format!("{root}/scripts/oci-push"),
        kubectl: env["KUBECTL"].clone(),
        auth: format!("Authorization: token {}", env["FORGEJO_TOKEN"]),
        env,
        url,
        host,
        label: l,
        owner: format!("st{suffix}"),
        ns: format!("apps-{suffix}"),
        tag: String::new(),
        deployed: String::new(),
        ci_path: format!("ci/global-{suffix}"),
        ci_keys: ["deploy_token", "slack_webhook", "forgejo_push_token"]
            .iter()
            .map(|k| format!("{k}_{}", suffix.replace('-', "_")))
            .collect(),
    };
    x.tag = x.tag_of("website", 12);
    let (host, owner, ns, tag) = (x.host.clone(), x.owner.clone(), x.ns.clone(), x.tag.clone());
    let website_11 = x.tag_of("website", 11);
    let steps = vec![
        S::out_of_band("seed: the Vault secret of the pull secrets", |w| {
            let x = &w.x;
            VAULT_SEED.call_once(|| {
                x.sh(
                    &x.env["BAO"],
                    &[
                        "kv",
                        "put",
                        "secret/viktor",
                        &format!("forgejo_pull_token={}", x.env["FORGEJO_TOKEN"]),
                    ],
                );
            });
        }),
        S::out_of_band(
            "seed: organization, 12 images per app, namespace and Deployments",
            |w| {
                let x = &w.x;
                let owner = &x.owner;
                x.sh(
                    "curl",
                    &[
                        "-sf",
                        "-X",
                        "POST",
                        "-H",
                        &x.auth,
                        "-H",
                        "Content-Type: application/json",
                        "-d",
                        &format!("{{\"username\":\"{owner}\"}}"),
                        &format!("{}/api/v1/orgs", x.url),
                    ],
                );
                for app in APPS {
                    for i in 1..=12u32 {
                        x.sh(
                            "python3",
                            &[
                                &x.oci,
                                "push-image",
                                &format!("{owner}/{app}"),
                                &x.tag_of(app, i),
                                "--seed",
                                &format!("{}{app}{i}", x.label),
                            ],
                        );
                        if i <= 10 {
                            x.sh(
                                "python3",
                                &[
                                    &x.oci,
                                    "backdate",
                                    &format!("{owner}/{app}"),
                                    &x.tag_of(app, i),
                                    &(60 - i).to_string(),
                                ],
                            );
                        }
                    }
                }
                // The infra repository the ci-cd stack activates in Woodpecker.
                x.sh(
                    "curl",
                    &[
                        "-sf",
                        "-X",
                        "POST",
                        "-H",
                        &x.auth,
                        "-H",
                        "Content-Type: application/json",
                        "-d",
                        "{\"name\":\"infra\",\"auto_init\":true}",
                        &format!("{}/api/v1/orgs/{owner}/repos", x.url),
                    ],
                );
                // secret/ci/global of this run: its keys become Woodpecker global secrets.
                let mut put = vec!["kv".to_string(), "put".into(), format!("secret/{}", x.ci_path)];
                put.extend(x.ci_keys.iter().map(|k| format!("{k}=value-of-{k}")));
                let put: Vec<&str> = put.iter().map(String::as_str).collect();
                x.sh(&x.env["BAO"], &put);
                x.sh(&x.kubectl, &["create", "namespace", &x.ns]);
                for app in APPS {
                    x.sh(
                        &x.kubectl,
                        &[
                            "-n",
                            &x.ns,
                            "create",
                            "deployment",
                            app,
                            &format!("--image={}/{owner}/{app}:{}", x.host, x.tag_of(app, 1)),
                        ],
                    );
                }
                // One commit SHA for both apps: tag each app's newest image with it.
                x.sh(
                    "python3",
                    &[
                        &x.oci,
                        "tag",
                        &format!("{owner}/finance"),
                        &x.tag_of("finance", 12),
                        &x.tag,
                    ],
                );
            },
        ),
        S::apply("app stack: both apps deployed at the commit's tag")
            .on("app")
            .pre(|w| copy_stack("app", w.here().path(), false, false))
            .env("TF_VAR_registry_host", host.clone())
            .env("TF_VAR_image_owner", owner.clone())
            .env(
                "TF_VAR_apps",
                format!("{{website=\"{ns}\",finance=\"{ns}\"}}"),
            )
            .env("TF_VAR_tag", tag.clone())
            .check(|w, _| {
                let x = &w.x;
                assert_eq!(
                    x.website_image(),
                    format!("{}/{}/website:{}", x.host, x.owner, x.tag)
                );
                w.x.deployed = w
                    .here()
                    .run(&["output", "-json", "deployed_images"])
                    .stdout;
            }),
        S::apply("ci-cd stack: pull secret in the namespace, retention keeps the 10 newest and what is deployed")
            .on("ci")
            .pre({
                let checks = cli.version >= (1, 5, 0);
                let actions = !cli.is_tofu && cli.version >= (1, 14, 0);
                move |w| copy_stack("ci-cd", w.here().path(), checks, actions)
            })
            .env("TF_VAR_registry_host", host)
            .env("TF_VAR_image_owner", owner)
            .env("TF_VAR_registry_user", x.env["FORGEJO_USER"].clone())
            .env("TF_VAR_app_namespaces", format!("[\"{ns}\"]"))
            .env("TF_VAR_infra_repo", format!("{}/infra", x.owner))
            .env("TF_VAR_ci_secrets_path", x.ci_path.clone())
            .pre(|w| {
                let deployed = w.x.deployed.trim().to_string();
                w.here()
                    .env
                    .insert("TF_VAR_deployed_images".into(), deployed);
            })
            .check(|w, _| {
                let x = &w.x;
                let secret = x.sh(
                    &x.kubectl,
                    &[
                        "-n",
                        &x.ns,
                        "get",
                        "secret",
                        "registry-credentials",
                        "-o",
                        "jsonpath={.type}",
                    ],
                );
                assert_eq!(secret, "kubernetes.io/dockerconfigjson");
                // Retention kept the 10 newest tags of each image (plus what is deployed).
                let tags = x.sh(
                    "curl",
                    &[
                        "-sf",
                        "-u",
                        &format!("{}:{}", x.env["FORGEJO_USER"], x.env["FORGEJO_TOKEN"]),
                        &format!("{}/v2/{}/website/tags/list", x.url, x.owner),
                    ],
                );
                for i in [1u32, 2] {
                    assert!(
                        !tags.contains(&x.tag_of("website", i)),
                        "old tag {i} kept: {tags}"
                    );
                }
                assert!(tags.contains(&x.tag), "deployed tag deleted: {tags}");
                // Woodpecker: the infra repository is active and its id is the stack's output;
                // every key of the Vault path is a global secret.
                let id = w.here().run(&["output", "-raw", "infra_repo_id"]).stdout;
                let x = &w.x;
                let (code, repo) = x.woodpecker("GET", &format!("/api/repos/lookup/{}/infra", x.owner));
                assert_eq!(code, 200, "infra repository not in Woodpecker: {repo}");
                let repo: serde_json::Value = serde_json::from_str(&repo).unwrap();
                assert_eq!(repo["id"].to_string(), id.trim(), "output infra_repo_id");
                assert_eq!(repo["active"], true);
                for k in &x.ci_keys {
                    let (code, body) = x.woodpecker("GET", &format!("/api/secrets/{k}"));
                    assert_eq!(code, 200, "global secret {k}: {body}");
                }
            }),
        S::plan_changes("the old deploy step done by hand shows as drift, exactly that change")
            .on("app")
            .pre(|w| {
                let x = &w.x;
                x.sh(
                    &x.kubectl,
                    &[
                        "-n",
                        &x.ns,
                        "set",
                        "image",
                        "deployment/website",
                        &format!(
                            "website={}/{}/website:{}",
                            x.host,
                            x.owner,
                            x.tag_of("website", 11)
                        ),
                    ],
                );
            })
            .stdout_contains("1 to change")
            .stdout_contains(website_11),
        S::apply("app stack: apply repairs the drift").on("app"),
        S::destroy("destroy the ci-cd stack: Woodpecker repository deactivated, secrets gone")
            .on("ci")
            .check(|w, _| {
                let x = &w.x;
                let (_, repo) = x.woodpecker("GET", &format!("/api/repos/lookup/{}/infra", x.owner));
                let repo: serde_json::Value = serde_json::from_str(&repo).unwrap();
                assert_eq!(repo["active"], false, "destroy deactivates (on_destroy default)");
                for k in &x.ci_keys {
                    assert_eq!(x.woodpecker("GET", &format!("/api/secrets/{k}")).0, 404, "{k}");
                }
            }),
        S::destroy("destroy the app stack: the workload stays, the pull secret goes")
            .on("app")
            .check(|w, _| {
                let x = &w.x;
                assert_eq!(
                    x.website_image(),
                    format!("{}/{}/website:{}", x.host, x.owner, x.tag),
                    "destroy must leave the workload"
                );
                let gone = Command::new(&x.kubectl)
                    .args(["-n", &x.ns, "get", "secret", "registry-credentials"])
                    .envs(&x.env)
                    .output()
                    .unwrap();
                assert!(!gone.status.success(), "pull secret left after destroy");
            }),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the namespace, the packages, the Woodpecker repository, the forge repository and the organization",
        |w| {
            let x = &w.x;
            if let (200, repo) = x.woodpecker("GET", &format!("/api/repos/lookup/{}/infra", x.owner)) {
                if let Ok(repo) = serde_json::from_str::<serde_json::Value>(&repo) {
                    x.woodpecker("DELETE", &format!("/api/repos/{}?remove=true", repo["id"]));
                }
            }
            for k in &x.ci_keys {
                x.woodpecker("DELETE", &format!("/api/secrets/{k}"));
            }
            let _ = Command::new(&x.env["BAO"])
                .args(["kv", "metadata", "delete", &format!("secret/{}", x.ci_path)])
                .envs(&x.env)
                .output();
            let _ = Command::new("curl")
                .args([
                    "-s",
                    "-X",
                    "DELETE",
                    "-H",
                    &x.auth,
                    &format!("{}/api/v1/repos/{}/infra", x.url, x.owner),
                ])
                .output();
            x.sh(&x.kubectl, &["delete", "namespace", &x.ns, "--wait=false"]);
            for app in APPS {
                let _ = Command::new("curl")
                    .args([
                        "-s",
                        "-X",
                        "DELETE",
                        "-H",
                        &x.auth,
                        &format!("{}/api/v1/packages/{}/container/{app}", x.url, x.owner),
                    ])
                    .output();
            }
            let _ = Command::new("curl")
                .args([
                    "-s",
                    "-X",
                    "DELETE",
                    "-H",
                    &x.auth,
                    &format!("{}/api/v1/orgs/{}", x.url, x.owner),
                ])
                .output();
        },
    )])
}
