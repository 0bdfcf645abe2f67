"""A static replay of pages fetched once from the simulator: `python -m bench.replay_server PAGES.pickle`.

Serves the stored bytes for (path, since, to, start) and an empty list for anything else, in its own
process, so benchmark 3 can show the pipeline's rate when the server costs (almost) nothing. Prints its
base URL on the first line, like `litmos-sim serve`. Binds 127.0.0.1 only.
"""
from __future__ import annotations

import pickle
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EMPTY = b'<Teams xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'


def main() -> int:
    with open(sys.argv[1], "rb") as fh:
        pages: dict[tuple[str, str, str, str], bytes] = pickle.load(fh)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            path = url.path.removeprefix("/v1.svc")
            body = pages.get((path, q.get("since", ""), q.get("to", ""), q.get("start", "0")), EMPTY)
            self.send_response(200)  # adds the Date header the pipeline reads
            self.send_header("Content-Type", "application/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}/v1.svc", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
