//! Prints the gateway's OpenAPI document: `cargo run -p stagecast-gateway --bin openapi >
//! services/gateway/openapi.json` (a test fails while the checked-in file differs).
fn main() {
    let doc = stagecast_gateway::api_doc::document();
    println!("{}", doc.to_pretty_json().expect("the document serialises"));
}
