use std::{future::Future, pin::Pin, sync::Arc};

use async_graphql_value::ObjectMap;
use futures_util::FutureExt;
use indexmap::IndexMap;

use crate::{
    Context, ContextBase, ContextSelectionSet, Error, Name, OutputType, ServerError, ServerResult,
    Value, extensions::ResolveInfo, parser::types::Selection,
};

/// Represents a GraphQL container object.
///
/// This helper trait allows the type to call `resolve_container` on itself in
/// its `OutputType::resolve` implementation.
#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
pub trait ContainerType: OutputType {
    /// This function returns true of type `EmptyMutation` only.
    #[doc(hidden)]
    fn is_empty() -> bool {
        false
    }

    /// Resolves a field value and outputs it as a json value
    /// `async_graphql::Value`.
    ///
    /// If the field was not found returns None.
    #[cfg(feature = "boxed-trait")]
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>>;

    /// Resolves a field value and outputs it as a json value
    /// `async_graphql::Value`.
    ///
    /// If the field was not found returns None.
    #[cfg(not(feature = "boxed-trait"))]
    fn resolve_field(
        &self,
        ctx: &Context<'_>,
    ) -> impl Future<Output = ServerResult<Option<Value>>> + Send;

    /// Resolves a field, and its selection set if it has one, in place,
    /// when its resolver is marked `#[graphql(ready)]`: `None` when it is
    /// not, when it failed, or when it or a field of its selection set
    /// would wait. The field then runs as a future, which calls the
    /// resolver (and its selection set's) again and reports any error where
    /// the executor would; a `ready` resolver may therefore run twice and
    /// must have no side effect that a second run would repeat.
    #[doc(hidden)]
    fn resolve_field_now(&self, _ctx: &Context<'_>) -> Option<Value> {
        None
    }

    /// Collect all the fields of the container that are queried in the
    /// selection set.
    ///
    /// Objects do not have to override this, but interfaces and unions must
    /// call it on their internal type.
    fn collect_all_fields<'a>(
        &'a self,
        ctx: &ContextSelectionSet<'a>,
        fields: &mut Fields<'a>,
    ) -> ServerResult<()>
    where
        Self: Send + Sync,
    {
        fields.add_set(ctx, self)
    }

    /// Find the GraphQL entity with the given name from the parameter.
    ///
    /// Objects should override this in case they are the query root.
    #[cfg(feature = "boxed-trait")]
    async fn find_entity(&self, _: &Context<'_>, _: &Value) -> ServerResult<Option<Value>> {
        Ok(None)
    }

    /// Find the GraphQL entity with the given name from the parameter.
    ///
    /// Objects should override this in case they are the query root.
    #[cfg(not(feature = "boxed-trait"))]
    fn find_entity(
        &self,
        _: &Context<'_>,
        _params: &Value,
    ) -> impl Future<Output = ServerResult<Option<Value>>> + Send {
        async { Ok(None) }
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for &T {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(*self, ctx).await
    }

    fn resolve_field_now(&self, ctx: &Context<'_>) -> Option<Value> {
        T::resolve_field_now(*self, ctx)
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(*self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for Arc<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(self, ctx).await
    }

    fn resolve_field_now(&self, ctx: &Context<'_>) -> Option<Value> {
        T::resolve_field_now(self, ctx)
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for Box<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(self, ctx).await
    }

    fn resolve_field_now(&self, ctx: &Context<'_>) -> Option<Value> {
        T::resolve_field_now(self, ctx)
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType, E: Into<Error> + Send + Sync + Clone> ContainerType for Result<T, E> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        match self {
            Ok(value) => T::resolve_field(value, ctx).await,
            Err(err) => Err(ctx.set_error_path(err.clone().into().into_server_error(ctx.item.pos))),
        }
    }

    fn resolve_field_now(&self, ctx: &Context<'_>) -> Option<Value> {
        T::resolve_field_now(self.as_ref().ok()?, ctx)
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        match self {
            Ok(value) => T::find_entity(value, ctx, params).await,
            Err(err) => Err(ctx.set_error_path(err.clone().into().into_server_error(ctx.item.pos))),
        }
    }
}

/// Resolve an container by executing each of the fields concurrently.
pub async fn resolve_container<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    resolve_container_inner(ctx, root, true).await
}

/// Resolve an container by executing each of the fields serially.
pub async fn resolve_container_serial<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    resolve_container_inner(ctx, root, false).await
}

