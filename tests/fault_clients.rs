//! Creating POSTs under faults: the Woodpecker client against an in-process Woodpecker double
//! behind the fault-injecting proxy. A POST whose answer is lost is never sent again blindly:
//! the client looks the object up, adopts it when it is there and creates it when it is not.
//! The proxy's per-request counters show how many POSTs reached the server.

use cicd::clients::woodpecker::*;
use fault_proxy::{Fault, Mode, Proxy, Rule};
use std::collections::BTreeMap;
use tfplugin::secret::Secret as Sensitive;
use woodpecker_double::forge::SeedForge;
use woodpecker_double::{AdminSeed, Config, Double, ForgeConfig};

const TOKEN: &str = "admin-token-for-fault-tests";

async fn setup() -> (Double, Proxy, WoodpeckerClient) {
    let repo = serde_json::json!({
        "forge_remote_id": "4", "owner": "wp-rec", "name": "app-one",
        "clone_url": "http://forge.test/wp-rec/app-one.git",
        "clone_url_ssh": "git@forge.test:wp-rec/app-one.git",
        "forge_url": "http://forge.test/wp-rec/app-one",
        "default_branch": "main", "private": false,
        "branches": ["main"], "pipeline_branches": ["main"],
    });
    let forge: SeedForge = serde_json::from_value(serde_json::json!({ "repos": [repo] })).unwrap();
    let double = Double::start(
        Config {
            admin: Some(AdminSeed {
                login: "viktor".into(),
                email: "viktor@example.com".into(),
                avatar_url: String::new(),
                forge_remote_id: "1".into(),
            }),
            admin_token: TOKEN.into(),
            users: vec![],
            forge: ForgeConfig::Seeded(forge),
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let upstream = fault_proxy::addr_of(&double.url()).unwrap();
    let proxy = Proxy::start(upstream, Mode::Http, 11).await.unwrap();
    let client = WoodpeckerClient::new(&WoodpeckerConfig {
        server: proxy.url(),
        token: Sensitive::new(TOKEN),
    });
    (double, proxy, client)
}

fn posts(p: &Proxy, path: &str) -> u64 {
    p.stats()
        .requests
        .get(&format!("POST {path}"))
        .copied()
        .unwrap_or(0)
}

fn secret(name: &str, value: &str) -> SecretWrite {
    SecretWrite {
        name: name.into(),
        value: Sensitive::new(value),
        events: vec!["push".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_secret_whose_create_answer_is_lost_is_adopted_not_created_twice() {
    let (_d, proxy, c) = setup().await;
    proxy.set_rules(vec![Rule::always(Fault::ResetAfter)
        .method("POST")
        .count(1)]);
    let s = c
        .create_secret(Scope::Global, &secret("lost_answer", "v1"))
        .await
        .unwrap();
    assert_eq!(s.name, "lost_answer");
    assert_eq!(
        posts(&proxy, "/api/secrets"),
        1,
        "one POST: the second was not sent"
    );
    let all = c.secrets(Scope::Global).await.unwrap();
    assert_eq!(all.iter().filter(|s| s.name == "lost_answer").count(), 1);
}

#[tokio::test]
async fn a_secret_create_that_never_arrived_is_sent_again() {
    let (_d, proxy, c) = setup().await;
    for fault in [
        Fault::Reset,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    ] {
        proxy.reset_stats();
        proxy.set_rules(vec![Rule::always(fault.clone()).method("POST").count(1)]);
        let name = format!("never_arrived_{}", fault_name(&fault));
        let s = c
            .create_secret(Scope::Global, &secret(&name, "v1"))
            .await
            .unwrap();
        assert_eq!(s.name, name);
        assert_eq!(
            posts(&proxy, "/api/secrets"),
            2,
            "{fault:?}: looked up, then created"
        );
    }
}

fn fault_name(f: &Fault) -> &'static str {
    match f {
        Fault::Reset => "reset",
        _ => "status",
    }
}

#[tokio::test]
async fn repo_activation_cron_registry_and_user_survive_lost_answers() {
    let (_d, proxy, c) = setup().await;
    proxy.set_rules(vec![Rule::always(Fault::ResetAfter).method("POST")]);
    let f = c.forge_repo("wp-rec/app-one").await.unwrap().unwrap();
    let repo = c.activate_repo(&f.forge_remote_id).await.unwrap();
    assert!(repo.active && repo.id != 0);
    assert_eq!(posts(&proxy, "/api/repos"), 1);

    let cron = CronWrite {
        name: "nightly".into(),
        schedule: "0 3 * * *".into(),
        timezone: "UTC".into(),
        branch: String::new(),
        variables: BTreeMap::new(),
        enabled: true,
    };
    let got = c.create_cron(repo.id, &cron).await.unwrap();
    assert_eq!(
        (got.name.as_str(), got.schedule.as_str()),
        ("nightly", "0 3 * * *")
    );
    let path = format!("/api/repos/{}/cron", repo.id);
    assert_eq!(posts(&proxy, &path), 1);
    assert_eq!(
        c.crons(repo.id).await.unwrap().len(),
        1,
        "no duplicate cron"
    );

    let reg = RegistryWrite {
        address: "registry.example.com".into(),
        username: "ci".into(),
        password: Sensitive::new("pw"),
    };
    let got = c.create_registry(Scope::Repo(repo.id), &reg).await.unwrap();
    assert_eq!(got.username, "ci");

    let user = UserWrite {
        login: "lost-answer-user".into(),
        email: "u@example.com".into(),
        admin: false,
        avatar_url: String::new(),
    };
    let got = c.create_user(&user).await.unwrap();
    assert_eq!(got.login, "lost-answer-user");
    assert_eq!(posts(&proxy, "/api/users"), 1);
    assert!(
        proxy
            .stats()
            .faults
            .get("reset_after")
            .copied()
            .unwrap_or(0)
            >= 4
    );
}
