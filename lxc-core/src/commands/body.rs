//! The one encoding of extension request and response bodies (`Request::Ext`,
//! `Response::Ext`, start requests): JSON, as the frames around them. Extension crates encode
//! and decode through here, so a body reads the same in every log and from every client.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::phase::CommandError;

/// A body for `v`.
pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, CommandError> {
    serde_json::to_vec(v).map_err(|e| CommandError::new(libc::EINVAL, format!("encode body: {e}")))
}

/// The value a body holds; a body of another shape is the caller's error (EINVAL).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, CommandError> {
    serde_json::from_slice(body).map_err(|e| {
        CommandError::new(
            libc::EINVAL,
            format!(
                "request body {:?}: {e}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
        )
    })
}