/// `len`: how many values there are.
pub(crate) fn create_value_object(
    len: usize,
    values: impl IntoIterator<Item = (Name, Value)>,
) -> Value {
    // Sized once: growing the map rehashed every key (2% of a nested query).
    let mut map = IndexMap::with_capacity_and_hasher(len, Default::default());
    for (name, value) in values {
        insert_value(&mut map, name, value);
    }
    Value::Object(map)
}

/// Merges the value of one more selection of an already answered response
/// key. The spec executes all selections of one response key as a single
/// field; this executor runs each copy on its own, so a copy whose
/// sub-selection failed (and was nulled) must null the merged value too, as
/// the single execution would have. Upstream kept the first copy's object.
fn insert_value(target: &mut ObjectMap<Value>, name: Name, value: Value) {
    // One lookup: the key is hashed once (upstream hashed it to look and again to insert).
    match target.entry(name) {
        indexmap::map::Entry::Occupied(mut prev_value) => merge_value(prev_value.get_mut(), value),
        indexmap::map::Entry::Vacant(slot) => {
            slot.insert(value);
        }
    }
}

fn merge_value(prev_value: &mut Value, value: Value) {
    match (prev_value, value) {
        (prev_value, Value::Null) => *prev_value = Value::Null,
        (Value::Object(target_map), Value::Object(obj)) => {
            for (key, value) in obj.into_iter() {
                insert_value(target_map, key, value);
            }
        }
        (Value::List(target_list), Value::List(list)) => {
            for (target, value) in target_list.iter_mut().zip(list) {
                merge_value(target, value);
            }
        }
        _ => {}
    }
}

/// At most how many fields a selection set answers: its fields, and those
/// of its fragments, whether or not they apply (a union's members each
/// select theirs). Sizing the slots for the fields alone grew them, a copy
/// each time, for every object selected through fragments. Fragments
/// within fragments reserve more when they are reached (`Fields::add_set`).
fn slots_needed(ctx: &ContextSelectionSet<'_>) -> usize {
    ctx.item
        .node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => fragment.node.selection_set.node.items.len(),
            Selection::FragmentSpread(spread) => ctx
                .query_env
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| fragment.node.selection_set.node.items.len()),
        })
        .sum()
}

async fn resolve_container_inner<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    parallel: bool,
) -> ServerResult<Value> {
    // The fields' futures are first polled as they are collected, with
    // this task's waker, so that a field that waits is woken like any
    // other (see `Fields::add_set`).
    let waker = if parallel {
        Some(std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await)
    } else {
        None
    };
    // Inside an attempt to answer a field in place (`resolve_field_now`
    // polls with the no-op waker), a field that cannot be answered now ends
    // the attempt: the field will run as its own future, which resolves
    // this object again, so a fallback future here would only run twice
    // (and, at every nested level, double the work below it).
    let attempt = waker.as_ref().is_some_and(is_attempt_waker);
    let mut fields = Fields {
        slots: Vec::with_capacity(slots_needed(ctx)),
        waker,
        attempt,
        abandoned: false,
    };
    fields.add_set(ctx, root)?;
    if fields.abandoned {
        return std::future::pending().await;
    }

    // The fields answered in place keep their slots; the others are
    // awaited (together, or one by one when serial) and fill theirs.
    if parallel {
        // Every pending field was polled once while it was collected,
        // within this same poll of the task: the join's first pass is
        // done. Each later wake polls the fields still pending in order,
        // as `try_join_all` does for a few futures; the first error ends
        // the object.
        let mut first_pass_done = true;
        std::future::poll_fn(|cx| {
            if !std::mem::take(&mut first_pass_done) {
                for slot in &mut fields.slots {
                    if let FieldSlot::Pending(future) = slot {
                        match future.as_mut().poll(cx) {
                            std::task::Poll::Ready(Ok((name, value))) => {
                                *slot = FieldSlot::Ready(name, value);
                            }
                            std::task::Poll::Ready(Err(error)) => {
                                return std::task::Poll::Ready(Err(error));
                            }
                            std::task::Poll::Pending => {}
                        }
                    }
                }
            }
            if fields
                .slots
                .iter()
                .any(|slot| matches!(slot, FieldSlot::Pending(_)))
            {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(Ok(()))
            }
        })
        .await?;
    } else {
        for slot in &mut fields.slots {
            if let FieldSlot::Pending(future) = slot {
                let (name, value) = future.await?;
                *slot = FieldSlot::Ready(name, value);
            }
        }
    }
    let len = fields.slots.len();
    Ok(create_value_object(
        len,
        fields.slots.into_iter().filter_map(|slot| match slot {
            FieldSlot::Ready(name, value) => Some((name, value)),
            FieldSlot::Pending(_) => None,
        }),
    ))
}

