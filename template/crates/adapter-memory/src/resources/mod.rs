//! One module per resource, each serving that resource's cache port from process memory. A new
//! resource's in-process cache is declared here, beside the example's.

mod item_cache;

pub use item_cache::MemoryItemCache;
