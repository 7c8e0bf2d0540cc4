//! sessiongraph: not an upstream test. Fields whose resolvers are marked
//! `#[graphql(ready)]` are answered in place, with their selection sets,
//! without a future of their own (`ContainerType::resolve_field_now`,
//! ../PATCHES.md). Every
//! document here answers the same through an object whose fields are
//! marked and through the same object unmarked: data, errors and their
//! paths, in the same order.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use async_graphql::*;

/// How many times each resolver ran.
#[derive(Default)]
struct Calls {
    count: AtomicUsize,
    waits: AtomicUsize,
}

macro_rules! leaf_object {
    ($name:ident, $child:ident $(, $ready:meta)?) => {
        struct $name;

        #[Object]
        impl $name {
            $(#[graphql($ready)])?
            async fn id(&self) -> ID {
                ID("the-id".to_owned())
            }

            $(#[graphql($ready)])?
            async fn count(&self, ctx: &Context<'_>) -> i32 {
                ctx.data_unchecked::<Arc<Calls>>().count.fetch_add(1, Ordering::SeqCst);
                7
            }

            $(#[graphql($ready)])?
            async fn scaled(&self, by: i32) -> i32 {
                7 * by
            }

            $(#[graphql($ready)])?
            async fn maybe(&self) -> Option<String> {
                None
            }

            $(#[graphql($ready)])?
            async fn failing(&self) -> Result<i32> {
                Err("it failed".into())
            }

            $(#[graphql($ready)])?
            async fn failing_nullable(&self) -> Result<Option<i32>> {
                Err("it failed too".into())
            }

            $(#[graphql($ready)])?
            async fn list(&self) -> Vec<Option<i32>> {
                vec![Some(1), None, Some(3)]
            }

            /// Marked ready, but it waits: it is answered by its future.
            $(#[graphql($ready)])?
            async fn waits(&self, ctx: &Context<'_>) -> i32 {
                ctx.data_unchecked::<Arc<Calls>>().waits.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                8
            }

            async fn slow(&self) -> i32 {
                tokio::task::yield_now().await;
                9
            }

            /// Waits on a timer: not ready on a second poll either (a
            /// yield is).
            async fn sleeps(&self) -> i32 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                10
            }

            /// Marked ready: answered in place with its selection set,
            /// unless something in the selection set waits.
            $(#[graphql($ready)])?
            async fn child(&self) -> $child {
                $child
            }

            $(#[graphql($ready)])?
            async fn maybe_child(&self) -> Option<$child> {
                Some($child)
            }
        }
    };
}

leaf_object!(ReadyChild, ReadyChild, ready);
leaf_object!(ReadyObject, ReadyChild, ready);
leaf_object!(PlainChild, PlainChild);
leaf_object!(PlainObject, PlainChild);

struct Query;

#[Object]
impl Query {
    async fn ready(&self) -> Option<ReadyObject> {
        Some(ReadyObject)
    }

    async fn plain(&self) -> Option<PlainObject> {
        Some(PlainObject)
    }
}

fn schema(calls: Arc<Calls>) -> Schema<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(calls)
        .finish()
}

/// The answer to `{ <root> <selection> }` (fragments after the
/// selection's ` fragment `), as JSON with the type names and the root's
/// name made neutral. `$two` and `$yes` are declared where used.
async fn answer(root: &str, selection: &str) -> String {
    let (selection, fragments) = match selection.split_once(" fragment ") {
        Some((selection, fragments)) => (selection, format!("fragment {fragments}")),
        None => (selection, String::new()),
    };
    let mut variables = Vec::new();
    if selection.contains("$two") {
        variables.push("$two: Int = 2");
    }
    if selection.contains("$yes") {
        variables.push("$yes: Boolean = true");
    }
    let variables = if variables.is_empty() {
        String::new()
    } else {
        format!("({})", variables.join(", "))
    };
    let query = format!("query{variables} {{ {root} {selection} }} {fragments}");
    let response = schema(Arc::default()).execute(Request::new(query)).await;
    assert!(
        response.errors.iter().all(|error| !error.path.is_empty()),
        "the document is valid: {:?}",
        response.errors
    );
    serde_json::to_string(&response)
        .expect("serialises")
        .replace("Ready", "Plain")
        .replace("\"ready\"", "\"plain\"")
}

#[tokio::test]
pub async fn ready_fields_answer_as_their_futures_do() {
    let selections = [
        "{ id count maybe list slow waits }",
        "{ a: count b: count count id __typename scaled(by: 3) again: scaled(by: $two) }",
        "{ failingNullable count child { failingNullable id } }",
        "{ failing count }",
        "{ count child { failing id } slow }",
        "{ ... { count } ... @include(if: true) { id } maybe }",
        "{ count @skip(if: true) id @include(if: $yes) maybe @include(if: false) }",
        "{ child { child { id count waits __typename } } id }",
        "{ waits again: waits id }",
        "{ ...F } fragment F on PlainObject { id count }",
        // Selection sets answered in place, and ones that wait or fail
        // after an error was reported in them.
        "{ child { id count maybeChild { list } } maybeChild { id } }",
        "{ child { failingNullable waits id } count }",
        "{ maybeChild { failingNullable child { failingNullable slow } } }",
        "{ maybeChild { failingNullable failing } id }",
        "{ child { failingNullable maybeChild { failing } } }",
        "{ child { child { child { failingNullable } } } failingNullable }",
        "{ a: maybeChild { slow } b: maybeChild { id } a: maybeChild { failingNullable } }",
        "{ failingNullable maybeChild { sleeps failingNullable } child { failingNullable } }",
        "{ child { child { maybeChild { failingNullable sleeps } failingNullable } } maybeChild { ... on PlainChild { child { sleeps } } } }",
    ];
    for selection in selections {
        let plain = answer("plain", selection).await;
        // A fragment's type condition names the object it is on.
        let ready = answer("ready", &selection.replace("PlainObject", "ReadyObject").replace("PlainChild", "ReadyChild")).await;
        assert_eq!(ready, plain, "{selection}");
    }
}

#[tokio::test]
pub async fn a_ready_field_runs_once_unless_it_waits() {
    let calls = Arc::new(Calls::default());
    let response = schema(calls.clone())
        .execute("{ ready { count waits } }")
        .await;
    assert_eq!(
        response.data,
        value!({ "ready": { "count": 7, "waits": 8 } })
    );
    assert_eq!(calls.count.load(Ordering::SeqCst), 1);
    // Polled once in place, found waiting, then run by its future.
    assert_eq!(calls.waits.load(Ordering::SeqCst), 2);

    // A selection set answered in place runs its fields once; one that
    // waits runs again as the field's future.
    let calls = Arc::new(Calls::default());
    let response = schema(calls.clone())
        .execute("{ ready { child { count } maybeChild { count sleeps } } }")
        .await;
    assert_eq!(
        response.data,
        value!({ "ready": { "child": { "count": 7 }, "maybeChild": { "count": 7, "sleeps": 10 } } })
    );
    assert_eq!(calls.count.load(Ordering::SeqCst), 3);

    // Ready fields nested in ready fields, with a wait at the bottom: each
    // level's attempt ends at the first field that cannot be answered,
    // rather than running a fallback inside the attempt, so the bottom
    // object runs once per level above it plus once for real (a fallback
    // inside each attempt ran it 2^levels times).
    let calls = Arc::new(Calls::default());
    let response = schema(calls.clone())
        .execute("{ ready { child { child { child { count sleeps } } } } }")
        .await;
    assert_eq!(
        response.data,
        value!({ "ready": { "child": { "child": { "child": { "count": 7, "sleeps": 10 } } } } })
    );
    assert_eq!(calls.count.load(Ordering::SeqCst), 4);
}

#[tokio::test]
pub async fn ready_mutation_fields_still_run_in_order() {
    #[derive(Default)]
    struct Log(Mutex<Vec<i32>>);

    struct Mutation;

    #[Object]
    impl Mutation {
        #[graphql(ready)]
        async fn append(&self, ctx: &Context<'_>, value: i32) -> i32 {
            let log = ctx.data_unchecked::<Arc<Log>>();
            log.0.lock().unwrap().push(value);
            value
        }

        async fn append_later(&self, ctx: &Context<'_>, value: i32) -> i32 {
            tokio::task::yield_now().await;
            let log = ctx.data_unchecked::<Arc<Log>>();
            log.0.lock().unwrap().push(value);
            value
        }
    }

    let log = Arc::new(Log::default());
    let schema = Schema::build(Query, Mutation, EmptySubscription)
        .data(log.clone())
        .finish();
    let response = schema
        .execute("mutation { a: append(value: 1) b: appendLater(value: 2) c: append(value: 3) }")
        .await;
    assert_eq!(response.data, value!({ "a": 1, "b": 2, "c": 3 }));
    assert_eq!(*log.0.lock().unwrap(), vec![1, 2, 3]);
}
