"""`python -m mobilenet.sweep`: the command is mobilenet/commands/sweep.py."""
if __name__ == "__main__":
    from mobilenet.commands.sweep import run
    run()
