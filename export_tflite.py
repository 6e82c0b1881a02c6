"""Exports a trained MobileNet to `.tflite`: `python export_tflite.py --workdir runs/mobilenet_v1_0.50_160`.

The command is mobilenet/commands/export.py (--help for the flags); the export itself,
mobilenet/exporting/release.py.
"""
if __name__ == "__main__":
    from mobilenet.commands.export import run
    run()
