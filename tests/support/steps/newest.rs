//! Steps for what Terraform 1.14+ added: the actions `cicd_woodpecker_pipeline` and
//! `cicd_rollout_restart`, and the list resources of `terraform query` with
//! `-generate-config-out`. Older CLIs (and OpenTofu 1.12) cannot parse `action` blocks nor run
//! `query`: for them the scenario checks their refusal and that nothing changed.
//! Every object is named after the scenario, CLI and run (`acc-<what>-<cli>-<hex>`), and cleanup
//! removes only those.

use crate::support::{stack_env, Cli, Exit, Scenario, Step, World};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;

/// Woodpecker, the forge and kubectl, for seeding and checks.
pub struct Api {
    env: BTreeMap<String, String>,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Api {
    fn new() -> Api {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Api {
            env: stack_env(),
            rt,
            http: reqwest::Client::new(),
        }
    }

    fn call(&self, m: &str, url: String, auth: String, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(m.parse().unwrap(), url)
            .header("Authorization", auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.rt.block_on(async {
            let r = req.send().await.expect("request");
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (status, v)
        })
    }

    fn wp(&self, m: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!(
            "{}{path}",
            self.env["WOODPECKER_SERVER"].trim_end_matches('/')
        );
        let auth = format!("Bearer {}", self.env["WOODPECKER_TOKEN"]);
        self.call(m, url, auth, body)
    }

    fn forge(&self, m: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!(
            "{}/api/v1{path}",
            self.env["FORGEJO_URL"].trim_end_matches('/')
        );
        let auth = format!("token {}", self.env["FORGEJO_TOKEN"]);
        self.call(m, url, auth, body)
    }

    /// A forge repository `owner/name` with a first commit, and a pipeline file when asked.
    fn forge_repo(&self, owner: &str, name: &str, pipeline: bool) -> i64 {
        let me = self.env.get("FORGEJO_USER").cloned().unwrap_or_default();
        let path = if owner == me {
            "/user/repos".to_string()
        } else {
            format!("/orgs/{owner}/repos")
        };
        let (s, v) = self.forge(
            "POST",
            &path,
            Some(json!({"name": name, "auto_init": true})),
        );
        assert_eq!(s, 201, "create forge repo {owner}/{name}: {v}");
        if pipeline {
            use base64::Engine;
            let yaml =
                "steps:\n  - name: deploy\n    image: alpine\n    commands: [echo $DEPLOY_TAG]\n";
            let content = base64::engine::general_purpose::STANDARD.encode(yaml);
            let body = json!({"content": content, "message": "pipeline"});
            let p = format!("/repos/{owner}/{name}/contents/.woodpecker.yaml");
            let (s, v) = self.forge("POST", &p, Some(body));
            assert_eq!(s, 201, "pipeline file of {owner}/{name}: {v}");
        }
        v["id"].as_i64().unwrap()
    }

    fn lookup(&self, full: &str) -> Option<Value> {
        let (s, v) = self.wp("GET", &format!("/api/repos/lookup/{full}"), None);
        (s == 200).then_some(v)
    }

    fn pipelines(&self, repo_id: i64) -> Vec<Value> {
        let (s, v) = self.wp("GET", &format!("/api/repos/{repo_id}/pipelines"), None);
        assert_eq!(s, 200, "pipelines of {repo_id}: {v}");
        v.as_array().cloned().unwrap_or_default()
    }

    fn remove_repo(&self, full: &str) {
        if let Some(r) = self.lookup(full) {
            let id = r["id"].as_i64().unwrap_or(0);
            let _ = self.wp("DELETE", &format!("/api/repos/{id}?remove=true"), None);
        }
        let _ = self.forge("DELETE", &format!("/repos/{full}"), None);
    }

    fn kubectl(&self, args: &[&str]) -> (bool, String) {
        let o = Command::new(&self.env["KUBECTL"])
            .args(args)
            .envs(&self.env)
            .output()
            .expect("kubectl");
        let text =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        (o.status.success(), text)
    }

    fn kube(&self, args: &[&str]) -> String {
        let (ok, out) = self.kubectl(args);
        assert!(ok, "kubectl {args:?}: {out}");
        out
    }

    fn deployment(&self, ns: &str, name: &str) -> Value {
        let out = self.kube(&["-n", ns, "get", "deployment", name, "-o", "json"]);
        serde_json::from_str(&out).unwrap()
    }
}

/// A name part unique per scenario, CLI and run.
fn suffix(cli: &Cli, what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let cli = cli.label.replace('.', "-");
    format!(
        "acc-{what}-{cli}-{:x}",
        (std::process::id() ^ nanos) & 0xffffff
    )
}

/// Actions and `terraform query` need Terraform >= 1.14; OpenTofu has neither yet.
fn has_actions_and_query(cli: &Cli) -> bool {
    !cli.is_tofu && cli.version >= (1, 14, 0)
}

// ---------------------------------------------------------------------------------------------
// Actions.

pub struct Actions {
    api: Api,
    owner: String,
    /// Has a pipeline file; `cicd_woodpecker_repo.app` triggers the pipeline after create.
    app: String,
    /// Has none: a trigger answers 204.
    bare: String,
    ns: String,
    /// The Deployment's restartedAt annotation before the restart action.
    restarted_before: Option<String>,
}

impl Actions {
    fn full(&self, name: &str) -> String {
        format!("{}/{name}", self.owner)
    }

    fn hcl(&self) -> String {
        format!(
            r#"
resource "cicd_woodpecker_repo" "app" {{
  full_name = "{app}"
  lifecycle {{
    action_trigger {{
      events  = [after_create]
      actions = [action.cicd_woodpecker_pipeline.deploy]
    }}
  }}
}}

action "cicd_woodpecker_pipeline" "deploy" {{
  config {{
    repo_id   = cicd_woodpecker_repo.app.id
    # BRANCH is unknown until the repo is created: validate and plan take a map with unknowns.
    variables = {{ DEPLOY_TAG = "a1b2c3d4", BRANCH = cicd_woodpecker_repo.app.default_branch }}
  }}
}}

action "cicd_woodpecker_pipeline" "by_name" {{
  config {{
    repo   = "{app}"
    branch = "main"
  }}
}}

action "cicd_woodpecker_pipeline" "wait" {{
  config {{
    repo    = "{app}"
    wait    = true
    timeout = "3s"
  }}
}}

action "cicd_woodpecker_pipeline" "no_branch" {{
  config {{
    repo   = "{app}"
    branch = "no-such-branch"
  }}
}}

action "cicd_woodpecker_pipeline" "no_file" {{
  config {{
    repo = "{bare}"
  }}
}}

action "cicd_rollout_restart" "web" {{
  config {{
    namespace       = "{ns}"
    deployment      = "web"
    rollout_timeout = "2m"
  }}
}}
"#,
            app = self.full(&self.app),
            bare = self.full(&self.bare),
            ns = self.ns,
        )
    }

    fn app_id(&self) -> i64 {
        let r = self
            .api
            .lookup(&self.full(&self.app))
            .expect("app repo active");
        r["id"].as_i64().unwrap()
    }
}

fn invoke(name: &str, action: &str, exit: Exit) -> Step<Actions> {
    let target = format!("-invoke=action.{action}");
    Step::cli(
        name,
        &["apply", "-auto-approve", "-no-color", &target],
        exit,
    )
}

pub fn actions(cli: &Cli) -> Scenario<Actions> {
    type S = Step<Actions>;
    let s = suffix(cli, "act");
    let api = Api::new();
    let owner = api
        .env
        .get("FORGEJO_TEST_ORG")
        .cloned()
        .unwrap_or("cicd-test".into());
    let x = Actions {
        api,
        owner,
        app: format!("{s}-app"),
        bare: format!("{s}-bare"),
        ns: s.clone(),
        restarted_before: None,
    };
    let seed = S::out_of_band("seed: forge repos, a namespace with a Deployment", |w| {
        let x = &w.x;
        x.api.forge_repo(&x.owner, &x.app, true);
        let id = x.api.forge_repo(&x.owner, &x.bare, false);
        let (st, v) = x
            .api
            .wp("POST", &format!("/api/repos?forge_remote_id={id}"), None);
        assert_eq!(st, 200, "activate {}: {v}", x.bare);
        x.api.kube(&["create", "namespace", &x.ns]);
        let image = "registry.example:5000/team/web:0a1b2c3d";
        x.api
            .kube(&["-n", &x.ns, "create", "deployment", "web", "--image", image]);
        x.api.kube(&[
            "-n",
            &x.ns,
            "rollout",
            "status",
            "deployment/web",
            "--timeout=120s",
        ]);
    });
    let steps = if !has_actions_and_query(cli) {
        vec![
            seed,
            S::validate_fails(
                "an action block is refused by this CLI",
                "Blocks of type \"action\" are not expected here",
            )
            .config_with(Actions::hcl),
            S::out_of_band("nothing was started", |w| {
                assert!(
                    w.x.api.lookup(&w.x.full(&w.x.app)).is_none(),
                    "repo activated"
                );
                let d = w.x.api.deployment(&w.x.ns, "web");
                let a = &d["spec"]["template"]["metadata"]["annotations"];
                assert!(
                    a["kubectl.kubernetes.io/restartedAt"].is_null(),
                    "restarted: {d}"
                );
            }),
        ]
    } else {
        vec![
            seed,
            S::cli(
                "validate: the trigger's variables are unknown",
                &["validate", "-no-color"],
                Exit::Success,
            )
            .config_with(Actions::hcl),
            S::apply("create the repo: action_trigger starts the pipeline")
                .config_with(Actions::hcl)
                .output_contains("Pipeline #1 of")
                .check(|w, _| {
                    let p = w.x.api.pipelines(w.x.app_id());
                    assert_eq!(p.len(), 1, "one pipeline: {p:?}");
                    let vars = json!({"DEPLOY_TAG": "a1b2c3d4", "BRANCH": "main"});
                    assert_eq!(p[0]["variables"], vars);
                    assert_eq!(p[0]["event"], "manual");
                }),
            invoke(
                "invoke by name",
                "cicd_woodpecker_pipeline.by_name",
                Exit::Success,
            )
            .output_contains("Pipeline #2 of")
            .check(|w, _| {
                let p = w.x.api.pipelines(w.x.app_id());
                assert_eq!(p.len(), 2, "two pipelines: {p:?}");
                assert!(p.iter().any(|p| p["number"] == 2 && p["branch"] == "main"));
            }),
            invoke(
                "wait: a pipeline that does not end times out",
                "cicd_woodpecker_pipeline.wait",
                Exit::Failure,
            )
            .output_contains("did not end in time"),
            invoke(
                "unknown branch: 500 named",
                "cicd_woodpecker_pipeline.no_branch",
                Exit::Failure,
            )
            .output_contains("answers 500 when the branch does not exist"),
            invoke(
                "no pipeline file: 204 named",
                "cicd_woodpecker_pipeline.no_file",
                Exit::Failure,
            )
            .output_contains("has no pipeline file"),
            S::out_of_band("remember the pod template", |w| {
                let d = w.x.api.deployment(&w.x.ns, "web");
                let a = &d["spec"]["template"]["metadata"]["annotations"];
                w.x.restarted_before = a["kubectl.kubernetes.io/restartedAt"]
                    .as_str()
                    .map(String::from);
            }),
            invoke("rollout restart", "cicd_rollout_restart.web", Exit::Success)
                .output_contains("rolled out")
                .check(|w, _| {
                    let d = w.x.api.deployment(&w.x.ns, "web");
                    let a = &d["spec"]["template"]["metadata"]["annotations"];
                    let now = a["kubectl.kubernetes.io/restartedAt"].as_str();
                    assert!(now.is_some(), "no restart annotation: {d}");
                    assert_ne!(now.map(String::from), w.x.restarted_before);
                    let st = &d["status"];
                    assert_eq!(st["observedGeneration"], d["metadata"]["generation"], "{d}");
                    assert_eq!(st["updatedReplicas"], d["spec"]["replicas"], "{d}");
                    assert_eq!(st["availableReplicas"], d["spec"]["replicas"], "{d}");
                }),
            S::plan_empty("actions leave no state to plan"),
        ]
    };
    let mut cleanup = Vec::new();
    if has_actions_and_query(cli) {
        cleanup.push(S::destroy("destroy"));
    }
    cleanup.push(S::out_of_band("remove what the scenario made", |w| {
        let x = &w.x;
        x.api.remove_repo(&x.full(&x.app));
        x.api.remove_repo(&x.full(&x.bare));
        let _ = x
            .api
            .kubectl(&["delete", "namespace", &x.ns, "--wait=false"]);
    }));
    Scenario::new(x, steps).cleanup(cleanup)
}

// ---------------------------------------------------------------------------------------------
// terraform query.

pub struct Query {
    api: Api,
    /// A forge org of this run's own: the repos are listed by owner.
    org: String,
    repos: Vec<String>,
    /// Prefix of the global secrets.
    prefix: String,
    secrets: Vec<(String, String)>,
    /// Deployments here; pull secrets here and in `ns2`; a decoy Opaque Secret in `ns3`.
    ns: String,
    ns2: String,
    ns3: String,
    creds: String,
}

const PULL_PASSWORD: &str = "acc-query-pull-password-9f8e7d";

impl Query {
    fn tfquery(&self, secrets: bool) -> String {
        let mut q = format!(
            r#"
list "cicd_woodpecker_repo" "repos" {{
  provider = cicd
  config {{
    owners = ["{org}"]
  }}
}}

list "cicd_image_deployment" "images" {{
  provider = cicd
  config {{
    namespaces = ["{ns}"]
  }}
}}
"#,
            org = self.org,
            ns = self.ns
        );
        if secrets {
            q += &format!(
                r#"
list "cicd_woodpecker_global_secret" "secrets" {{
  provider = cicd
  config {{
    name_prefix = "{prefix}"
  }}
}}

list "cicd_registry_credentials" "pull" {{
  provider = cicd
  config {{
    namespaces = ["{ns}", "{ns2}", "{ns3}"]
    name       = "{creds}"
  }}
}}
"#,
                prefix = self.prefix,
                ns = self.ns,
                ns2 = self.ns2,
                ns3 = self.ns3,
                creds = self.creds
            );
        }
        q
    }
}

fn write_query(w: &mut World<Query>, dir: &'static str, secrets: bool) {
    let q = w.x.tfquery(secrets);
    let d = w.dir(dir);
    d.write("");
    std::fs::write(d.path().join("q.tfquery.hcl"), q).unwrap();
}

/// The results of one `list` block in `terraform query`'s text output.
fn results(out: &str, block: &str) -> Vec<String> {
    let head = format!("{block} ");
    out.lines()
        .filter(|l| l.starts_with(&head))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

pub fn query(cli: &Cli) -> Scenario<Query> {
    type S = Step<Query>;
    let s = suffix(cli, "qry");
    let x = Query {
        api: Api::new(),
        org: s.clone(),
        repos: (1..=3).map(|i| format!("repo-{i}")).collect(),
        prefix: format!("{s}-"),
        secrets: (1..=5)
            .map(|i| {
                (
                    format!("{s}-secret-{i}"),
                    format!("acc-query-value-{i}-{s}"),
                )
            })
            .collect(),
        ns: s.clone(),
        ns2: format!("{s}-b"),
        ns3: format!("{s}-c"),
        creds: format!("{s}-pull"),
    };
    let seed = S::out_of_band(
        "seed: 3 repos, 5 secrets, 4 deployments, 2 pull secrets",
        |w| {
            let x = &w.x;
            let (st, v) = x
                .api
                .forge("POST", "/orgs", Some(json!({"username": x.org})));
            assert_eq!(st, 201, "create org {}: {v}", x.org);
            for r in &x.repos {
                let id = x.api.forge_repo(&x.org, r, false);
                let (st, v) = x
                    .api
                    .wp("POST", &format!("/api/repos?forge_remote_id={id}"), None);
                assert_eq!(st, 200, "activate {r}: {v}");
            }
            for (name, value) in &x.secrets {
                let body = json!({"name": name, "value": value, "events": ["push", "manual"]});
                let (st, v) = x.api.wp("POST", "/api/secrets", Some(body));
                assert_eq!(st, 200, "secret {name}: {v}");
            }
            for ns in [&x.ns, &x.ns2, &x.ns3] {
                x.api.kube(&["create", "namespace", ns]);
            }
            for (i, d) in ["alpha", "beta", "gamma", "delta"].iter().enumerate() {
                let image = format!("registry.example:5000/team/{d}:0a1b2c3{i}");
                x.api
                    .kube(&["-n", &x.ns, "create", "deployment", d, "--image", &image]);
            }
            for ns in [&x.ns, &x.ns2] {
                let pw = format!("--docker-password={PULL_PASSWORD}");
                x.api.kube(&[
                    "-n",
                    ns,
                    "create",
                    "secret",
                    "docker-registry",
                    &x.creds,
                    "--docker-server=registry.example:5000",
                    "--docker-username=puller",
                    &pw,
                ]);
            }
            // Same name, not a pull secret: not listed.
            x.api.kube(&[
                "-n",
                &x.ns3,
                "create",
                "secret",
                "generic",
                &x.creds,
                "--from-literal=a=b",
            ]);
        },
    );
    let steps = if !has_actions_and_query(cli) {
        vec![
            seed,
            S::cli(
                "query is not a command of this CLI",
                &["query", "-no-color"],
                Exit::Failure,
            )
            .pre(|w| write_query(w, "main", true))
            .output_contains("no command named \"query\""),
        ]
    } else {
        vec![
            seed,
            S::cli(
                "query lists exactly the seeded objects",
                &["query", "-no-color"],
                Exit::Success,
            )
            .pre(|w| write_query(w, "main", true))
            .check(|w, run| {
                let out = run.stdout.clone();
                let x = &w.x;
                let repos = results(&out, "list.cicd_woodpecker_repo.repos");
                assert_eq!(repos.len(), 3, "{out}");
                for r in &x.repos {
                    assert!(
                        repos
                            .iter()
                            .any(|l| l.contains(&format!("{}/{r} (id", x.org))),
                        "{r}: {out}"
                    );
                }
                let secrets = results(&out, "list.cicd_woodpecker_global_secret.secrets");
                assert_eq!(secrets.len(), 5, "{out}");
                for (name, _) in &x.secrets {
                    assert!(
                        secrets.iter().any(|l| l.contains(&format!("name={name}"))),
                        "{name}: {out}"
                    );
                }
                let images = results(&out, "list.cicd_image_deployment.images");
                assert_eq!(images.len(), 4, "{out}");
                for (i, d) in ["alpha", "beta", "gamma", "delta"].iter().enumerate() {
                    let shown = format!(
                        "{}/{d}/{d} = registry.example:5000/team/{d}:0a1b2c3{i}",
                        x.ns
                    );
                    assert!(images.iter().any(|l| l.contains(&shown)), "{shown}: {out}");
                }
                let pull = results(&out, "list.cicd_registry_credentials.pull");
                assert_eq!(pull.len(), 2, "{out}");
                for ns in [&x.ns, &x.ns2] {
                    assert!(
                        pull.iter()
                            .any(|l| l.contains(&format!("{ns}/{}", x.creds))),
                        "{ns}: {out}"
                    );
                }
            }),
            S::cli(
                "generate configuration",
                &["query", "-no-color", "-generate-config-out=generated.tf"],
                Exit::Success,
            )
            .on("gen")
            .pre(|w| write_query(w, "gen", false)),
            S::cli(
                "the generated configuration imports with no change",
                &["plan", "-no-color", "-out=adopt.plan"],
                Exit::Success,
            )
            .on("gen")
            .stdout_contains("Plan: 7 to import, 0 to add, 0 to change, 0 to destroy.")
            .check(|w, _| {
                let r = w.here().run(&["show", "-json", "adopt.plan"]);
                let plan: Value = serde_json::from_str(&r.stdout).expect("plan JSON");
                let changes = plan["resource_changes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(changes.len(), 7, "{plan}");
                for c in &changes {
                    assert_eq!(c["change"]["actions"], json!(["no-op"]), "{c}");
                    assert!(c["change"]["importing"]["identity"].is_object(), "{c}");
                }
            }),
            S::cli(
                "secrets generate without their values",
                &["query", "-no-color", "-generate-config-out=secrets.tf"],
                Exit::Success,
            )
            .on("secrets")
            .pre(|w| write_query(w, "secrets", true))
            .check(|w, _| {
                let text = std::fs::read_to_string(w.here().path().join("secrets.tf")).unwrap();
                assert_eq!(
                    text.matches("resource \"cicd_woodpecker_global_secret\"")
                        .count(),
                    5,
                    "{text}"
                );
                assert_eq!(
                    text.matches("resource \"cicd_registry_credentials\"")
                        .count(),
                    2,
                    "{text}"
                );
                assert!(!text.contains(PULL_PASSWORD), "{text}");
                for (_, value) in &w.x.secrets {
                    assert!(!text.contains(value.as_str()), "{text}");
                }
            }),
        ]
    };
    Scenario::new(x, steps).cleanup(vec![S::out_of_band("remove what the scenario made", |w| {
        let x = &w.x;
        for r in &x.repos {
            x.api.remove_repo(&format!("{}/{r}", x.org));
        }
        let _ = x.api.forge("DELETE", &format!("/orgs/{}", x.org), None);
        for (name, _) in &x.secrets {
            let _ = x.api.wp("DELETE", &format!("/api/secrets/{name}"), None);
        }
        for ns in [&x.ns, &x.ns2, &x.ns3] {
            let _ = x.api.kubectl(&["delete", "namespace", ns, "--wait=false"]);
        }
    })])
}
