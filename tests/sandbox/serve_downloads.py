"""Serves the files an emulated sandbox's template downloads, on the sandbox's own loopback.

Usage: python3 serve_downloads.py --port PORT [--cert PEM --key PEM] --route HOST PATH FILE ...

The harness runs it inside the sandbox's network namespace and points each download host at
127.0.0.1 in the sandbox's /etc/hosts; with --cert, it speaks TLS with a certificate that a
test CA (added to the sandbox's trust store) signed. So the template's own `curl -fsSL -o
DEST https://host/path` runs unchanged. A request for anything else gets 404, which fails
the step that asked for it. Every request is logged to stderr.
"""

import argparse
import http.server
import ssl
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--route", nargs=3, action="append", default=[],
                        metavar=("HOST", "PATH", "FILE"))
    args = parser.parse_args()
    routes = {(host.lower(), path): file for host, path, file in args.route}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _file(self):
            host = (self.headers.get("Host") or "").lower()
            if host.startswith("["):
                host = host.split("]")[0] + "]"
            else:
                host = host.split(":")[0]
            return routes.get((host, self.path))

        def _answer(self, body):
            file = self._file()
            if file is None:
                self.send_error(404, "not served by the emulated sandbox")
                return
            with open(file, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self):
            self._answer(True)

        def do_HEAD(self):
            self._answer(False)

        def log_message(self, format, *rest):
            sys.stderr.write("%s %s\n" % (self.headers.get("Host"), format % rest))
            sys.stderr.flush()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    sys.stderr.write(f"serving downloads on 127.0.0.1:{args.port}\n")
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
