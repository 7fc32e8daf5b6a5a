//! The runtime the use cases' detached work runs on: Tokio, the runtime of the whole binary.
//!
//! The domain asks for a [`Spawn`] so that writes finish once started even when the request
//! that started them is cancelled (see `domain::detach`); it must not know which runtime that
//! is. This module decides nothing else.

use std::future::Future;
use std::pin::Pin;

use domain::detach::Spawn;

/// Spawns detached work on the current Tokio runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSpawner;

impl Spawn for TokioSpawner {
    fn spawn(&self, work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        // Detached on purpose: the caller waits through `domain::detach::to_completion`.
        drop(tokio::spawn(work));
    }
}
