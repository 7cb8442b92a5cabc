//! The HLS playlist of a recording: an EVENT playlist that only ever grows, with
//! `EXT-X-PROGRAM-DATE-TIME` on every segment and a discontinuity after every gap, ended with
//! `EXT-X-ENDLIST`. A segment is in it only once its upload succeeded.
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub index: u32,
    pub duration_ms: u64,
    /// Wall-clock time of the segment's first frame.
    pub at: DateTime<Utc>,
    /// A gap (a restart, a lost segment) comes before this segment.
    pub discontinuity: bool,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Playlist {
    pub entries: Vec<Entry>,
    pub ended: bool,
}

pub fn segment_name(index: u32) -> String {
    format!("seg-{index:05}.ts")
}

impl Playlist {
    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    pub fn duration_ms(&self) -> u64 {
        self.entries.iter().map(|e| e.duration_ms).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.bytes).sum()
    }

    pub fn last_index(&self) -> Option<u32> {
        self.entries.last().map(|e| e.index)
    }

    pub fn render(&self) -> String {
        let target = self.entries.iter().map(|e| e.duration_ms.div_ceil(1000)).max().unwrap_or(2).max(2);
        let mut out = String::with_capacity(128 + self.entries.len() * 96);
        out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:EVENT\n");
        out.push_str(&format!("#EXT-X-TARGETDURATION:{target}\n"));
        out.push_str(&format!("#EXT-X-MEDIA-SEQUENCE:{}\n", self.entries.first().map(|e| e.index).unwrap_or(0)));
        for (i, e) in self.entries.iter().enumerate() {
            if e.discontinuity && i > 0 {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            out.push_str(&format!("#EXT-X-PROGRAM-DATE-TIME:{}\n", e.at.to_rfc3339_opts(SecondsFormat::Millis, true)));
            out.push_str(&format!("#EXTINF:{:.3},\n{}\n", e.duration_ms as f64 / 1000.0, segment_name(e.index)));
        }
        if self.ended {
            out.push_str("#EXT-X-ENDLIST\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u32, secs: i64, discontinuity: bool) -> Entry {
        Entry {
            index,
            duration_ms: 2000,
            at: DateTime::from_timestamp(1_780_000_000 + secs, 0).expect("time"),
            discontinuity,
            bytes: 10,
        }
    }

    #[test]
    fn an_event_playlist_lists_segments_with_their_wall_clock_times() {
        let mut p = Playlist::default();
        p.push(entry(1, 0, false));
        p.push(entry(2, 2, false));
        let text = p.render();
        assert!(text.starts_with("#EXTM3U\n"));
        assert!(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n"));
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:1\n"));
        assert_eq!(text.matches("#EXT-X-PROGRAM-DATE-TIME:").count(), 2);
        assert!(text.contains("#EXTINF:2.000,\nseg-00002.ts\n"));
        assert!(!text.contains("ENDLIST"), "a running recording's playlist is open");
        assert_eq!(p.duration_ms(), 4000);
    }

    #[test]
    fn a_gap_is_a_discontinuity_and_the_end_is_marked() {
        let mut p = Playlist::default();
        p.push(entry(1, 0, true));
        p.push(entry(5, 20, true));
        p.ended = true;
        let text = p.render();
        assert_eq!(text.matches("#EXT-X-DISCONTINUITY").count(), 1, "not before the first segment");
        let d = text.find("#EXT-X-DISCONTINUITY").expect("discontinuity");
        assert!(d < text.find("seg-00005.ts").expect("seg 5") && d > text.find("seg-00001.ts").expect("seg 1"));
        assert!(text.ends_with("#EXT-X-ENDLIST\n"));
    }
}
