//! Control over NATS: a request enveloped on `stagecast.media.v1.command.*` reaches the rooms
//! like the gRPC call does, and bad commands get a coded refusal. Real NATS (the test server).
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::{net::UdpSocket, sync::Arc, time::Duration};

use prost::Message;
use stagecast_bus::Envelope;
use stagecast_media::{commands, grpc::MediaApi, rooms::Rooms, worker};
use stagecast_proto::media::v1 as pb;

/// A command follower on a subject of this test's own; returns the client and the subject prefix.
async fn serve() -> (async_nats::Client, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let w = worker::spawn(
        0,
        socket,
        addr,
        events,
        stagecast_media::observe::WorkerMetrics::detached(),
        stagecast_media::sfu::Forwarding { loudest_audio: 0, ..Default::default() },
    )
    .unwrap();
    let api = MediaApi::new(Arc::new(Rooms::new(vec![w], Arc::default())));
    let url = std::env::var("STAGECAST_TEST_NATS_URL").expect("STAGECAST_TEST_NATS_URL (scripts/test sets it)");
    let nats = async_nats::connect(&url).await.unwrap();
    let prefix = format!("test.{}.command", uuid::Uuid::new_v4().simple());
    tokio::spawn(commands::follow_subject(nats.clone(), api, format!("{prefix}.>")));
    // Let the subscription reach the server before anyone publishes.
    nats.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    (nats, prefix)
}

#[tokio::test]
async fn a_mute_command_on_nats_is_answered_like_the_grpc_call() {
    let (nats, prefix) = serve().await;
    let room = uuid::Uuid::new_v4().to_string();
    let req = pb::MuteTrackRequest { room, user_id: "u1".into(), source: "microphone".into() };
    let reply = nats.request(format!("{prefix}.mute"), Envelope::wrap(&req).encode().into()).await.unwrap();
    let resp: pb::MuteTrackResponse = Envelope::decode(&reply.payload).unwrap().open().unwrap();
    assert_eq!(resp.tracks_muted, 0, "nobody is in the room");
}

#[tokio::test]
async fn a_bad_command_gets_a_coded_refusal() {
    let (nats, prefix) = serve().await;
    let req = pb::MuteTrackRequest { room: "r".into(), user_id: "u1".into(), source: "webcam".into() };
    let reply = nats.request(format!("{prefix}.mute"), Envelope::wrap(&req).encode().into()).await.unwrap();
    assert_eq!(reply.headers.unwrap().get(commands::HEADER_CODE).unwrap().as_str(), "unknown_source");
    let reply = nats.request(format!("{prefix}.mute"), b"not an envelope".to_vec().into()).await.unwrap();
    assert_eq!(reply.headers.unwrap().get(commands::HEADER_CODE).unwrap().as_str(), "bad_command");
    let wrong = pb::ListParticipantsRequest { room: "r".into() }.encode_to_vec();
    let env = Envelope {
        id: uuid::Uuid::now_v7(),
        type_name: "stagecast.media.v1.Nope".into(),
        occurred_at: chrono::Utc::now(),
        payload: wrong,
    };
    let reply = nats.request(format!("{prefix}.x"), env.encode().into()).await.unwrap();
    assert!(String::from_utf8_lossy(&reply.payload).contains("not a media command"));
}
