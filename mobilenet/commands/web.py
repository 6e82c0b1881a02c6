"""Serves a page that classifies images with a `.tflite` in the browser (LiteRT.js).

  python -m mobilenet web --tflite runs/mobilenet_v1_0.50_160/mobilenet_v1_0.50_160_int8.tflite [--port 8000]

Open the address it prints in Chrome or Chromium and pick or drop a picture; Ctrl-C stops it.
"""

import threading

from absl import flags

from mobilenet.commands import cli


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_string("tflite", None, "The .tflite image classifier the page runs.", required=True, **define)
    flags.DEFINE_integer("port", 8000, "Port on 127.0.0.1 (0: one the system picks).", **define)


def main(flag_values, arguments):
    from mobilenet.measure import litert
    from mobilenet.web import server

    litert.read_tflite(flag_values.tflite)  # a file the page cannot run is refused here, in one line
    with server.serve(flag_values.tflite, port=flag_values.port) as serving:
        print(f"Serving {flag_values.tflite} at {serving.url} (Ctrl-C stops it)", flush=True)
        try:
            threading.Event().wait()  # until Ctrl-C
        except KeyboardInterrupt:
            pass


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv)
