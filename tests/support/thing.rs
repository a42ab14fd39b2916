//! `cicd_test_thing`: a resource that exists only in the test suite, kept in memory, so the
//! protocol and CLI loop can be proved before (and independently of) the real resources.
//! Its store is shared with the test, which can change objects "out of band" to make drift.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::typed::Val;
use tfplugin::value::Type;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stored {
    pub name: String,
    pub note: Option<String>,
    pub tags: BTreeSet<String>,
    pub size: i64,
    pub revision: i64,
    pub secret_written: Option<String>,
}

#[derive(Clone, Default)]
pub struct Store {
    pub objects: Arc<Mutex<BTreeMap<String, Stored>>>,
    next: Arc<Mutex<u64>>,
}

impl Store {
    pub fn get(&self, id: &str) -> Option<Stored> {
        self.objects.lock().unwrap().get(id).cloned()
    }
    pub fn edit(&self, id: &str, f: impl FnOnce(&mut Stored)) {
        if let Some(o) = self.objects.lock().unwrap().get_mut(id) {
            f(o);
        }
    }
    pub fn remove(&self, id: &str) {
        self.objects.lock().unwrap().remove(id);
    }
    pub fn len(&self) -> usize {
        self.objects.lock().unwrap().len()
    }
    fn new_id(&self) -> String {
        let mut n = self.next.lock().unwrap();
        *n += 1;
        format!("thing-{}", *n)
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct State {
    #[serde(default)]
    pub id: Val<String>,
    #[serde(default)]
    pub name: Val<String>,
    #[serde(default)]
    pub note: Val<String>,
    #[serde(default)]
    pub tags: Val<BTreeSet<String>>,
    #[serde(default)]
    pub size: Val<i64>,
    #[serde(default)]
    pub revision: Val<i64>,
    #[serde(default)]
    pub secret: Val<String>,
    #[serde(default)]
    pub secret_wo: Val<String>,
    #[serde(default)]
    pub secret_wo_version: Val<i64>,
    #[serde(default)]
    pub delay_ms: Val<i64>,
}

pub struct Thing {
    pub store: Store,
}

impl Thing {
    fn to_state(&self, id: &str, o: &Stored, base: &State) -> State {
        State {
            id: Val::Known(id.to_string()),
            name: Val::Known(o.name.clone()),
            note: o.note.clone().into(),
            tags: if o.tags.is_empty() && base.tags.is_null() {
                Val::Null
            } else {
                Val::Known(o.tags.clone())
            },
            size: Val::Known(o.size),
            revision: Val::Known(o.revision),
            secret: base.secret.clone(),
            secret_wo: Val::Null,
            secret_wo_version: base.secret_wo_version.clone(),
            delay_ms: base.delay_ms.clone(),
        }
    }

    fn write(&self, id: &str, cfg: &State, planned: &State, revision: i64) -> Stored {
        let o = Stored {
            name: planned.name.known().cloned().unwrap_or_default(),
            note: planned.note.known().cloned(),
            tags: planned.tags.known().cloned().unwrap_or_default(),
            size: planned.size.known().copied().unwrap_or(1),
            revision,
            secret_written: cfg.secret_wo.known().or(cfg.secret.known()).cloned(),
        };
        self.store
            .objects
            .lock()
            .unwrap()
            .insert(id.to_string(), o.clone());
        o
    }
}

#[async_trait]
impl Resource for Thing {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_test_thing"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            1,
            Block::new("A test-only object kept in the test process's memory.")
                .attr(
                    Attribute::string("id")
                        .computed()
                        .keep_prior()
                        .describe("Identifier."),
                )
                .attr(
                    Attribute::string("name")
                        .required()
                        .force_new()
                        .describe("Name; changing it replaces the object."),
                )
                .attr(Attribute::string("note").optional().describe("Free text."))
                .attr(
                    Attribute::new("tags", Type::set(Type::String))
                        .optional()
                        .describe("Tags."),
                )
                .attr(
                    Attribute::number("size")
                        .optional()
                        .computed()
                        .describe("Size; the server picks 1 when unset."),
                )
                .attr(
                    Attribute::number("revision")
                        .computed()
                        .describe("Bumped by every write."),
                )
                .attr(
                    Attribute::string("secret")
                        .optional()
                        .sensitive()
                        .describe("A sensitive value kept in state."),
                )
                .attr(
                    Attribute::string("secret_wo")
                        .optional()
                        .sensitive()
                        .write_only()
                        .describe("A write-only value."),
                )
                .attr(
                    Attribute::number("secret_wo_version")
                        .optional()
                        .describe("Bump to write secret_wo again."),
                )
                .attr(
                    Attribute::number("delay_ms")
                        .optional()
                        .describe("Make create/update take this long (tests StopProvider)."),
                ),
        )
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Val::Known(n) = &c.name {
            if n.is_empty() {
                diags.error_at(
                    AttrPath::root("name"),
                    "Empty name",
                    "name must not be empty.",
                );
            }
        }
        if let Val::Known(t) = &c.tags {
            for tag in t {
                if tag.contains(' ') {
                    diags.error_at(
                        AttrPath::root("tags"),
                        "Invalid tag",
                        format!("tag {tag:?} contains a space."),
                    );
                }
            }
        }
        if c.secret.is_known() && c.secret_wo.is_known() {
            diags.error_at(
                AttrPath::root("secret_wo"),
                "Two value sources",
                "Set secret or secret_wo, not both.",
            );
        }
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        _diags: &mut Diagnostics,
    ) {
        // A new secret_wo_version means a write: the revision will change.
        if let Some(prior) = &req.prior {
            if prior.secret_wo_version != req.config.secret_wo_version {
                plan.state.revision = Val::Unknown;
            }
        }
    }

