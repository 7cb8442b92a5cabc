//! Who is in a room, shared by every gateway replica through Redis.
//!
//! `stagecast:presence:{event}` is a sorted set of user ids scored by when a replica last vouched
//! for them (ms); `…:profiles` holds their name and avatar. Each replica re-vouches for its
//! connected users every [`REFRESH`]; entries older than [`STALE_AFTER`] are dropped before
//! reading, so users of a replica that died disappear within that time instead of forever.
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::wire::chat::{Author, Presence};

pub const REFRESH: Duration = Duration::from_secs(15);
pub const STALE_AFTER: Duration = Duration::from_secs(45);

fn key(event: &str) -> String {
    format!("stagecast:presence:{event}")
}

fn profiles_key(event: &str) -> String {
    format!("stagecast:presence:{event}:profiles")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn profile_json(a: &Author) -> String {
    serde_json::json!({"display_name": a.display_name, "avatar_url": a.avatar_url, "role": a.role}).to_string()
}

/// Marks `users` present now; returns the viewer count.
pub async fn vouch(redis: &mut ConnectionManager, event: &str, users: &[Author]) -> redis::RedisResult<u32> {
    let now = now_ms();
    let mut pipe = redis::pipe();
    for u in users {
        pipe.zadd(key(event), &u.user_id, now).ignore();
        pipe.hset(profiles_key(event), &u.user_id, profile_json(u)).ignore();
    }
    // Presence of an event nobody visits any more expires by itself.
    pipe.expire(key(event), 3600).ignore().expire(profiles_key(event), 3600).ignore();
    pipe.query_async::<()>(redis).await?;
    count(redis, event).await
}

pub async fn leave(redis: &mut ConnectionManager, event: &str, user_id: &str) -> redis::RedisResult<u32> {
    redis::pipe().zrem(key(event), user_id).ignore().hdel(profiles_key(event), user_id).ignore().query_async::<()>(redis).await?;
    count(redis, event).await
}

pub async fn count(redis: &mut ConnectionManager, event: &str) -> redis::RedisResult<u32> {
    let cutoff = now_ms() - STALE_AFTER.as_millis() as i64;
    let (n,): (u32,) =
        redis::pipe().zrembyscore(key(event), "-inf", cutoff).ignore().zcard(key(event)).query_async(redis).await?;
    Ok(n)
}

/// The viewer count and up to `limit` of the people here, most recently seen first.
pub async fn snapshot(redis: &mut ConnectionManager, event: &str, limit: isize) -> redis::RedisResult<Presence> {
    let viewer_count = count(redis, event).await?;
    let ids: Vec<String> = redis::cmd("ZRANGE").arg(key(event)).arg(0).arg(limit - 1).arg("REV").query_async(redis).await?;
    let mut users = Vec::with_capacity(ids.len());
    if !ids.is_empty() {
        let profiles: Vec<Option<String>> = redis::cmd("HMGET").arg(profiles_key(event)).arg(&ids).query_async(redis).await?;
        for (id, p) in ids.into_iter().zip(profiles) {
            let p: serde_json::Value = p.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default();
            let role = match p["role"].as_str() {
                Some("host") => "host",
                Some("cohost") => "cohost",
                Some("moderator") => "moderator",
                _ => "viewer",
            };
            users.push(Author {
                user_id: id,
                display_name: p["display_name"].as_str().unwrap_or_default().to_owned(),
                avatar_url: p["avatar_url"].as_str().map(str::to_owned),
                role,
            });
        }
    }
    Ok(Presence { viewer_count, users })
}
