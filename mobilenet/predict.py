"""`python -m mobilenet.predict`: the command is mobilenet/commands/predict.py."""
if __name__ == "__main__":
    from mobilenet.commands.predict import run
    run()
