//! What an SDP offer asks for, read before str0m sees it, so a refused track or an unsupported
//! codec gets a specific error instead of a silently rejected m-line.
//!
//! This is not a full SDP parser (str0m has one): it reads only the m-lines, their mid, their
//! direction and their codec names, and it never panics on any input.
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Audio,
    Video,
    Application,
}

/// One m-line, from the offerer's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub mid: String,
    pub kind: SectionKind,
    /// The offerer will send media on it (sendonly or sendrecv, not disabled).
    pub offerer_sends: bool,
    /// The offerer wants to receive media on it (recvonly or sendrecv, not disabled).
    pub offerer_receives: bool,
    /// Lower-case codec names from `a=rtpmap`.
    pub codecs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpProblem {
    #[error("the offer is not SDP: it has no v=0 line")]
    NotSdp,
    #[error("the offer has no media sections")]
    NoMedia,
    #[error("m-line {0} has no a=mid; WebRTC offers must name every m-line")]
    MissingMid(usize),
    #[error("two m-lines share the mid {0:?}")]
    DuplicateMid(String),
}

/// Rewrites `a=bundle-only` m-lines (port 0, RFC 8843: "use the bundle's transport") to port 9,
/// as browsers offer them. GStreamer's webrtcbin sends audio this way under max-bundle; taken
/// literally, port 0 means "disabled" and the track would silently never arrive.
pub fn normalize_bundle_only(sdp: &str) -> std::borrow::Cow<'_, str> {
    if !sdp.contains("a=bundle-only") {
        return std::borrow::Cow::Borrowed(sdp);
    }
    let newline = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = sdp.lines().collect();
    let mut out = String::with_capacity(sdp.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("m=") {
            let end = lines[i + 1..].iter().position(|l| l.starts_with("m=")).map_or(lines.len(), |p| i + 1 + p);
            let section = &lines[i..end];
            let bundle_only = section.iter().any(|l| l.trim() == "a=bundle-only");
            for (k, l) in section.iter().enumerate() {
                if bundle_only && l.trim() == "a=bundle-only" {
                    continue;
                }
                if k == 0 && bundle_only {
                    let mut parts: Vec<&str> = l.split(' ').collect();
                    if parts.get(1) == Some(&"0") {
                        parts[1] = "9";
                    }
                    out.push_str(&parts.join(" "));
                } else {
                    out.push_str(l);
                }
                out.push_str(newline);
            }
            i = end;
        } else {
            out.push_str(line);
            out.push_str(newline);
            i += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Largest offer accepted, in bytes. A browser offer with a dozen tracks is about 15 KB.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;

impl OfferSummary {
    pub fn parse(sdp: &str) -> Result<Self, SdpProblem> {
        let mut lines = sdp.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some("v=0") {
            return Err(SdpProblem::NotSdp);
        }
        struct Building {
            kind: Option<SectionKind>,
            port_zero: bool,
            mid: Option<String>,
            direction: &'static str,
            codecs: Vec<String>,
        }
        let mut building: Vec<Building> = Vec::new();
        let mut session_direction = "sendrecv";
        for line in lines {
            if let Some(rest) = line.strip_prefix("m=") {
                let mut parts = rest.split_whitespace();
                let kind = match parts.next() {
                    Some("audio") => Some(SectionKind::Audio),
                    Some("video") => Some(SectionKind::Video),
                    Some("application") => Some(SectionKind::Application),
                    _ => None,
                };
                let port_zero = parts.next() == Some("0");
                building.push(Building { kind, port_zero, mid: None, direction: session_direction, codecs: Vec::new() });
                continue;
            }
            let direction = match line {
                "a=sendrecv" => Some("sendrecv"),
                "a=sendonly" => Some("sendonly"),
                "a=recvonly" => Some("recvonly"),
                "a=inactive" => Some("inactive"),
                _ => None,
            };
            match (building.last_mut(), direction) {
                (None, Some(d)) => session_direction = d,
                (Some(b), Some(d)) => b.direction = d,
                (Some(b), None) => {
                    if let Some(mid) = line.strip_prefix("a=mid:") {
                        b.mid = Some(mid.trim().to_owned());
                    } else if let Some(map) = line.strip_prefix("a=rtpmap:")
                        && let Some(name) = map.split_whitespace().nth(1).and_then(|c| c.split('/').next())
                    {
                        b.codecs.push(name.to_ascii_lowercase());
                    }
                }
                (None, None) => {}
            }
        }
        if building.is_empty() {
            return Err(SdpProblem::NoMedia);
        }
        let mut seen = BTreeMap::new();
        let mut sections = Vec::with_capacity(building.len());
        for (i, b) in building.into_iter().enumerate() {
            let Some(kind) = b.kind else { continue };
            let mid = b.mid.ok_or(SdpProblem::MissingMid(i))?;
            if seen.insert(mid.clone(), ()).is_some() {
                return Err(SdpProblem::DuplicateMid(mid));
            }
            let enabled = !b.port_zero;
            sections.push(Section {
                mid,
                kind,
                offerer_sends: enabled && matches!(b.direction, "sendonly" | "sendrecv"),
                offerer_receives: enabled && matches!(b.direction, "recvonly" | "sendrecv"),
                codecs: b.codecs,
            });
        }
        Ok(Self { sections })
    }

    pub fn has_data_channel(&self) -> bool {
        self.sections.iter().any(|s| s.kind == SectionKind::Application)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_LIKE: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:3\r\n";

    #[test]
    fn an_offer_lists_each_m_line_with_its_direction_and_codecs() {
        let o = OfferSummary::parse(CHROME_LIKE).unwrap();
        assert_eq!(o.sections.len(), 4);
        assert_eq!(o.sections[0].kind, SectionKind::Audio);
        assert!(o.sections[0].offerer_sends && !o.sections[0].offerer_receives);
        assert_eq!(o.sections[1].codecs, vec!["vp8", "h264"]);
        assert!(!o.sections[2].offerer_sends && o.sections[2].offerer_receives);
        assert!(o.has_data_channel());
    }

    #[test]
    fn a_disabled_m_line_neither_sends_nor_receives() {
        let sdp = "v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendrecv\r\n";
        let o = OfferSummary::parse(sdp).unwrap();
        assert!(!o.sections[0].offerer_sends && !o.sections[0].offerer_receives);
    }

    #[test]
    fn a_bundle_only_m_line_is_offered_on_the_bundle_not_disabled() {
        let sdp = "v=0\r\na=group:BUNDLE 0 1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n\
            m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=bundle-only\r\na=mid:1\r\na=sendonly\r\na=rtpmap:111 OPUS/48000/2\r\n";
        let fixed = normalize_bundle_only(sdp);
        assert!(fixed.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
        assert!(!fixed.contains("bundle-only"));
        let o = OfferSummary::parse(&fixed).unwrap();
        assert!(o.sections[1].offerer_sends, "the audio m-line publishes");
        // Offers without bundle-only pass through untouched.
        assert!(matches!(normalize_bundle_only(CHROME_LIKE), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn garbage_and_malformed_offers_are_named_not_panicked_on() {
        assert_eq!(OfferSummary::parse("hello"), Err(SdpProblem::NotSdp));
        assert_eq!(OfferSummary::parse(""), Err(SdpProblem::NotSdp));
        assert_eq!(OfferSummary::parse("v=0\r\ns=-\r\n"), Err(SdpProblem::NoMedia));
        assert_eq!(OfferSummary::parse("v=0\r\nm=audio 9 RTP 0\r\n"), Err(SdpProblem::MissingMid(0)));
        let dup = "v=0\r\nm=audio 9 RTP 0\r\na=mid:a\r\nm=video 9 RTP 0\r\na=mid:a\r\n";
        assert_eq!(OfferSummary::parse(dup), Err(SdpProblem::DuplicateMid("a".into())));
        // Truncated lines and odd bytes are tolerated.
        assert!(OfferSummary::parse("v=0\r\nm=\r\na=rtpmap:\r\nm=audio\r\na=mid:x\r\n\u{0}\u{ffff}").is_ok());
    }
}
