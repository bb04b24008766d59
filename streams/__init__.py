"""Kafka + Faust wiring: the app, topics, Avro codec, agents, web views and the ``scrm`` CLI."""