    async fn create(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<State>,
        _diags: &mut Diagnostics,
    ) -> Option<State> {
        if let Val::Known(ms) = req.config.delay_ms {
            tokio::time::sleep(std::time::Duration::from_millis(ms as u64)).await;
        }
        let _ = cx;
        let id = self.store.new_id();
        let o = self.write(&id, &req.config, &req.planned, 1);
        req.private.set("created_by", &"test");
        Some(self.to_state(&id, &o, &req.planned))
    }

    async fn read(
        &self,
        _cx: &Ctx,
        state: State,
        _private: &mut Private,
        _diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let id = state.id.known()?.clone();
        let Some(o) = self.store.get(&id) else {
            return Some(Read::Gone);
        };
        Some(Read::Found(self.to_state(&id, &o, &state)))
    }

    /// Writes first, then waits `delay_ms` (like a rollout wait); a StopProvider ends the wait
    /// and the update returns what it wrote, with an error.
    async fn update(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let id = req.prior.as_ref()?.id.known()?.clone();
        let Some(prev) = self.store.get(&id) else {
            diags.error("Object vanished", format!("{id} is gone"));
            return None;
        };
        let o = self.write(&id, &req.config, &req.planned, prev.revision + 1);
        if let Val::Known(ms) = req.config.delay_ms {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(ms as u64)) => {}
                _ = cx.cancel.cancelled() => diags.error("Wait cancelled", format!("{id} was written; the wait was interrupted")),
            }
        }
        Some(self.to_state(&id, &o, &req.planned))
    }

    async fn delete(&self, _cx: &Ctx, prior: State, _private: &Private, _diags: &mut Diagnostics) {
        if let Some(id) = prior.id.known() {
            self.store.remove(id);
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        if !id.starts_with("thing-") {
            diags.error(
                "Invalid import id",
                format!("Expected thing-<n>, got: {id}"),
            );
            return None;
        }
        let Some(o) = self.store.get(id) else {
            diags.error("Cannot import", format!("no object {id}"));
            return None;
        };
        Some(self.to_state(id, &o, &State::default()))
    }

    fn upgrade_state(
        &self,
        from: i64,
        raw: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        // Version 0 called `size` "capacity".
        if from == 0 {
            let mut raw = raw;
            if let Some(obj) = raw.as_object_mut() {
                if let Some(c) = obj.remove("capacity") {
                    obj.insert("size".into(), c);
                }
            }
            return Some(raw);
        }
        diags.error("Unsupported version", format!("{from}"));
        None
    }
}
