//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers and their body types
//! (utoipa): each handler's `#[utoipa::path]` names its statuses and problem codes, each body type
//! derives its schema from the Rust type the server (de)serialises. What every secured operation
//! shares is added here once, from the same code that enforces it: the API-key scope
//! (`x-required-scope`, from [`crate::access::need`]), the token refusals (401), the scope
//! refusals (403), the key's rate limit (429) and the outage answer (503).
//!
//! `services/gateway/openapi.json` is this document, written by
//! `cargo run -p stagecast-gateway --bin openapi`; a test fails when it is out of date, and the
//! web client is generated from it.
use axum::http::Method;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        self, RefOr, Response,
        extensions::Extensions,
        header::HeaderBuilder,
        path::Operation,
        response::ResponseBuilder,
        schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, Type},
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

use crate::access::{self, Need};

/// An RFC 9457 problem document: the body of every error (one schema with the SFU's document).
pub use stagecast_kit::problem::ProblemSchema as Problem;

/// Raw bytes in a response or request body (a video segment, an MP4, a JPEG): a binary string,
/// not a JSON array of numbers.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(openapi::SchemaFormat::KnownFormat(openapi::KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

const DESCRIPTION: &str = "Public REST API of the stagecast gateway, generated from the gateway's code. Errors are \
RFC 9457 problem documents (application/problem+json) with a stable machine-readable `code`; see docs/api.md. Secured \
operations take an access token or an API key, both as `Authorization: Bearer <token>` (see the `bearer` security \
scheme); `x-required-scope` on an operation names the API-key scope it needs (operations without it cannot be called \
with a key: 403 `session_required`). Any operation may answer 503 (`components/responses/Unavailable`): \
`database_unavailable` with `Retry-After: 5` while a service's database cannot be reached, `unavailable` while a \
service cannot be. Readiness is `GET /readyz`, outside `/api/v1`: 200 when ready, 503 `{status: not_ready, checks}` \
with `checks` naming which of auth, events, chat and redis is not `ok`.";

const BEARER: &str = "Either an access token (a JWT from sign-up, log-in, refresh or a guest link) or an API key \
(`sck_` and 43 more characters, made with `POST /api-keys`), both sent as `Authorization: Bearer <token>`; where a \
browser cannot set headers (the live socket, recording playback) `?access_token=<token>` works for access tokens (never \
for keys: 401 `api_key_in_url`). An access token may call every secured operation; the services then check the caller's \
role in the event. An API key acts as the person who made it, but only on operations whose `x-required-scope` it holds \
(a write scope includes its read scope: events:write gives events:read; chat:write and chat:moderate give chat:read; \
recordings:write gives recordings:read; profile:write gives profile:read); other operations answer 403 \
`insufficient_scope`, and operations without `x-required-scope` 403 `session_required`. Refusals of a key: 401 \
`api_key_invalid`, `api_key_revoked`, `api_key_expired`; 429 `rate_limited` with Retry-After beyond \
API_KEY_REQUESTS_PER_MINUTE (default 600 a minute per key). Refusals of an access token: 401 `missing_token`, \
`token_invalid`, `token_expired` (refresh it), `token_revoked` (the session was signed out). A guest session's token \
works for its one event only (elsewhere 403 `guest_session_scope`).";

#[derive(OpenApi)]
#[openapi(
    info(title = "stagecast API", version = "1.0.0", description = DESCRIPTION),
    servers((url = "/api/v1")),
    components(schemas(Problem)),
    modifiers(&Shared)
)]
pub struct ApiDoc;

/// What every operation shares, added after the handlers' own paths are in.
struct Shared;

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            openapi::ContentBuilder::new().schema(Some(openapi::Ref::from_schema_name("Problem"))).build(),
        )
        .build()
        .into()
}

