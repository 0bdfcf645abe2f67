"""The HTTP lifecycle one simulated org and a fleet of orgs share: a background server, its port and URLs."""
from __future__ import annotations

import threading

from .api import BASE_PATH


class HttpServing:
    """Serves `_make_server(host, port)` in a daemon thread; a subclass names its server and thread."""

    _server = None
    _thread = None
    _thread_name = "litmos-sim"
    _not_serving = "the simulator is not serving; call start() or use run_simulator()"

    def _make_server(self, host: str, port: int):
        raise NotImplementedError

    def start(self, host: str = "127.0.0.1", port: int = 0):
        """Serve over HTTP in a background thread (port 0 = a free port); idempotent."""
        if self._server is not None:
            return self
        self._server = self._make_server(host, port)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self._thread_name,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the HTTP server (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    @property
    def port(self) -> int:
        """TCP port the server listens on."""
        if self._server is None:
            raise RuntimeError(self._not_serving)
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT (control endpoints live under /_sim/)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """API base URL, http://127.0.0.1:PORT/v1.svc (in a fleet the key picks the org)."""
        return self.root_url + BASE_PATH

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
