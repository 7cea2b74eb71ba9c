#!/usr/bin/env python3
"""A webhook receiver for Lookout's alert tests, written against the documented format only
(docs/guide/alerts.md): it checks `X-Lookout-Signature: t=TS,v1=HEX` where
HEX = hex(HMAC-SHA256(secret, f"{TS}.{body}")), refuses bad or stale signatures with 401,
and appends each accepted delivery to OUT as one JSON line.

    webhook_receiver.py PORT SECRET_FILE OUT
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, secret_file, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
secret = open(secret_file).read().strip().encode()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fields = dict(
            part.split("=", 1)
            for part in self.headers.get("X-Lookout-Signature", "").split(",")
            if "=" in part
        )
        ts = fields.get("t", "")
        expected = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
        if not (fresh and hmac.compare_digest(expected, fields.get("v1", ""))):
            self.send_response(401)
            self.end_headers()
            return
        record = {
            "delivery": self.headers.get("X-Lookout-Delivery"),
            "payload": json.loads(body),
        }
        with open(out, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
