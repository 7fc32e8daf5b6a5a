//! One module per resource, each turning that resource's changes into webhook events sent
//! through the shared `Webhook` queue. A new resource's notifier is declared here (the
//! example's `items` shows one: `WebhookItemNotifier`, in a service generated with
//! `example=true`).
