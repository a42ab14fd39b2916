//! Steps for `cicd_woodpecker_global_secret`, `_repo_secret`, `_org_secret` and
//! `cicd_woodpecker_registry` against the stack: the Woodpecker double (or a real server, with
//! WOODPECKER_SERVER / WOODPECKER_TOKEN), OpenBao, and Gitea as the forge.
//!
//! Every name carries the CLI and a random suffix, so the per-CLI tests run in parallel (and a
//! real server is safe); cleanup deletes only what the scenario created, whether the steps
//! passed or not. Woodpecker never returns a secret's value, so a write is proven by the
//! provider's own request log (`http request ... method=PATCH path=...`), not by reading it.

use crate::support::{stack_env, Cli, Run, Scenario, Step, World};
use cicd::clients::woodpecker::{Scope, Secret, SecretPatch, WoodpeckerClient, WoodpeckerConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

/// The stack's servers, as the steps reach them (not through the provider).
pub struct Wp {
    pub env: BTreeMap<String, String>,
    rt: tokio::runtime::Runtime,
    /// Uncached: every call asks the server.
    pub api: WoodpeckerClient,
}

impl Wp {
    fn new() -> Wp {
        let env = stack_env();
        let (Some(server), Some(token)) =
            (env.get("WOODPECKER_SERVER"), env.get("WOODPECKER_TOKEN"))
        else {
            panic!("WOODPECKER_SERVER / WOODPECKER_TOKEN unset: run `scripts/stack up` (or set STACK_ENV_FILE)");
        };
        let cfg = WoodpeckerConfig {
            server: server.clone(),
            token: tfplugin::secret::Secret::new(token.clone()),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Wp {
            api: WoodpeckerClient::with_cache_ttl(&cfg, Duration::ZERO),
            env,
            rt,
        }
    }

    pub fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    pub fn secret(&self, scope: Scope, name: &str) -> Option<Secret> {
        self.block(self.api.secret(scope, name))
            .unwrap_or_else(|e| panic!("read secret {name}: {e}"))
    }

    /// Names of the secrets of `scope` starting with `prefix`.
    pub fn names(&self, scope: Scope, prefix: &str) -> BTreeSet<String> {
        let all = self
            .block(self.api.secrets(scope))
            .unwrap_or_else(|e| panic!("list secrets: {e}"));
        all.into_iter()
            .map(|s| s.name)
            .filter(|n| n.starts_with(prefix))
            .collect()
    }

    pub fn patch_events(&self, scope: Scope, name: &str, events: &[&str]) {
        let patch = SecretPatch {
            events: Some(events.iter().map(|e| e.to_string()).collect()),
            ..Default::default()
        };
        self.block(self.api.patch_secret(scope, name, &patch))
            .unwrap_or_else(|e| panic!("patch {name}: {e}"));
    }

    /// Delete what a scenario may have left: secrets of `scope` starting with `prefix`.
    pub fn delete_prefixed(&self, scope: Scope, prefix: &str) {
        for n in self.names(scope, prefix) {
            let _ = self.block(self.api.delete_secret(scope, &n));
        }
    }

    pub fn bao(&self, args: &[&str]) -> String {
        let out = Command::new(&self.env["BAO"])
            .args(args)
            .envs(&self.env)
            .output()
            .unwrap_or_else(|e| panic!("bao: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "bao {args:?}: {text}");
        text
    }
}

/// Eight random lower-case letters and digits.
pub fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32);
    (0..8)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize] as char;
            x /= 36;
            c
        })
        .collect()
}

/// `acc_terraform_1_0_3_<random>`: a valid secret name prefix of this CLI's own.
pub fn prefix(cli: &Cli) -> String {
    format!("acc_{}_{}", cli.label.replace(['.', '-'], "_"), suffix())
}

/// The addresses a plan says will get `action` (`updated in-place`, `created`, `destroyed`).
pub fn planned(plan: &str, action: &str) -> Vec<String> {
    plan.lines()
        .filter_map(|l| l.trim().strip_prefix("# "))
        .filter_map(|l| l.split_once(" will be "))
        .filter(|(_, a)| a.starts_with(action))
        .map(|(addr, _)| addr.to_string())
        .collect()
}

/// The provider's `http request` log lines for `system` (a `TF_LOG=debug` or `trace` run).
pub fn requests<'a>(log: &'a str, system: &str) -> Vec<&'a str> {
    let sys = format!("system={system}");
    log.lines()
        .filter(|l| l.contains("http request:") && l.contains(&sys))
        .collect()
}

