//! The MP4 of a finished recording, remuxed from its HLS segments (no second encode). Built at the
//! end rather than written live: a plain MP4 is unreadable if the process dies before it is
//! closed, while the segments survive a crash (shared/design/egress-notes.md).
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use gstreamer as gst;
use gstreamer::prelude::*;

/// Concatenates MPEG-TS `segments` (TS is concatenable byte for byte) and remuxes them into a
/// fast-start MP4 at `out`. Blocking: run it on a blocking thread.
pub fn remux(segments: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let joined = out.with_extension("ts.tmp");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&joined).context("creating the joined TS")?);
        for s in segments {
            let bytes = std::fs::read(s).with_context(|| format!("reading {}", s.display()))?;
            f.write_all(&bytes)?;
        }
        f.flush()?;
    }
    let tmp = out.with_extension("mp4.tmp");
    let desc = format!(
        "filesrc location=\"{}\" ! tsdemux name=d \
         mp4mux name=m faststart=true ! filesink location=\"{}\" \
         d. ! queue ! h264parse ! m. \
         d. ! queue ! aacparse ! m.",
        joined.display(),
        tmp.display()
    );
    let pipeline = gst::parse::launch(&desc).context("the remux pipeline")?;
    pipeline.set_state(gst::State::Playing).context("starting the remux")?;
    let bus = pipeline.bus().ok_or_else(|| anyhow!("no bus"))?;
    let mut result = Err(anyhow!("the remux did not finish within 10 minutes"));
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(600)) {
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
    let _ = std::fs::remove_file(&joined);
    result?;
    std::fs::rename(&tmp, out).context("moving the MP4 into place")?;
    Ok(())
}