/// What an attempt to answer a field in place wakes: nothing, since the
/// attempt is dropped when anything in it would wait. The containers
/// resolved inside an attempt recognise it by this waker (see
/// `resolve_container_inner`).
struct AttemptWake;

impl std::task::Wake for AttemptWake {
    fn wake(self: Arc<Self>) {}

    fn wake_by_ref(self: &Arc<Self>) {}
}

static ATTEMPT_WAKER: std::sync::LazyLock<std::task::Waker> =
    std::sync::LazyLock::new(|| std::task::Waker::from(Arc::new(AttemptWake)));

/// Whether `waker` is the one of an attempt to answer a field in place.
/// (Compared by its data, our own allocation: `Waker::will_wake` compares
/// vtables too, whose addresses may differ between codegen units.)
fn is_attempt_waker(waker: &std::task::Waker) -> bool {
    std::ptr::eq(waker.data(), ATTEMPT_WAKER.data())
}

/// Resolves a field in place with one poll of its resolver's future:
/// `None` when it would wait, failed, or is not the object's.
#[doc(hidden)]
pub fn resolve_field_now(
    future: impl Future<Output = ServerResult<Option<Value>>>,
) -> Option<Value> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(&ATTEMPT_WAKER);
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Ok(value)) => value,
        _ => None,
    }
}

/// A field error stops at the field when its type is nullable: the field
/// reads null and the error is reported (GraphQL spec, "Handling Field
/// Errors"). Upstream caught errors only inside an `Option` value's own
/// sub-selection, so a nullable field whose resolver failed nulled its
/// parent instead, and through non-null parents the whole response.
/// The schema is consulted only when a field failed.
fn null_if_nullable<T: ContainerType + ?Sized>(
    ctx_field: &Context<'_>,
    resolved: ServerResult<Option<Value>>,
) -> ServerResult<Option<Value>> {
    match resolved {
        Err(error) => {
            let nullable = ctx_field
                .schema_env
                .registry
                .types
                .get(T::type_name().as_ref())
                .and_then(|ty| ty.field_by_name(ctx_field.item.node.name.node.as_str()))
                .is_some_and(|field| !field.ty.ends_with('!'));
            if nullable {
                ctx_field.add_error(error);
                Ok(Some(Value::Null))
            } else {
                Err(error)
            }
        }
        resolved => resolved,
    }
}

fn error_count(ctx: &ContextSelectionSet<'_>) -> usize {
    let errors = ctx.query_env.errors.lock();
    errors.unwrap_or_else(std::sync::PoisonError::into_inner).len()
}

fn take_errors_back(ctx: &ContextSelectionSet<'_>, count: usize) {
    let errors = ctx.query_env.errors.lock();
    errors
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .truncate(count);
}

type BoxFieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<(Name, Value)>> + 'a + Send>>;

/// One selected field: answered already, or to be awaited.
enum FieldSlot<'a> {
    Ready(Name, Value),
    Pending(BoxFieldFuture<'a>),
}

/// A set of fields on an container that are being selected.
pub struct Fields<'a> {
    slots: Vec<FieldSlot<'a>>,
    /// The waker of the task resolving the fields, when they run
    /// together: fields are then answered in place where they can be,
    /// and every other field's future is polled once as it is collected.
    /// `None` when fields run serially: each must wait for the one before
    /// it.
    waker: Option<std::task::Waker>,
    /// The fields are resolved inside an attempt to answer their object's
    /// field in place: the first field that cannot be answered now
    /// abandons the set.
    attempt: bool,
    /// A field could not be answered now during an attempt; collecting
    /// stopped there.
    abandoned: bool,
}

