"""The webhook receiver (``scrm receiver``): signed HTTP requests in, envelopes on the raw topics."""