impl Modify for Shared {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http({
                let mut h = Http::new(HttpAuthScheme::Bearer);
                h.bearer_format = Some("JWT (EdDSA; keys at /.well-known/jwks.json) or API key (sck_...)".into());
                h.description = Some(BEARER.into());
                h
            }),
        );
        let retry_after = HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
            .description(Some("Seconds to wait before retrying"))
            .build();
        let unavailable = ResponseBuilder::new()
            .description(
                "A dependency is down; retry later. `database_unavailable`: a service's database cannot be reached \
                 (answered within about a second; nothing was changed; `Retry-After: 5`); `unavailable`: a backend \
                 service cannot be reached; `storage_unavailable`: the object store.",
            )
            .header("Retry-After", retry_after.clone())
            .content(
                "application/problem+json",
                openapi::ContentBuilder::new().schema(Some(openapi::Ref::from_schema_name("Problem"))).build(),
            )
            .build();
        components.responses.insert("Unavailable".into(), unavailable.into());
    }
}

fn methods(item: &mut openapi::PathItem) -> Vec<(Method, &mut Operation)> {
    let mut out = Vec::new();
    for (m, op) in [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
    ] {
        if let Some(op) = op {
            out.push((m, op));
        }
    }
    out
}

/// A rule across a body's fields: at least one of `fields` is given, and not null (each with
/// its type, since null is what leaves a field as it is).
fn at_least_one_of(fields: &[(&str, Type)]) -> Schema {
    let names: Vec<String> = fields.iter().map(|(name, _)| format!("`{name}`")).collect();
    let mut any = AnyOfBuilder::new().description(Some(format!("At least one of {}, not null.", names.join(" and "))));
    for (name, ty) in fields {
        any = any.item(ObjectBuilder::new().required(*name).property(*name, ObjectBuilder::new().schema_type(ty.clone())));
    }
    any.into()
}

/// `POST /destinations`: the broadcast service's "a custom destination needs its server URL"
/// (a blank `server_url` takes the platform's ingest, and `custom` has none).
fn custom_destination_needs_server_url() -> Schema {
    AnyOfBuilder::new()
        .description(Some("`custom` needs a `server_url` that is not blank."))
        .item(ObjectBuilder::new().property(
            "platform",
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["youtube", "twitch", "facebook"])),
        ))
        .item(ObjectBuilder::new().required("server_url").property(
            "server_url",
            ObjectBuilder::new().schema_type(Type::String).pattern(Some(concat!(
                "[^",
                stagecast_kit::pattern_white_space!(),
                "]"
            ))),
        ))
        .into()
}

/// Rules across a body's fields, which the derive cannot state, by component; each is enforced
/// where its operation's 422 says. The component becomes `allOf: [its fields, the rule]`.
fn cross_field_rules() -> Vec<(&'static str, Schema)> {
    vec![
        // PATCH /me: the auth service's `nothing_to_update`.
        ("ProfilePatch", at_least_one_of(&[("display_name", Type::String), ("avatar_url", Type::String)])),
        // PUT /events/{id}/chat/settings: `nothing_to_update` (routes/chat.rs).
        ("ChatSettings", at_least_one_of(&[("slow_mode_secs", Type::Integer), ("blocked_terms", Type::Array)])),
        ("CreateDestination", custom_destination_needs_server_url()),
    ]
}

