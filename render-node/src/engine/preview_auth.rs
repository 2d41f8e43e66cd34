//! Who may watch the RTSP preview: only a player holding a URL the control plane signed for
//! that one stream, unexpired ([`StreamGrant::RtspPreview`]). The programme is the tenant's:
//! an RTSP port open to a VPC must not show it to whoever guesses a stream id.
//!
//! The grant travels as the URL's credentials (user: the expiry, password: the signature).
//! Players send no credentials until challenged, so every request without a valid grant gets
//! a 401 with a Basic challenge, and the player's retry carries them on every request
//! (`DESCRIBE`, `SETUP` of each track, `PLAY`). Each request is checked against the stream its
//! path names, so one stream's grant never opens another.

use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::glib;
use gstreamer_rtsp_server::prelude::*;
use gstreamer_rtsp_server::subclass::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use shared::node_api::StreamGrant;
use shared::node_api::signing::unix_now_secs;
use uuid::Uuid;

glib::wrapper! {
    /// An `RTSPAuth` that admits requests carrying a signed preview grant for their stream.
    pub struct SignedPreviewAuth(ObjectSubclass<imp::SignedPreviewAuth>)
        @extends rtsp::RTSPAuth;
}

impl SignedPreviewAuth {
    /// Grants are checked against `secret` (`NODE_SECRET`).
    pub fn new(secret: SecretString) -> Self {
        let auth: Self = glib::Object::new();
        auth.set_supported_methods(rtsp::gst_rtsp::RTSPAuthMethod::Basic);
        auth.set_default_token(Some(&mut rtsp::RTSPToken::new_empty()));
        let _ = auth.imp().secret.set(secret);
        auth
    }
}

/// The stream a request URL names: the first segment of its path (`/{id}` for `DESCRIBE`,
/// `/{id}/stream=0` for a track's `SETUP`).
fn stream_of(request_uri: &str) -> Option<Uuid> {
    let after_scheme = request_uri
        .split_once("://")
        .map_or(request_uri, |(_, r)| r);
    let path = after_scheme.split_once('/')?.1;
    let first = path.split(['/', '?']).next()?;
    Uuid::parse_str(first).ok()
}

/// The `(expiry, signature)` in a Basic credential's `user:password`.
fn grant_of(basic_b64: &str) -> Option<(i64, String)> {
    let raw = glib::base64_decode(basic_b64);
    let text = std::str::from_utf8(&raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.parse().ok()?, password.to_owned()))
}

mod imp {
    use std::sync::OnceLock;

    use super::*;

    #[derive(Default)]
    pub struct SignedPreviewAuth {
        pub(super) secret: OnceLock<SecretString>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for SignedPreviewAuth {
        const NAME: &'static str = "StreamManagerSignedPreviewAuth";
        type Type = super::SignedPreviewAuth;
        type ParentType = rtsp::RTSPAuth;
    }

    impl ObjectImpl for SignedPreviewAuth {}

    impl RTSPAuthImpl for SignedPreviewAuth {
        /// A valid grant for the requested stream gets the request a token; anything else is
        /// refused.
        fn authenticate(&self, ctx: &rtsp::RTSPContext) -> bool {
            let Some(secret) = self.secret.get() else {
                return false;
            };
            let Some(stream) = ctx.uri().and_then(|u| stream_of(&u.request_uri())) else {
                return false;
            };
            let Some(request) = ctx.request() else {
                return false;
            };
            let granted = request.parse_auth_credentials().iter().any(|c| {
                c.scheme() == rtsp::gst_rtsp::RTSPAuthMethod::Basic
                    && c.authorization()
                        .and_then(grant_of)
                        .is_some_and(|(exp, sig)| {
                            StreamGrant::RtspPreview.allows(
                                secret.expose_secret(),
                                stream,
                                exp,
                                &sig,
                                unix_now_secs(),
                            )
                        })
            });
            if !granted {
                tracing::debug!(stream_id = %stream, "rtsp preview request without a valid grant");
                return false;
            }
            // The base class gives the request the auth's default token: only reached with
            // a valid grant, so only granted requests hold one.
            self.parent_authenticate(ctx)
        }

        /// GStreamer's URL check authenticates nobody (it requires no method), so the grant
        /// is checked where a request reaches a stream: the mount's factory (`DESCRIBE`, the
        /// first `SETUP`). Without a valid grant the base class's check runs, calls
        /// [`Self::authenticate`] again, and answers 401 with the Basic challenge the player
        /// retries with. Client-chosen transports keep the base class's refusal.
        fn check(&self, ctx: &rtsp::RTSPContext, check: &glib::GString) -> bool {
            if check.starts_with("auth.check.media.factory.")
                && (ctx.token().is_some() || self.authenticate(ctx))
            {
                return true;
            }
            self.parent_check(ctx, check)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_the_first_path_segment() {
        let id = Uuid::from_u128(9);
        for uri in [
            format!("rtsp://127.0.0.1:8554/{id}"),
            format!("rtsp://127.0.0.1:8554/{id}/stream=0"),
            format!("rtsp://h/{id}?x=1"),
        ] {
            assert_eq!(stream_of(&uri), Some(id), "{uri}");
        }
        assert_eq!(stream_of("rtsp://h/"), None);
        assert_eq!(stream_of("rtsp://h/not-a-uuid/stream=0"), None);
    }

    #[test]
    fn a_basic_credential_carries_expiry_and_signature() {
        assert_eq!(
            grant_of("MTIzOmFiYw=="), // "123:abc"
            Some((123, "abc".to_owned()))
        );
        assert_eq!(grant_of("YWJjOmRlZg=="), None, "a user that is no expiry"); // "abc:def"
        assert_eq!(grant_of("!!!"), None);
    }
}
