"""`python -m mobilenet.costs`: the command is mobilenet/commands/costs.py."""
if __name__ == "__main__":
    from mobilenet.commands.costs import run
    run()
