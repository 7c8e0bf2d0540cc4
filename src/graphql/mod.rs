//! The GraphQL schema of SPEC §1, as a library: built once per process,
//! executed per request with a fresh [`RequestState`].

pub mod connection;
pub mod context;
pub mod enums;
pub mod errors;
pub mod loader;
pub mod mutation;
pub mod pagination;
pub mod query;
pub mod scalars;
pub mod session_lists;
pub mod sql;
pub mod types;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    EmptySubscription, Response, Schema, ServerError, ServerResult, ValidationResult, Variables,
};
use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

pub use context::RequestState;
use errors::{Code, RequestId};
use loader::Loader;
use mutation::Mutation;
use query::Query;

pub type SessionGraphSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build_schema(db: Option<DatabaseConnection>) -> SessionGraphSchema {
    let mut builder = Schema::build(Query, Mutation, EmptySubscription).extension(ErrorCodes);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The schema in SDL, as `sessiongraph schema` prints it.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// Runs one request with its own loader, so batches never span requests.
///
/// Batching is driven by the executor, not a timer: a batch is loaded once
/// the request future has nothing left to do but wait, which is when every
/// sibling resolver of a level has queued its key. A time window
/// (async-graphql's default is 1 ms) would add latency to every level and
/// still split batches whenever resolving a level takes longer than it.
pub async fn execute(
    schema: &SessionGraphSchema,
    db: DatabaseConnection,
    request: async_graphql::Request,
    request_id: RequestId,
) -> Response {
    let idle = Arc::new(watch::channel(0u64).0);
    let spawner_idle = idle.clone();
    let load_when_idle = move |load: BoxFuture<'static, ()>| {
        let mut became_idle = spawner_idle.subscribe();
        tokio::spawn(async move {
            // An error means the request finished: nothing more will queue.
            let _ = became_idle.changed().await;
            load.await;
        });
    };
    let now = Utc::now();
    let state = RequestState {
        loader: DataLoader::new(Loader { db, now }, load_when_idle).delay(Duration::ZERO),
        request_id,
        now,
    };
    UntilIdle {
        inner: Box::pin(schema.execute(request.data(state))),
        idle,
    }
    .await
}

/// Wraps the request future and announces each time it goes idle: it
/// returned `Pending` without having woken itself. (Combinators such as
/// `FuturesUnordered` yield with a self-wake after a few polls, which is
/// not idle: more resolvers are about to queue keys.)
struct UntilIdle<F> {
    inner: Pin<Box<F>>,
    idle: Arc<watch::Sender<u64>>,
}

struct WakeFlag {
    waker: Waker,
    woken: AtomicBool,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, AtomicOrdering::Release);
        self.waker.wake_by_ref();
    }
}

impl<F: Future> Future for UntilIdle<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let flag = Arc::new(WakeFlag {
            waker: cx.waker().clone(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(flag.clone());
        let result = self
            .inner
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker));
        if result.is_pending() && !flag.woken.load(AtomicOrdering::Acquire) {
            self.idle
                .send_modify(|count| *count = count.wrapping_add(1));
        }
        result
    }
}

/// Gives every error leaving the schema its SPEC §2 code.
struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

fn with_code(mut error: ServerError, code: Code) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, Code::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, Code::GraphqlValidationFailed))
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        // Resolvers code their own errors; what is left without one is an
        // argument the engine could not coerce.
        response.errors = response
            .errors
            .into_iter()
            .map(|e| with_code(e, Code::BadUserInput))
            .collect();
        response
    }
}
