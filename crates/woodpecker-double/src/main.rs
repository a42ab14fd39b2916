//! `woodpecker-double`: a test-only stand-in for a Woodpecker CI server (see the library docs).
//!
//! Flags (each also read from the environment variable in brackets):
//!   --listen ADDR        [WOODPECKER_DOUBLE_LISTEN]  default 127.0.0.1:8000
//!   --admin-token TOKEN  [WOODPECKER_DOUBLE_ADMIN_TOKEN]  the admin's personal token (required)
//!   --admin-login LOGIN  [WOODPECKER_DOUBLE_ADMIN]  admin login (seeded forge; default: the seed
//!                        file's admin, else `admin`; Gitea forge: the forge token's user)
//!   --seed FILE          [WOODPECKER_DOUBLE_SEED]  seed file: {"admin": {...}, "users": [...], "forge": {...}}
//!   --forge-url URL      [WOODPECKER_DOUBLE_FORGE_URL]  Gitea/Forgejo base URL: read repositories there
//!   --forge-token TOKEN  [WOODPECKER_DOUBLE_FORGE_TOKEN]  an admin token of that forge
//!   --user LOGIN:TOKEN   extra non-admin user with a token (repeatable)

use std::process::ExitCode;

use woodpecker_double::{AdminSeed, Config, Double, ForgeConfig, SeedFile, UserSeed};

fn usage() -> &'static str {
    "usage: woodpecker-double --admin-token TOKEN [--listen ADDR] [--admin-login LOGIN] [--seed FILE]\n\
     \x20                        [--forge-url URL --forge-token TOKEN] [--user LOGIN:TOKEN]...\n\
     Test-only double of the Woodpecker CI API. Control API: GET /__double/"
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WOODPECKER_DOUBLE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut listen = env("WOODPECKER_DOUBLE_LISTEN").unwrap_or_else(|| "127.0.0.1:8000".into());
    let mut admin_token = env("WOODPECKER_DOUBLE_ADMIN_TOKEN");
    let mut admin_login = env("WOODPECKER_DOUBLE_ADMIN");
    let mut seed = env("WOODPECKER_DOUBLE_SEED");
    let mut forge_url = env("WOODPECKER_DOUBLE_FORGE_URL");
    let mut forge_token = env("WOODPECKER_DOUBLE_FORGE_TOKEN");
    let mut users = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| match args.next() {
            Some(v) => Ok(v),
            None => Err(format!("{name} needs a value")),
        };
        let r = match a.as_str() {
            "--listen" => val("--listen").map(|v| listen = v),
            "--admin-token" => val("--admin-token").map(|v| admin_token = Some(v)),
            "--admin-login" => val("--admin-login").map(|v| admin_login = Some(v)),
            "--seed" => val("--seed").map(|v| seed = Some(v)),
            "--forge-url" => val("--forge-url").map(|v| forge_url = Some(v)),
            "--forge-token" => val("--forge-token").map(|v| forge_token = Some(v)),
            "--user" => val("--user").and_then(|v| match v.split_once(':') {
                Some((l, t)) => {
                    users.push(UserSeed {
                        login: l.into(),
                        token: t.into(),
                        ..UserSeed::default()
                    });
                    Ok(())
                }
                None => Err("--user takes LOGIN:TOKEN".into()),
            }),
            "-h" | "--help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other}")),
        };
        if let Err(e) = r {
            eprintln!("woodpecker-double: {e}\n{}", usage());
            return ExitCode::from(2);
        }
    }
    let Some(admin_token) = admin_token else {
        eprintln!("woodpecker-double: --admin-token is required\n{}", usage());
        return ExitCode::from(2);
    };
    let mut file = SeedFile::default();
    if let Some(path) = &seed {
        match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(f) => file = f,
            Err(e) => {
                eprintln!("woodpecker-double: cannot read seed {path}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut admin = file.admin;
    if let Some(l) = admin_login {
        match &mut admin {
            Some(a) => a.login = l,
            None => {
                admin = Some(AdminSeed {
                    login: l,
                    ..AdminSeed::default()
                })
            }
        }
    }
    users.extend(file.users);
    let forge = match (forge_url, forge_token) {
        (Some(url), Some(token)) => ForgeConfig::Gitea { url, token },
        (Some(_), None) => {
            eprintln!("woodpecker-double: --forge-url needs --forge-token");
            return ExitCode::from(2);
        }
        _ => ForgeConfig::Seeded(file.forge),
    };
    let kind = if matches!(forge, ForgeConfig::Gitea { .. }) {
        "gitea"
    } else {
        "seeded"
    };
    match Double::start(
        Config {
            admin,
            admin_token,
            users,
            forge,
        },
        &listen,
    )
    .await
    {
        Ok(d) => {
            tracing::info!(
                "woodpecker-double listening on {} (forge: {kind}; control API: {}/__double/)",
                d.url(),
                d.url()
            );
            let _ = tokio::signal::ctrl_c().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("woodpecker-double: {e}");
            ExitCode::FAILURE
        }
    }
}
