//! One module per resource, each serving that resource's cache port from process memory. A new
//! resource's in-process cache is declared here (the example's `items` shows one:
//! `MemoryItemCache`, in a service generated with `example=true`).
