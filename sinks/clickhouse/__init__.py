"""ClickHouse: migrations, row shaping, the embedded (chDB) and server (clickhouse-connect) backends."""
