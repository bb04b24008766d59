"""Where results go: ClickHouse (analytics), the CRM, WhatsApp. Shaping is pure; I/O is a small class."""