/// No line of `text` may contain any of `secrets`.
pub fn assert_absent(text: &str, secrets: &[String], what: &str) {
    for s in secrets {
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(s.as_str()))
            .take(3)
            .collect();
        assert!(bad.is_empty(), "a secret value appears in {what}: {bad:?}");
    }
}

/// `plan` under `TF_LOG=trace` (no secret in its output), must succeed.
pub fn traced_plan<X: 'static>(
    name: &str,
    secrets: impl Fn(&X) -> Vec<String> + 'static,
) -> Step<X> {
    Step::out_of_band(name, move |w: &mut World<X>| {
        let secrets = secrets(&w.x);
        let r = w.here().run_env(
            &["plan", "-no-color", "-input=false"],
            &[("TF_LOG", "trace")],
        );
        assert_eq!(r.code, 0, "traced plan failed:\n{}", clip(&r.all()));
        assert_absent(&r.all(), &secrets, "the TF_LOG=trace output of plan");
    })
}

fn clip(s: &str) -> String {
    if s.len() < 8000 {
        return s.to_string();
    }
    let mut i = s.len() - 8000;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    format!("[...]{}", &s[i..])
}

/// The applied state of `addr` (`terraform show -json`).
pub fn attrs<X>(w: &mut World<X>, addr: &str) -> serde_json::Value {
    w.here().attrs(addr)
}

/// The trace log of an apply run by [`Step::traced_without`]: the provider's PATCH lines.
pub fn patches(run: &Run) -> Vec<String> {
    requests(&run.all(), "Woodpecker")
        .into_iter()
        .filter(|l| l.contains("method=PATCH"))
        .map(str::to_string)
        .collect()
}

// ----- 55 global secrets from one Vault path -----

pub struct Bulk {
    wp: Wp,
    /// Secret name prefix.
    p: String,
    /// Vault path under `secret/`.
    vpath: String,
    /// Key -> value written first.
    values: BTreeMap<String, String>,
    /// k07's value after the rotation, and the value of the key added later.
    rotated: String,
    added: String,
}

const BULK: usize = 55;

fn key(i: usize) -> String {
    format!("k{i:02}")
}

fn bulk_hcl(x: &Bulk) -> String {
    format!(
        r#"
provider "cicd" {{}}

data "cicd_vault_kv_keys" "global" {{
  path = "{vpath}"
}}

resource "cicd_woodpecker_global_secret" "g" {{
  for_each = data.cicd_vault_kv_keys.global.keys
  name     = "{p}_${{each.key}}"
  events   = ["push", "tag", "manual"]
  value_from_vault {{
    path = "{vpath}"
    key  = each.key
  }}
}}
"#,
        vpath = x.vpath,
        p = x.p
    )
}

fn g(key: &str) -> String {
    format!("cicd_woodpecker_global_secret.g[\"{key}\"]")
}

