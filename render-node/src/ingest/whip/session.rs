//! One WHIP publish as GStreamer sees it: a `webrtcbin` answering the publisher's offer
//! (non-trickle: the answer is handed out once ICE gathering is complete, so it carries every
//! candidate), and each incoming stream decoded and re-encoded into what every feed is kept
//! in — H.264 (x264, zero latency, a keyframe a second) and AAC — then turned into tags by the
//! same appsink as an SRT feed's ([`crate::ingest::srt::demux::tag_sink`]).
//!
//! Re-encoding is the price of one feed format for the hub, the relay and the ingest layer's
//! decoder: browsers mostly send VP8 and always Opus, neither of which FLV carries on
//! GStreamer 1.22.

use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_sdp as gst_sdp;
use gstreamer_webrtc as gst_webrtc;

use crate::error::{RenderError, make};
use crate::ingest::flv::TagKind;
use crate::ingest::hub::Feed;
use crate::ingest::srt::demux::{Out, tag_sink};

// What webrtcbin creates for itself (ICE from gstreamer1.0-nice, DTLS/SRTP) and what
// decodebin plugs for a browser's media; scripts/check_gst_elements.py checks the image has them.
// gst-uses: nicesrc nicesink dtlssrtpdec dtlssrtpenc srtpdec srtpenc rtpbin
// gst-uses: rtpvp8depay rtph264depay rtpopusdepay vp8dec avdec_h264 opusdec

/// How long ICE gathering may take before the answer is sent with what was gathered.
const GATHERING: Duration = Duration::from_secs(5);
/// How long one negotiation step (a webrtcbin promise) may take.
const STEP: Duration = Duration::from_secs(5);

/// Why an offer could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    /// The offer is not SDP webrtcbin accepts (the publisher's fault: 400).
    #[error("bad offer: {0}")]
    Bad(String),
    /// The node could not build or run the receiver (503).
    #[error(transparent)]
    Node(#[from] RenderError),
}

/// A running receiver; dropping it stops it.
pub struct Receiver {
    pipeline: gst::Pipeline,
    pub out: Out,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Receiver {
    /// Whether the pipeline failed or the peer connection ended (`Some(why)`).
    pub fn ended(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos]) {
            return Some(match msg.view() {
                gst::MessageView::Error(e) => format!("receiver failed: {}", e.error()),
                _ => "publisher ended the stream".into(),
            });
        }
        let webrtc = self.pipeline.by_name("whip")?;
        let state = webrtc.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
        match state {
            gst_webrtc::WebRTCPeerConnectionState::Failed => Some("connection failed".into()),
            gst_webrtc::WebRTCPeerConnectionState::Closed => Some("connection closed".into()),
            _ => None,
        }
    }
}

/// `offer` as SDP, when it looks like a WebRTC publisher's: GStreamer's parser skips lines
/// it does not know (it takes "hello" as an empty message), so the shape is checked here,
/// before the offer may cost a key check.
pub fn check_offer(offer: &[u8]) -> Result<gst_sdp::SDPMessage, &'static str> {
    if !offer.starts_with(b"v=0") {
        return Err("the offer is not SDP");
    }
    let sdp = gst_sdp::SDPMessage::parse_buffer(offer).map_err(|_| "the offer is not SDP")?;
    let media = sdp.medias().filter_map(|m| m.media()).collect::<Vec<_>>();
    if media.is_empty() || !media.iter().all(|m| *m == "audio" || *m == "video") {
        return Err("the offer must carry audio or video, and nothing else");
    }
    Ok(sdp)
}