/// Adds what every operation shares (see the module docs). Run on the merged document, once
/// every handler's path is in.
pub fn finish(doc: &mut openapi::OpenApi) {
    if let Some(components) = doc.components.as_mut() {
        for (name, rule) in cross_field_rules() {
            if let Some(fields) = components.schemas.remove(name) {
                components.schemas.insert(name.to_owned(), AllOfBuilder::new().item(fields).item(rule).into());
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let full = format!("/api/v1{path}");
        for (method, op) in methods(item) {
            let responses = &mut op.responses.responses;
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            if secured {
                responses.entry("401".into()).or_insert_with(|| {
                    problem("No valid credentials: `missing_token`, `token_invalid`, `token_expired`, `token_revoked`, `api_key_invalid`, `api_key_revoked`, `api_key_expired`, `api_key_in_url`")
                });
                let scope = match access::need(&method, &full) {
                    Need::Scope(s) => {
                        let mut ext = op.extensions.take().unwrap_or_default();
                        ext.merge(
                            [("x-required-scope", serde_json::Value::from(s.as_str()))].into_iter().collect::<Extensions>(),
                        );
                        op.extensions = Some(ext);
                        format!("an API key without `{s}`: `insufficient_scope`")
                    }
                    Need::Session => "an API key: `session_required` (this operation needs a signed-in person)".to_owned(),
                };
                let refusal = format!("Called with {scope}; a guest session outside its event: `guest_session_scope`");
                match responses.get_mut("403") {
                    Some(RefOr::T(r)) => r.description = format!("{} Also: {refusal}.", r.description),
                    _ => {
                        responses.insert("403".into(), problem(&format!("{refusal}.")));
                    }
                }
                responses
                    .entry("429".into())
                    .or_insert_with(|| problem("`rate_limited`: the API key went beyond its requests a minute; see Retry-After"));
            }
            if matches!(&op.request_body, Some(RefOr::T(b)) if b.content.contains_key("application/json")) {
                responses.entry("400".into()).or_insert_with(|| problem("`malformed_json`: the body is not valid JSON"));
                responses.entry("413".into()).or_insert_with(|| problem("`body_too_large`: the body is over 64 KiB"));
                responses.entry("415".into()).or_insert_with(|| {
                    problem("`unsupported_media_type`: send the body as JSON with Content-Type: application/json")
                });
            }
            // The document itself is built in the gateway: nothing it needs can be down.
            if path != "/openapi.json" {
                responses.entry("503".into()).or_insert_with(|| RefOr::Ref(openapi::Ref::from_response_name("Unavailable")));
            }
        }
    }
}

/// The whole document, as served and as checked in.
pub fn document() -> openapi::OpenApi {
    let (_, mut doc) = crate::routes::api_router().split_for_parts();
    finish(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    /// The web client is generated from the checked-in file, so it must be what the code says.
    #[test]
    fn the_checked_in_document_is_the_one_the_code_generates() {
        let generated: serde_json::Value = serde_json::from_str(&super::document().to_json().unwrap()).unwrap();
        let checked_in: serde_json::Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
        assert!(
            generated == checked_in,
            "services/gateway/openapi.json is out of date: run \
             `cargo run -q -p stagecast-gateway --bin openapi > services/gateway/openapi.json`, then `npm run gen:api` in web/"
        );
    }

    fn generated() -> serde_json::Value {
        serde_json::from_str(&super::document().to_json().unwrap()).unwrap()
    }

    #[test]
    fn every_cross_field_rule_is_on_its_component() {
        let doc = generated();
        for (name, _) in super::cross_field_rules() {
            assert!(doc["components"]["schemas"][name]["allOf"].is_array(), "{name} has no rule");
        }
    }

    #[test]
    fn the_documented_cursor_and_replay_offset_are_the_services_own() {
        let doc = generated();
        let param = |path: &str, name: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .map(|p| p["schema"].clone())
                .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"))
        };
        // Empty (the first page) or a cursor of the events service's form.
        let cursor = stagecast_events::domain::Cursor::PATTERN;
        let inner = cursor.strip_prefix('^').and_then(|p| p.strip_suffix('$')).unwrap();
        assert_eq!(param("/events", "cursor")["pattern"], format!("^(?:{inner})?$"));
        let max = param("/events/{id}/chat/replay", "from_offset_ms")["maximum"].as_i64().unwrap();
        use stagecast_chat_moderation::domain::ReplayOffset;
        assert!(ReplayOffset::parse(max).is_ok() && ReplayOffset::parse(max + 1).is_err());
    }

    #[test]
    fn every_operation_has_a_unique_id_and_every_reference_resolves() {
        let doc: serde_json::Value = serde_json::from_str(&super::document().to_json().unwrap()).unwrap();
        let mut ids = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            }
        }
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"").skip(1) {
            let target = &r[..r.find('"').unwrap()];
            let mut node = &doc;
            for part in target.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            assert!(!node.is_null(), "{target} does not resolve");
        }
    }
}
