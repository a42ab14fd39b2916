//! The double's own control API under `/__double/` (double-only: a real Woodpecker has none of
//! it, and the provider never calls it). Tests and the local stack use it to create users and
//! tokens and to change the seeded forge (renames, deletions, rights, pipeline files).
//! No authentication: the double only listens on loopback.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::forge::{ForgeUser, OrgPerm, Perm, SeedForge, SeedRepo};
use crate::model::User;
use crate::server::{new_token, percent_decode, App, Req, Resp};

pub const HELP: &str = "\
GET    /__double/                                         this list
GET    /__double/forge                                    the seeded forge (JSON)
PUT    /__double/forge/users                              add/replace a forge user {login, forge_remote_id, email, avatar_url, admin}
PUT    /__double/forge/repos                              add/replace a forge repository (seed format)
PATCH  /__double/forge/repos/{forge_remote_id}            rename/move/change {owner, name, private, default_branch}
DELETE /__double/forge/repos/{forge_remote_id}            delete the repository on the forge
PUT    /__double/forge/repos/{id}/permissions/{login}     a user's rights {pull, push, admin}
PUT    /__double/forge/repos/{id}/branches/{branch}       create a branch {pipeline_file: bool}
DELETE /__double/forge/repos/{id}/branches/{branch}       delete a branch
PUT    /__double/forge/orgs/{org}/members/{login}         org membership {member, admin}
POST   /__double/login                                    log in through the forge {login} -> {id, login, token}
POST   /__double/users                                    create a Woodpecker user (if missing) and a token {login, admin, email, token} -> {id, login, token}
";

