//! Browser apps on other origins (`--cors-origin`): the CORS answers of
//! `/graphql`, and the origin check of its WebSocket upgrades and event
//! streams.
//!
//! Written here rather than with tower-http's `CorsLayer`, whose answers
//! differ from the contract in ways its settings cannot change: it answers
//! every `OPTIONS` 200 (a preflight here is 204), sends its method, header
//! and expose lists to origins it does not allow (a disallowed origin gets
//! no CORS header at all), and allows either a list of origins with
//! credentials or `*` without, never listed origins with credentials beside
//! `*` for the rest.

use std::sync::Arc;

use axum::extract::{Extension, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::admission::{Refusal, RefusalKind};
use crate::graphql::errors::RequestId;

/// What a preflight may ask for: the methods `/graphql` serves.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST");
/// The request headers a browser app may send: credentials and content
/// type, the request id and the W3C trace context a frontend propagates
/// (OpenTelemetry's web propagators send `baggage` beside `traceparent`),
/// Apollo's client identification, and the consistency a client asks for.
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "accept, authorization, content-type, x-request-id, traceparent, tracestate, baggage, \
     apollographql-client-name, apollographql-client-version, sessiongraph-consistency",
);
/// The response headers a page's script may read besides the safelisted
/// ones: the id to quote in a bug report, and what the answer was read at.
const EXPOSE_HEADERS: HeaderValue =
    HeaderValue::from_static("x-request-id, sessiongraph-consistency");
/// Two hours, Chromium's ceiling: one preflight per origin and header set
/// that long, instead of one before every POST.
const MAX_AGE: HeaderValue = HeaderValue::from_static("7200");

/// The origins allowed to call `/graphql` from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    /// Serialized as browsers send `Origin`: lowercase, no default port,
    /// no trailing slash.
    listed: Vec<String>,
    /// `*` was configured: any other origin may call, without credentials.
    any: bool,
}

/// How an origin may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// Listed: its own origin echoed, with credentials.
    Listed,
    /// Not listed, but `*` is configured: `*`, which browsers never combine
    /// with credentials.
    Any,
}

impl CorsPolicy {
    /// The policy of `--cors-origin`'s values, or `None` when there are none
    /// (no CORS at all); an entry that is not an origin is an error, so a
    /// typo fails at start instead of refusing the app it was meant for.
    pub fn from_origins<S: AsRef<str>>(origins: &[S]) -> anyhow::Result<Option<Self>> {
        let mut policy = CorsPolicy {
            listed: Vec::new(),
            any: false,
        };
        for origin in origins.iter().map(|o| o.as_ref().trim()) {
            match origin {
                "" => {}
                "*" => policy.any = true,
                origin => {
                    let origin = serialize(origin).map_err(|why| {
                        anyhow::anyhow!(
                            "--cors-origin {origin:?} is not an origin ({why}): give scheme, host and \
                             port only, like https://app.example.com or http://localhost:3000, or *"
                        )
                    })?;
                    if !policy.listed.contains(&origin) {
                        policy.listed.push(origin);
                    }
                }
            }
        }
        Ok((policy.any || !policy.listed.is_empty()).then_some(policy))
    }

    fn grant(&self, origin: &HeaderValue) -> Option<Grant> {
        let origin = origin.as_bytes();
        if self
            .listed
            .iter()
            .any(|listed| listed.as_bytes().eq_ignore_ascii_case(origin))
        {
            Some(Grant::Listed)
        } else if self.any {
            Some(Grant::Any)
        } else {
            None
        }
    }
}

/// An origin as browsers serialize it, or why it is not one.
fn serialize(origin: &str) -> Result<String, &'static str> {
    // `null` is what sandboxed frames and `file:` pages send: any page can
    // claim it, so listing it would allow everyone with credentials.
    if origin.eq_ignore_ascii_case("null") {
        return Err("`null` is sent by sandboxed and local pages, which anyone can make");
    }
    let uri: Uri = origin.parse().map_err(|_| "not a URL")?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err("no scheme or host");
    };
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err("an origin has no path or query");
    }
    if authority.as_str().contains('@') {
        return Err("an origin has no user name or password");
    }
    let scheme = scheme.to_ascii_lowercase();
    let mut host = authority.as_str().to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        _ => None,
    };
    if let Some(port) = default_port
        && host.ends_with(port)
    {
        host.truncate(host.len() - port.len());
    }
    Ok(format!("{scheme}://{host}"))
}

