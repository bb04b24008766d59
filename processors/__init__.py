"""Pure domain logic: frozen dataclasses in, frozen dataclasses out; time is an argument.

Nothing in this package performs I/O or imports faust, aiokafka, httpx or ClickHouse clients
(tests/unit/test_layering.py enforces it)."""
