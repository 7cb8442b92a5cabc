//! Media token minting: CPU per token for ours (the auth service's `Signer` on `MediaClaims`,
//! an EdDSA JWT the SFU verifies with the public key) against LiveKit's Node server SDK (an HS256
//! JWT, `AccessToken.toJwt()`), in the same run, interleaved round by round. Both in-process:
//! the gRPC hop to the auth service is not counted, nor Node's start-up.
//!
//!   bench/token-mint.sh [tokens per round] [rounds]
//!
//! The ceiling is a bare Ed25519 signature (aws-lc, the library under jsonwebtoken) over a
//! signing input of our tokens' length: what is left for JSON, base64 and jsonwebtoken.
//!
//! The peer runs only when LIVEKIT_MINT names bench/livekit-mint.mjs (the script sets it, after
//! installing the SDK); ours runs either way.
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop right there
use std::{process::Command, time::Instant};

use stagecast_authn::{MEDIA_AUDIENCE, MediaClaims, MediaGrants, Signer};

fn claims(i: usize, now: i64) -> MediaClaims {
    MediaClaims {
        sub: format!("0190f5c2-7d4e-7c3a-9f1e-{i:012}"),
        name: format!("Viewer {i}"),
        avatar: String::new(),
        room: "0190f5c2-7d4e-7c3a-9f1e-3b2a1c0d9e8f".into(),
        grants: MediaGrants { subscribe: true, publish: vec![], hidden: false, ..Default::default() },
        iss: stagecast_authn::ISSUER.into(),
        aud: MEDIA_AUDIENCE.into(),
        iat: now,
        exp: now + 300,
        jti: uuid::Uuid::new_v4().to_string(),
    }
}

/// Tokens per CPU-second, and the average token length.
fn ours(signer: &Signer, n: usize) -> (f64, f64) {
    let now = chrono::Utc::now().timestamp();
    let (c0, t0) = (stagecast_bench::thread_cpu_seconds(None), Instant::now());
    let mut bytes = 0;
    for i in 0..n {
        bytes += signer.sign(&claims(i, now)).len();
    }
    let cpu = (stagecast_bench::thread_cpu_seconds(None) - c0).max(t0.elapsed().as_secs_f64() * 1e-6);
    (n as f64 / cpu, bytes as f64 / n as f64)
}

/// Bare Ed25519 signatures per CPU-second over inputs as long as our signing inputs (the token
/// without its 87-character signature and dot).
fn bare(pair: &aws_lc_rs::signature::Ed25519KeyPair, token_len: usize, n: usize) -> f64 {
    let input = vec![b'e'; token_len.saturating_sub(87).max(1)];
    let (c0, t0) = (stagecast_bench::thread_cpu_seconds(None), Instant::now());
    let mut sink = 0u8;
    for i in 0..n {
        let mut msg = input.clone();
        let at = i % msg.len();
        msg[at] ^= 1;
        sink ^= pair.sign(&msg).as_ref()[0];
    }
    std::hint::black_box(sink);
    let cpu = (stagecast_bench::thread_cpu_seconds(None) - c0).max(t0.elapsed().as_secs_f64() * 1e-6);
    n as f64 / cpu
}

fn livekit(script: &str, n: usize) -> Option<(f64, f64)> {
    let out = Command::new("node").arg(script).arg(n.to_string()).output().ok()?;
    if !out.status.success() {
        eprintln!("livekit round failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((v["per_cpu_s"].as_f64()?, v["avg_len"].as_f64()?))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000).clamp(100, 1_000_000);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5).clamp(1, 20);
    let peer = std::env::var("LIVEKIT_MINT").ok();
    println!("token_mint · {n} media tokens per round · {rounds} rounds · peer: {}", peer.as_deref().unwrap_or("none"));
    let signer = Signer::generate();
    let pair = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    ours(&signer, n / 10); // warm-up
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for r in 1..=rounds {
        let (rate, len) = ours(&signer, n);
        let ceiling = bare(&pair, len as usize, n);
        print!("round {r}: stagecast {rate:.0} tokens per CPU-second ({len:.0} bytes) · bare Ed25519 {ceiling:.0} signatures");
        a.push(rate);
        c.push(ceiling);
        if let Some((rate, len)) = peer.as_deref().and_then(|s| livekit(s, n)) {
            print!(" · livekit-server-sdk {rate:.0} ({len:.0} bytes)");
            b.push(rate);
        }
        println!();
    }
    let ours = stagecast_bench::median(&a);
    let ceiling = stagecast_bench::median(&c);
    print!(
        "median: stagecast {ours:.0} tokens per CPU-second, {:.1} µs each · bare Ed25519 {ceiling:.0}, {:.1} µs · ratio to bare {:.2} (target >= 0.80)",
        1e6 / ours,
        1e6 / ceiling,
        ours / ceiling
    );
    if !b.is_empty() {
        let theirs = stagecast_bench::median(&b);
        print!(" · livekit-server-sdk {theirs:.0}, {:.1} µs each · ratio {:.2} (target >= 1.5)", 1e6 / theirs, ours / theirs);
    }
    println!();
}
