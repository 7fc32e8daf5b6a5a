DROP TABLE item_event_counts;
DROP TABLE processed_events;
DROP TABLE outbox;
