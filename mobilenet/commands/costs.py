"""Parameters and mult-adds of MobileNet V1, read off the built Keras model.

  python -m mobilenet costs --alpha 0.5 --resolution 160        # one model, layer by layer
  python -m mobilenet costs --alpha 1.0,0.75,0.5,0.25 --resolution 224,192,160,128   # a grid
"""

from absl import flags

from mobilenet.commands import cli


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_list("alpha", ["1.0"], "Width multiplier(s) α, comma-separated.", **define)
    flags.DEFINE_list("resolution", ["224"], "Input resolution(s) ρ, comma-separated.", **define)
    flags.DEFINE_string("variant", "standard", "Network variant: standard, shallow or full_conv.", **define)
    flags.DEFINE_integer("num_classes", 1000, "Classifier size.", **define)


def main(flag_values, arguments):
    from mobilenet.model import complexity, network

    alphas = cli.parse_list(flag_values.alpha, "--alpha", float, "numbers > 0")
    resolutions = cli.parse_list(flag_values.resolution, "--resolution", int, "integers >= 32")
    if len(alphas) == 1 and len(resolutions) == 1:
        built = network.mobilenet_v1(alphas[0], resolutions[0], num_classes=flag_values.num_classes,
                                   variant=flag_values.variant)
        print(complexity.format_model_table(built))
    else:
        print(complexity.format_grid_table(alphas, resolutions, flag_values.variant, flag_values.num_classes))


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv)
