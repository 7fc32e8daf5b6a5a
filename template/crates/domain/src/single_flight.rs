//! Single flight: when many requests miss the cache for the same key at once, one of them
//! loads it and the others wait for that result, so a hot missing key costs the database one
//! query instead of one per request (no stampede). Runtime-agnostic: only `futures` types.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

type Flight<V, E> = Shared<BoxFuture<'static, Result<V, Arc<E>>>>;

/// Deduplicates concurrent loads by key.
pub struct SingleFlight<K, V, E> {
    flights: Mutex<HashMap<K, Flight<V, E>>>,
}

impl<K, V, E> Default for SingleFlight<K, V, E> {
    fn default() -> Self {
        Self {
            flights: Mutex::new(HashMap::new()),
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
        let (flight, leader) = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            match flights.get(&key) {
                Some(flight) => (flight.clone(), false),
                None => {
                    let flight = load.map(|result| result.map_err(Arc::new)).boxed().shared();
                    flights.insert(key.clone(), flight.clone());
                    (flight, true)
                }
            }
        };
        let result = flight.await;
        if leader {
            self.flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&key);
        }
        result
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

    #[tokio::test]
    async fn a_finished_flight_does_not_answer_later_calls() {
        let flights = SingleFlight::<u8, u32, ()>::default();
        assert_eq!(flights.run(1, async { Ok(1) }).await, Ok(1));
        assert_eq!(flights.run(1, async { Ok(2) }).await, Ok(2));
    }
}
