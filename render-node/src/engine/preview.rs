//! The RTSP preview (`RTSP_ADDR`): each stream the engine runs is served at `/{streamId}`.
//!
//! A preview re-encodes the composed frames the pipeline hands to an `intervideo` channel
//! (ultrafast, low bitrate), so it costs CPU only while someone watches, and a slow viewer
//! never touches the stream's own output. In a fleet only players holding a signed grant for
//! the stream get it ([`super::preview_auth`]).

use std::net::SocketAddr;

use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;
use secrecy::SecretString;
use shared::spec::StreamSpec;
use uuid::Uuid;

use crate::pipeline::preview_channel;

/// The running RTSP server.
pub struct Preview {
    server: rtsp::RTSPServer,
    // The GLib main loop the server runs on, in its own thread.
    main_loop: gstreamer::glib::MainLoop,
}

/// Why the preview server could not start.
#[derive(Debug, thiserror::Error)]
#[error("rtsp preview: {0}")]
pub struct PreviewError(String);

impl Preview {
    /// Starts serving on `addr`; with `grant_key` (`NODE_SECRET`), only to players holding
    /// a grant signed with it, without one (the standalone command), to anyone who reaches
    /// the address.
    pub fn start(addr: SocketAddr, grant_key: Option<SecretString>) -> Result<Self, PreviewError> {
        let server = rtsp::RTSPServer::new();
        if let Some(key) = grant_key {
            let auth = super::preview_auth::SignedPreviewAuth::new(key);
            server.set_auth(Some(&auth));
        }
        server.set_address(&addr.ip().to_string());
        server.set_service(&addr.port().to_string());
        let context = gstreamer::glib::MainContext::new();
        server
            .attach(Some(&context))
            .map_err(|e| PreviewError(format!("cannot listen on {addr}: {e}")))?;
        let main_loop = gstreamer::glib::MainLoop::new(Some(&context), false);
        let runner = main_loop.clone();
        std::thread::Builder::new()
            .name("rtsp-preview".into())
            .spawn(move || runner.run())
            .map_err(|e| PreviewError(e.to_string()))?;
        tracing::info!(%addr, "rtsp preview listening");
        Ok(Preview { server, main_loop })
    }

    /// Serves `spec`'s stream at `/{streamId}` (replacing an earlier mount).
    pub fn mount(&self, spec: &StreamSpec) {
        let Some(mounts) = self.server.mount_points() else {
            return;
        };
        let c = &spec.config;
        let id = spec.stream_id.to_string();
        let launch = format!(
            "( intervideosrc channel={channel} timeout=2000000000 \
               ! video/x-raw,format=I420,width={w},height={h},framerate={fps}/1 \
               ! queue leaky=downstream max-size-buffers=2 \
               ! x264enc tune=zerolatency speed-preset=ultrafast bitrate=1500 key-int-max={gop} \
               ! rtph264pay name=pay0 pt=96 config-interval=1 )",
            channel = preview_channel(&id),
            w = c.resolution.width,
            h = c.resolution.height,
            fps = c.target_fps,
            gop = c.target_fps * 2,
        );
        let factory = rtsp::RTSPMediaFactory::new();
        factory.set_launch(&launch);
        // One encoder per stream, whatever the number of viewers.
        factory.set_shared(true);
        mounts.add_factory(&format!("/{id}"), factory);
    }

    /// Stops serving a stream.
    pub fn unmount(&self, stream_id: Uuid) {
        if let Some(mounts) = self.server.mount_points() {
            mounts.remove_factory(&format!("/{stream_id}"));
        }
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        self.main_loop.quit();
    }
}
