//! Starts composite pipelines, PARALLEL at a time for ROUNDS rounds, and reports any whose first
//! two segments are not there within 8 s, are empty, have no running time, or that posted an
//! error: the start-up races of GStreamer 1.22's aggregators show under this load (docs/recording.md).
//! A diagnostic, not a test: `cargo run -p stagecast-egress --example startup_stress 30 4`.
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use stagecast_egress::{
    composite::{Composite, Participant, Spec},
    layout::{LayoutKind, Quality},
};

fn run_once(dir: &std::path::Path) -> (bool, String) {
    let spec = Spec {
        quality: Quality::P720,
        layout: LayoutKind::Grid,
        dir: dir.to_path_buf(),
        first_segment: 1,
        rtp_ip: std::net::Ipv4Addr::LOCALHOST.into(),
    };
    let mut c = Composite::build(spec).expect("build");
    let bus = c.bus();
    c.start().expect("start");
    c.add(Participant { user_id: "host".into(), name: "Host".into() }).expect("add");
    let t0 = Instant::now();
    let mut log = String::new();
    let mut closed = 0;
    let mut bad = false;
    while t0.elapsed() < Duration::from_secs(8) && closed < 2 {
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
            if let gst::MessageView::Element(e) = msg.view()
                && let Some(s) = e.structure()
                && s.name().starts_with("splitmuxsink")
            {
                let rt = s.get::<u64>("running-time").unwrap_or(0);
                let loc = s.get::<String>("location").unwrap_or_default();
                let size = std::fs::metadata(&loc).map(|m| m.len()).unwrap_or(0);
                let src = msg.src().map(|s| s.to_string()).unwrap_or_default();
                log += &format!("  {:>6} ms {src} {} rt={} size={}\n", t0.elapsed().as_millis(), s.name(), rt, size);
                if s.name() == "splitmuxsink-fragment-closed" {
                    closed += 1;
                    if rt > 1 << 62 || size < 10_000 {
                        bad = true;
                    }
                }
                if rt > 1 << 62 {
                    bad = true;
                }
            }
            if let gst::MessageView::Error(err) = msg.view() {
                log += &format!("  ERROR {} from {:?}: {:?}\n", err.error(), err.src().map(|s| s.to_string()), err.debug());
                bad = true;
                // Where the stream went: each element downstream of the failed one and its pads' peers.
                let mut next = err.src().and_then(|s| s.clone().downcast::<gst::Element>().ok());
                let mut hops = 0;
                while let Some(e) = next.take() {
                    hops += 1;
                    for pad in e.pads() {
                        let peer = pad
                            .peer()
                            .map(|p| format!("{}:{}", p.parent().map(|o| o.name().to_string()).unwrap_or_default(), p.name()));
                        log += &format!(
                            "    {}:{} {:?} → {:?} caps {:?}\n",
                            e.name(),
                            pad.name(),
                            pad.direction(),
                            peer,
                            pad.current_caps().map(|c| c.to_string())
                        );
                    }
                    if hops < 8 {
                        next = e.src_pads().first().and_then(|p| p.peer()).and_then(|p| p.parent_element());
                    }
                }
            }
        }
        c.refresh();
    }
    if closed < 2 {
        bad = true;
        log += "  STALL: fewer than 2 fragments in 8 s\n";
    }
    c.stop();
    (bad, log)
}

fn main() {
    gst::init().expect("GStreamer");
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let par: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut bad_total = 0;
    for r in 0..rounds {
        let handles: Vec<_> = (0..par)
            .map(|_| {
                std::thread::spawn(move || {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    run_once(dir.path())
                })
            })
            .collect();
        for h in handles {
            let (bad, log) = h.join().expect("a run");
            if bad {
                bad_total += 1;
                println!("round {r}: BAD\n{log}");
            }
        }
        println!("round {r} done, bad so far {bad_total}");
    }
}
