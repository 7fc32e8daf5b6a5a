//! Work that must finish even when the request that started it is cancelled.
//!
//! A request can be dropped at any await: its client disconnects, a proxy or the server's own
//! timeout gives up. A write that is dropped between its commit and what must follow the commit
//! (the cache refreshed, the change audited and announced) leaves the cache serving the old
//! version and the change unannounced, and an idempotent retry then skips those steps for good.
//! So a use case hands the whole write to [`to_completion`]: it runs on its own, whether or
//! not the request still waits, and the request waits for it as usual.
//!
//! The domain knows no runtime: the composition root gives it a [`Spawn`] (Tokio's `spawn`).
//! This module must not decide what the work is; the use cases do.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tracing::Instrument;

/// Starts work that runs to completion whether or not anyone waits for it.
pub trait Spawn: Send + Sync {
    /// Runs `work` in the background, to its end.
    fn spawn(&self, work: BoxFuture<'static, ()>);
}

/// The work was dropped before it finished: the runtime is shutting down.
#[derive(Debug, thiserror::Error)]
#[error("the runtime stopped before the work finished")]
pub struct Abandoned;

/// Runs `work` through `spawner`, in the current span, and waits for its result. If the caller
/// is dropped while waiting, the work still runs to its end.
///
/// # Errors
/// [`Abandoned`] when the spawner dropped the work unfinished (at shutdown).
pub async fn to_completion<T: Send + 'static>(
    spawner: &dyn Spawn,
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, Abandoned> {
    let (result, answer) = futures_channel::oneshot::channel();
    let work = async move {
        // The receiver is gone when the caller was cancelled: nobody to answer, work done.
        let _ = result.send(work.await);
    };
    spawner.spawn(work.instrument(tracing::Span::current()).boxed());
    answer.await.map_err(|_| Abandoned)
}

/// Tokio's `spawn`, for this crate's tests (the composition root has its own).
#[cfg(test)]
pub(crate) struct OnTokio;

#[cfg(test)]
impl Spawn for OnTokio {
    fn spawn(&self, work: BoxFuture<'static, ()>) {
        drop(tokio::spawn(work));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn the_work_runs_to_its_end_when_its_caller_is_dropped() {
        let (release, released) = tokio::sync::watch::channel(false);
        let finished = Arc::new(AtomicBool::new(false));
        let work = {
            let (finished, mut released) = (Arc::clone(&finished), released.clone());
            async move {
                let _ = released.wait_for(|open| *open).await;
                finished.store(true, Ordering::SeqCst);
            }
        };
        let caller = tokio::spawn(async move { to_completion(&OnTokio, work).await });
        tokio::task::yield_now().await;
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        release.send(true).unwrap();
        for _ in 0..100 {
            if finished.load(Ordering::SeqCst) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the work was dropped with its caller");
    }

    #[tokio::test]
    async fn a_caller_that_waits_gets_the_result() {
        assert_eq!(to_completion(&OnTokio, async { 42 }).await.unwrap(), 42);
    }
}
