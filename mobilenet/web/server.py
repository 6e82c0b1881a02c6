"""A local web server for the page that classifies images with a `.tflite` in the browser.

    with serve("runs/mobilenet_v1_0.50_160/mobilenet_v1_0.50_160_int8.tflite") as server:
        print(server.url)   # open it in Chrome or Chromium

It serves, from a background thread, only what the page needs, all from this machine:

* the page, `mobilenet/web/page/` (index.html and its JavaScript modules);
* the `.tflite` at `/model.tflite`: the file's bytes exactly as they are on disk, read
  anew for each request (the page reads the labels, normalisation, quantization and the
  model's preprocessing from them itself);
* at `/preprocessing.json`, MobileNet's own preprocessing (mobilenet.model.preprocessing),
  which the page applies to a file that does not state its own (Google's);
* LiteRT.js from `node_modules/@litertjs/` (installed by `npm ci` from package-lock.json):
  its ES modules and its WebAssembly builds.

Every response carries `Cross-Origin-Opener-Policy: same-origin` and
`Cross-Origin-Embedder-Policy: require-corp`, which make the page cross-origin isolated:
without them browsers withhold SharedArrayBuffer and LiteRT.js's multi-threaded build
cannot start. Only Python's standard `http.server` is used.
"""

import dataclasses
import email.utils
import http.server
import json
import mimetypes
import os
import socket
import threading
import urllib.parse

from mobilenet.errors import ParameterError
from mobilenet.model import preprocessing

__all__ = ["WebServer", "serve", "find_node_modules"]

PAGE_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page")
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_PATH = "/model.tflite"
PREPROCESSING_PATH = "/preprocessing.json"
# The npm packages the page imports, below node_modules/.
PACKAGES = ("@litertjs/core", "@litertjs/wasm-utils")
_REQUIRED = ("@litertjs/core/dist/index.js", "@litertjs/core/wasm", "@litertjs/wasm-utils/dist/index.js")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".tflite": "application/octet-stream",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def find_node_modules(node_modules=None):
    """The `node_modules` folder holding LiteRT.js: `node_modules` if given, else the one
    in the repository root, else the one in the current directory. ParameterError
    (naming `node_modules`) if it lacks the packages, saying to run `npm ci`."""
    candidates = [node_modules] if node_modules else [os.path.join(REPOSITORY, "node_modules"), os.path.abspath("node_modules")]
    for candidate in candidates:
        if all(os.path.exists(os.path.join(candidate, path)) for path in _REQUIRED):
            return os.path.abspath(candidate)
    looked = " or ".join(dict.fromkeys(candidates))
    raise ParameterError(
        f"{{node_modules}} {looked} does not hold LiteRT.js ({', '.join(PACKAGES)}): "
        f"run `npm ci` in {REPOSITORY} (or `make node_modules`)"
    )