pub fn global_secrets_from_vault(cli: &Cli) -> Scenario<Bulk> {
    type S = Step<Bulk>;
    let p = prefix(cli);
    let rnd = suffix();
    let x = Bulk {
        wp: Wp::new(),
        vpath: format!("acc/{p}/global"),
        values: (0..BULK)
            .map(|i| (key(i), format!("bulk-{rnd}-{}-v1", key(i))))
            .collect(),
        rotated: format!("bulk-{rnd}-k07-v2"),
        added: format!("bulk-{rnd}-k55-v1"),
        p,
    };
    let mut secrets: Vec<String> = x.values.values().cloned().collect();
    secrets.extend([x.rotated.clone(), x.added.clone()]);
    let sref: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let in_state = secrets.clone();
    let traced = secrets.clone();
    let steps = vec![
        S::out_of_band("seed: 55 keys in one Vault secret", |w| {
            let mut args = vec![
                "kv".to_string(),
                "put".into(),
                format!("secret/{}", w.x.vpath),
            ];
            args.extend(w.x.values.iter().map(|(k, v)| format!("{k}={v}")));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            w.x.wp.bao(&args);
        }),
        S::apply("create 55 global secrets with for_each over cicd_vault_kv_keys")
            .config_with(bulk_hcl)
            .traced_without(&sref)
            .check(move |w, _| {
                let names = w.x.wp.names(Scope::Global, &w.x.p);
                assert_eq!(names.len(), BULK, "{names:?}");
                let state = w.here().state_file_text();
                assert_absent(&state, &in_state, "the state file");
                assert_eq!(attrs(w, &g("k07"))["vault_version"], 1);
            }),
        traced_plan(
            "TF_LOG=trace of a plan of 55 secrets carries no value",
            move |_: &Bulk| traced.clone(),
        ),
        S::out_of_band(
            "refreshing 55 secrets is one list walk (debug log request count)",
            |w| {
                let r = w.here().run_env(
                    &["plan", "-no-color", "-detailed-exitcode", "-input=false"],
                    &[("TF_LOG", "debug")],
                );
                assert_eq!(r.code, 0, "plan not empty:\n{}", clip(&r.all()));
                let log = r.all();
                let wp = requests(&log, "Woodpecker");
                let vault = requests(&log, "Vault");
                eprintln!(
                "[{}] refresh + plan of {BULK} global secrets: {} Woodpecker requests, {} Vault requests",
                w.cli.label,
                wp.len(),
                vault.len()
            );
                // Only pages of the one list, each page once.
                let mut pages = BTreeSet::new();
                for l in &wp {
                    assert!(l.contains("/api/secrets?page="), "not a list page: {l}");
                    let page = l
                        .split("page=")
                        .nth(1)
                        .and_then(|s| s.split('&').next())
                        .unwrap();
                    assert!(
                        pages.insert(page.to_string()),
                        "page {page} read twice: {wp:#?}"
                    );
                }
                assert!(!wp.is_empty() && wp.len() <= 10, "{wp:#?}");
            },
        ),
        S::plan_changes(
            "rotate ONE key in Vault (new KV version of all 55): only its secret updates",
        )
        .pre(|w| {
            let kv = format!("k07={}", w.x.rotated);
            w.x.wp
                .bao(&["kv", "patch", &format!("secret/{}", w.x.vpath), &kv]);
        })
        .check(|_, plan| {
            assert_eq!(
                planned(&plan.stdout, "updated in-place"),
                [g("k07")],
                "{}",
                plan.stdout
            );
            assert!(
                planned(&plan.stdout, "created").is_empty(),
                "{}",
                plan.stdout
            );
        }),
        S::apply("apply the rotation: one PATCH, for k07; its version moves, the others stay")
            .traced_without(&sref)
            .check(|w, run| {
                let patches = patches(run);
                assert_eq!(patches.len(), 1, "{patches:#?}");
                assert!(
                    patches[0].contains(&format!("{}_k07", w.x.p)),
                    "{patches:#?}"
                );
                assert_eq!(attrs(w, &g("k07"))["vault_version"], 2);
                assert_eq!(attrs(w, &g("k08"))["vault_version"], 1);
            }),
        S::plan_changes("a key added in Vault is one new secret, nothing else")
            .pre(|w| {
                let kv = format!("k55={}", w.x.added);
                w.x.wp
                    .bao(&["kv", "patch", &format!("secret/{}", w.x.vpath), &kv]);
            })
            .check(|_, plan| {
                assert_eq!(
                    planned(&plan.stdout, "created"),
                    [g("k55")],
                    "{}",
                    plan.stdout
                );
                assert!(
                    planned(&plan.stdout, "updated").is_empty(),
                    "{}",
                    plan.stdout
                );
            }),
        S::apply("apply the new key").traced_without(&sref),
        S::destroy("destroy: every secret is gone from Woodpecker").check(|w, _| {
            let left = w.x.wp.names(Scope::Global, &w.x.p);
            assert!(left.is_empty(), "{left:?}");
        }),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "delete what is left: the secrets and the Vault path",
        |w| {
            w.x.wp.delete_prefixed(Scope::Global, &w.x.p);
            w.x.wp
                .bao(&["kv", "metadata", "delete", &format!("secret/{}", w.x.vpath)]);
        },
    )])
}

// ----- one global secret per value source; drift, import, bad input -----

pub struct Sources {
    wp: Wp,
    p: String,
    vpath: String,
    plain: [String; 2],
    wo: [String; 2],
    vault: String,
    nonadmin: String,
}

impl Sources {
    fn secrets(&self) -> Vec<String> {
        let mut v = vec![self.vault.clone()];
        v.extend(self.plain.iter().cloned());
        v.extend(self.wo.iter().cloned());
        v
    }

