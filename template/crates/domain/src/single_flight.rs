//! Single flight: when many requests miss the cache for the same key at once, one load runs and
//! every one of them waits for its result, so a hot missing key costs the database one query
//! instead of one per request (no stampede). Runtime-agnostic: only `futures` types.
//!
//! Any caller can be dropped at any await (its client disconnects, a timeout fires), the one
//! that started the load included. The rules that make that harmless:
//! - The load is a [`Shared`] future driven by whoever still waits for it: a cancelled first
//!   caller hands it to the others, it is never abandoned half-way while someone waits.
//! - The map holds only a weak handle. When the last waiter is gone the load is dropped at once,
//!   with what it held (a pooled connection goes back), and the next call starts afresh.
//! - The load removes its own entry when it finishes, before anyone sees the result: a result
//!   is shared with the callers that waited for it, never kept for later ones.
//! - [`SingleFlight::forget`] detaches a running load, so callers that arrive after a write do
//!   not join a load that may have read the row before the write.
//!
//! Why not spawn the load as a task of its own: it would outlive its callers, so an abort storm
//! would leave the database doing work nobody waits for, and the domain would need a runtime.

use std::collections::HashMap;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared, WeakShared};

type Load<V, E> = BoxFuture<'static, Result<V, Arc<E>>>;
type Flights<K, V, E> = Mutex<HashMap<K, Registered<V, E>>>;

/// A running load, as the map knows it: weakly, and with an id that tells it from a later load
/// of the same key.
struct Registered<V, E> {
    id: u64,
    load: WeakShared<Load<V, E>>,
}

/// Deduplicates concurrent loads by key.
pub struct SingleFlight<K, V, E> {
    flights: Arc<Flights<K, V, E>>,
    next_id: AtomicU64,
}

impl<K, V, E> Default for SingleFlight<K, V, E> {
    fn default() -> Self {
        Self {
            flights: Arc::new(Mutex::new(HashMap::new())),
            next_id: AtomicU64::new(0),
        }
    }
}

