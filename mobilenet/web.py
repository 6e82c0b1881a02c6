"""`python -m mobilenet.web`: the command is mobilenet/commands/web.py."""
if __name__ == "__main__":
    from mobilenet.commands.web import run
    run()
