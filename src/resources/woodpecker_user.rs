//! `cicd_woodpecker_user`: one Woodpecker user account, created by an admin before the person
//! first logs in through the forge (Woodpecker then links the account by login).
//!
//! Endpoints: `GET /api/users` (refresh: one list per run), `POST /api/users`, `GET` / `DELETE
//! /api/users/{login}`. Import id: the login.
//!
//! Decisions:
//! - **Every setting forces replacement.** Woodpecker 3.17.0 answers `PATCH /api/users/{login}`
//!   with a zeroed user and does not apply the change (recorded), so an in-place update could
//!   never be proven by the read that must follow it. Replacing deletes the account and creates
//!   it again; the person keeps their forge login and is linked again at the next login.
//! - `admin` is what the API says: a user made admin by the server's `WOODPECKER_ADMIN` setting
//!   reads as admin whatever the configuration says; the plan then shows that difference.

use crate::clients::woodpecker::{User, UserWrite, WoodpeckerError};
use crate::provider::ProviderData;
use async_trait::async_trait;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Private, Read, Resource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::validate::regex;
use tfplugin::value::Value;

tfplugin::state! {
    /// State of `cicd_woodpecker_user`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct State / StateAttrs {
        /// Login, as on the forge (the person logs in through the forge with it).
        login: Val<String> = string().required().force_new()
            .validate(regex(r"^[A-Za-z0-9_.-]+$", "a forge login (letters, digits, `_`, `.`, `-`)")),
        /// E-mail address.
        email: Val<String> = string().optional().computed().force_new().keep_prior(),
        /// Avatar URL (the forge's avatar is used when empty).
        avatar_url: Val<String> = string().optional().computed().force_new().keep_prior(),
        /// Woodpecker instance admin (default false).
        admin: Val<bool> = bool().optional().computed().force_new().default_value(Value::Bool(false)),
        /// Woodpecker's numeric id of the user.
        user_id: Val<i64> = number().computed().keep_prior(),
        /// The login (the import id).
        id: Val<String> = string().computed().keep_prior(),
    }
}

pub struct WoodpeckerUser {
    data: ProviderData,
}

impl WoodpeckerUser {
    pub fn new(data: ProviderData) -> Self {
        WoodpeckerUser { data }
    }
}

#[async_trait]
impl Resource for WoodpeckerUser {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_user"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            State::block(
                "A Woodpecker CI user account (admin token needed). Woodpecker cannot change a user in place \
                 (3.17 ignores updates), so a changed setting replaces the account. Import with the login.",
            ),
        )
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let wp = self.data.woodpecker(diags)?;
        let p = &req.planned;
        let login = p.login.known()?.clone();
        let write = UserWrite {
            login: login.clone(),
            email: p.email.known().cloned().unwrap_or_default(),
            admin: p.admin.known().copied().unwrap_or(false),
            avatar_url: p.avatar_url.known().cloned().unwrap_or_default(),
        };
        match wp.create_user(&write).await {
            Ok(u) => Some(state_of(&u)),
            Err(e) if e.is_duplicate() => {
                diags.error_at(
                    AttrPath::root(State::ATTR.login),
                    format!("Woodpecker user {login} already exists"),
                    format!("Import it instead: terraform import <address> {login}"),
                );
                None
            }
            Err(e) => {
                diags.error(
                    format!("Could not create Woodpecker user {login}"),
                    e.to_string(),
                );
                None
            }
        }
    }

    async fn read(
        &self,
        _cx: &Ctx,
        st: State,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let wp = self.data.woodpecker(diags)?;
        let Some(login) = st.login.known().or(st.id.known()).cloned() else {
            diags.error(
                "Woodpecker user without a login in state",
                "Remove it from the state and import it by login.",
            );
            return None;
        };
        match wp.users_cached().await {
            Ok(all) => Some(
                match all.iter().find(|u| u.login.eq_ignore_ascii_case(&login)) {
                    Some(u) => Read::Found(state_of(u)),
                    None => Read::Gone,
                },
            ),
            Err(e) => {
                diags.error(
                    format!("Could not read Woodpecker user {login}"),
                    e.to_string(),
                );
                None
            }
        }
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        _diags: &mut Diagnostics,
    ) -> Option<State> {
        // Every setting forces replacement: only computed values can differ here.
        req.prior.clone()
    }

    async fn delete(&self, _cx: &Ctx, st: State, _private: &Private, diags: &mut Diagnostics) {
        let Some(wp) = self.data.woodpecker(diags) else {
            return;
        };
        let login = st.login.known().cloned().unwrap_or_default();
        if let Err(e) = wp.delete_user(&login).await {
            diags.error(
                format!("Could not delete Woodpecker user {login}"),
                e.to_string(),
            );
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let id = id.trim();
        if id.is_empty() || id.contains('/') {
            diags.error(
                "Invalid import id",
                format!("Expected a Woodpecker login, got: {id:?}"),
            );
            return None;
        }
        Some(State {
            login: Val::Known(id.to_string()),
            id: Val::Known(id.to_string()),
            ..State::default()
        })
    }
}

fn state_of(u: &User) -> State {
    State {
        login: Val::Known(u.login.clone()),
        email: Val::Known(u.email.clone()),
        avatar_url: Val::Known(u.avatar_url.clone()),
        admin: Val::Known(u.admin),
        user_id: Val::Known(u.id),
        id: Val::Known(u.login.clone()),
    }
}