/// Starts a receiver for `sdp` (an offer [`check_offer`] passed) feeding `feed` and
/// answers: the answer's SDP text with every local candidate in it.
pub async fn answer(
    feed: Arc<Feed>,
    sdp: gst_sdp::SDPMessage,
) -> Result<(Receiver, String), OfferError> {
    let offer = gst_webrtc::WebRTCSessionDescription::new(gst_webrtc::WebRTCSDPType::Offer, sdp);

    let pipeline = gst::Pipeline::with_name(&format!("whip-{}", feed.session));
    let webrtc = gst::ElementFactory::make("webrtcbin")
        .name("whip")
        .build()
        .map_err(|_| RenderError::MissingElement("webrtcbin".into()))?;
    // One transport for everything: what browsers and OBS offer, and one port per publish.
    webrtc.set_property_from_str("bundle-policy", "max-bundle");
    pipeline
        .add(&webrtc)
        .map_err(RenderError::gst("add webrtcbin"))?;
    let out = Out::new(feed);
    {
        let bin = pipeline.downgrade();
        let out = out.clone();
        webrtc.connect_pad_added(move |_, pad| {
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            let Some(pipeline) = bin.upgrade() else {
                return;
            };
            if let Err(e) = decode(&pipeline, pad, out.clone()) {
                tracing::warn!(error = %e, "cannot decode a WHIP stream");
            }
        });
    }
    let receiver = Receiver {
        pipeline: pipeline.clone(),
        out,
    };
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| RenderError::StateChange {
            what: "start the WHIP receiver".into(),
        })?;

    let (gathered_tx, gathered_rx) = tokio::sync::oneshot::channel::<()>();
    let gathered_tx = parking_lot::Mutex::new(Some(gathered_tx));
    webrtc.connect_notify(Some("ice-gathering-state"), move |w, _| {
        let s = w.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state");
        if s == gst_webrtc::WebRTCICEGatheringState::Complete
            && let Some(tx) = gathered_tx.lock().take()
        {
            let _ = tx.send(());
        }
    });

    let reply = promise(&webrtc, "set-remote-description", &offer).await?;
    if let Some(e) = reply_error(reply.as_ref()) {
        return Err(OfferError::Bad(e));
    }
    let reply = {
        let (promise, rx) = promised();
        webrtc.emit_by_name::<()>("create-answer", &[&None::<gst::Structure>, &promise]);
        wait(rx).await?
    };
    if let Some(e) = reply_error(reply.as_ref()) {
        return Err(OfferError::Bad(e));
    }
    let answer = reply
        .as_ref()
        .and_then(|r| r.get::<gst_webrtc::WebRTCSessionDescription>("answer").ok())
        .ok_or_else(|| OfferError::Bad("no answer to this offer".into()))?;
    let reply = promise(&webrtc, "set-local-description", &answer).await?;
    if let Some(e) = reply_error(reply.as_ref()) {
        return Err(OfferError::Bad(e));
    }
    if tokio::time::timeout(GATHERING, gathered_rx).await.is_err() {
        tracing::debug!("ICE gathering not complete in time; answering with what was gathered");
    }
    let local = webrtc
        .property::<Option<gst_webrtc::WebRTCSessionDescription>>("local-description")
        .ok_or_else(|| OfferError::Bad("no local description".into()))?;
    let text = local
        .sdp()
        .as_text()
        .map_err(|_| OfferError::Bad("the answer cannot be written".into()))?;
    Ok((receiver, text))
}

fn promised() -> (
    gst::Promise,
    tokio::sync::oneshot::Receiver<Option<gst::Structure>>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let _ = tx.send(reply.ok().flatten().map(|s| s.to_owned()));
    });
    (promise, rx)
}

async fn wait(
    rx: tokio::sync::oneshot::Receiver<Option<gst::Structure>>,
) -> Result<Option<gst::Structure>, OfferError> {
    match tokio::time::timeout(STEP, rx).await {
        Ok(Ok(reply)) => Ok(reply),
        _ => Err(OfferError::Bad(
            "webrtcbin did not finish negotiating".into(),
        )),
    }
}

async fn promise(
    webrtc: &gst::Element,
    signal: &str,
    desc: &gst_webrtc::WebRTCSessionDescription,
) -> Result<Option<gst::Structure>, OfferError> {
    let (promise, rx) = promised();
    webrtc.emit_by_name::<()>(signal, &[desc, &promise]);
    wait(rx).await
}

/// The error a webrtcbin promise was answered with, if any.
fn reply_error(reply: Option<&gst::Structure>) -> Option<String> {
    let r = reply?;
    r.get::<gst::glib::Error>("error")
        .ok()
        .map(|e| e.to_string())
}

