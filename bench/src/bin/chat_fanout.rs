//! Chat fan-out load generator.
//!
//! Opens N WebSocket connections to one room, M senders publishing R messages per second in
//! total for S seconds, and reports delivered messages per CPU-second of the system under test
//! (the processes named by `--pids`), p50/p99 delivery latency (the send time travels inside each
//! message) and RSS per idle connection. The same load runs against stagecast
//! (`--target stagecast`: gateway WebSockets, messages through the chat service) or against
//! nats-server's WebSocket listener (`--target nats`: the peer). Every loop is bounded.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stagecast_bench::{Latencies, cpu_seconds, now_micros, rss_bytes};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Debug)]
struct Args {
    target: String,
    url: String,
    connections: usize,
    senders: usize,
    rate: u64,
    seconds: u64,
    pids: Vec<u32>,
    /// Every k-th receiving connection parses timestamps; the others only count frames, so the
    /// generator's own CPU does not cap the measurement.
    sample_every: usize,
    /// Messages sent to the room before the receivers connect (stagecast only), so each
    /// receiver's `hello` carries that much history, as in a room that has been talking.
    prefill: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        target: "stagecast".into(),
        url: "http://127.0.0.1:8080".into(),
        connections: 200,
        senders: 2,
        rate: 200,
        seconds: 10,
        pids: Vec::new(),
        sample_every: 10,
        prefill: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--target" => a.target = v,
            "--url" => a.url = v,
            "--connections" => a.connections = v.parse()?,
            "--senders" => a.senders = v.parse()?,
            "--rate" => a.rate = v.parse()?,
            "--seconds" => a.seconds = v.parse::<u64>()?.min(600),
            "--pids" => a.pids = v.split(',').filter(|s| !s.is_empty()).map(str::parse).collect::<Result<_, _>>()?,
            "--sample-every" => a.sample_every = v.parse::<usize>()?.max(1),
            "--prefill" => a.prefill = v.parse::<usize>()?.min(1000),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    anyhow::ensure!(a.senders >= 1 && a.connections >= 1 && a.rate >= 1, "connections, senders and rate must be at least 1");
    Ok(a)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Counters {
    delivered: AtomicU64,
    latencies: Mutex<Latencies>,
}

fn cpu_of(pids: &[u32]) -> f64 {
    pids.iter().map(|p| cpu_seconds(*p).unwrap_or(0.0)).sum()
}

fn rss_of(pids: &[u32]) -> u64 {
    pids.iter().map(|p| rss_bytes(*p).unwrap_or(0)).sum()
}

// ---- stagecast -------------------------------------------------------------------------------

async fn stagecast_setup(api: &str) -> anyhow::Result<(String, String, String)> {
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for name in ["bench-host", "bench-viewer"] {
        let email = format!("{name}-{}@bench.example", uuid::Uuid::new_v4().simple());
        let r: Value = http
            .post(format!("{api}/api/v1/auth/signup"))
            .json(&json!({"email": email, "password": "benchmark password", "display_name": name}))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(r["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("signup failed: {r}"))?.to_owned());
    }
    let starts_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let ev: Value = http
        .post(format!("{api}/api/v1/events"))
        .bearer_auth(&tokens[0])
        .json(&json!({"title": "fan-out benchmark", "starts_at": starts_at}))
        .send()
        .await?
        .json()
        .await?;
    let event = ev["id"].as_str().ok_or_else(|| anyhow::anyhow!("create event failed: {ev}"))?.to_owned();
    Ok((event, tokens.remove(0), tokens.remove(0)))
}

async fn stagecast_connect(api: &str, event: &str, token: &str) -> anyhow::Result<Ws> {
    let url = format!("{}/api/v1/events/{event}/live?access_token={token}", api.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    // Wait for hello so the connection is registered in its room before load starts.
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await? {
        if let Message::Text(t) = frame?
            && t.contains("\"hello\"")
        {
            return Ok(ws);
        }
    }
    anyhow::bail!("socket closed before hello")
}

/// Sends `n` messages of typical length as the host, each acknowledged before the next.
async fn prefill(api: &str, event: &str, host: &str, n: usize) -> anyhow::Result<()> {
    let mut ws = stagecast_connect(api, event, host).await?;
    for i in 0..n {
        let text = format!("history {i}: {}", "a typical chat line of some length ".repeat(3));
        let id = uuid::Uuid::new_v4().simple().to_string();
        ws.send(Message::text(json!({"type": "chat.send", "client_msg_id": id, "text": text}).to_string())).await?;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await? {
                Some(Ok(Message::Text(t))) if t.contains("\"chat.ack\"") || t.contains("\"error\"") => break,
                Some(Ok(_)) => {}
                other => anyhow::bail!("prefill socket ended: {other:?}"),
            }
        }
    }
    let _ = ws.close(None).await;
    // The persister stores in batches; the history the receivers get comes from storage.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

// ---- nats-server (peer) ----------------------------------------------------------------------

const SUBJECT: &str = "bench.room";

async fn nats_connect(url: &str) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.send(Message::text(format!("CONNECT {{\"verbose\":false,\"pedantic\":false}}\r\nSUB {SUBJECT} 1\r\nPING\r\n"))).await?;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await? {
        let data = match frame? {
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Binary(b) => b.to_vec(),
            _ => continue,
        };
        if String::from_utf8_lossy(&data).contains("PONG") {
            return Ok(ws);
        }
    }
    anyhow::bail!("nats websocket closed before PONG")
}

/// Payloads (send timestamps) in a chunk of NATS protocol text; answers server PINGs.
fn nats_payloads(chunk: &str, out: &mut Vec<u64>) -> (usize, bool) {
    let mut msgs = 0;
    let mut ping = false;
    let mut lines = chunk.split("\r\n");
    while let Some(line) = lines.next() {
        if line.starts_with("MSG ") {
            msgs += 1;
            if let Some(p) = lines.next()
                && let Ok(t) = p.parse()
            {
                out.push(t);
            }
        } else if line == "PING" {
            ping = true;
        }
    }
    (msgs, ping)
}

// ---- the run ---------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let stagecast = args.target == "stagecast";
    let (event, host, viewer) = if stagecast { stagecast_setup(&args.url).await? } else { Default::default() };

    if stagecast && args.prefill > 0 {
        prefill(&args.url, &event, &host, args.prefill).await?;
    }
    let rss_before = rss_of(&args.pids);
    let rss_before_by_pid: Vec<u64> = args.pids.iter().map(|p| rss_bytes(*p).unwrap_or(0)).collect();
    let mut receivers = Vec::with_capacity(args.connections);
    for chunk in 0..args.connections.div_ceil(50) {
        let n = 50.min(args.connections - chunk * 50);
        let conns = futures::future::join_all((0..n).map(|_| async {
            if stagecast { stagecast_connect(&args.url, &event, &viewer).await } else { nats_connect(&args.url).await }
        }))
        .await;
        for c in conns {
            receivers.push(c?);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_per_conn = rss_of(&args.pids).saturating_sub(rss_before) as f64 / args.connections as f64;
    // Per process too: the connections' memory is the gateway's (or the peer's); the others
    // should not grow.
    let rss_by_pid: Vec<String> = args
        .pids
        .iter()
        .zip(&rss_before_by_pid)
        .map(|(p, before)| {
            let grown = rss_bytes(*p).unwrap_or(0) as i64 - *before as i64;
            format!("{p}:{:.1}", grown as f64 / args.connections as f64 / 1024.0)
        })
        .collect();

    let mut senders = Vec::new();
    for _ in 0..args.senders {
        senders.push(if stagecast {
            stagecast_connect(&args.url, &event, &host).await?
        } else {
            nats_connect(&args.url).await?
        });
    }

    let counters = Arc::new(Counters { delivered: AtomicU64::new(0), latencies: Mutex::new(Latencies::default()) });
    let run_for = Duration::from_secs(args.seconds);
    let drain = Duration::from_secs(2);
    let deadline = Instant::now() + run_for + drain;
    let cpu_before = cpu_of(&args.pids);
    let per_pid_before: Vec<f64> = args.pids.iter().map(|p| cpu_seconds(*p).unwrap_or(0.0)).collect();
    let started = Instant::now();

    let mut tasks = Vec::new();
    for (i, mut ws) in receivers.into_iter().enumerate() {
        let counters = counters.clone();
        let sample = i % args.sample_every == 0;
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            let mut stamps = Vec::new();
            while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline.into(), ws.next()).await {
                let text = match &frame {
                    Message::Text(t) => t.as_str(),
                    Message::Binary(b) => std::str::from_utf8(b).unwrap_or(""),
                    _ => continue,
                };
                if stagecast {
                    if text.contains("\"chat.message\"") {
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                        if sample
                            && let Ok(v) = serde_json::from_str::<Value>(text)
                            && let Some(t) = v["message"]["text"].as_str().and_then(|t| t.parse::<u64>().ok())
                        {
                            lat.record(Duration::from_micros(now_micros().saturating_sub(t)));
                        }
                    }
                } else {
                    stamps.clear();
                    let (n, ping) = nats_payloads(text, &mut stamps);
                    counters.delivered.fetch_add(n as u64, Ordering::Relaxed);
                    if sample {
                        let now = now_micros();
                        for t in &stamps {
                            lat.record(Duration::from_micros(now.saturating_sub(*t)));
                        }
                    }
                    if ping {
                        let _ = ws.send(Message::text("PONG\r\n")).await;
                    }
                }
            }
            counters.latencies.lock().await.merge(lat);
        }));
    }

