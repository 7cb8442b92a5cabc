//! Which API-key scope each route needs. A signed-in person's access token may call every route
//! (the services then check their role); an API key may call a route only if it holds the
//! scope this table names. Routes not named here are refused to keys (`session_required`):
//! a new route is closed to keys until it is given a scope.
use axum::http::Method;
use stagecast_authn::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Scope(Scope),
    /// Only a signed-in person (managing API keys, for one: a leaked key must not mint more).
    Session,
}

/// The scope a request needs; `path` is the full request path (with `/api/v1`).
pub fn need(method: &Method, path: &str) -> Need {
    let Some(rest) = path.strip_prefix("/api/v1") else { return Need::Session };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let read = *method == Method::GET || *method == Method::HEAD;
    let rw = |r: Scope, w: Scope| Need::Scope(if read { r } else { w });
    match segments.as_slice() {
        // Before the profile's: these are about recordings.
        ["me", "recording-settings"] => rw(Scope::RecordingsRead, Scope::RecordingsWrite),
        ["me", ..] => rw(Scope::ProfileRead, Scope::ProfileWrite),
        ["webhooks", ..] => Need::Scope(Scope::WebhooksManage),
        ["destinations", ..] | ["events", _, "destinations", ..] => Need::Scope(Scope::BroadcastsManage),
        ["recordings", ..] | ["events", _, "recordings", ..] | ["events", _, "recording-settings"] => {
            rw(Scope::RecordingsRead, Scope::RecordingsWrite)
        }
        ["events", _, "media-token"] => Need::Scope(Scope::TokensMint),
        ["events", _, "live"] => Need::Scope(Scope::ChatRead),
        ["events", _, "chat", "messages"] => rw(Scope::ChatRead, Scope::ChatWrite),
        ["events", _, "chat", "replay"] => Need::Scope(Scope::ChatRead),
        ["events", _, "chat", ..] => Need::Scope(Scope::ChatModerate),
        ["events", ..] => rw(Scope::EventsRead, Scope::EventsWrite),
        _ => Need::Session,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_family_needs_its_scope_and_writes_need_the_write_scope() {
        let get = Method::GET;
        let post = Method::POST;
        let table: &[(&Method, &str, Need)] = &[
            (&get, "/api/v1/me", Need::Scope(Scope::ProfileRead)),
            (&Method::PATCH, "/api/v1/me", Need::Scope(Scope::ProfileWrite)),
            (&Method::PUT, "/api/v1/me/avatar", Need::Scope(Scope::ProfileWrite)),
            (&get, "/api/v1/events", Need::Scope(Scope::EventsRead)),
            (&post, "/api/v1/events", Need::Scope(Scope::EventsWrite)),
            (&get, "/api/v1/events/e1/stage", Need::Scope(Scope::EventsRead)),
            (&post, "/api/v1/events/e1/go-live", Need::Scope(Scope::EventsWrite)),
            (&Method::PUT, "/api/v1/events/e1/stage/roles/u1", Need::Scope(Scope::EventsWrite)),
            (&post, "/api/v1/events/e1/kick", Need::Scope(Scope::EventsWrite)),
            (&post, "/api/v1/events/e1/media-token", Need::Scope(Scope::TokensMint)),
            (&get, "/api/v1/events/e1/live", Need::Scope(Scope::ChatRead)),
            (&get, "/api/v1/events/e1/chat/messages", Need::Scope(Scope::ChatRead)),
            (&post, "/api/v1/events/e1/chat/messages", Need::Scope(Scope::ChatWrite)),
            (&get, "/api/v1/events/e1/chat/replay", Need::Scope(Scope::ChatRead)),
            (&Method::DELETE, "/api/v1/events/e1/chat/messages/m1", Need::Scope(Scope::ChatModerate)),
            (&post, "/api/v1/events/e1/chat/bans", Need::Scope(Scope::ChatModerate)),
            (&get, "/api/v1/events/e1/chat/audit", Need::Scope(Scope::ChatModerate)),
            (&get, "/api/v1/events/e1/chat/standing", Need::Scope(Scope::ChatModerate)),
            (&get, "/api/v1/recordings", Need::Scope(Scope::RecordingsRead)),
            (&Method::DELETE, "/api/v1/recordings/r1", Need::Scope(Scope::RecordingsWrite)),
            (&post, "/api/v1/events/e1/recordings", Need::Scope(Scope::RecordingsWrite)),
            (&Method::PUT, "/api/v1/events/e1/recording-settings", Need::Scope(Scope::RecordingsWrite)),
            (&get, "/api/v1/me/recording-settings", Need::Scope(Scope::RecordingsRead)),
            (&Method::PUT, "/api/v1/me/recording-settings", Need::Scope(Scope::RecordingsWrite)),
            (&get, "/api/v1/destinations", Need::Scope(Scope::BroadcastsManage)),
            (&post, "/api/v1/events/e1/destinations/d1/start", Need::Scope(Scope::BroadcastsManage)),
            (&get, "/api/v1/webhooks", Need::Scope(Scope::WebhooksManage)),
            (&post, "/api/v1/api-keys", Need::Session),
            (&get, "/api/v1/api-keys", Need::Session),
            (&post, "/api/v1/auth/logout", Need::Session),
            (&get, "/api/v1/something-new", Need::Session),
            (&get, "/healthz", Need::Session),
        ];
        for (method, path, want) in table {
            assert_eq!(need(method, path), *want, "{method} {path}");
        }
    }
}
