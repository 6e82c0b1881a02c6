"""`python -m mobilenet.evaluate`: the command is mobilenet/commands/evaluate.py."""
if __name__ == "__main__":
    from mobilenet.commands.evaluate import run
    run()
