"""The browser: a page that classifies pictures with a `.tflite` through LiteRT.js.

`server.serve(tflite)` serves the page (`page/`: HTML and JavaScript modules, no bundler),
the file and LiteRT.js from node_modules on 127.0.0.1, with the headers that let
WebAssembly use threads.
"""