impl<K, V, E> SingleFlight<K, V, E>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// Runs `load` for `key`, unless a load for the same key is already running, in which case
    /// it waits for that one and shares its result (errors are shared as `Arc`s).
    pub async fn run<F>(&self, key: K, load: F) -> Result<V, Arc<E>>
    where
        F: Future<Output = Result<V, E>> + Send + 'static,
    {
        self.join_or_start(key, load).await
    }

    /// Detaches the running load of `key`, if any: its waiters still get its result, and the
    /// next call starts a load of its own. Call it after a write that load may predate.
    pub fn forget(&self, key: &K) {
        lock(&self.flights).remove(key);
    }

    fn join_or_start<F>(&self, key: K, load: F) -> Waiter<K, V, E>
    where
        F: Future<Output = Result<V, E>> + Send + 'static,
    {
        let mut flights = lock(&self.flights);
        if let Some(registered) = flights.get(&key)
            && let Some(running) = registered.load.upgrade()
        {
            return Waiter::new(&self.flights, key, registered.id, running);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (registry, finished_key) = (Arc::downgrade(&self.flights), key.clone());
        let shared = async move {
            let result = load.await.map_err(Arc::new);
            // Finished: from here on, callers start a load of their own.
            if let Some(flights) = registry.upgrade() {
                remove_if(&mut lock(&flights), &finished_key, id);
            }
            result
        }
        .boxed()
        .shared();
        if let Some(weak) = shared.downgrade() {
            flights.insert(key.clone(), Registered { id, load: weak });
        }
        Waiter::new(&self.flights, key, id, shared)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change to the map is complete before its guard drops: a poisoned lock is safe.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn remove_if<K: Eq + Hash, V, E>(flights: &mut HashMap<K, Registered<V, E>>, key: &K, id: u64) {
    if flights
        .get(key)
        .is_some_and(|registered| registered.id == id)
    {
        flights.remove(key);
    }
}

/// One caller's wait for a load. Dropped (finished or cancelled) by the last waiter of an
/// unfinished load, it removes the load's entry, so nothing stays behind for a load nobody runs.
struct Waiter<K: Eq + Hash, V, E> {
    flights: Arc<Flights<K, V, E>>,
    key: K,
    id: u64,
    /// `None` only while being dropped.
    load: Option<Shared<Load<V, E>>>,
}

impl<K: Eq + Hash, V, E> Waiter<K, V, E> {
    fn new(flights: &Arc<Flights<K, V, E>>, key: K, id: u64, load: Shared<Load<V, E>>) -> Self {
        Self {
            flights: Arc::clone(flights),
            key,
            id,
            load: Some(load),
        }
    }
}

// Nothing in a waiter points into itself; the load it polls is a `Shared` handle.
impl<K: Eq + Hash, V, E> Unpin for Waiter<K, V, E> {}

impl<K: Eq + Hash, V: Clone, E> Future for Waiter<K, V, E> {
    type Output = Result<V, Arc<E>>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().load.as_mut() {
            Some(load) => load.poll_unpin(context),
            None => Poll::Pending,
        }
    }
}

impl<K: Eq + Hash, V, E> Drop for Waiter<K, V, E> {
    fn drop(&mut self) {
        // This waiter's handle goes first, under the lock, so no caller joins in between and
        // two waiters dropped at once cannot both count the other as still waiting. If no
        // handle is left, the load is gone with it and so goes its entry. (A load that
        // finished removed its entry itself.)
        let mut flights = lock(&self.flights);
        drop(self.load.take());
        let abandoned = flights.get(&self.key).is_some_and(|registered| {
            registered.id == self.id && registered.load.upgrade().is_none()
        });
        if abandoned {
            flights.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_loads_of_one_key_run_once() {
        let flights = Arc::new(SingleFlight::<u8, u32, ()>::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let (flights, loads, started) = (flights.clone(), loads.clone(), started.clone());
                let mut released = released.clone();
                tokio::spawn(async move {
                    // Counted in the same poll that registers the call: once all ten are
                    // counted, all ten are in flight.
                    started.fetch_add(1, Ordering::SeqCst);
                    flights
                        .run(7, async move {
                            loads.fetch_add(1, Ordering::SeqCst);
                            let _ = released.wait_for(|open| *open).await;
                            Ok(42)
                        })
                        .await
                })
            })
            .collect();
        while started.load(Ordering::SeqCst) < 10 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), Ok(42));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one load served all ten");
    }

    /// The answer of `call`, or a failed test if it does not come within a second (it would
    /// wait for ever on a load nobody will finish).
    async fn within_a_second<T>(call: impl Future<Output = T>) -> T {
        tokio::time::timeout(std::time::Duration::from_secs(1), call)
            .await
            .expect("answered within a second")
    }

    /// A load that counts its runs and waits for `release` before answering `value`.
    fn gated_load(
        loads: &Arc<AtomicUsize>,
        released: &tokio::sync::watch::Receiver<bool>,
        value: u32,
    ) -> impl Future<Output = Result<u32, ()>> + Send + 'static {
        let (loads, mut released) = (Arc::clone(loads), released.clone());
        async move {
            loads.fetch_add(1, Ordering::SeqCst);
            let _ = released.wait_for(|open| *open).await;
            Ok(value)
        }
    }

    /// Polls `flights.run(...)` once in a task of its own, so it is registered, and returns the task.
    async fn started(
        flights: &Arc<SingleFlight<u8, u32, ()>>,
        load: impl Future<Output = Result<u32, ()>> + Send + 'static,
    ) -> tokio::task::JoinHandle<Result<u32, Arc<()>>> {
        let flights = Arc::clone(flights);
        let task = tokio::spawn(async move { flights.run(1, load).await });
        // One yield lets the task run up to the load's first await.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        task
    }

    #[tokio::test]
    async fn a_cancelled_leader_hands_the_load_to_its_followers_and_leaves_nothing_behind() {
        let flights = Arc::new(SingleFlight::<u8, u32, ()>::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let leader = started(&flights, gated_load(&loads, &released, 1)).await;
        let follower = started(&flights, gated_load(&loads, &released, 99)).await;
        leader.abort();
        assert!(leader.await.unwrap_err().is_cancelled());
        release.send(true).unwrap();
        assert_eq!(
            follower.await.unwrap(),
            Ok(1),
            "the follower finished the load"
        );
        assert_eq!(
            flights.run(1, async { Ok(2) }).await,
            Ok(2),
            "a later call loads afresh instead of reading the finished flight"
        );
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_load_every_caller_gave_up_on_is_dropped_at_once_and_never_answers_later_calls() {
        let flights = Arc::new(SingleFlight::<u8, u32, ()>::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let (_release, released) = tokio::sync::watch::channel(false);
        // The load holds a resource (think: a pooled connection) until it is dropped.
        let resource = Arc::new(());
        let held = Arc::clone(&resource);
        let load = gated_load(&loads, &released, 1);
        let caller = started(&flights, async move {
            let _held = held;
            load.await
        })
        .await;
        assert_eq!(Arc::strong_count(&resource), 2, "the load is running");
        caller.abort();
        let _ = caller.await;
        assert_eq!(
            Arc::strong_count(&resource),
            1,
            "with nobody waiting, the load and what it held are gone"
        );
        assert_eq!(
            within_a_second(flights.run(1, async { Ok(2) })).await,
            Ok(2)
        );
    }

    #[tokio::test]
    async fn after_forget_new_callers_start_their_own_load_and_the_old_one_still_answers_its_own() {
        let flights = Arc::new(SingleFlight::<u8, u32, ()>::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let before_the_write = started(&flights, gated_load(&loads, &released, 1)).await;
        flights.forget(&1);
        assert_eq!(
            within_a_second(flights.run(1, async { Ok(2) })).await,
            Ok(2),
            "a call after forget does not join the older load"
        );
        release.send(true).unwrap();
        assert_eq!(before_the_write.await.unwrap(), Ok(1));
        assert_eq!(
            flights.run(1, async { Ok(3) }).await,
            Ok(3),
            "the older load, finishing last, removed nothing of anyone else's"
        );
    }

    #[tokio::test]
    async fn a_finished_flight_does_not_answer_later_calls() {
        let flights = SingleFlight::<u8, u32, ()>::default();
        assert_eq!(flights.run(1, async { Ok(1) }).await, Ok(1));
        assert_eq!(
            within_a_second(flights.run(1, async { Ok(2) })).await,
            Ok(2)
        );
    }
}
