//! The MP4 of a finished recording, remuxed from its HLS segments (no second encode). Built at the
//! end rather than written live: a plain MP4 is unreadable if the process dies before it is
//! closed, while the segments survive a crash (shared/design/egress-notes.md).
//!
//! A recording may hold several runs (a pipeline restarted after a failure or a restart of the
//! worker starts its timestamps again at zero). Each run's segments are joined into one MPEG-TS
//! (TS is concatenable byte for byte) and the runs are played one after the other through
//! `concat`, which shifts each run to follow the previous one, into one fast-start MP4.
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use gstreamer as gst;
use gstreamer::prelude::*;

/// Remuxes `runs` (each a list of MPEG-TS segments in order) into one MP4 at `out`. Blocking:
/// run it on a blocking thread.
pub fn remux(runs: &[Vec<PathBuf>], out: &Path) -> anyhow::Result<()> {
    let mut joined = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        use std::io::Write;
        let path = out.with_extension(format!("run{i}.ts"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).context("creating a joined TS")?);
        let mut written = 0;
        for s in run {
            let bytes = std::fs::read(s).with_context(|| format!("reading {}", s.display()))?;
            written += bytes.len();
            f.write_all(&bytes)?;
        }
        f.flush()?;
        drop(f);
        if written == 0 {
            // An empty segment (a pipeline that ended before its first frame once got one into
            // a playlist) would fail the whole remux: the run holds nothing to lose.
            tracing::warn!(run = i, segments = run.len(), "an empty run of segments is left out of the MP4");
            let _ = std::fs::remove_file(&path);
            continue;
        }
        joined.push(path);
    }
    if joined.is_empty() {
        return Err(anyhow!("no segments to remux"));
    }
    let tmp = out.with_extension("mp4.tmp");
    let mut result = run_pipeline(&joined, &tmp);
    if let Err(e) = &result {
        // Once more: a remux that hung on a dynamic-pad race is not stuck for good.
        tracing::warn!(error = %e, "the MP4 remux failed; trying once more");
        result = run_pipeline(&joined, &tmp);
    }
    for j in &joined {
        let _ = std::fs::remove_file(j);
    }
    result?;
    std::fs::rename(&tmp, out).context("moving the MP4 into place")?;
    Ok(())
}

fn element(factory: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(factory).build().with_context(|| format!("creating {factory}"))
}

fn run_pipeline(inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let pipeline = gst::Pipeline::new();
    // Unbounded queues: the muxer takes the earliest buffer of each stream, so when audio and
    // video sit apart in the file by more than a queue holds (splitmuxsink holds a GOP of video
    // back while audio goes on; under load the remux hung in CI), a bounded queue fills, blocks
    // the demuxer, and the other stream never arrives. They hold no more than that distance.
    let unbounded = || {
        gst::ElementFactory::make("queue")
            .property("max-size-time", 0u64)
            .property("max-size-buffers", 0u32)
            .property("max-size-bytes", 0u32)
            .build()
            .context("creating a queue")
    };
    let vq = unbounded()?;
    let aq = unbounded()?;
    let vparse = element("h264parse")?;
    let aparse = element("aacparse")?;
    let mux = gst::ElementFactory::make("mp4mux").property("faststart", true).build()?;
    let sink = gst::ElementFactory::make("filesink").property("location", out.to_string_lossy().to_string()).build()?;
    pipeline.add_many([&vq, &aq, &vparse, &aparse, &mux, &sink])?;
    gst::Element::link_many([&vq, &vparse])?;
    gst::Element::link_many([&aq, &aparse])?;
    vparse.link(&mux)?;
    aparse.link(&mux)?;
    mux.link(&sink)?;
    // One run (the usual case) goes straight in; several are played one after the other.
    let concat = if inputs.len() > 1 {
        let vconcat = element("concat")?;
        let aconcat = element("concat")?;
        pipeline.add_many([&vconcat, &aconcat])?;
        vconcat.link(&vq)?;
        aconcat.link(&aq)?;
        Some((vconcat, aconcat))
    } else {
        None
    };
    for input in inputs {
        let src = gst::ElementFactory::make("filesrc").property("location", input.to_string_lossy().to_string()).build()?;
        let demux = element("tsdemux")?;
        pipeline.add_many([&src, &demux])?;
        src.link(&demux)?;
        // Pads are requested now, in order: concat plays its pads in the order they were made.
        let (vpad, apad) = match &concat {
            Some((v, a)) => {
                (v.request_pad_simple("sink_%u").context("concat pad")?, a.request_pad_simple("sink_%u").context("concat pad")?)
            }
            None => (vq.static_pad("sink").context("queue sink")?, aq.static_pad("sink").context("queue sink")?),
        };
        demux.connect_pad_added(move |_, pad| {
            let target = if pad.name().starts_with("video") {
                &vpad
            } else if pad.name().starts_with("audio") {
                &apad
            } else {
                return;
            };
            if let Err(e) = pad.link(target) {
                tracing::warn!(error = ?e, "cannot link a demuxed stream for the MP4");
            }
        });
    }
    pipeline.set_state(gst::State::Playing).context("starting the remux")?;
    let bus = pipeline.bus().ok_or_else(|| anyhow!("no bus"))?;
    // Remuxing reads and writes files only: minutes of recording take seconds. A bound keeps a
    // stuck remux from holding the job for ever.
    let limit = 15 + inputs.iter().map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum::<u64>() / 2_000_000;
    let mut result = Err(anyhow!("the remux did not finish within {limit} s"));
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(limit)) {
        match msg.view() {
            gst::MessageView::Eos(_) => {
                result = Ok(());
                break;
            }
            gst::MessageView::Error(e) => {
                result = Err(anyhow!("remux failed: {}", e.error()));
                break;
            }
            _ => {}
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    result
}
