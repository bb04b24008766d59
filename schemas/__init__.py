"""Avro schemas (``avro/<Name>.v<N>.avsc``), the topic catalog (``topics.yaml``) and one example
event per record type (``examples/``). Data only: the loader lives in ``streams.catalog``."""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