    let per_sender = (args.rate as f64 / args.senders as f64).max(0.001);
    let interval = Duration::from_secs_f64(1.0 / per_sender);
    let sent = Arc::new(AtomicU64::new(0));
    let mut send_tasks = Vec::new();
    for mut ws in senders {
        let sent = sent.clone();
        send_tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let stop = Instant::now() + run_for;
            // Senders also receive their room's traffic; read it so their sockets never stall.
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if Instant::now() >= stop { break; }
                        let ts = now_micros();
                        let frame = if stagecast {
                            json!({"type": "chat.send", "client_msg_id": uuid::Uuid::new_v4().simple().to_string(), "text": ts.to_string()}).to_string()
                        } else {
                            let p = ts.to_string();
                            format!("PUB {SUBJECT} {}\r\n{p}\r\n", p.len())
                        };
                        if ws.send(Message::text(frame)).await.is_err() { break; }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    frame = ws.next() => {
                        match frame {
                            Some(Ok(Message::Text(t))) if !stagecast && t.contains("PING") => { let _ = ws.send(Message::text("PONG\r\n")).await; }
                            Some(Ok(_)) => {}
                            _ => break,
                        }
                    }
                }
            }
            // Keep reading (acks, own messages) until the drain ends.
            while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline.into(), ws.next()).await {}
        }));
    }
    for t in send_tasks {
        let _ = t.await;
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_of(&args.pids) - cpu_before;
    let per_pid: Vec<String> = args
        .pids
        .iter()
        .zip(per_pid_before)
        .map(|(p, before)| format!("{p}:{:.2}", cpu_seconds(*p).unwrap_or(0.0) - before))
        .collect();
    let delivered = counters.delivered.load(Ordering::Relaxed);
    let sent = sent.load(Ordering::Relaxed);
    let expected = sent * args.connections as u64;
    let mut lat = counters.latencies.lock().await.clone();
    println!(
        "RESULT target={} connections={} senders={} rate={} seconds={} sent={} delivered={} expected={} loss={:.4} cpu_s={:.3} delivered_per_cpu_s={:.0} delivered_per_s={:.0} p50_ms={:.2} p99_ms={:.2} rss_per_idle_conn_kb={:.1} rss_kb_by_pid={} cpu_by_pid={}",
        args.target,
        args.connections,
        args.senders,
        args.rate,
        args.seconds,
        sent,
        delivered,
        expected,
        if expected > 0 { 1.0 - delivered as f64 / expected as f64 } else { 0.0 },
        cpu,
        if cpu > 0.0 { delivered as f64 / cpu } else { f64::NAN },
        delivered as f64 / elapsed,
        lat.quantile_ms(0.5),
        lat.quantile_ms(0.99),
        rss_per_conn / 1024.0,
        rss_by_pid.join(","),
        per_pid.join(","),
    );
    Ok(())
}