    fn hcl(&self, plain: usize, wo: Option<usize>) -> String {
        let mut h = format!(
            r#"
provider "cicd" {{}}

resource "cicd_woodpecker_global_secret" "plain" {{
  name   = "{p}_plain"
  events = ["push"]
  images = ["woodpeckerci/plugin-docker-buildx"]
  note   = "managed by terraform"
  value  = "{plain}"
}}

resource "cicd_woodpecker_global_secret" "vault" {{
  name   = "{p}_vault"
  events = ["push", "pull_request"]
  value_from_vault {{
    path = "{vpath}"
    key  = "token"
  }}
}}
"#,
            p = self.p,
            plain = self.plain[plain],
            vpath = self.vpath
        );
        if let Some(i) = wo {
            h.push_str(&format!(
                r#"
resource "cicd_woodpecker_global_secret" "wo" {{
  name             = "{p}_wo"
  events           = ["cron"]
  value_wo         = "{wo}"
  value_wo_version = {v}
}}
"#,
                p = self.p,
                wo = self.wo[i],
                v = i + 1
            ));
        }
        h
    }

    /// A configuration that must fail, for the secret `<p>_bad`.
    fn bad(&self, body: &str) -> String {
        format!(
            "resource \"cicd_woodpecker_global_secret\" \"bad\" {{\n  name = \"{}_bad\"\n{body}\n}}\n",
            self.p
        )
    }
}

const PLAIN: &str = "cicd_woodpecker_global_secret.plain";
const VAULT: &str = "cicd_woodpecker_global_secret.vault";
const WO: &str = "cicd_woodpecker_global_secret.wo";

/// Nothing named `<p>_bad` reached Woodpecker.
fn nothing_written(w: &mut World<Sources>, _: &Run) {
    assert!(w
        .x
        .wp
        .secret(Scope::Global, &format!("{}_bad", w.x.p))
        .is_none());
}

