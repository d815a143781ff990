"""moto's server, as `moto_server -H HOST -p PORT` runs it, with DynamoDB's calls one at a time.

moto's threaded server checks a conditional write's condition and writes the item without a lock,
so two conditional PutItems racing on one item can both pass, which DynamoDB never lets happen
(each item's writes are serialized there). The key-value backend's tests rely on that guarantee,
so this launcher restores it; every other service runs as moto_server runs it.

Usage: python moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
moto = DomainDispatcherApplication(create_backend_app)
dynamodb_calls = threading.Lock()


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb_calls:
            # The whole answer inside the lock: werkzeug may produce it lazily.
            return list(moto(environ, start_response))
    return moto(environ, start_response)


run_simple(host, port, app, threaded=True)
