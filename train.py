"""Trains MobileNet V1: `python train.py --alpha 0.5 --resolution 160` (--help for the flags).

The command is mobilenet/commands/train.py; the training itself, mobilenet/training/loop.py.
"""
if __name__ == "__main__":
    from mobilenet.commands.train import run
    run()
