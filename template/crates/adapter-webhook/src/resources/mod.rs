//! One module per resource, each turning that resource's changes into webhook events sent
//! through the shared `Webhook` queue. A new resource's notifier is declared here, beside the
//! example's.

mod item_notifier;

pub use item_notifier::WebhookItemNotifier;
