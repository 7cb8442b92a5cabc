//! The MP4 remux of a recording's segments, on files made to be awkward.
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

mod support;
use support::ffprobe_duration;

/// An MPEG-TS of 10 s of H.264 and AAC whose audio starts `audio_offset` after the video.
fn offset_ts(path: &std::path::Path, audio_offset: Duration) {
    let desc = format!(
        "videotestsrc num-buffers=300 ! video/x-raw,width=320,height=240,framerate=30/1 ! x264enc key-int-max=60 tune=zerolatency \
         ! h264parse ! queue ! mpegtsmux name=m ! filesink location={} \
         audiotestsrc num-buffers=400 timestamp-offset={} ! audio/x-raw,rate=48000,channels=2 ! avenc_aac ! aacparse ! queue ! m.",
        path.display(),
        audio_offset.as_nanos()
    );
    let pipeline = gst::parse::launch(&desc).expect("pipeline").downcast::<gst::Pipeline>().expect("a pipeline");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let bus = pipeline.bus().expect("bus");
    let msg = bus.timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Eos, gst::MessageType::Error]);
    pipeline.set_state(gst::State::Null).expect("null");
    assert!(matches!(msg.as_ref().map(|m| m.view()), Some(gst::MessageView::Eos(_))), "the test TS was written: {msg:?}");
}

#[test]
fn a_recording_whose_audio_starts_3_s_after_its_video_is_remuxed_rather_than_hanging() {
    stagecast_egress::composite::init().expect("GStreamer");
    let dir = tempfile::tempdir().expect("tempdir");
    let ts = dir.path().join("seg-00001.ts");
    offset_ts(&ts, Duration::from_secs(3));
    let out = dir.path().join("recording.mp4");
    let started = Instant::now();
    stagecast_egress::mp4::remux(&[vec![ts]], &out).expect("remuxed");
    assert!(started.elapsed() < Duration::from_secs(10), "the remux took {:?}", started.elapsed());
    let (duration, streams) = ffprobe_duration(&out);
    assert!(streams.contains("h264") && streams.contains("aac"), "{streams}");
    assert!(duration > 9.5, "the MP4 holds the whole recording: {duration} s");
}

#[test]
fn an_empty_run_of_segments_is_left_out_and_the_rest_is_remuxed() {
    stagecast_egress::composite::init().expect("GStreamer");
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("seg-00001.ts");
    std::fs::write(&empty, b"").expect("an empty segment");
    let ts = dir.path().join("seg-00002.ts");
    offset_ts(&ts, Duration::ZERO);
    let out = dir.path().join("recording.mp4");
    stagecast_egress::mp4::remux(&[vec![empty], vec![ts]], &out).expect("remuxed");
    let (duration, streams) = ffprobe_duration(&out);
    assert!(streams.contains("h264") && streams.contains("aac"), "{streams}");
    assert!(duration > 9.5, "the MP4 holds the run with media: {duration} s");
}
