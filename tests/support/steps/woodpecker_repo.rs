//! Steps for `cicd_woodpecker_repo` (resource and data source) and `cicd_woodpecker_cron`
//! against the stack's Woodpecker (`WOODPECKER_SERVER` / `WOODPECKER_TOKEN`: the double, or a
//! real server) and its forge (`FORGEJO_URL` / `FORGEJO_TOKEN`, org `FORGEJO_TEST_ORG`).
//! Each scenario and CLI creates forge repositories of its own (random suffix), so the per-CLI
//! tests run in parallel and work against a real Woodpecker and forge; every check goes
//! through the APIs, and cleanup removes only what the scenario created, whether the steps
//! passed or not.

use crate::support::{stack_env, Cli, Scenario, Step, World};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The Woodpecker and forge APIs, for seeding, out-of-band changes and checks.
pub struct Api {
    env: BTreeMap<String, String>,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    org: String,
}

impl Api {
    fn new() -> Api {
        let env = stack_env();
        for k in [
            "WOODPECKER_SERVER",
            "WOODPECKER_TOKEN",
            "FORGEJO_URL",
            "FORGEJO_TOKEN",
        ] {
            assert!(
                env.get(k).is_some_and(|v| !v.is_empty()),
                "{k} unset: run `scripts/stack up` (or set STACK_ENV_FILE)"
            );
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let org = env
            .get("FORGEJO_TEST_ORG")
            .cloned()
            .unwrap_or_else(|| "cicd-test".into());
        Api {
            env,
            rt,
            http: reqwest::Client::new(),
            org,
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
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    /// Woodpecker, as the admin.
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

    /// A new repository of the test org on the forge (with a first commit); its forge id.
    fn create_forge_repo(&self, name: &str) -> i64 {
        let body = json!({"name": name, "auto_init": true, "private": false});
        let (s, v) = self.forge("POST", &format!("/orgs/{}/repos", self.org), Some(body));
        assert_eq!(s, 201, "create forge repo {name}: {v}");
        v["id"].as_i64().unwrap()
    }

    fn rename_forge_repo(&self, from: &str, to: &str) {
        let path = format!("/repos/{}/{from}", self.org);
        let (s, v) = self.forge("PATCH", &path, Some(json!({ "name": to })));
        assert_eq!(s, 200, "rename forge repo {from} to {to}: {v}");
    }

    fn delete_forge_repo(&self, name: &str) {
        let _ = self.forge("DELETE", &format!("/repos/{}/{name}", self.org), None);
    }

    fn full(&self, name: &str) -> String {
        format!("{}/{name}", self.org)
    }

    /// The Woodpecker repo called `org/name` (any state), if any.
    fn lookup(&self, name: &str) -> Option<Value> {
        let (s, v) = self.wp(
            "GET",
            &format!("/api/repos/lookup/{}", self.full(name)),
            None,
        );
        (s == 200).then_some(v)
    }

    /// `GET /api/repos/{id}`: the repo, or None for 404.
    fn repo(&self, id: i64) -> Option<Value> {
        let (s, v) = self.wp("GET", &format!("/api/repos/{id}"), None);
        assert!(s == 200 || s == 404, "GET repo {id}: {s} {v}");
        (s == 200).then_some(v)
    }

    /// Remove the Woodpecker repos called `org/name` (what a scenario created).
    fn remove_wp_repo(&self, name: &str) {
        if let Some(r) = self.lookup(name) {
            let id = r["id"].as_i64().unwrap_or(0);
            let _ = self.wp("DELETE", &format!("/api/repos/{id}?remove=true"), None);
        }
    }

    fn crons(&self, repo_id: i64) -> Vec<Value> {
        let (s, v) = self.wp("GET", &format!("/api/repos/{repo_id}/cron"), None);
        assert_eq!(s, 200, "list crons of {repo_id}: {v}");
        v.as_array().cloned().unwrap_or_default()
    }
}

/// A random name part, unique per scenario, CLI and run.
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

/// The lines of a plan that change a value, only those under "will perform the following
/// actions" (Terraform 1.0 also prints changes made outside of Terraform above that).
fn planned_changes(plan: &str) -> Vec<String> {
    let Some(start) = plan.find("will perform the following actions") else {
        return vec![];
    };
    plan[start..]
        .lines()
        .filter(|l| l.contains(" -> "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn id_of<X>(w: &mut World<X>, addr: &str) -> i64 {
    w.here().attrs(addr)["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{addr} has no numeric id"))
}

/// `cicd_woodpecker_repo` from create to destroy: names, and ids kept between steps.
pub struct Repos {
    api: Api,
    a: String,
    /// `a`'s name after the rename on the forge.
    a2: String,
    b: String,
    id_a: i64,
    id_b: i64,
}

impl Repos {
    fn hcl(&self, a_name: &str, empty_lists: bool) -> String {
        let lists = if empty_lists {
            "  cancel_previous_pipeline_events = []\n  approval_allowed_users = []\n  netrc_trusted = []\n"
        } else {
            "  cancel_previous_pipeline_events = [\"push\", \"tag\"]\n  approval_allowed_users = [\"viktor\", \"bot\"]\n  netrc_trusted = [\"woodpeckerci/plugin-git\"]\n"
        };
        format!(
            r#"
resource "cicd_woodpecker_repo" "a" {{
  full_name        = "{a}"
  visibility       = "private"
  require_approval = "all_events"
  timeout          = 30
  allow_pr         = false
  allow_deploy     = true
  config_file      = ".ci/pipeline.yaml"
  trusted_network  = true
{lists}}}

resource "cicd_woodpecker_repo" "b" {{
  full_name        = "{b}"
  timeout          = 90
  require_approval = "none"
  on_destroy       = "remove"
}}
"#,
            a = self.api.full(a_name),
            b = self.api.full(&self.b),
        )
    }

    fn ds(&self, name: &str) -> String {
        format!(
            "data \"cicd_woodpecker_repo\" \"d\" {{\n  full_name = \"{}\"\n}}\n\noutput \"id\" {{\n  value = data.cicd_woodpecker_repo.d.id\n}}\n\noutput \"visibility\" {{\n  value = data.cicd_woodpecker_repo.d.visibility\n}}\n",
            self.api.full(name)
        )
    }
}

const A: &str = "cicd_woodpecker_repo.a";
const B: &str = "cicd_woodpecker_repo.b";
/// What import cannot know: how the resource was configured to behave.
const BEHAVIOUR: &[&str] = &["adopt_existing", "on_destroy"];

pub fn repo_lifecycle(cli: &Cli) -> Scenario<Repos> {
    type S = Step<Repos>;
    let s = suffix(cli, "wp");
    let x = Repos {
        api: Api::new(),
        a: format!("{s}-a"),
        a2: format!("{s}-a-renamed"),
        b: format!("{s}-b"),
        id_a: 0,
        id_b: 0,
    };
    let (c1, c_empty) = (x.hcl(&x.a, false), x.hcl(&x.a, true));
    let (c_renamed, ds, ds_renamed) = (x.hcl(&x.a2, true), x.ds(&x.a), x.ds(&x.a2));
    let steps = vec![
        S::out_of_band("seed: two repositories on the forge", |w| {
            w.x.api.create_forge_repo(&w.x.a);
            w.x.api.create_forge_repo(&w.x.b);
        }),
        S::apply("activate two repositories with different settings")
            .config(c1)
            .check(|w, _| {
                w.x.id_a = id_of(w, A);
                w.x.id_b = id_of(w, B);
                let a = w.x.api.repo(w.x.id_a).expect("a in Woodpecker");
                assert_eq!(a["active"], true);
                assert_eq!(a["full_name"], w.x.api.full(&w.x.a));
                assert_eq!(a["visibility"], "private");
                assert_eq!(a["require_approval"], "all_events");
                assert_eq!(
                    (a["timeout"].as_i64(), &a["allow_pr"]),
                    (Some(30), &json!(false))
                );
                assert_eq!(
                    (&a["allow_deploy"], &a["config_file"]),
                    (&json!(true), &json!(".ci/pipeline.yaml"))
                );
                assert_eq!(a["cancel_previous_pipeline_events"], json!(["push", "tag"]));
                assert_eq!(a["approval_allowed_users"], json!(["viktor", "bot"]));
                assert_eq!(a["netrc_trusted"], json!(["woodpeckerci/plugin-git"]));
                assert_eq!(
                    a["trusted"],
                    json!({"network": true, "security": false, "volumes": false})
                );
                let b = w.x.api.repo(w.x.id_b).expect("b in Woodpecker");
                assert_eq!(
                    (b["timeout"].as_i64(), &b["require_approval"]),
                    (Some(90), &json!("none"))
                );
                assert_ne!(w.x.id_a, w.x.id_b);
            }),
        S::apply("the data source finds the id and settings of an active repository")
            .on("ds")
            .config(ds)
            .check(|w, r| {
                assert!(
                    r.stdout.contains(&format!("id = {}", w.x.id_a)),
                    "{}",
                    r.stdout
                );
                assert!(
                    r.stdout.contains("visibility = \"private\""),
                    "{}",
                    r.stdout
                );
            }),
        S::plan_changes("a setting changed in Woodpecker: the plan shows exactly that change")
            .pre(|w| {
                let (s, v) = w.x.api.wp(
                    "PATCH",
                    &format!("/api/repos/{}", w.x.id_a),
                    Some(json!({"timeout": 45})),
                );
                assert_eq!(s, 200, "{v}");
            })
            .check(|_, plan| {
                let changes = planned_changes(&plan.stdout);
                assert_eq!(changes, ["~ timeout = 45 -> 30"], "{}", plan.stdout);
            }),
        S::apply("apply restores it").check(|w, _| {
            assert_eq!(w.x.api.repo(w.x.id_a).unwrap()["timeout"], 30);
        }),
        S::apply("empty lists in the configuration clear the lists, and plan empty afterwards")
            .config(c_empty.clone())
            .check(|w, _| {
                let a = w.x.api.repo(w.x.id_a).unwrap();
                for list in [
                    "cancel_previous_pipeline_events",
                    "approval_allowed_users",
                    "netrc_trusted",
                ] {
                    assert!(
                        a[list].as_array().is_none_or(|l| l.is_empty()),
                        "{list}: {a}"
                    );
                }
            }),
        S::plan_changes("deactivated in Woodpecker: the plan re-creates it")
            .pre(|w| {
                let (s, v) =
                    w.x.api
                        .wp("DELETE", &format!("/api/repos/{}", w.x.id_a), None);
                assert_eq!(s, 200, "{v}");
            })
            .stdout_contains(format!("{A} will be created")),
        S::apply("apply re-activates it with the same id").check(|w, _| {
            assert_eq!(id_of(w, A), w.x.id_a);
            let a = w.x.api.repo(w.x.id_a).unwrap();
            assert_eq!(
                (&a["active"], a["timeout"].as_i64()),
                (&json!(true), Some(30))
            );
        }),
        S::import("import by owner/name matches the state", A, BEHAVIOUR).id(x.api.full(&x.a)),
        S::out_of_band("import by numeric id matches the state", |w| {
            let id = w.x.id_b.to_string();
            w.here().import_and_compare(B, &id, BEHAVIOUR);
        }),
        S::plan_changes("after the imports only b's on_destroy differs (import cannot know it)")
            .check(|_, plan| {
                let changes = planned_changes(&plan.stdout);
                assert_eq!(
                    changes,
                    ["~ on_destroy = \"deactivate\" -> \"remove\""],
                    "{}",
                    plan.stdout
                );
            }),
        S::apply("apply records it (no change on the server)").check(|w, _| {
            assert_eq!(w.x.api.repo(w.x.id_b).unwrap()["timeout"], 90);
        }),
        S::plan_changes(
            "renamed on the forge, full_name follows: an update in place, not a replacement",
        )
        .pre(|w| w.x.api.rename_forge_repo(&w.x.a, &w.x.a2))
        .config(c_renamed)
        .stdout_contains("update in-place")
        .check(|_, plan| {
            assert!(!plan.stdout.contains("must be replaced"), "{}", plan.stdout);
            assert!(
                !plan.stdout.contains("will be destroyed"),
                "{}",
                plan.stdout
            );
        }),
        S::apply("apply repairs it: same id, new name in Woodpecker").check(|w, _| {
            assert_eq!(id_of(w, A), w.x.id_a);
            let a = w.x.api.repo(w.x.id_a).unwrap();
            assert_eq!(a["full_name"], w.x.api.full(&w.x.a2));
            assert_eq!(w.here().attrs(A)["name"], w.x.a2.as_str());
        }),
        S::destroy("destroy: a deactivated (default), b removed").check(|w, _| {
            let a = w.x.api.repo(w.x.id_a).expect("a deactivated, not removed");
            assert_eq!(a["active"], false, "{a}");
            assert!(w.x.api.repo(w.x.id_b).is_none(), "b should be removed");
        }),
        S::plan_fails(
            "the data source refuses a repository that is not active",
            "is not active in Woodpecker",
        )
        .on("ds")
        .config(ds_renamed)
        .output_contains("full_name"),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove what the scenario created",
        |w| {
            let api = &w.x.api;
            for n in [&w.x.a, &w.x.a2, &w.x.b] {
                api.remove_wp_repo(n);
                api.delete_forge_repo(n);
            }
        },
    )])
}

/// Bad input and rights: each fails at validate or plan, and nothing changes on the server.
pub struct Bad {
    api: Api,
    c: String,
    /// owner/name of a repository the forge does not have.
    missing: String,
    forge_id: i64,
    id: i64,
}

const C: &str = "cicd_woodpecker_repo.c";

fn repo_c(name: &str, extra: &str) -> String {
    format!("resource \"cicd_woodpecker_repo\" \"c\" {{\n  full_name = \"{name}\"\n{extra}}}\n")
}

pub fn repo_bad_input(cli: &Cli) -> Scenario<Bad> {
    type S = Step<Bad>;
    let s = suffix(cli, "wpbad");
    let x = Bad {
        api: Api::new(),
        c: format!("{s}-c"),
        missing: String::new(),
        forge_id: 0,
        id: 0,
    };
    let c = x.api.full(&x.c);
    let missing = x.api.full(&format!("{s}-no-such-repo"));
    let x = Bad {
        missing: missing.clone(),
        ..x
    };
    let nonadmin = x
        .api
        .env
        .get("WOODPECKER_TOKEN_NONADMIN")
        .cloned()
        .filter(|t| !t.is_empty());
    let nonadmin = nonadmin.expect("WOODPECKER_TOKEN_NONADMIN unset: a token of a user who is not a Woodpecker admin (the stack's double exports one)");
    let not_active = |w: &mut World<Bad>| {
        let c = w.x.c.clone();
        let r = w.x.api.lookup(&c);
        assert!(
            r.as_ref().is_none_or(|r| r["active"] == false),
            "{c} was activated: {r:?}"
        );
    };
    let steps = vec![
        S::out_of_band("seed: a repository on the forge", |w| {
            w.x.forge_id = w.x.api.create_forge_repo(&w.x.c);
        }),
        S::validate_fails(
            "an unknown event in cancel_previous_pipeline_events",
            "cancel_previous_pipeline_events[1] must be one of",
        )
        .config(repo_c(
            &c,
            "  cancel_previous_pipeline_events = [\"push\", \"bogus\"]\n",
        ))
        .output_contains("cancel_previous_pipeline_events = [\"push\", \"bogus\"]")
        .check(move |w, _| not_active(w)),
        S::validate_fails("a bad visibility", "visibility must be one of")
            .config(repo_c(&c, "  visibility = \"secret\"\n"))
            .output_contains("visibility = \"secret\""),
        S::validate_fails("a timeout below one minute", "timeout must be at least 1")
            .config(repo_c(&c, "  timeout = 0\n"))
            .output_contains("timeout = 0"),
        S::plan_fails(
            "a repository the forge does not have fails the plan, naming it",
            "not found on the forge",
        )
        .config(repo_c(&missing, ""))
        .output_contains(format!("full_name = \"{missing}\""))
        .check(|w, _| {
            let path = format!("/api/repos/lookup/{}", w.x.missing);
            assert_eq!(w.x.api.wp("GET", &path, None).0, 404);
        }),
        S::plan_fails(
            "a token without admin rights fails the plan",
            "lacks admin rights",
        )
        .config(format!(
            "provider \"cicd\" {{\n  woodpecker {{\n    token = \"{nonadmin}\"\n  }}\n}}\n\n{}",
            repo_c(&c, "")
        ))
        .output_contains(format!("full_name = \"{c}\""))
        .check(move |w, _| not_active(w)),
        S::plan_fails(
            "an already active repository is not taken over without adopt_existing",
            "already active",
        )
        .pre(|w| {
            let (s, v) = w.x.api.wp(
                "POST",
                &format!("/api/repos?forge_remote_id={}", w.x.forge_id),
                None,
            );
            assert_eq!(s, 200, "activate out of band: {v}");
            w.x.id = v["id"].as_i64().unwrap();
        })
        .config(repo_c(&c, "  timeout = 25\n"))
        .output_contains("terraform import"),
        S::apply("adopt_existing takes it over, with the configured settings")
            .config(repo_c(&c, "  timeout = 25\n  adopt_existing = true\n"))
            .check(|w, _| {
                assert_eq!(id_of(w, C), w.x.id);
                assert_eq!(w.x.api.repo(w.x.id).unwrap()["timeout"], 25);
            }),
        S::plan_fails(
            "the data source refuses a repository Woodpecker does not know",
            "is not active in Woodpecker",
        )
        .on("ds")
        .config(format!(
            "data \"cicd_woodpecker_repo\" \"d\" {{\n  full_name = \"{missing}\"\n}}\n"
        )),
        S::destroy("destroy deactivates it").check(|w, _| {
            assert_eq!(w.x.api.repo(w.x.id).unwrap()["active"], false);
        }),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove what the scenario created",
        |w| {
            w.x.api.remove_wp_repo(&w.x.c);
            w.x.api.delete_forge_repo(&w.x.c);
        },
    )])
}

/// `cicd_woodpecker_cron` on a repository of its own.
pub struct Crons {
    api: Api,
    r: String,
    repo_id: i64,
    cron_id: i64,
}

const CRON: &str = "cicd_woodpecker_cron.nightly";

fn cron_hcl(full: &str, cron: &str) -> String {
    format!(
        "resource \"cicd_woodpecker_repo\" \"r\" {{\n  full_name = \"{full}\"\n}}\n\nresource \"cicd_woodpecker_cron\" \"nightly\" {{\n  repo_id = cicd_woodpecker_repo.r.id\n{cron}}}\n"
    )
}

pub fn cron(cli: &Cli) -> Scenario<Crons> {
    type S = Step<Crons>;
    let x = Crons {
        api: Api::new(),
        r: suffix(cli, "wpcron"),
        repo_id: 0,
        cron_id: 0,
    };
    let full = x.api.full(&x.r);
    let base = "  name      = \"nightly\"\n  timezone  = \"Europe/London\"\n  variables = { DRIFT = \"1\" }\n";
    let c1 = cron_hcl(&full, &format!("{base}  schedule  = \"0 3 * * *\"\n"));
    let c_off = cron_hcl(&full, "  name = \"nightly\"\n  schedule = \"0 3 * * *\"\n  timezone = \"Europe/London\"\n  enabled = false\n  variables = {}\n");
    let bad_schedule = cron_hcl(&full, "  name = \"nightly\"\n  schedule = \"61 3 * * *\"\n");
    let bad_tz = cron_hcl(
        &full,
        "  name = \"nightly\"\n  schedule = \"@daily\"\n  timezone = \"Mars/Olympus\"\n",
    );
    let renamed = cron_hcl(
        &full,
        "  name = \"nightly-2\"\n  schedule = \"0 3 * * *\"\n  enabled = false\n",
    );
    let one_cron = |w: &mut World<Crons>| {
        let crons = w.x.api.crons(w.x.repo_id);
        assert_eq!(crons.len(), 1, "{crons:?}");
        crons[0].clone()
    };
    let steps = vec![
        S::out_of_band("seed: a repository on the forge", |w| {
            w.x.api.create_forge_repo(&w.x.r);
        }),
        S::apply("create a repository and a cron (enabled by default)")
            .config(c1)
            .check(move |w, _| {
                w.x.repo_id = id_of(w, "cicd_woodpecker_repo.r");
                let c = one_cron(w);
                w.x.cron_id = c["id"].as_i64().unwrap();
                assert_eq!(
                    (&c["name"], &c["schedule"]),
                    (&json!("nightly"), &json!("0 3 * * *"))
                );
                assert_eq!(
                    (&c["timezone"], &c["enabled"]),
                    (&json!("Europe/London"), &json!(true))
                );
                assert_eq!(c["variables"], json!({"DRIFT": "1"}));
            }),
        S::plan_changes("the schedule changed in Woodpecker: the plan shows exactly that")
            .pre(|w| {
                let path = format!("/api/repos/{}/cron/{}", w.x.repo_id, w.x.cron_id);
                let (s, v) =
                    w.x.api
                        .wp("PATCH", &path, Some(json!({"schedule": "@every 6h"})));
                assert_eq!(s, 200, "{v}");
            })
            .check(|_, plan| {
                let changes = planned_changes(&plan.stdout);
                assert_eq!(
                    changes,
                    ["~ schedule = \"@every 6h\" -> \"0 3 * * *\""],
                    "{}",
                    plan.stdout
                );
            }),
        S::apply("apply restores it").check(move |w, _| {
            assert_eq!(one_cron(w)["schedule"], "0 3 * * *");
        }),
        S::import("import by repo_id/cron_id matches the state", CRON, &[]),
        S::out_of_band("import by repo_id/name matches the state", |w| {
            let id = format!("{}/nightly", w.x.repo_id);
            w.here().import_and_compare(CRON, &id, &[]);
        }),
        S::apply("disable it and clear its variables")
            .config(c_off)
            .check(move |w, _| {
                let c = one_cron(w);
                assert_eq!(c["id"], w.x.cron_id, "updated in place");
                assert_eq!(c["enabled"], false);
                assert!(
                    c["variables"].as_object().is_none_or(|m| m.is_empty()),
                    "{c}"
                );
            }),
        S::validate_fails(
            "a bad schedule fails validate, naming it",
            "Invalid schedule",
        )
        .config(bad_schedule)
        .output_contains("schedule = \"61 3 * * *\""),
        S::validate_fails(
            "an unknown time zone fails validate, naming it",
            "Invalid timezone",
        )
        .config(bad_tz)
        .output_contains("timezone = \"Mars/Olympus\"")
        .check(move |w, _| {
            assert_eq!(one_cron(w)["timezone"], "Europe/London");
        }),
        S::plan_changes("a new name replaces the cron")
            .config(renamed)
            .stdout_contains("must be replaced"),
        S::apply("apply replaces it").check(move |w, _| {
            let c = one_cron(w);
            assert_eq!(c["name"], "nightly-2");
            assert_ne!(c["id"], w.x.cron_id);
            w.x.cron_id = c["id"].as_i64().unwrap();
        }),
        S::destroy("destroy: the cron is gone, the repository deactivated").check(|w, _| {
            let (s, _) = w.x.api.wp(
                "GET",
                &format!("/api/repos/{}/cron/{}", w.x.repo_id, w.x.cron_id),
                None,
            );
            assert_eq!(s, 404);
            assert_eq!(w.x.api.repo(w.x.repo_id).unwrap()["active"], false);
        }),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove what the scenario created",
        |w| {
            w.x.api.remove_wp_repo(&w.x.r);
            w.x.api.delete_forge_repo(&w.x.r);
        },
    )])
}
