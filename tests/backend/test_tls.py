"""--certfile/--keyfile: the admin channel over HTTPS and the bus over WSS."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.backend.conftest import TOKEN, python_plugin, start_backend


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_backend_serves_https_and_wss(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin())
    context = ssl.create_default_context(cafile=str(cert))
    backend = start_backend(
        plugins, tmp_path, ["--certfile", str(cert), "--keyfile", str(key)], verify=context
    )
    try:
        assert backend.url.startswith("https://")
        engine = backend.start_engine()
        url = backend.url.replace("https", "wss") + f"/engines/{engine['id']}/bus"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with connect(url, additional_headers=headers, ssl=context) as ws:
            ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "6*7"}))
            seen = [json.loads(ws.recv(timeout=20))]
            while seen[-1]["type"] != "result":
                seen.append(json.loads(ws.recv(timeout=20)))
            assert [m["text"] for m in seen if m["type"] == "stream"] == ["42\n"]
    finally:
        backend.close()