pub fn global_secret_sources(cli: &Cli) -> Scenario<Sources> {
    type S = Step<Sources>;
    let p = prefix(cli);
    let rnd = suffix();
    let wp = Wp::new();
    let x = Sources {
        nonadmin: wp
            .env
            .get("WOODPECKER_TOKEN_NONADMIN")
            .cloned()
            .unwrap_or_default(),
        wp,
        vpath: format!("acc/{p}/sources"),
        plain: [format!("plain-{rnd}-one"), format!("plain-{rnd}-two")],
        wo: [format!("wo-{rnd}-one"), format!("wo-{rnd}-two")],
        vault: format!("vault-{rnd}-token"),
        p,
    };
    let wo_ok = cli.supports_write_only();
    let wo1 = wo_ok.then_some(0);
    let secrets = x.secrets();
    let sref: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let (not_plain, wo_values) = (
        [vec![x.vault.clone()], x.wo.to_vec()].concat(),
        x.wo.to_vec(),
    );
    let mut steps = vec![
        S::out_of_band("seed the Vault secret", |w| {
            let kv = format!("token={}", w.x.vault);
            w.x.wp.bao(&[
                "kv",
                "put",
                &format!("secret/{}", w.x.vpath),
                &kv,
                "other=x-unused",
            ]);
        }),
        S::apply("create: value, value_from_vault (and value_wo on >= 1.11)")
            .config(x.hcl(0, wo1))
            .traced_without(&sref)
            .check(move |w, _| {
                let state = w.here().state_file_text();
                assert_absent(
                    &state,
                    &not_plain,
                    "the state file (Vault and write-only values)",
                );
                let s =
                    w.x.wp
                        .secret(Scope::Global, &format!("{}_plain", w.x.p))
                        .unwrap();
                assert_eq!(s.events, ["push"]);
                assert_eq!(s.images, ["woodpeckerci/plugin-docker-buildx"]);
                assert_eq!(s.note, "managed by terraform");
                let v =
                    w.x.wp
                        .secret(Scope::Global, &format!("{}_vault", w.x.p))
                        .unwrap();
                assert_eq!(v.events, ["pull_request", "push"]);
                assert_eq!(attrs(w, VAULT)["vault_version"], 1);
                assert!(attrs(w, VAULT).get("value").is_some_and(|v| v.is_null()));
            }),
        traced_plan(
            "TF_LOG=trace of a plan carries no secret value",
            Sources::secrets,
        ),
        S::plan_changes("a new `value` plans an update of that secret only")
            .config(x.hcl(1, wo1))
            .check(|_, plan| {
                assert_eq!(planned(&plan.stdout, "updated"), [PLAIN], "{}", plan.stdout);
            }),
        S::apply("apply the new value: one PATCH")
            .traced_without(&sref)
            .check(|_, run| {
                assert_eq!(patches(run).len(), 1, "{:#?}", patches(run));
            }),
    ];
    if wo_ok {
        let wo_values2 = wo_values.clone();
        steps.extend([
            S::plan_changes("a bumped value_wo_version plans an update")
                .config(x.hcl(1, Some(1)))
                .check(|_, plan| {
                    assert_eq!(planned(&plan.stdout, "updated"), [WO], "{}", plan.stdout);
                }),
            S::apply("apply the write-only value: written, in no log and not in state")
                .traced_without(&sref)
                .check(move |w, run| {
                    let ps = patches(run);
                    assert!(ps.len() == 1 && ps[0].contains("_wo"), "{ps:#?}");
                    let state = w.here().state_file_text();
                    assert_absent(&state, &wo_values2, "the state file");
                }),
        ]);
    } else {
        steps.push(
            S::validate_fails(
                "value_wo on a CLI without write-only support: a validate error",
                "Write-only attribute not supported",
            )
            .on("wo")
            .config(x.hcl(1, Some(0))),
        );
    }
    let wo_now = wo_ok.then_some(1);
    steps.extend([
        S::plan_changes("events changed out of band: exactly that update")
            .config(x.hcl(1, wo_now))
            .pre(|w| {
                let name = format!("{}_vault", w.x.p);
                w.x.wp.patch_events(Scope::Global, &name, &["push"]);
            })
            .check(|_, plan| {
                assert_eq!(planned(&plan.stdout, "updated"), [VAULT], "{}", plan.stdout);
                assert!(
                    plan.stdout.contains("+ \"pull_request\""),
                    "{}",
                    plan.stdout
                );
            }),
        S::apply("apply restores the events").check(|w, _| {
            let v =
                w.x.wp
                    .secret(Scope::Global, &format!("{}_vault", w.x.p))
                    .unwrap();
            assert_eq!(v.events, ["pull_request", "push"]);
        }),
        S::plan_changes("deleted out of band: the plan creates it")
            .pre(|w| {
                let name = format!("{}_plain", w.x.p);
                w.x.wp
                    .block(w.x.wp.api.delete_secret(Scope::Global, &name))
                    .unwrap();
            })
            .check(|_, plan| {
                assert_eq!(planned(&plan.stdout, "created"), [PLAIN], "{}", plan.stdout);
            }),
        S::apply("apply recreates it").check(|w, _| {
            assert!(w
                .x
                .wp
                .secret(Scope::Global, &format!("{}_plain", w.x.p))
                .is_some());
        }),
        S::import(
            "import by name matches the state (but the value source)",
            VAULT,
            &["value_from_vault", "vault_version"],
        )
        .id(format!("{}_vault", x.p)),
        S::plan_changes("after the import the value source is written: an update").check(
            |_, plan| assert_eq!(planned(&plan.stdout, "updated"), [VAULT], "{}", plan.stdout),
        ),
        S::apply("apply after the import converges").traced_without(&sref),
        S::import("import the plain secret by name", PLAIN, &["value"])
            .id(format!("{}_plain", x.p)),
        S::apply("apply after the second import converges"),
    ]);
    // Bad input: at validate or plan, with the attribute's line, nothing on the server.
    let vp = x.vpath.clone();
    steps.extend([
        S::validate_fails("an unknown event", "must be one of")
            .on("bad")
            .config(x.bad("  events = [\"push\", \"bogus\"]\n  value = \"x-value-1\""))
            .output_contains("events = [\"push\", \"bogus\"]")
            .output_contains("bogus")
            .check(nothing_written),
        S::validate_fails("a name with a space", "Invalid secret name")
            .on("bad")
            .config(format!(
                "resource \"cicd_woodpecker_global_secret\" \"bad\" {{\n  name = \"{} bad\"\n  events = [\"push\"]\n  value = \"x-value-1\"\n}}\n",
                x.p
            ))
            .output_contains(format!("name = \"{} bad\"", x.p))
            .check(nothing_written),
        S::validate_fails("two value sources", "Conflicting value sources")
            .on("bad")
            .config(x.bad(&format!(
                "  events = [\"push\"]\n  value = \"x-value-1\"\n  value_from_vault {{\n    path = \"{vp}\"\n    key  = \"token\"\n  }}"
            )))
            .output_contains("value = \"x-value-1\"")
            .output_contains("value_from_vault")
            .check(nothing_written),
        S::validate_fails("no value source", "No value source")
            .on("bad")
            .config(x.bad("  events = [\"push\"]"))
            .check(nothing_written),
        S::plan_fails("a missing Vault key fails the plan, naming the keys that exist", "Key \"nope\" not found")
            .on("bad")
            .config(x.bad(&format!(
                "  events = [\"push\"]\n  value_from_vault {{\n    path = \"{vp}\"\n    key  = \"nope\"\n  }}"
            )))
            .output_contains("key  = \"nope\"")
            .output_contains("keys: other, token")
            .check(nothing_written),
        S::plan_fails("a token without admin rights fails the plan, naming the token", "not a Woodpecker admin")
            .on("bad")
            .config_with(|x| {
                format!(
                    "provider \"cicd\" {{\n  woodpecker {{\n    token = \"{}\"\n  }}\n}}\n{}",
                    x.nonadmin,
                    x.bad("  events = [\"push\"]\n  value = \"x-value-1\"")
                )
            })
            .output_contains("woodpecker token")
            .check(nothing_written),
        S::destroy("destroy: the secrets are gone from Woodpecker").check(|w, _| {
            let left = w.x.wp.names(Scope::Global, &w.x.p);
            assert!(left.is_empty(), "{left:?}");
        }),
    ]);
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "delete what is left: the secrets and the Vault path",
        |w| {
            w.x.wp.delete_prefixed(Scope::Global, &w.x.p);
            w.x.wp
                .bao(&["kv", "metadata", "delete", &format!("secret/{}", w.x.vpath)]);
        },
    )])
}

