"""A local HTTP server speaking the Confluent Schema Registry REST contract the client uses:
POST /subjects/{subject}/versions -> {"id": n} (same schema, same id; 422 for an invalid schema)
and GET /schemas/ids/{id} -> {"schema": "..."} (404 with error_code 40403 when unknown)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fastavro import parse_schema


class RegistryServer:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                return

            def _send(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                registry.requests.append(f"POST {self.path}")
                m = re.fullmatch(r"/subjects/([^/]+)/versions", self.path)
                if not m:
                    return self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    parse_schema(json.loads(doc["schema"]))
                except (ValueError, TypeError, KeyError) as exc:  # 42201: any invalid schema
                    return self._send(422, {"error_code": 42201, "message": f"Invalid schema: {exc}"})
                schema_id = registry.ids.setdefault(doc["schema"], len(registry.ids) + 1)
                registry.subjects.setdefault(m.group(1), []).append(schema_id)
                return self._send(200, {"id": schema_id})

            def do_GET(self):
                registry.requests.append(f"GET {self.path}")
                m = re.fullmatch(r"/schemas/ids/(\d+)", self.path)
                by_id = {i: s for s, i in registry.ids.items()}
                if not m or int(m.group(1)) not in by_id:
                    return self._send(404, {"error_code": 40403, "message": "Schema not found"})
                return self._send(200, {"schema": by_id[int(m.group(1))]})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RegistryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
