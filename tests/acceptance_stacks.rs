//! The example stacks (examples/stacks/ci-cd and app) against the local stack under every CLI:
//! seeded like the platform (Vault path, private images tagged with 8-character SHAs, app
//! Deployments), applied, re-planned empty, drift from `kubectl set image` shown and repaired,
//! then destroyed — which leaves the workloads and the images in place, as documented.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use support::{clis, Attach, Workdir};

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

#[test]
fn example_stacks_under_every_cli() {
    let env = support::stack_env();
    let root = env!("CARGO_MANIFEST_DIR");
    let oci = format!("{root}/scripts/oci-push");
    let kubectl = env["KUBECTL"].clone();
    let url = env["FORGEJO_URL"].clone();
    let host = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let auth = format!("Authorization: token {}", env["FORGEJO_TOKEN"]);
    sh(
        &env,
        &env["BAO"],
        &[
            "kv",
            "put",
            "secret/viktor",
            &format!("forgejo_pull_token={}", env["FORGEJO_TOKEN"]),
        ],
    );

    for cli in clis() {
        let l = cli.label.clone();
        let tag_of = |app: &str, i: u32| sha8(&format!("{l}-{app}-{i}"));
        // An owner and a namespace per CLI run.
        let suffix = format!("{}-{}", l.replace(['.', '-'], ""), std::process::id());
        let owner = format!("st{suffix}");
        let ns = format!("apps-{suffix}");
        sh(
            &env,
            "curl",
            &[
                "-sf",
                "-X",
                "POST",
                "-H",
                &auth,
                "-H",
                "Content-Type: application/json",
                "-d",
                &format!("{{\"username\":\"{owner}\"}}"),
                &format!("{url}/api/v1/orgs"),
            ],
        );
        let apps = ["website", "finance"];
        for app in apps {
            for i in 1..=12u32 {
                sh(
                    &env,
                    "python3",
                    &[
                        &oci,
                        "push-image",
                        &format!("{owner}/{app}"),
                        &tag_of(app, i),
                        "--seed",
                        &format!("{l}{app}{i}"),
                    ],
                );
                if i <= 10 {
                    sh(
                        &env,
                        "python3",
                        &[
                            &oci,
                            "backdate",
                            &format!("{owner}/{app}"),
                            &tag_of(app, i),
                            &(60 - i).to_string(),
                        ],
                    );
                }
            }
        }
        sh(&env, &kubectl, &["create", "namespace", &ns]);
        for app in apps {
            sh(
                &env,
                &kubectl,
                &[
                    "-n",
                    &ns,
                    "create",
                    "deployment",
                    app,
                    &format!("--image={host}/{owner}/{app}:{}", tag_of(app, 1)),
                ],
            );
        }
        // One commit SHA for both apps: tag each app's newest image with it.
        let tag = tag_of("website", 12);
        sh(
            &env,
            "python3",
            &[
                &oci,
                "tag",
                &format!("{owner}/finance"),
                &tag_of("finance", 12),
                &tag,
            ],
        );

        // App stack.
        let app_w = Workdir::new(&cli, Attach::Binary);
        copy_stack("app", app_w.path(), false);
        let mut app_w = app_w;
        app_w
            .env
            .insert("TF_VAR_registry_host".into(), host.clone());
        app_w.env.insert("TF_VAR_image_owner".into(), owner.clone());
        app_w.env.insert(
            "TF_VAR_apps".into(),
            format!("{{website=\"{ns}\",finance=\"{ns}\"}}"),
        );
        app_w.env.insert("TF_VAR_tag".into(), tag.clone());
        app_w.apply();
        app_w.expect_empty_plan();
        let img = sh(
            &env,
            &kubectl,
            &[
                "-n",
                &ns,
                "get",
                "deployment",
                "website",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
        );
        assert_eq!(img, format!("{host}/{owner}/website:{tag}"), "[{l}]");
        let deployed = app_w.run(&["output", "-json", "deployed_images"]).stdout;

        // ci-cd stack.
        let mut ci_w = Workdir::new(&cli, Attach::Binary);
        copy_stack("ci-cd", ci_w.path(), cli.version >= (1, 5, 0));
        ci_w.env.insert("TF_VAR_registry_host".into(), host.clone());
        ci_w.env.insert("TF_VAR_image_owner".into(), owner.clone());
        ci_w.env
            .insert("TF_VAR_registry_user".into(), env["FORGEJO_USER"].clone());
        ci_w.env
            .insert("TF_VAR_app_namespaces".into(), format!("[\"{ns}\"]"));
        ci_w.env
            .insert("TF_VAR_deployed_images".into(), deployed.trim().to_string());
        ci_w.apply();
        ci_w.expect_empty_plan();
        let secret = sh(
            &env,
            &kubectl,
            &[
                "-n",
                &ns,
                "get",
                "secret",
                "registry-credentials",
                "-o",
                "jsonpath={.type}",
            ],
        );
        assert_eq!(secret, "kubernetes.io/dockerconfigjson", "[{l}]");
        // Retention kept the 10 newest tags of each image (plus what is deployed).
        let tags = sh(
            &env,
            "curl",
            &[
                "-sf",
                "-u",
                &format!("{}:{}", env["FORGEJO_USER"], env["FORGEJO_TOKEN"]),
                &format!("{url}/v2/{owner}/website/tags/list"),
            ],
        );
        for i in [1u32, 2] {
            assert!(
                !tags.contains(&tag_of("website", i)),
                "[{l}] old tag {i} kept: {tags}"
            );
        }
        assert!(tags.contains(&tag), "[{l}] deployed tag deleted: {tags}");

        // The old deploy step done by hand shows as drift, exactly that change.
        sh(
            &env,
            &kubectl,
            &[
                "-n",
                &ns,
                "set",
                "image",
                "deployment/website",
                &format!("website={host}/{owner}/website:{}", tag_of("website", 11)),
            ],
        );
        let plan = app_w.expect_changes();
        assert!(
            plan.contains("1 to change") && plan.contains(&tag_of("website", 11)),
            "[{l}] {plan}"
        );
        app_w.apply();
        app_w.expect_empty_plan();

        // Destroy both stacks: workloads and images stay (documented), pull secrets go.
        ci_w.destroy();
        app_w.destroy();
        let img = sh(
            &env,
            &kubectl,
            &[
                "-n",
                &ns,
                "get",
                "deployment",
                "website",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
        );
        assert_eq!(
            img,
            format!("{host}/{owner}/website:{tag}"),
            "[{l}] destroy must leave the workload"
        );
        let gone = Command::new(&kubectl)
            .args(["-n", &ns, "get", "secret", "registry-credentials"])
            .envs(&env)
            .output()
            .unwrap();
        assert!(
            !gone.status.success(),
            "[{l}] pull secret left after destroy"
        );

        sh(
            &env,
            &kubectl,
            &["delete", "namespace", &ns, "--wait=false"],
        );
        for app in apps {
            let _ = Command::new("curl")
                .args([
                    "-s",
                    "-X",
                    "DELETE",
                    "-H",
                    &auth,
                    &format!("{url}/api/v1/packages/{owner}/container/{app}"),
                ])
                .output();
        }
        let _ = Command::new("curl")
            .args([
                "-s",
                "-X",
                "DELETE",
                "-H",
                &auth,
                &format!("{url}/api/v1/orgs/{owner}"),
            ])
            .output();
    }
}
