"""`python -m mobilenet.benchmark`: the command is mobilenet/commands/benchmark.py."""
if __name__ == "__main__":
    from mobilenet.commands.benchmark import run
    run()
