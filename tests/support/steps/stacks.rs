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

fn copy_stack(name: &str, to: &Path, with_checks: bool) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/stacks")
        .join(name);
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let f = e.file_name().to_string_lossy().to_string();
        if !f.ends_with(".tf") || (f == "checks.tf" && !with_checks) {
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
}

impl Stacks {
    fn tag_of(&self, app: &str, i: u32) -> String {
        sha8(&format!("{}-{app}-{i}", self.label))
    }

    fn sh(&self, prog: &str, args: &[&str]) -> String {
        sh(&self.env, prog, args)
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
            .pre(|w| copy_stack("app", w.here().path(), false))
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
                move |w| copy_stack("ci-cd", w.here().path(), checks)
            })
            .env("TF_VAR_registry_host", host)
            .env("TF_VAR_image_owner", owner)
            .env("TF_VAR_registry_user", x.env["FORGEJO_USER"].clone())
            .env("TF_VAR_app_namespaces", format!("[\"{ns}\"]"))
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
        S::destroy("destroy the ci-cd stack").on("ci"),
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
        "remove the namespace, the packages and the organization",
        |w| {
            let x = &w.x;
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