/// Links one incoming RTP stream to `decodebin` (which picks the depayloader and decoder),
/// and its decoded pad to the re-encoder of its kind.
fn decode(pipeline: &gst::Pipeline, pad: &gst::Pad, out: Out) -> Result<(), RenderError> {
    let decodebin = make("decodebin")?;
    pipeline
        .add(&decodebin)
        .map_err(RenderError::gst("add a WHIP decoder"))?;
    let bin = pipeline.downgrade();
    decodebin.connect_pad_added(move |_, pad| {
        let Some(pipeline) = bin.upgrade() else {
            return;
        };
        if let Err(e) = encode(&pipeline, pad, out.clone()) {
            tracing::warn!(error = %e, "cannot re-encode a WHIP stream");
        }
    });
    let _ = decodebin.sync_state_with_parent();
    let sink = decodebin
        .static_pad("sink")
        .ok_or(RenderError::MissingElement("decodebin sink pad".into()))?;
    pad.link(&sink).map(|_| ()).map_err(link_failed)
}

fn encode(pipeline: &gst::Pipeline, pad: &gst::Pad, out: Out) -> Result<(), RenderError> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let name = caps
        .structure(0)
        .map(|s| s.name().to_string())
        .unwrap_or_default();
    let (chain, want, kind) = if name.starts_with("video/") {
        let x264 = make("x264enc")?;
        x264.set_property_from_str("tune", "zerolatency");
        x264.set_property_from_str("speed-preset", "ultrafast");
        x264.set_property("key-int-max", 30u32);
        x264.set_property("bitrate", 2500u32);
        (
            vec![
                make("queue")?,
                make("videoconvert")?,
                x264,
                make("h264parse")?,
            ],
            gst::Caps::builder("video/x-h264")
                .field("stream-format", "avc")
                .field("alignment", "au")
                .build(),
            TagKind::Video,
        )
    } else if name.starts_with("audio/") {
        let aac = crate::pipeline::encoder::audio_encoder()
            .map_err(|_| RenderError::MissingElement("an AAC encoder".into()))?;
        (
            vec![
                make("queue")?,
                make("audioconvert")?,
                make("audioresample")?,
                aac,
                make("aacparse")?,
            ],
            gst::Caps::builder("audio/mpeg")
                .field("stream-format", "raw")
                .build(),
            TagKind::Audio,
        )
    } else {
        tracing::info!(caps = %name, "WHIP stream not supported; dropped");
        return Ok(());
    };
    let sink = tag_sink(&want, kind, out);
    let mut all: Vec<gst::Element> = chain;
    all.push(sink.upcast());
    pipeline
        .add_many(&all)
        .map_err(RenderError::gst("add a WHIP re-encoder"))?;
    gst::Element::link_many(&all).map_err(RenderError::gst("link a WHIP re-encoder"))?;
    for e in &all {
        let _ = e.sync_state_with_parent();
    }
    let sink_pad = all[0]
        .static_pad("sink")
        .ok_or(RenderError::MissingElement("queue sink pad".into()))?;
    pad.link(&sink_pad).map(|_| ()).map_err(link_failed)
}

fn link_failed(e: gst::PadLinkError) -> RenderError {
    RenderError::Pipeline {
        element: "webrtcbin".into(),
        message: format!("cannot link an incoming stream: {e}"),
        debug: None,
    }
}

#[cfg(test)]
mod tests {
    use super::check_offer;

    #[test]
    fn check_offer_takes_media_offers_only() {
        gstreamer::init().expect("gstreamer");
        let ok = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert!(check_offer(ok.as_bytes()).is_ok());
        assert!(check_offer(b"hello").is_err());
        assert!(check_offer(b"").is_err());
        assert!(check_offer(b"v=0\r\ns=-\r\n").is_err(), "no media");
        let data = "v=0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert!(check_offer(data.as_bytes()).is_err(), "a data channel only");
        assert!(check_offer(&[0xff, 0xfe, 0x00]).is_err());
    }
}
