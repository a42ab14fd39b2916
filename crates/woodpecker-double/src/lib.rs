//! A stateful double of the Woodpecker CI server API (3.17), for tests only; never shipped.
//!
//! It keeps users, repositories, secrets, registries and crons in memory and answers like the
//! real server does in the recordings under `recordings/` (status codes, plain-text errors,
//! JSON shapes, paging, the quirks). A forge is only needed to know which repositories exist
//! and who may use them: either seeded in memory ([`forge::SeedForge`]) or read from a
//! Gitea/Forgejo server ([`forge::GiteaForge`]). The control API under `/__double/` (see
//! [`control::HELP`]) creates users and tokens and changes the seeded forge.

pub mod control;
pub mod forge;
pub mod model;
pub mod schedule;
pub mod server;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

use forge::{Forge, ForgeUser, GiteaForge, SeedForge};
use model::User;
use server::{percent_decode, App, Req, State};

/// The Woodpecker admin (the user named in the server's admin setting).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AdminSeed {
    pub login: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub avatar_url: String,
    #[serde(default)]
    pub forge_remote_id: String,
}

/// Another user, with a token (e.g. a non-admin for permission tests).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UserSeed {
    pub login: String,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub email: String,
    pub token: String,
}

/// Where repositories come from.
pub enum ForgeConfig {
    Seeded(SeedForge),
    Gitea { url: String, token: String },
}

/// Everything a double starts with.
pub struct Config {
    /// `None` with a Gitea forge: the forge token's user becomes the admin.
    pub admin: Option<AdminSeed>,
    pub admin_token: String,
    pub users: Vec<UserSeed>,
    pub forge: ForgeConfig,
}

/// The seed file format of the binary (`--seed FILE`).
#[derive(Debug, Default, Deserialize)]
pub struct SeedFile {
    pub admin: Option<AdminSeed>,
    #[serde(default)]
    pub users: Vec<UserSeed>,
    #[serde(default)]
    pub forge: SeedForge,
}

/// A running double.
pub struct Double {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    task: tokio::task::JoinHandle<()>,
}

impl Double {
    /// Starts a double on `listen` (use `127.0.0.1:0` for a free port).
    pub async fn start(config: Config, listen: &str) -> std::io::Result<Double> {
        let app = Arc::new(build(config).await?);
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let a = app.clone();
        let task = tokio::spawn(async move { serve(listener, a).await });
        Ok(Double { addr, app, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn build(config: Config) -> std::io::Result<App> {
    let (forge, admin) = match config.forge {
        ForgeConfig::Seeded(f) => {
            let admin = config.admin.clone().unwrap_or(AdminSeed {
                login: "admin".into(),
                ..AdminSeed::default()
            });
            (Forge::seeded(f), admin)
        }
        ForgeConfig::Gitea { url, token } => {
            let g = GiteaForge::new(&url, &token);
            let admin = match config.admin.clone() {
                Some(a) => a,
                None => {
                    let u = g
                        .token_user()
                        .await
                        .map_err(|e| std::io::Error::other(e.to_string()))?;
                    AdminSeed {
                        login: u.login,
                        email: u.email,
                        avatar_url: u.avatar_url,
                        forge_remote_id: u.forge_remote_id,
                    }
                }
            };
            (Forge::Gitea(g), admin)
        }
    };
    // The admin exists on the forge too (a seeded forge gets it as a forge admin when missing).
    forge.with_seed(|f| {
        if !f
            .users
            .iter()
            .any(|u| u.login.eq_ignore_ascii_case(&admin.login))
        {
            f.put_user(ForgeUser {
                login: admin.login.clone(),
                forge_remote_id: admin.forge_remote_id.clone(),
                email: admin.email.clone(),
                avatar_url: admin.avatar_url.clone(),
                admin: true,
            });
        }
    });
    let mut st = State::default();
    let a = st
        .create_user(User {
            login: admin.login.clone(),
            email: admin.email.clone(),
            avatar_url: admin.avatar_url.clone(),
            forge_remote_id: admin.forge_remote_id.clone(),
            admin: true,
            admin_env: true,
            ..User::default()
        })
        .ok_or_else(|| std::io::Error::other("duplicate admin"))?;
    st.add_token(&config.admin_token, a.id);
    for u in config.users {
        let id = match st.create_user(User {
            login: u.login.clone(),
            email: u.email.clone(),
            forge_remote_id: "0".into(),
            admin: u.admin,
            ..User::default()
        }) {
            Some(x) => x.id,
            None => return Err(std::io::Error::other(format!("duplicate user {}", u.login))),
        };
        st.add_token(&u.token, id);
    }
    Ok(App::new(st, forge))
}

/// Serves HTTP/1.1 on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<Incoming>| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(respond(&app, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn respond(app: &App, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let path = parts.uri.path();
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect();
    let auth = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = auth
        .and_then(|a| {
            a.split_once(' ')
                .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim().to_string())
        })
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.clone())
        });
    let method = parts.method.as_str().to_string();
    tracing::debug!(%method, path, "request");
    let r = app
        .handle(Req {
            method,
            segs,
            query,
            token,
            body,
        })
        .await;
    let mut resp = hyper::Response::new(Full::new(Bytes::from(r.body)));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ct) = r.content_type {
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(ct),
        );
    }
    resp
}
