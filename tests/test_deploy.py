"""The deployment files docs/operations.md tells an IT department to use: gunicorn's settings load, and a
gunicorn started with them serves the app."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def test_gunicorn_serves_the_portal_with_the_shipped_settings(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "WEB_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "INSTANCE_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path}/service.db", "ADMIN_PASSWORD": "Deploy-Check-2026"}
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "app", "init"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    web = subprocess.Popen([GUNICORN, "-c", "deploy/gunicorn.conf.py", "run:app"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body, deadline = None, time.monotonic() + 60
        while body is None and time.monotonic() < deadline and web.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/portal/", timeout=5) as answer:
                    body = answer.read().decode()
            except OSError:
                time.sleep(0.3)  # not listening yet
        assert body is not None, web.stdout.read1().decode() if web.poll() is not None else "no answer in 60 s"
        assert "我要报修" in body
    finally:
        web.terminate()
        web.wait(timeout=30)
