//! GraphiQL at `GET /`, served entirely from the binary.
//!
//! The gateway runs on machines without internet access, so the explorer
//! cannot load React or GraphiQL from a CDN the way async-graphql's stock
//! `GraphiQLSource` page does (offline, that page stays blank). Instead the
//! UMD builds vendored under `assets/graphiql/` (see its README for versions
//! and how to refresh them) are compiled in with `include_bytes!` and served
//! under `/graphiql/`. The page names no remote URL, and its
//! Content-Security-Policy forbids loading anything from another origin, so a
//! stray remote reference fails loudly in the browser test instead of
//! silently needing the internet.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Routes for the explorer: `GET /` and `GET /graphiql/{file}`.
///
/// Stateless, so it merges into a router of any state type.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(page))
        .route("/graphiql/{file}", get(asset))
}

/// Cache-busting tag appended to the vendored asset URLs: the first 8 hex
/// digits of the SHA-256 of the vendored files (in [`VENDORED`] order). A
/// unit test recomputes it, so refreshing the assets without changing the tag
/// fails the tests rather than leaving browsers on year-old cached copies.
macro_rules! asset_tag {
    () => {
        "768f1140"
    };
}

/// Vendored files are immutable for a given tag: cache them for a year.
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";
/// The page and its boot script change with the binary, not with the tag.
const PAGE_CACHE: &str = "no-cache";

/// Everything the page may load comes from this origin; `data:` covers the
/// fonts inlined in GraphiQL's stylesheet. Styles stay `unsafe-inline`
/// because CodeMirror and GraphiQL set inline styles at run time.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// The third-party files, byte for byte as published on npm.
const VENDORED: &[Asset] = &[
    Asset {
        name: "react.production.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        body: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "graphql-ws.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("../assets/graphiql/graphql-ws.min.js"),
    },
];

/// Our own script: a separate file rather than inline, so the policy can keep
/// `script-src 'self'` without `'unsafe-inline'`.
const BOOT_SCRIPT_NAME: &str = "sessiongraph.js";

const PAGE: &str = concat!(
    r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sessiongraph · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/graphiql/graphiql.min.css?v="#,
    asset_tag!(),
    r#"">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript. The GraphQL endpoint is <code>/graphql</code>.</noscript>
<script src="/graphiql/react.production.min.js?v="#,
    asset_tag!(),
    r#""></script>
<script src="/graphiql/react-dom.production.min.js?v="#,
    asset_tag!(),
    r#""></script>
<script src="/graphiql/graphiql.min.js?v="#,
    asset_tag!(),
    r#""></script>
<script src="/graphiql/graphql-ws.min.js?v="#,
    asset_tag!(),
    r#""></script>
<script src="/graphiql/sessiongraph.js"></script>
</body>
</html>
"#
);

/// Mounts GraphiQL on `/graphql`. The default query is what a first-time
/// visitor sees (GraphiQL keeps the last edited query in local storage after
/// that); it exercises the union and its type-specific relations.
const BOOT_SCRIPT: &str = r#"(function () {
  'use strict';
  var defaultQuery = [
    '# Run: the play button or Ctrl-Enter.',
    '# Docs: the book icon, top left.',
    'query RecentSessions {',
    '  sessions(zoneId: "zone_001", first: 5) {',
    '    totalCount',
    '    nodes {',
    '      __typename',
    '      ... on UserSession {',
    '        id',
    '        status',
    '        user { email }',
    '      }',
    '      ... on ApplicationSession {',
    '        id',
    '        status',
    '        application { name }',
    '      }',
    '    }',
    '  }',
    '}',
    ''
  ].join('\n');
  // Subscriptions run over a socket to the same /graphql; its
  // connection_init carries the Authorization of GraphiQL's headers tab.
  var wsClient = graphqlWs.createClient({
    url: location.protocol.replace('http', 'ws') + '//' + location.host + '/graphql',
    lazy: true,
    connectionParams: function () {
      try {
        var headers = JSON.parse(localStorage.getItem('graphiql:headers') || '{}');
        var authorization = headers.Authorization || headers.authorization;
        return authorization ? { Authorization: authorization } : {};
      } catch (error) {
        return {};
      }
    }
  });
  var fetcher = GraphiQL.createFetcher({ url: '/graphql', wsClient: wsClient });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true
    })
  );
})();
"#;

async fn page() -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, PAGE_CACHE),
        ],
        PAGE,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn asset(Path(file): Path<String>) -> Response {
    if file == BOOT_SCRIPT_NAME {
        return file_response(JAVASCRIPT, PAGE_CACHE, BOOT_SCRIPT.as_bytes());
    }
    match VENDORED.iter().find(|asset| asset.name == file) {
        Some(asset) => file_response(asset.content_type, ASSET_CACHE, asset.body),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn file_response(content_type: &'static str, cache: &'static str, body: &'static [u8]) -> Response {
    let headers: [(HeaderName, &'static str); 3] = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, cache),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn asset_tag_matches_the_vendored_files() {
        let mut hasher = Sha256::new();
        for asset in VENDORED {
            hasher.update(asset.body);
        }
        let digest = hasher.finalize();
        let tag: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            tag,
            asset_tag!(),
            "assets/graphiql changed: set asset_tag!() in src/graphiql.rs to {tag}"
        );
    }

    #[test]
    fn the_page_and_boot_script_name_no_remote_url() {
        for text in [PAGE, BOOT_SCRIPT] {
            let lower = text.to_ascii_lowercase();
            assert!(!lower.contains("http:"), "{text}");
            assert!(!lower.contains("https:"), "{text}");
            assert!(!lower.contains("//cdn"), "{text}");
            assert!(!lower.contains("src=\"//"), "{text}");
            assert!(!lower.contains("href=\"//"), "{text}");
        }
    }

    #[test]
    fn every_script_and_stylesheet_on_the_page_is_served() {
        let referenced: Vec<&str> = PAGE
            .split("/graphiql/")
            .skip(1)
            .map(|rest| rest.split(['?', '"']).next().unwrap_or_default())
            .collect();
        assert_eq!(referenced.len(), VENDORED.len() + 1, "{referenced:?}");
        for name in referenced {
            assert!(
                name == BOOT_SCRIPT_NAME || VENDORED.iter().any(|asset| asset.name == name),
                "{name} is referenced but not served"
            );
        }
    }
}
