#!/usr/bin/python3
"""A WHIP publisher standing in for OBS: GStreamer webrtcbin sends a VP8 test pattern and an Opus
tone to a WHIP endpoint (RFC 9725), then ends the session with DELETE.

    /usr/bin/python3 publish.py --url http://127.0.0.1:8090/rtc/v1/whip --token <host media token> --seconds 30

Runs Debian's python3 (python3-gi and the GStreamer typelibs are Debian packages). Steps: build the
pipeline, create an offer once webrtcbin has both m-lines, wait (bounded) for ICE gathering to
complete, POST the offer, set the answer, wait (bounded) for the connection, stream until
--seconds have passed or SIGTERM/SIGINT arrives, DELETE the Location and exit 0. Every failure
exits non-zero with a line starting "publish: error:". Progress lines start with "publish:"; the
line "publish: published <location>" says media may flow.

libnice (webrtcbin's ICE) ignores loopback interfaces: run it where a non-loopback address exists
(the test gives it a private network namespace with a veth pair). DTLS uses a fresh ECDSA
certificate made with the openssl command (see ecdsa_certificate).
"""
import argparse
import hashlib
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

PIPELINE = """
webrtcbin name=wb bundle-policy=max-bundle
videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1
  ! videoconvert ! queue ! vp8enc deadline=1 keyframe-max-dist=60 target-bitrate=800000
  ! rtpvp8pay pt=96 mtu=1200 ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! wb.
audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! queue ! opusenc
  ! rtpopuspay pt=111 mtu=1200 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! wb.
"""


def log(msg):
    print(f"publish: {msg}", flush=True)


