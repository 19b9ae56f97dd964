#!/usr/bin/env python3
"""A webhook receiver for the tests: records every POST it gets as one JSON line in OUT
(signature checked with Python's hmac against SECRET, the body, the status answered) and
answers 503 to the first FAIL_FIRST requests, 200 after. Prints its port on stdout.

usage: receiver.py SECRET OUT [FAIL_FIRST] [CERT KEY]   (CERT and KEY: serve HTTPS)
"""
import hashlib
import hmac
import http.server
import json
import ssl
import sys
import threading

secret = sys.argv[1].encode()
out = sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
cert = sys.argv[4] if len(sys.argv) > 5 else None
key = sys.argv[5] if len(sys.argv) > 5 else None
lock = threading.Lock()
count = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        header = self.headers.get("Ringfence-Signature", "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        t = parts.get("t", "")
        expected = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
        valid = t.isdigit() and hmac.compare_digest(expected, parts.get("v1", ""))
        with lock:
            count[0] += 1
            n = count[0]
            status = 503 if n <= fail_first else 200
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            record = {
                "n": n,
                "path": self.path,
                "status": status,
                "valid": valid,
                "signature": header,
                "content_type": self.headers.get("Content-Type"),
                "body": parsed,
            }
            with open(out, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
