//! The API keeps its OpenAPI contract: schemathesis (from PyPI) generates requests from the
//! document the gateway serves — valid ones must be accepted, invalid ones refused, and every
//! answer must have a documented status, content type, headers and schema — including stateful
//! runs through the links it infers between operations (sign up → create event → go live →
//! chat). Any failure fails the test; the settings (tests/contract/) relax one check only where a
//! rule is beyond what JSON Schema can state.
use std::{path::PathBuf, process::Command};

use stagecast_e2e::Platform;

fn schemathesis() -> String {
    std::env::var("STAGECAST_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".to_owned())
}

fn contract_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contract")
}

#[tokio::test]
async fn generated_requests_find_no_new_break_of_the_openapi_contract() {
    let p = Platform::start().await;
    let token = p.sign_up("Contract").await;
    // Something to find: an event of the caller's own.
    p.schedule(&token, "Contract show").await;
    // Schemathesis replays the failures it cached in earlier local runs first; a run must be the
    // same fixed sequence of requests everywhere, as in CI's clean checkout.
    for cache in [".schemathesis", ".hypothesis"] {
        let _ = std::fs::remove_dir_all(contract_dir().join(cache));
    }
    let url = p.url("/api/v1/openapi.json");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis())
            .current_dir(contract_dir())
            .args(["--no-color", "--config-file", "schemathesis.toml", "run", &url, "--checks", "all", "--seed", "1"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .output()
            .expect("schemathesis runs (scripts/test installs it; or set STAGECAST_SCHEMATHESIS)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found contract failures:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        p.logs()
    );
    // What was covered (phases, operations, warnings), for a run that passed.
    println!("{stdout}");
}
