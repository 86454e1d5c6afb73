"""The one prober (shipwright.checks.prober) against local HTTP servers on 127.0.0.1:
downtime of a failing stretch, the keep-alive retry counted apart, its bounds, several
URLs at once, and no proxy."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shipwright.checks.prober import Prober


@contextmanager
def server(answer, *, keep_alive_once: bool = False) -> Iterator[str]:
    """A local server; ``answer()`` -> (status, version). ``keep_alive_once``: answer
    as HTTP/1.1 keep-alive, then close the connection without saying so (what nginx
    does to idle connections when its old workers exit on reload)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            status, version = answer()
            body = json.dumps({"version": version}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            if keep_alive_once:
                self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/version"
    finally:
        httpd.shutdown()
        httpd.server_close()


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_single_url_measures_the_failing_stretch():
    state = {"status": 200}
    with server(lambda: (state["status"], "v1")) as url, Prober(url, rate=100) as probe:
        wait_for(lambda: probe.total >= 5)
        state["status"] = 503
        time.sleep(0.5)
        state["status"] = 200
        failed = probe.failed
        wait_for(lambda: probe.tallies["app"].ok >= failed + 10)
    assert probe.failed >= 3 and dict(probe.tallies["app"].errors) == {"HTTP 503": probe.failed}
    assert 0.3 <= probe.downtime_seconds <= 2.0, probe.summary()
    assert probe.tallies["app"].versions["v1"] == probe.tallies["app"].ok


def test_a_failure_still_running_at_stop_counts_until_stop():
    with server(lambda: (500, "v1")) as url, Prober(url, rate=50) as probe:
        time.sleep(0.3)
    assert probe.failed >= 1 and probe.downtime_seconds >= 0.2


def test_stale_keep_alive_is_retried_once_and_counted_apart():
    with server(lambda: (200, "v2"), keep_alive_once=True) as url, Prober(url, rate=50) as probe:
        wait_for(lambda: probe.total >= 10)
    assert probe.failed == 0, probe.summary()
    assert probe.keepalive_retries >= 5, probe.summary()
    assert probe.downtime_seconds == 0


def test_bounded_in_count_and_time():
    with server(lambda: (200, "v1")) as url:
        with Prober(url, rate=1000, max_requests=7) as probe:
            time.sleep(0.5)
        assert probe.total == 7
        with Prober(url, rate=10, max_seconds=0.2) as probe:
            time.sleep(0.8)
        assert 1 <= probe.total <= 4


def test_several_hosts_and_pause(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # never used
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with server(lambda: (200, "v1")) as one, server(lambda: (200, "v2")) as two:
        with Prober({"h1": one, "h2": two}, rate=50) as probe:
            wait_for(lambda: all(t.ok >= 3 for t in probe.tallies.values()))
            probe.pause("h2")
            time.sleep(0.1)
            paused = probe.tallies["h2"].total
            time.sleep(0.3)
            assert probe.tallies["h2"].total == paused
    assert probe.failed == 0 and probe.tallies["h2"].versions["v2"] >= 3
    assert set(probe.tallies["h1"].versions) == {"v1"}
    assert "h1: " in probe.summary() and "keep-alive" in probe.summary()


@pytest.mark.parametrize("url", ["ftp://example.invalid/", "not a url"])
def test_only_http_urls(url):
    with pytest.raises(ValueError, match="http"):
        Prober(url)