def ecdsa_certificate():
    """A fresh self-signed ECDSA P-256 certificate and key (PEM) and its SHA-256 fingerprint.

    GStreamer before 1.28 gives webrtcbin an RSA certificate; the SFU's DTLS (str0m/dimpl) asks
    for an ECDSA client certificate, as browsers use, and an RSA one ends the handshake with "no
    client certificate received"."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem", "-days", "2", "-subj", "/CN=stagecast-whip-test"],
            check=True, capture_output=True, timeout=20,
        )
        cert, key = open(f"{d}/cert.pem").read(), open(f"{d}/key.pem").read()
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert)).hexdigest().upper()
    return cert + key, ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def offer_to_post(sdp, fingerprint):
    """The offer as it goes to the WHIP endpoint.

    webrtcbin 1.22 computes a=fingerprint over every base64 line of the PEM it was given, key
    included: put the certificate's real fingerprint in instead. Everything else goes as webrtcbin
    wrote it, including its max-bundle `a=bundle-only` m-lines with port 0 (RFC 8843), which the
    SFU must take as bundled, not disabled.
    """
    out = []
    for line in sdp.strip().splitlines():
        if line.startswith("a=fingerprint:"):
            line = f"a=fingerprint:sha-256 {fingerprint}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"


class Publisher:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.exit_code = None
        self.location = None
        self.offered = False
        self.connected = False
        self.pem, self.fingerprint = ecdsa_certificate()
        self.pipe = Gst.parse_launch(PIPELINE)
        self.wb = self.pipe.get_by_name("wb")
        # webrtcbin has no certificate setting before 1.28; its DTLS transport's decoder takes one.
        self.pipe.connect("deep-element-added", self.on_element_added)
        # Send only: OBS does not receive.
        for i in range(2):
            t = self.wb.emit("get-transceiver", i)
            if t is None:
                self.fail(f"webrtcbin has no transceiver {i}")
                return
            t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        self.wb.connect("on-negotiation-needed", self.on_negotiation_needed)
        self.wb.connect("notify::ice-gathering-state", self.on_gathering)
        self.wb.connect("notify::connection-state", self.on_connection_state)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    # ---- ending ---------------------------------------------------------------------------------

    def fail(self, msg):
        print(f"publish: error: {msg}", file=sys.stderr, flush=True)
        self.finish(1)

    def finish(self, code):
        if self.exit_code is None:
            self.exit_code = code
        if self.loop.is_running():
            self.loop.quit()
        return GLib.SOURCE_REMOVE

    def on_error(self, _bus, msg):
        err, debug = msg.parse_error()
        self.fail(f"pipeline: {err.message} ({debug})")

    def on_element_added(self, _bin, _sub, element):
        factory = element.get_factory()
        if factory is not None and factory.get_name() == "dtlssrtpdec":
            element.set_property("pem", self.pem)

    # ---- negotiation ----------------------------------------------------------------------------

    def on_negotiation_needed(self, _wb):
        if self.offered:
            return
        promise = Gst.Promise.new_with_change_func(self.on_offer_created, None)
        self.wb.emit("create-offer", None, promise)

    def on_offer_created(self, promise, _data):
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply is not None else None
        if offer is None:
            GLib.idle_add(self.fail, "webrtcbin created no offer")
            return
        # webrtcbin may want to negotiate before both pads are linked: offer only with m-lines.
        if offer.sdp.medias_len() < 2 or self.offered:
            return
        self.offered = True
        self.wb.emit("set-local-description", offer, None)
        log("offer created; gathering ICE candidates")

    def on_gathering(self, wb, _pspec):
        if wb.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE and self.offered:
            GLib.idle_add(self.post_offer)

    def post_offer(self):
        if self.location is not None or self.exit_code is not None:
            return GLib.SOURCE_REMOVE
        sdp = offer_to_post(
            self.wb.get_property("local-description").sdp.as_text(), self.fingerprint
        )
        if "a=candidate" not in sdp:
            self.fail("ICE gathering found no candidate: libnice needs a non-loopback interface")
            return GLib.SOURCE_REMOVE
        req = urllib.request.Request(
            self.args.url,
            data=sdp.encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.args.token}", "Content-Type": "application/sdp"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.args.http_timeout) as r:
                status, answer, location = r.status, r.read().decode(), r.headers.get("Location")
        except urllib.error.HTTPError as e:
            self.fail(f"WHIP POST {self.args.url}: {e.code} {e.read().decode(errors='replace')}")
            return GLib.SOURCE_REMOVE
        except Exception as e:  # noqa: BLE001 - any network failure ends the run with its reason
            self.fail(f"WHIP POST {self.args.url}: {e}")
            return GLib.SOURCE_REMOVE
        if status != 201 or not location:
            self.fail(f"WHIP POST answered {status} with Location {location!r}, want 201 and a Location")
            return GLib.SOURCE_REMOVE
        self.location = urllib.parse.urljoin(self.args.url, location)
        res, msg = GstSdp.SDPMessage.new_from_text(answer)
        if res != GstSdp.SDPResult.OK:
            self.fail(f"the answer is not SDP: {answer[:200]!r}")
            return GLib.SOURCE_REMOVE
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.wb.emit("set-remote-description", desc, None)
        log(f"answer set; session {self.location}")
        GLib.timeout_add_seconds(self.args.connect_timeout, self.check_connected)
        return GLib.SOURCE_REMOVE

    def on_connection_state(self, wb, _pspec):
        state = wb.get_property("connection-state")
        if self.exit_code is not None:
            return
        if state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and not self.connected:
            self.connected = True
            log(f"published {self.location}")
            GLib.timeout_add_seconds(self.args.seconds, self.finish, 0)
        elif state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            GLib.idle_add(self.fail, "the peer connection failed (ICE or DTLS)")

    def check_connected(self):
        if not self.connected:
            self.fail(f"not connected {self.args.connect_timeout} s after the answer")
        return GLib.SOURCE_REMOVE

    def check_gathered(self):
        if self.location is None and self.exit_code is None:
            what = "no offer with both m-lines" if not self.offered else "ICE gathering did not complete"
            self.fail(f"{what} within {self.args.gather_timeout} s")
        return GLib.SOURCE_REMOVE

    # ---- running --------------------------------------------------------------------------------

    def delete(self):
        req = urllib.request.Request(
            self.location, method="DELETE", headers={"Authorization": f"Bearer {self.args.token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.args.http_timeout) as r:
                log(f"deleted {self.location}: {r.status}")
                return True
        except urllib.error.HTTPError as e:
            print(f"publish: error: DELETE {self.location}: {e.code}", file=sys.stderr, flush=True)
        except Exception as e:  # noqa: BLE001
            print(f"publish: error: DELETE {self.location}: {e}", file=sys.stderr, flush=True)
        return False

    def run(self):
        if self.exit_code is not None:
            return self.exit_code
        for sig in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, self.on_signal, sig)
        GLib.timeout_add_seconds(self.args.gather_timeout, self.check_gathered)
        # A hard bound on the whole run, whatever happens.
        limit = self.args.gather_timeout + self.args.connect_timeout + self.args.seconds + 10
        GLib.timeout_add_seconds(limit, lambda: self.fail(f"still running after {limit} s"))
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.fail("the pipeline did not start")
            return self.exit_code
        self.loop.run()
        code = self.exit_code if self.exit_code is not None else 1
        if self.location is not None and not self.delete():
            code = code or 1
        self.pipe.set_state(Gst.State.NULL)
        return code

    def on_signal(self, sig):
        log(f"signal {sig}: stopping")
        if self.connected:
            self.finish(0)
        else:
            self.fail("stopped before the connection was up")
        return GLib.SOURCE_REMOVE


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="the WHIP endpoint, e.g. http://127.0.0.1:8090/rtc/v1/whip")
    ap.add_argument("--token", required=True, help="the host's media token (Bearer)")
    ap.add_argument("--seconds", type=int, default=30, help="how long to stream once connected (default 30)")
    ap.add_argument("--gather-timeout", type=int, default=10, help="bound on offer + ICE gathering (s)")
    ap.add_argument("--connect-timeout", type=int, default=15, help="bound on ICE + DTLS after the answer (s)")
    ap.add_argument("--http-timeout", type=int, default=10, help="bound on each HTTP request (s)")
    args = ap.parse_args()
    Gst.init(None)
    missing = [e for e in ("webrtcbin", "vp8enc", "opusenc", "rtpvp8pay", "rtpopuspay", "nicesrc", "dtlssrtpenc")
               if Gst.ElementFactory.find(e) is None]
    if missing:
        print(f"publish: error: GStreamer elements missing: {', '.join(missing)} (scripts/test installs them)",
              file=sys.stderr)
        return 2
    try:
        return Publisher(args).run()
    except (OSError, subprocess.SubprocessError, GLib.Error) as e:
        print(f"publish: error: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
