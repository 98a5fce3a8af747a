"""The broker side: the FastStream broker and stream setup, client publishing, the embedded
nats-server, broker security, backoff, the AsyncAPI document, and `patches` (the only module
touching nats-py or FastStream internals). Never imports the intake, rounds, outbound or store."""