// ----- a repo secret, an org secret, registries -----

pub struct Scoped {
    wp: Wp,
    p: String,
    /// The forge repository (in FORGEJO_TEST_ORG) made for this CLI, and its Woodpecker ids.
    repo: String,
    org: String,
    repo_id: i64,
    org_id: i64,
    vpath: String,
    repo_value: String,
    reg_password: String,
    vault: [String; 2],
    /// The instance-wide registry's address (`org-` in front: the org registry's; the org is
    /// shared by every CLI's test).
    address: String,
    http: reqwest::Client,
}

impl Scoped {
    fn hcl(&self) -> String {
        format!(
            r#"
provider "cicd" {{}}

resource "cicd_woodpecker_repo_secret" "r" {{
  repo_id = {rid}
  name    = "{p}_repo"
  events  = ["push"]
  value   = "{repo_value}"
}}

resource "cicd_woodpecker_org_secret" "o" {{
  org    = "{org}"
  name   = "{p}_org"
  events = ["push", "tag"]
  value_from_vault {{
    path = "{vpath}"
    key  = "password"
  }}
}}

resource "cicd_woodpecker_registry" "g" {{
  address  = "{address}"
  username = "ci"
  password_from_vault {{
    path = "{vpath}"
    key  = "password"
  }}
}}

resource "cicd_woodpecker_org_secret" "by_id" {{
  org_id = {oid}
  name   = "{p}_org2"
  events = ["manual"]
  value  = "{repo_value}"
}}

resource "cicd_woodpecker_registry" "o" {{
  org_id   = {oid}
  address  = "org-{address}"
  username = "org-bot"
  password = "{reg_password}"
}}

resource "cicd_woodpecker_registry" "r" {{
  repo_id  = {rid}
  address  = "ghcr.io"
  username = "bot"
  password = "{reg_password}"
}}
"#,
            rid = self.repo_id,
            oid = self.org_id,
            p = self.p,
            repo_value = self.repo_value,
            org = self.org,
            vpath = self.vpath,
            address = self.address,
            reg_password = self.reg_password,
        )
    }

    fn gitea(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = self.wp.env["FORGEJO_URL"].trim_end_matches('/').to_string();
        self.http.request(m, format!("{url}/api/v1{path}")).header(
            "Authorization",
            format!("token {}", self.wp.env["FORGEJO_TOKEN"]),
        )
    }

    /// A forge repository of this CLI's own, activated in Woodpecker.
    fn activate(&mut self) {
        let body =
            serde_json::json!({"name": self.repo, "auto_init": true, "default_branch": "main"});
        let r = self
            .wp
            .block(
                self.gitea(reqwest::Method::POST, &format!("/orgs/{}/repos", self.org))
                    .json(&body)
                    .send(),
            )
            .unwrap();
        assert!(r.status().is_success(), "create forge repo: {}", r.status());
        let full = format!("{}/{}", self.org, self.repo);
        let forge = self
            .wp
            .block(self.wp.api.forge_repo(&full))
            .unwrap()
            .unwrap_or_else(|| panic!("Woodpecker does not see the forge repo {full}"));
        let repo = self
            .wp
            .block(self.wp.api.activate_repo(&forge.forge_remote_id))
            .unwrap();
        (self.repo_id, self.org_id) = (repo.id, repo.org_id);
        assert!(self.repo_id > 0 && self.org_id > 0, "{repo:?}");
    }

