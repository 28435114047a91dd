"""gunicorn settings for the web process (docs/operations.md): `gunicorn -c deploy/gunicorn.conf.py run:app`.
Each can be overridden on the command line or with gunicorn's own environment variables."""
import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8080")  # nginx in front; never the internet directly
# The work is synchronous and waits on the database: a few workers per core.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = 60  # an Excel import streams its progress well within this; a year's dashboard takes ~5 s
graceful_timeout = 30
keepalive = 5
# A worker is replaced now and then, so that no slow growth of memory lasts.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"  # the scheme nginx says; the app's PROXY_FIX_HOPS does the same for Flask
