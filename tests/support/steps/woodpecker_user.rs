//! Steps for `cicd_woodpecker_user` against the stack's Woodpecker (`WOODPECKER_SERVER` /
//! `WOODPECKER_TOKEN`: the double or a real server). Each CLI run creates a user of its own
//! (random suffix) and removes it at the end, whether the steps passed or not.

use crate::support::{stack_env, Cli, Scenario, Step};
use std::collections::BTreeMap;
use std::process::Command;

pub struct Users {
    env: BTreeMap<String, String>,
    login: String,
    /// Woodpecker's id of the user at create.
    user_id: i64,
}

impl Users {
    /// The Woodpecker API as the admin: (status, JSON body or the text as a string).
    fn wp(&self, method: &str, path: &str) -> (u16, serde_json::Value) {
        let out = Command::new("curl")
            .args([
                "-s",
                "-X",
                method,
                "-H",
                &format!("Authorization: Bearer {}", self.env["WOODPECKER_TOKEN"]),
                "-w",
                "\n%{http_code}",
                &format!(
                    "{}{path}",
                    self.env["WOODPECKER_SERVER"].trim_end_matches('/')
                ),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.into())),
        )
    }

    fn user(&self) -> Option<serde_json::Value> {
        match self.wp("GET", &format!("/api/users/{}", self.login)) {
            (200, v) => Some(v),
            (404, _) => None,
            (s, v) => panic!("GET user {}: {s} {v}", self.login),
        }
    }

    fn hcl(&self, email: &str) -> String {
        format!(
            "resource \"cicd_woodpecker_user\" \"u\" {{\n  login = \"{}\"\n  email = \"{email}\"\n}}\n",
            self.login
        )
    }
}

const ADDR: &str = "cicd_woodpecker_user.u";

pub fn user_lifecycle(cli: &Cli) -> Scenario<Users> {
    type S = Step<Users>;
    let suffix = format!(
        "{}{}",
        cli.label.replace(['.', '-'], ""),
        std::process::id()
    );
    let x = Users {
        env: stack_env(),
        login: format!("acc-user-{suffix}"),
        user_id: 0,
    };
    let first = x.hcl("first@example.com");
    let second = x.hcl("second@example.com");
    let bad = "resource \"cicd_woodpecker_user\" \"u\" {\n  login = \"has space\"\n}\n";
    let steps = vec![
        S::apply("create the user (then an empty plan, with and without refresh)")
            .config(first.clone())
            .check(|w, _| {
                let u = w.x.user().expect("user created");
                assert_eq!(u["email"], "first@example.com");
                assert_ne!(u["admin"], true, "admin defaults to false: {u}");
                w.x.user_id = u["id"].as_i64().unwrap();
                let st = w.here().attrs(ADDR);
                assert_eq!(st["user_id"], w.x.user_id);
            }),
        S::import("import by login matches the state", ADDR, &[]),
        S::plan_changes("deleted out of band: the plan creates it again")
            .pre(|w| {
                let (s, v) = w.x.wp("DELETE", &format!("/api/users/{}", w.x.login));
                assert!(s == 200 || s == 204, "{s} {v}");
            })
            .stdout_contains("will be created"),
        S::apply("apply creates it again").check(|w, _| {
            assert!(w.x.user().is_some());
        }),
        S::plan_changes("a new e-mail replaces the user (Woodpecker cannot update users)")
            .config(second.clone())
            .stdout_contains("must be replaced"),
        S::apply("apply replaces it").check(|w, _| {
            let u = w.x.user().expect("user replaced");
            assert_eq!(u["email"], "second@example.com");
        }),
        S::validate_fails("a login with a space fails validate, naming it", "login")
            .config(bad)
            .output_contains("has space"),
        S::destroy("destroy: the user is gone")
            .config(second)
            .check(|w, _| {
                assert!(w.x.user().is_none(), "user left after destroy");
            }),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band("remove the user", |w| {
        let _ = w.x.wp("DELETE", &format!("/api/users/{}", w.x.login));
    })])
}
