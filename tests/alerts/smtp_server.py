#!/usr/bin/python3
"""A real SMTP server (Debian's python3-aiosmtpd) for Lookout's email tests: STARTTLS or
implicit TLS, AUTH required, and each message summarised as one JSON line in OUT.

    smtp_server.py PORT starttls|tls CERT KEY USER PASSWORD OUT
"""
import email
import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, mode, cert, key, user, password, out = sys.argv[1:8]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content)
        attachments = []
        for part in msg.walk():
            if part.get_filename():
                data = part.get_payload(decode=True) or b""
                attachments.append({
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "size": len(data),
                    "jpeg": data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9",
                })
        text = ""
        for part in msg.walk():
            if part.get_content_type() == "text/plain" and not part.get_filename():
                text = part.get_payload(decode=True).decode("utf-8", "replace")
        record = {
            "subject": msg["Subject"],
            "from": msg["From"],
            "rcpt": envelope.rcpt_tos,
            "text": text,
            "attachments": attachments,
            # Whatever way TLS came (STARTTLS or from the first byte), the socket says so.
            "tls": server.transport.get_extra_info("sslcontext") is not None,
            "authenticated": bool(getattr(session, "authenticated", False)),
        }
        with open(out, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    # handled=False on failure, or the client waits for an answer that never comes.
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
common = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator, auth_required=True)
if mode == "starttls":
    controller = Controller(Handler(), tls_context=context, require_starttls=True, **common)
else:
    # aiosmtpd only counts STARTTLS as TLS when deciding to offer AUTH; here every byte is
    # already encrypted, so AUTH may be offered at once.
    controller = Controller(Handler(), ssl_context=context, auth_require_tls=False, **common)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
