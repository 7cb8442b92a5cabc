//! The web client in headless Chromium (fake camera and microphone) against the real platform:
//! runs web/e2e/run.mjs, which drives a host and a viewer through sign-up, scheduling, going
//! live, chatting, deleting and banning, and saves a screenshot of every page.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::process::Command;

use stagecast_e2e::{Platform, web_dist};

#[tokio::test(flavor = "multi_thread")]
async fn a_host_and_a_viewer_use_the_web_client_in_a_real_browser() {
    assert!(web_dist().join("index.html").exists(), "web/dist is not built: run scripts/test (it builds the web client first)");
    let p = Platform::start().await;
    let web = web_dist().join("..");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("e2e/run.mjs")
            .current_dir(web)
            .env("STAGECAST_URL", p.url(""))
            .env("STAGECAST_RTMP_URL", format!("rtmp://127.0.0.1:{}/live", p.ingest.rtmp_port))
            .env("STAGECAST_RTMP_KEY", RTMP_KEY)
            .output()
            .map(|o| (o, p))
    })
    .await
    .unwrap()
    .expect("node runs (scripts/test installs it)");
    let (out, p) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The services' logs beside the screenshots, pass or fail: a CI failure is read from them.
    let _ = std::fs::write(web_dist().join("../e2e/artifacts/platform.log"), p.logs());
    // Shown by `--no-capture` (nextest keeps a passing test's output to itself).
    println!("{stdout}");
    assert!(out.status.success(), "browser e2e failed:\n{stdout}\n{stderr}\n{}", p.logs());
    assert!(stdout.contains("0 failed"), "{stdout}");
    // The stream key went in through the browser: no service ever logged it.
    let logs = p.logs();
    assert!(logs.contains("destination live"), "the restream went live (egress log)");
    assert!(!logs.contains(RTMP_KEY), "a service logged the stream key");
    // The viewers heard the stage (run.mjs checks their audio samples rise) while the SFU sealed
    // forwarded audio itself: Chromium's SRTP accepted what it sealed.
    let metrics = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/metrics", p.media.port))
        .bearer_auth(&p.media_control_secret)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sealed: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("media_audio_sealed_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(sealed > 100.0, "forwarded audio sealed by the SFU: {sealed}\n{metrics}");
}

const RTMP_KEY: &str = "e2e_live_SECRETkey_7f3a";