/// The layer around `/graphql` (every method, so preflights reach it).
pub async fn guard(
    State(policy): State<Arc<CorsPolicy>>,
    Extension(request_id): Extension<RequestId>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).cloned();
    let grant = origin.as_ref().and_then(|origin| policy.grant(origin));
    let preflight = request.method() == Method::OPTIONS
        && origin.is_some()
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        match (&origin, grant) {
            (Some(origin), Some(grant)) => {
                // The same lists whatever method and headers were asked
                // for: a browser whose request needs more refuses it
                // itself and names what was missing, which tells the
                // app's developer more than any status could.
                let mut response = StatusCode::NO_CONTENT.into_response();
                let answer = response.headers_mut();
                allow(answer, origin, grant);
                answer.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
                answer.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
                answer.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
                response
            }
            // 403 without CORS headers: the browser blocks the request for
            // want of them, and anyone reading the answer by hand (curl, a
            // proxy's log) sees that the origin, not the request, is refused.
            _ => crate::http::refuse(headers, &request_id, origin_refused(origin.as_ref())),
        }
    } else if origin
        .as_ref()
        .is_some_and(|origin| grant.is_none() && opens_stream(headers) && !own(origin, headers))
    {
        // A socket is not covered by CORS: the browser opens it for any page
        // and lets the page read it, so the origin is checked here. An event
        // stream is, but an `EventSource` GET needs no preflight, so the
        // browser would only hide a subscription that runs and holds a
        // stream for as long as the page stays open.
        crate::http::refuse(headers, &request_id, origin_refused(origin.as_ref()))
    } else {
        // A refused origin's request still runs: CORS keeps its answer from
        // the page, and a browser sends nothing that could write (a JSON
        // POST) without the preflight this layer refused.
        let mut response = next.run(request).await;
        if let (Some(origin), Some(grant)) = (&origin, grant) {
            let answer = response.headers_mut();
            allow(answer, origin, grant);
            answer.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
        }
        response
    };
    // Every answer here depends on `Origin` (it got CORS headers or was
    // refused for want of them), so a cache must key it by `Origin`.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    response
}

fn allow(answer: &mut HeaderMap, origin: &HeaderValue, grant: Grant) {
    match grant {
        Grant::Listed => {
            answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            answer.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        Grant::Any => {
            answer.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
}

fn origin_refused(origin: Option<&HeaderValue>) -> Refusal {
    let origin = origin
        .and_then(|origin| origin.to_str().ok())
        .unwrap_or("(unreadable)");
    Refusal::new(
        RefusalKind::OriginNotAllowed,
        format!(
            "pages from {origin:?} may not call /graphql: the server allows the origins given to --cors-origin"
        ),
    )
}

/// A WebSocket upgrade, or a request for an event stream.
fn opens_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|upgrade| upgrade.as_bytes().eq_ignore_ascii_case(b"websocket"))
        || crate::http::asks_for_event_stream(headers)
}

/// Whether `origin` is the server's own: the scheme and `Host` the request
/// reached it at, as for the GraphiQL page at `/`, which opens its socket
/// from there.
fn own(origin: &HeaderValue, headers: &HeaderMap) -> bool {
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    if !authority.eq_ignore_ascii_case(host) {
        return false;
    }
    // The process itself only speaks plain HTTP, but a proxy in front may
    // have ended TLS: its `X-Forwarded-Proto` says which scheme the page
    // used; without one, either is this host's own page.
    match headers
        .get("x-forwarded-proto")
        .and_then(|proto| proto.to_str().ok())
        .and_then(|proto| proto.split(',').next())
    {
        Some(proto) => scheme.eq_ignore_ascii_case(proto.trim()),
        None => scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_as_browsers_send_them() {
        let policy = CorsPolicy::from_origins(&[
            "https://App.example.com/",
            "http://localhost:3000",
            "http://localhost:80",
            "",
        ])
        .expect("valid origins")
        .expect("a policy");
        assert_eq!(
            policy.listed,
            [
                "https://app.example.com",
                "http://localhost:3000",
                "http://localhost"
            ]
        );
        assert!(!policy.any);
        let header = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(
            policy.grant(&header("https://app.example.com")),
            Some(Grant::Listed)
        );
        assert_eq!(policy.grant(&header("https://evil.example.com")), None);
        assert_eq!(policy.grant(&header("null")), None);
    }

    #[test]
    fn no_origins_is_no_policy_and_a_typo_fails() {
        assert_eq!(CorsPolicy::from_origins::<&str>(&[]).expect("empty"), None);
        assert_eq!(CorsPolicy::from_origins(&[" "]).expect("blank"), None);
        for bad in [
            "localhost:3000",
            "app.example.com",
            "https://app.example.com/path",
            "https://user@app.example.com",
            "null",
            "https://",
        ] {
            assert!(CorsPolicy::from_origins(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_star_allows_the_rest_without_credentials() {
        let policy = CorsPolicy::from_origins(&["*", "https://app.example.com"])
            .expect("valid")
            .expect("a policy");
        assert_eq!(
            policy.grant(&HeaderValue::from_static("https://app.example.com")),
            Some(Grant::Listed)
        );
        assert_eq!(
            policy.grant(&HeaderValue::from_static("https://other.example")),
            Some(Grant::Any)
        );
    }

    #[test]
    fn the_own_origin_is_the_host_it_was_reached_at() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("gw.example:8000"));
        let origin = |s: &'static str| HeaderValue::from_static(s);
        assert!(own(&origin("http://gw.example:8000"), &headers));
        assert!(own(&origin("https://GW.example:8000"), &headers));
        assert!(!own(&origin("http://gw.example"), &headers));
        assert!(!own(&origin("http://evil.example:8000"), &headers));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(own(&origin("https://gw.example:8000"), &headers));
        assert!(!own(&origin("http://gw.example:8000"), &headers));
    }
}
