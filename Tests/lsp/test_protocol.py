"""Our additions to the daemon's protocol refuse bad input with a clear error and serve on."""

from __future__ import annotations

import json
import socket
import struct
import subprocess

from conftest import HANG, dmypy_binary, environment


def exchange(path: str, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(HANG)
        s.connect(path)
        payload = json.dumps(request).encode()
        s.sendall(struct.pack("!L", len(payload)) + payload)
        data = b""
        while True:
            while len(data) >= 4 and len(data) >= 4 + struct.unpack("!L", data[:4])[0]:
                size = struct.unpack("!L", data[:4])[0]
                frame, data = json.loads(data[4:4 + size]), data[4 + size:]
                if frame.get("final"):
                    return frame
            chunk = s.recv(65536)
            assert chunk, "the daemon hung up"
            data += chunk


def test_bad_overlays_and_subscriptions_get_errors_and_the_daemon_serves_on(projects):
    project = projects("p", {"a.py": "x: int = 1\n"})
    subprocess.run([dmypy_binary(), "start"], cwd=project, env=environment(), capture_output=True, timeout=HANG, check=True)
    path = json.loads((project / ".dmypy.json").read_text())["connection_name"]
    assert "absolute" in exchange(path, {"command": "dmypy_swift_overlay", "path": "a.py", "text": "x"})["error"]
    assert "string or null" in exchange(path, {"command": "dmypy_swift_overlay", "path": str(project / "a.py"), "text": 3})["error"]
    assert "Only 'check' and 'run'" in exchange(path, {"command": "recheck", "dmypy_swift_subscribe": True,
                                                       "export_types": False})["error"]
    status = subprocess.run([dmypy_binary(), "check", "a.py"], cwd=project, env=environment(), capture_output=True,
                            text=True, timeout=HANG)
    assert status.returncode == 0 and status.stdout.startswith("Success")