class WebServer:
    """A started server (see `serve`); `.url` is the page, `.close()` stops it. Also a
    context manager that closes it on exit."""

    def __init__(self, httpd, thread, tflite, node_modules):
        self._httpd = httpd
        self._thread = thread
        self.tflite = tflite
        self.node_modules = node_modules
        host, port = httpd.server_address[:2]
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"

    def close(self):
        """Stops serving and frees the port; waits for the serving thread to end."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return f"WebServer({self.url!r}, tflite={self.tflite!r})"


def serve(tflite, host="127.0.0.1", port=0, node_modules=None):
    """Starts serving the page for the `.tflite` file `tflite` on `host`:`port` (0: a
    free port the system picks) in a background thread; returns a `WebServer`.

    ParameterError (a ValueError naming the parameter) when `tflite` is not a file,
    LiteRT.js is not installed (`node_modules`, see `find_node_modules`) or the port
    cannot be listened on. The file's content is not checked here: the page reports
    a file that is not a complete TFLite image classifier.
    """
    tflite = os.fspath(tflite)
    if not os.path.isfile(tflite):
        raise ParameterError(f"{{tflite}} {tflite}: no such file")
    if not os.access(tflite, os.R_OK):
        raise ParameterError(f"{{tflite}} {tflite}: the file cannot be read")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ParameterError(f"{{port}} must be an integer from 0 to 65535, got {port!r}")
    modules = find_node_modules(node_modules)
    handler = _handler(os.path.abspath(tflite), modules)
    server_class = _Server6 if ":" in host else _Server
    try:
        httpd = server_class((host, port), handler)
    except OSError as error:
        raise ParameterError(f"{{port}} {port}: cannot listen on {host}:{port} ({error.strerror or error})") from None
    thread = threading.Thread(target=httpd.serve_forever, name=f"mobilenet.web.server:{httpd.server_address[1]}", daemon=True)
    thread.start()
    return WebServer(httpd, thread, os.path.abspath(tflite), modules)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handler(tflite, node_modules):
    """The request handler class, bound to the model file and node_modules."""
    roots = {f"/node_modules/{package}/": os.path.join(node_modules, *package.split("/")) for package in PACKAGES}

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "mobilenet-web"
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server's naming
            self._respond(send_body=True)

        def do_HEAD(self):  # noqa: N802
            self._respond(send_body=False)

        def log_message(self, format, *args):  # noqa: A002 - quiet: the page shows what matters
            pass

        def _respond(self, send_body):
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            if path == MODEL_PATH:
                name = os.path.basename(tflite)
                disposition = f"inline; filename=\"{_ascii(name)}\"; filename*=UTF-8''{urllib.parse.quote(name)}"
                return self._send_file(tflite, send_body, {"Content-Disposition": disposition}, ".tflite")
            if path == PREPROCESSING_PATH:
                defaults = {field.name: field.default for field in dataclasses.fields(preprocessing.Preprocessing)
                            if field.default is not dataclasses.MISSING}
                return self._send(200, json.dumps(defaults).encode(), CONTENT_TYPES[".json"], {}, send_body)
            if path == "/":
                path = "/index.html"
            for prefix, root in roots.items():
                if path.startswith(prefix):
                    return self._send_file(_inside(root, path[len(prefix):]), send_body)
            return self._send_file(_inside(PAGE_DIRECTORY, path.lstrip("/")), send_body)

        def _send_file(self, path, send_body, headers=None, extension=None):
            if path is None or not os.path.isfile(path):
                return self._send_error(404, "Not found")
            try:
                with open(path, "rb") as file:
                    content = file.read()
                modified = os.path.getmtime(path)
            except OSError as error:
                return self._send_error(500, f"Cannot read the file: {error.strerror or error}")
            extension = extension or os.path.splitext(path)[1].lower()
            last_modified = email.utils.formatdate(modified, usegmt=True)
            if self.headers.get("If-Modified-Since") == last_modified:
                return self._send(304, b"", None, {"Last-Modified": last_modified}, send_body=False)
            content_type = CONTENT_TYPES.get(extension) or mimetypes.guess_type(path)[0] or "application/octet-stream"
            return self._send(200, content, content_type, {"Last-Modified": last_modified, **(headers or {})}, send_body)

        def _send_error(self, status, message):
            self._send(status, f"{message}: {self.path}\n".encode(), "text/plain; charset=utf-8", {}, True)

        def _send(self, status, body, content_type, headers, send_body):
            self.send_response(status)
            for key, value in {**ISOLATION_HEADERS, **headers}.items():
                self.send_header(key, value)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache")  # revalidated: a new model or npm ci shows at once
            self.send_header("Content-Length", str(len(body)) if status != 304 else "0")
            self.end_headers()
            if send_body and body:
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the browser went away (a reload, a closed tab)

    return Handler


def _inside(root, relative):
    """`root`/`relative` if it stays inside `root` (no `..` escapes, no hidden files), else None."""
    parts = [part for part in relative.split("/") if part]
    if not parts or any(part in ("..", ".") or part.startswith(".") or "\\" in part for part in parts):
        return None
    path = os.path.join(root, *parts)
    real_root = os.path.realpath(root)
    if os.path.commonpath([os.path.realpath(path), real_root]) != real_root:
        return None
    return path


def _ascii(name):
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