    fn registry_user(&self, scope: Scope, address: &str) -> Option<String> {
        self.wp
            .block(self.wp.api.registry(scope, address))
            .unwrap()
            .map(|r| r.username)
    }
}

const REPO_SECRET: &str = "cicd_woodpecker_repo_secret.r";
const ORG_SECRET: &str = "cicd_woodpecker_org_secret.o";
const REG_GLOBAL: &str = "cicd_woodpecker_registry.g";
const REG_REPO: &str = "cicd_woodpecker_registry.r";

pub fn repo_org_secrets_and_registries(cli: &Cli) -> Scenario<Scoped> {
    type S = Step<Scoped>;
    let p = prefix(cli);
    let rnd = suffix();
    let wp = Wp::new();
    let x = Scoped {
        org: wp
            .env
            .get("FORGEJO_TEST_ORG")
            .cloned()
            .unwrap_or_else(|| "cicd-test".into()),
        repo: p.replace('_', "-"),
        repo_id: 0,
        org_id: 0,
        vpath: format!("acc/{p}/registry"),
        repo_value: format!("repo-{rnd}-value"),
        reg_password: format!("reg-{rnd}-password"),
        vault: [format!("vault-{rnd}-pw-one"), format!("vault-{rnd}-pw-two")],
        address: format!("{}.registry.example:5000", p.replace('_', "-")),
        http: reqwest::Client::new(),
        wp,
        p,
    };
    let secrets = [
        x.repo_value.clone(),
        x.reg_password.clone(),
        x.vault[0].clone(),
        x.vault[1].clone(),
    ];
    let sref: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let vault_values = x.vault.to_vec();
    let traced = secrets.to_vec();
    let steps = vec![
        S::out_of_band("seed: a forge repo activated in Woodpecker, the Vault secret", |w| {
            w.x.activate();
            let kv = format!("password={}", w.x.vault[0]);
            w.x.wp.bao(&["kv", "put", &format!("secret/{}", w.x.vpath), &kv]);
        }),
        S::apply("create a repo secret, an org secret (by org name) and two registries")
            .config_with(Scoped::hcl)
            .traced_without(&sref)
            .check(move |w, _| {
                let x = &w.x;
                assert!(x.wp.secret(Scope::Repo(x.repo_id), &format!("{}_repo", x.p)).is_some());
                let o = x.wp.secret(Scope::Org(x.org_id), &format!("{}_org", x.p)).unwrap();
                assert_eq!(o.events, ["push", "tag"]);
                assert_eq!(x.registry_user(Scope::Global, &x.address).as_deref(), Some("ci"));
                assert_eq!(x.registry_user(Scope::Repo(x.repo_id), "ghcr.io").as_deref(), Some("bot"));
                let state = w.here().state_file_text();
                assert_absent(&state, &vault_values, "the state file");
                assert_eq!(attrs(w, ORG_SECRET)["org_id"], w.x.org_id);
                let by_id = attrs(w, "cicd_woodpecker_org_secret.by_id");
                assert_eq!(by_id["org"], w.x.org.as_str(), "the org's name, looked up by id");
                assert!(w.x.wp.secret(Scope::Org(w.x.org_id), &format!("{}_org2", w.x.p)).is_some());
                assert_eq!(w.x.registry_user(Scope::Org(w.x.org_id), &format!("org-{}", w.x.address)).as_deref(), Some("org-bot"));
            }),
        traced_plan("TF_LOG=trace of a plan carries no secret value", move |_: &Scoped| traced.clone()),
        S::import("import the repo secret by repo_id/name", REPO_SECRET, &["value"]),
        S::import("import the org secret by org_id/name", ORG_SECRET, &["value_from_vault", "vault_version"]),
        S::import("import the global registry by address", REG_GLOBAL, &["password_from_vault", "vault_version"]),
        S::import("import the repo registry by repo/ID/address", REG_REPO, &["password"]),
        S::import("import the org registry by org/ID/address", "cicd_woodpecker_registry.o", &["password"]),
        S::plan_changes("after the imports the value sources are written: five updates").check(|_, plan| {
            let mut got = planned(&plan.stdout, "updated");
            got.sort();
            assert_eq!(got, [ORG_SECRET, REG_GLOBAL, "cicd_woodpecker_registry.o", REG_REPO, REPO_SECRET], "{}", plan.stdout);
        }),
        S::apply("apply after the imports converges").traced_without(&sref),
        S::plan_changes("the Vault password rotates: the org secret and the registry that use it")
            .pre(|w| {
                let kv = format!("password={}", w.x.vault[1]);
                w.x.wp.bao(&["kv", "put", &format!("secret/{}", w.x.vpath), &kv]);
            })
            .check(|_, plan| {
                let mut got = planned(&plan.stdout, "updated");
                got.sort();
                assert_eq!(got, [ORG_SECRET, REG_GLOBAL], "{}", plan.stdout);
            }),
        S::apply("apply the rotation: two PATCHes").traced_without(&sref).check(|_, run| {
            assert_eq!(patches(run).len(), 2, "{:#?}", patches(run));
        }),
        S::plan_changes("a registry's username changed out of band: that update")
            .pre(|w| {
                let patch = cicd::clients::woodpecker::RegistryPatch {
                    username: Some("someone-else".into()),
                    password: None,
                };
                w.x.wp.block(w.x.wp.api.patch_registry(Scope::Global, &w.x.address, &patch)).unwrap();
            })
            .check(|_, plan| assert_eq!(planned(&plan.stdout, "updated"), [REG_GLOBAL], "{}", plan.stdout)),
        S::apply("apply restores the username").check(|w, _| {
            assert_eq!(w.x.registry_user(Scope::Global, &w.x.address).as_deref(), Some("ci"));
        }),
        S::plan_fails("a global registry with a non-admin token fails the plan", "not a Woodpecker admin")
            .on("bad")
            .config_with(|x| {
                format!(
                    "provider \"cicd\" {{\n  woodpecker {{\n    token = \"{}\"\n  }}\n}}\nresource \"cicd_woodpecker_registry\" \"bad\" {{\n  address  = \"bad-{}\"\n  username = \"u\"\n  password = \"x-value-1\"\n}}\n",
                    x.wp.env.get("WOODPECKER_TOKEN_NONADMIN").cloned().unwrap_or_default(),
                    x.address
                )
            })
            .check(|w, _| assert!(w.x.registry_user(Scope::Global, &format!("bad-{}", w.x.address)).is_none())),
        S::validate_fails("a registry address with a scheme", "Invalid registry address")
            .on("bad")
            .config("resource \"cicd_woodpecker_registry\" \"bad\" {\n  address  = \"https://ghcr.io\"\n  username = \"u\"\n  password = \"x-value-1\"\n}\n")
            .output_contains("address  = \"https://ghcr.io\""),
        S::destroy("destroy: secrets and registries are gone from Woodpecker").check(|w, _| {
            let x = &w.x;
            assert!(x.wp.secret(Scope::Repo(x.repo_id), &format!("{}_repo", x.p)).is_none());
            assert!(x.wp.secret(Scope::Org(x.org_id), &format!("{}_org", x.p)).is_none());
            assert!(x.registry_user(Scope::Global, &x.address).is_none());
            assert!(x.registry_user(Scope::Repo(x.repo_id), "ghcr.io").is_none());
            assert!(x.registry_user(Scope::Org(x.org_id), &format!("org-{}", x.address)).is_none());
            assert!(x.wp.secret(Scope::Org(x.org_id), &format!("{}_org2", x.p)).is_none());
        }),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "delete what is left: registry, org secret, the Woodpecker repo, the forge repo, the Vault path",
        |w| {
            let x = &w.x;
            let _ = x.wp.block(x.wp.api.delete_registry(Scope::Global, &x.address));
            if x.org_id > 0 {
                // The org is shared with the other CLIs' tests: only what carries our names.
                let org_address = format!("org-{}", x.address);
                let _ = x.wp.block(x.wp.api.delete_registry(Scope::Org(x.org_id), &org_address));
                x.wp.delete_prefixed(Scope::Org(x.org_id), &x.p);
            }
            if x.repo_id > 0 {
                let _ = x.wp.block(x.wp.api.remove_repo(x.repo_id));
            }
            let path = format!("/repos/{}/{}", x.org, x.repo);
            let _ = x.wp.block(x.gitea(reqwest::Method::DELETE, &path).send());
            x.wp.bao(&["kv", "metadata", "delete", &format!("secret/{}", x.vpath)]);
        },
    )])
}
