"""The path of an outbound event: the event builders (`events`), the outbox written in the
producing transaction, and the relay publishing it to JetStream with its acks (`acks`)."""