impl<'a> Fields<'a> {
    /// Add another set of fields to this set of fields using the given
    /// container.
    pub fn add_set<T: ContainerType + ?Sized>(
        &mut self,
        ctx: &ContextSelectionSet<'a>,
        root: &'a T,
    ) -> ServerResult<()> {
        for selection in &ctx.item.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.name.node == "__typename" {
                        let field_name = field.node.response_key().node.clone();
                        let typename = root.introspection_type_name().into_owned();
                        self.slots
                            .push(FieldSlot::Ready(field_name, Value::String(typename)));
                        continue;
                    }

                    // A field whose resolver needs no waiting is answered
                    // in place, without a future of its own (the boxed
                    // future and its join were most of a leaf's cost), and
                    // so is its sub-selection when nothing in it waits.
                    if self.waker.is_some()
                        && field.node.directives.is_empty()
                        && ctx.query_env.extensions.is_empty()
                    {
                        let ctx_field = ctx.with_field(field);
                        // A sub-selection may report its fields' errors before
                        // a later field turns out to wait; the future that
                        // answers the field instead reports them again, so
                        // the first attempt's are taken back.
                        let errors_before = (!field.node.selection_set.node.items.is_empty())
                            .then(|| error_count(ctx));
                        if let Some(value) = root.resolve_field_now(&ctx_field) {
                            let field_name = field.node.response_key().node.clone();
                            self.slots.push(FieldSlot::Ready(field_name, value));
                            continue;
                        }
                        if let Some(errors_before) = errors_before {
                            take_errors_back(ctx, errors_before);
                        }
                    }
                    if self.attempt && !field.node.selection_set.node.items.is_empty() {
                        // Not answered in place, and its selection set would
                        // run again in a fallback future: the enclosing
                        // attempt ends here instead. (A leaf's fallback
                        // below costs one resolver call, and may answer.)
                        self.abandoned = true;
                        return Ok(());
                    }

                    let resolve_fut = Box::pin({
                        let ctx = ctx.clone();
                        async move {
                            let ctx_field = ctx.with_field(field);
                            let field_name = ctx_field.item.node.response_key().node.clone();
                            let extensions = &ctx.query_env.extensions;

                            if extensions.is_empty() && field.node.directives.is_empty() {
                                let resolved = root.resolve_field(&ctx_field).await;
                                Ok((
                                    field_name,
                                    null_if_nullable::<T>(&ctx_field, resolved)?
                                        .unwrap_or_default(),
                                ))
                            } else {
                                let type_name = T::type_name();
                                let resolve_info = ResolveInfo {
                                    path_node: ctx_field.path_node.as_ref().unwrap(),
                                    parent_type: &type_name,
                                    return_type: match ctx_field
                                        .schema_env
                                        .registry
                                        .types
                                        .get(type_name.as_ref())
                                        .and_then(|ty| {
                                            ty.field_by_name(field.node.name.node.as_str())
                                        })
                                        .map(|field| &field.ty)
                                    {
                                        Some(ty) => &ty,
                                        None => {
                                            return Err(ServerError::new(
                                                format!(
                                                    r#"Cannot query field "{}" on type "{}"."#,
                                                    field_name, type_name
                                                ),
                                                Some(ctx_field.item.pos),
                                            ));
                                        }
                                    },
                                    name: field.node.name.node.as_str(),
                                    alias: field
                                        .node
                                        .alias
                                        .as_ref()
                                        .map(|alias| alias.node.as_str()),
                                    is_for_introspection: ctx_field.is_for_introspection,
                                    field: &field.node,
                                };

                                let resolve_fut = root.resolve_field(&ctx_field);

                                if field.node.directives.is_empty() {
                                    futures_util::pin_mut!(resolve_fut);
                                    let resolved =
                                        extensions.resolve(resolve_info, &mut resolve_fut).await;
                                    Ok((
                                        field_name,
                                        null_if_nullable::<T>(&ctx_field, resolved)?
                                            .unwrap_or_default(),
                                    ))
                                } else {
                                    let mut resolve_fut = resolve_fut.boxed();

                                    for directive in &field.node.directives {
                                        if let Some(directive_factory) = ctx
                                            .schema_env
                                            .custom_directives
                                            .get(directive.node.name.node.as_str())
                                        {
                                            let ctx_directive = ContextBase {
                                                path_node: ctx_field.path_node,
                                                is_for_introspection: false,
                                                item: directive,
                                                schema_env: ctx_field.schema_env,
                                                query_env: ctx_field.query_env,
                                                execute_data: ctx_field.execute_data,
                                            };
                                            let directive_instance = directive_factory
                                                .create(&ctx_directive, &directive.node)?;
                                            resolve_fut = Box::pin({
                                                let ctx_field = ctx_field.clone();
                                                async move {
                                                    directive_instance
                                                        .resolve_field(&ctx_field, &mut resolve_fut)
                                                        .await
                                                }
                                            });
                                        }
                                    }

                                    let resolved =
                                        extensions.resolve(resolve_info, &mut resolve_fut).await;
                                    Ok((
                                        field_name,
                                        null_if_nullable::<T>(&ctx_field, resolved)?
                                            .unwrap_or_default(),
                                    ))
                                }
                            }
                        }
                    });

                    // Polled once now, in document order, as the join's
                    // first pass would: a field answered in place above
                    // must not report its errors before an earlier
                    // field's, and a future that does not wait needs no
                    // join. A field that fails unnullably ends the set
                    // here, as the join would have (later fields never run).
                    let mut resolve_fut = resolve_fut;
                    if let Some(waker) = &self.waker {
                        let mut cx = std::task::Context::from_waker(waker);
                        match resolve_fut.as_mut().poll(&mut cx) {
                            std::task::Poll::Ready(Ok((field_name, value))) => {
                                self.slots.push(FieldSlot::Ready(field_name, value));
                                continue;
                            }
                            std::task::Poll::Ready(Err(error)) => return Err(error),
                            std::task::Poll::Pending if self.attempt => {
                                self.abandoned = true;
                                return Ok(());
                            }
                            std::task::Poll::Pending => {}
                        }
                    }
                    self.slots.push(FieldSlot::Pending(resolve_fut));
                }
                selection => {
                    let (type_condition, selection_set) = match selection {
                        Selection::Field(_) => unreachable!(),
                        Selection::FragmentSpread(spread) => {
                            let fragment =
                                ctx.query_env.fragments.get(&spread.node.fragment_name.node);
                            let fragment = match fragment {
                                Some(fragment) => fragment,
                                None => {
                                    return Err(ServerError::new(
                                        format!(
                                            r#"Unknown fragment "{}"."#,
                                            spread.node.fragment_name.node
                                        ),
                                        Some(spread.pos),
                                    ));
                                }
                            };
                            (
                                Some(&fragment.node.type_condition),
                                &fragment.node.selection_set,
                            )
                        }
                        Selection::InlineFragment(fragment) => (
                            fragment.node.type_condition.as_ref(),
                            &fragment.node.selection_set,
                        ),
                    };
                    let type_condition =
                        type_condition.map(|condition| condition.node.on.node.as_str());

                    let introspection_type_name = root.introspection_type_name();

                    // A fragment applies to an object when its type condition is
                    // the object's type, an interface it implements, or a union it
                    // belongs to (GraphQL spec, DoesFragmentTypeApply). Upstream
                    // only looks at interfaces, so `... on SomeUnion` was dropped
                    // wherever the field's own type was not that union.
                    // The condition's kind is looked up first: a fragment on
                    // another object type (a union's other members) then costs
                    // one lookup, not two SipHash ones.
                    let applies_concrete_object = type_condition.is_some_and(|condition| {
                        let registry = &ctx.schema_env.registry;
                        introspection_type_name == condition
                            || match registry.types.get(condition) {
                                Some(crate::registry::MetaType::Interface { .. }) => registry
                                    .implements
                                    .get(&*introspection_type_name)
                                    .is_some_and(|interfaces| interfaces.contains(condition)),
                                Some(crate::registry::MetaType::Union { possible_types, .. }) => {
                                    possible_types.contains(&*introspection_type_name)
                                }
                                _ => false,
                            }
                    });
                    // Otherwise the fragment applies to an interface type.
                    let applies_to_interface = !applies_concrete_object
                        && type_condition.is_none_or(|condition| T::type_name() == condition);
                    if applies_concrete_object || applies_to_interface {
                        // `slots_needed` counted the fields of the selection
                        // set's own fragments; a fragment nested in one adds
                        // its fields here rather than growing the slots one
                        // by one.
                        self.slots.reserve(selection_set.node.items.len());
                        let ctx_fragment = ctx.with_selection_set(selection_set);
                        if applies_concrete_object {
                            root.collect_all_fields(&ctx_fragment, self)?;
                        } else {
                            self.add_set(&ctx_fragment, root)?;
                        }
                        if self.abandoned {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
