//! Prints the SFU's OpenAPI document: `cargo run -p stagecast-media --bin sfu-openapi >
//! services/media/openapi.json` (a test fails while the checked-in file differs).
fn main() {
    let doc = stagecast_media::http::document();
    println!("{}", doc.to_pretty_json().expect("the document serialises"));
}