#[derive(Deserialize)]
struct RepoChange {
    owner: Option<String>,
    name: Option<String>,
    private: Option<bool>,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct BranchChange {
    #[serde(default)]
    pipeline_file: bool,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct NewUser {
    login: String,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    email: String,
    token: Option<String>,
}

fn bad(e: impl std::fmt::Display) -> Resp {
    Resp::text(400, &format!("double: {e}"))
}

fn parse<T: for<'a> Deserialize<'a>>(req: &Req) -> Result<T, Resp> {
    serde_json::from_slice(&req.body).map_err(bad)
}

fn seeded<T>(app: &App, f: impl FnOnce(&mut SeedForge) -> Result<T, Resp>) -> Result<T, Resp> {
    app.forge.with_seed(f).unwrap_or_else(|| {
        Err(Resp::text(
            409,
            "double: the forge is a real Gitea/Forgejo here; change it there",
        ))
    })
}

fn ok() -> Resp {
    Resp::empty(204)
}

pub async fn handle(app: &App, req: &Req, rest: &[&str]) -> Result<Resp, Resp> {
    let m = req.method.as_str();
    let rest: Vec<String> = rest.iter().map(|s| percent_decode(s, false)).collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (m, rest.as_slice()) {
        ("GET", [] | [""]) => Ok(Resp::text(200, HELP)),
        ("GET", ["forge"]) => seeded(app, |f| {
            Ok(Resp::json(
                200,
                &serde_json::to_value(&*f).unwrap_or(Value::Null),
            ))
        }),
        ("PUT", ["forge", "users"]) => {
            let u: ForgeUser = parse(req)?;
            seeded(app, |f| {
                f.put_user(u);
                Ok(ok())
            })
        }
        ("PUT", ["forge", "repos"]) => {
            let r: SeedRepo = parse(req)?;
            seeded(app, |f| {
                f.put_repo(r);
                Ok(ok())
            })
        }
        ("PATCH", ["forge", "repos", id]) => {
            let c: RepoChange = parse(req)?;
            seeded(app, |f| {
                if !f.rename(id, c.owner.as_deref(), c.name.as_deref()) {
                    return Err(Resp::empty(404));
                }
                let r = f.find_mut(id).ok_or_else(|| Resp::empty(404))?;
                if let Some(p) = c.private {
                    r.repo.private = p;
                }
                if let Some(b) = c.default_branch {
                    if !r.branches.contains(&b) {
                        r.branches.push(b.clone());
                    }
                    r.repo.default_branch = b;
                }
                Ok(ok())
            })
        }
        ("DELETE", ["forge", "repos", id]) => seeded(app, |f| {
            let before = f.repos.len();
            f.repos.retain(|r| r.repo.forge_remote_id != *id);
            if f.repos.len() == before {
                Err(Resp::empty(404))
            } else {
                Ok(ok())
            }
        }),
        ("PUT", ["forge", "repos", id, "permissions", login]) => {
            let p: Perm = parse(req)?;
            seeded(app, |f| {
                let r = f.find_mut(id).ok_or_else(|| Resp::empty(404))?;
                r.permissions.insert(login.to_string(), p);
                Ok(ok())
            })
        }
        ("PUT", ["forge", "repos", id, "branches", branch @ ..]) if !branch.is_empty() => {
            let c: BranchChange = if req.body.is_empty() {
                BranchChange {
                    pipeline_file: false,
                }
            } else {
                parse(req)?
            };
            let branch = branch.join("/");
            seeded(app, |f| {
                let r = f.find_mut(id).ok_or_else(|| Resp::empty(404))?;
                if !r.branches.contains(&branch) {
                    r.branches.push(branch.clone());
                }
                r.pipeline_branches.retain(|b| *b != branch);
                if c.pipeline_file {
                    r.pipeline_branches.push(branch);
                }
                Ok(ok())
            })
        }
        ("DELETE", ["forge", "repos", id, "branches", branch @ ..]) if !branch.is_empty() => {
            let branch = branch.join("/");
            seeded(app, |f| {
                let r = f.find_mut(id).ok_or_else(|| Resp::empty(404))?;
                r.branches.retain(|b| *b != branch);
                r.pipeline_branches.retain(|b| *b != branch);
                Ok(ok())
            })
        }
        ("PUT", ["forge", "orgs", org, "members", login]) => {
            let p: OrgPerm = parse(req)?;
            seeded(app, |f| {
                f.orgs
                    .entry(org.to_string())
                    .or_default()
                    .insert(login.to_string(), p);
                Ok(ok())
            })
        }
        ("POST", ["login"]) => {
            let l: Login = parse(req)?;
            let fu = app
                .forge
                .user(&l.login)
                .await
                .map_err(|e| Resp::text(502, &format!("double: {e}")))?
                .ok_or_else(|| Resp::text(404, &format!("double: no forge user {}", l.login)))?;
            let token = new_token();
            let out = app.with_state(|st| {
                let id = match st.find_user_mut(&fu.login) {
                    Some(u) => {
                        // A login refreshes what the forge owns.
                        u.forge_remote_id = fu.forge_remote_id.clone();
                        u.avatar_url = fu.avatar_url.clone();
                        if !fu.email.is_empty() {
                            u.email = fu.email.clone();
                        }
                        u.id
                    }
                    None => st
                        .create_user(User {
                            login: fu.login.clone(),
                            email: fu.email.clone(),
                            avatar_url: fu.avatar_url.clone(),
                            forge_remote_id: fu.forge_remote_id.clone(),
                            ..User::default()
                        })
                        .map(|u| u.id)
                        .unwrap_or(0),
                };
                st.add_token(&token, id);
                json!({"id": id, "login": fu.login, "token": token})
            });
            Ok(Resp::json(200, &out))
        }
        ("POST", ["users"]) => {
            let n: NewUser = parse(req)?;
            if n.login.is_empty() {
                return Err(bad("login is required"));
            }
            let token = n.token.clone().unwrap_or_else(new_token);
            let out = app.with_state(|st| {
                let id = match st.find_user_mut(&n.login) {
                    Some(u) => u.id,
                    None => st
                        .create_user(User {
                            login: n.login.clone(),
                            email: n.email.clone(),
                            forge_remote_id: "0".into(),
                            admin: n.admin,
                            ..User::default()
                        })
                        .map(|u| u.id)
                        .unwrap_or(0),
                };
                st.add_token(&token, id);
                json!({"id": id, "login": n.login, "token": token})
            });
            Ok(Resp::json(200, &out))
        }
        _ => Ok(Resp::text(
            404,
            "double: no such control endpoint; GET /__double/ lists them",
        )),
    }
}
