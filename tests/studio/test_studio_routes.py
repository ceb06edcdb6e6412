"""The studio's HTTP file routes refuse path traversal: plain HTTP against a running studio, so it
runs without Chromium or Playwright (the browser tests are skipped where those are missing)."""

from __future__ import annotations

import http.client
import socket

import pytest

pytest.importorskip("gradio", reason="the studio needs gradio 6")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from pixelforge.studio.app import StudioConfig, launch

    root = tmp_path_factory.mktemp("studio-routes")
    runs = root / "runs"
    (runs / "tiny").mkdir(parents=True)
    # a run's file the routes must never serve (the browser tests' run holds the same)
    (runs / "tiny" / "config.yaml").write_text("model: {name: seed-dcgan}\n")
    demo, url, app = launch(StudioConfig(runs=runs, cache_dir=root / "cache"),
                            port=_free_port(), block=False, quiet=True)
    try:
        yield app, url
    finally:
        app.jobs.stop_all()
        demo.close()


def test_file_routes_refuse_traversal(studio):
    app, url = studio
    host, port = url.split("//")[1].strip("/").split(":")
    secret = app.runs / "tiny" / "config.yaml"
    paths = ["/gradio_api/file=/etc/passwd", "/file=/etc/passwd",
             "/gradio_api/file=../../../../../../etc/passwd",
             "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
             "/gradio_api/file=%2Fetc%2Fpasswd", "/gradio_api/file=%252e%252e%252fetc%252fpasswd",
             f"/gradio_api/file={app.cache}/../../../../etc/passwd",
             f"/gradio_api/file={secret}", "/gradio_api/file=http://127.0.0.1:1/x",
             "/static/../../../../etc/passwd", "/assets/..%2f..%2f..%2fetc%2fpasswd"]
    for path in paths:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        assert resp.status >= 400, (path, resp.status)
        assert b"root:" not in body and b"seed-dcgan" not in body, path
    # the guard is not refusing everything: the page itself is served
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def _get_json(url: str, path: str):
    import json

    host, port = url.split("//")[1].strip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200, (path, resp.status)
        return json.loads(resp.read())
    finally:
        conn.close()


def test_every_endpoint_has_a_name_and_the_api_page_is_linked(studio):
    """The "Use via API" page lists named endpoints (/generate, not /lambda_3 or /run_1)."""
    _, url = studio
    info = _get_json(url, "/gradio_api/info")
    named = set(info["named_endpoints"])
    assert {"/generate", "/interpolate", "/restore", "/train_start", "/train_stop",
            "/random_seed", "/runs_table", "/monitor_view"} <= named, sorted(named)
    assert not info["unnamed_endpoints"]
    generic = [n for n in named if n.split("_")[0] in ("/lambda", "/run", "/fn", "/wrapper")
               or n in ("/lambda", "/run", "/predict")]
    assert not generic, generic
    assert "api" in (_get_json(url, "/config").get("footer_links") or [])
