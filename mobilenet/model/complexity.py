"""Parameters and mult-adds of a built Keras model, layer by layer.

Costs are read off the model itself (layer types, kernel shapes and output shapes), never
from a hand-written table, so they cannot drift from the network that is trained and
exported. Conventions follow the paper (§3, Table 2):

* mult-adds are those of convolutions and the classifier; batch norm folds into the
  convolutions at inference and ReLU and pooling are free;
* the paper's parameter counts are the convolution and classifier kernels
  (`paper_params`), without biases and batch-norm statistics; `params` counts every
  weight, as `keras.Model.count_params()` does.

`python -m mobilenet costs` is its command line: one model's table, or a whole α × ρ grid.
"""

import dataclasses

import keras
import numpy as np

from mobilenet.model import network

# The layer types of the paper's Table 2, in its order.
LAYER_TYPES = ("Conv 1x1", "Conv DW 3x3", "Conv 3x3", "Fully Connected")


@dataclasses.dataclass(frozen=True)
class LayerCost:
    name: str
    layer_type: str  # one of LAYER_TYPES, or "Other" for layers without mult-adds
    output_shape: tuple
    params: int
    paper_params: int
    mult_adds: int


def layer_costs(model):
    """Returns a `LayerCost` for every layer of `model` that has weights."""
    costs = []
    for layer in model.layers:
        if not layer.weights:
            continue
        output_shape = tuple(layer.output.shape[1:])
        params = int(sum(np.prod(w.shape) for w in layer.weights))
        kernel_params, mult_adds, layer_type = 0, 0, "Other"
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            kernel_params = int(np.prod(layer.kernel.shape))
            # Each kernel weight makes one mult-add per output position (for a depthwise
            # kernel too, which has one filter per channel), so no case analysis is needed.
            mult_adds = kernel_params * int(np.prod(output_shape[:-1]))
            layer_type = _layer_type(layer, output_shape)
        costs.append(LayerCost(layer.name, layer_type, output_shape, params, kernel_params, mult_adds))
    return costs


def _layer_type(layer, output_shape):
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return f"Conv DW {layer.kernel_size[0]}x{layer.kernel_size[1]}"
    if isinstance(layer, keras.layers.Dense) or output_shape[:-1] == (1, 1):
        return "Fully Connected"  # a 1x1 convolution on the pooled 1x1 map is one
    return f"Conv {layer.kernel_size[0]}x{layer.kernel_size[1]}"


@dataclasses.dataclass(frozen=True)
class ModelCost:
    params: int
    paper_params: int
    mult_adds: int
    # layer type -> (share of mult-adds, share of paper_params), in percent.
    by_type: dict


def model_cost(model):
    """Totals and the paper's Table 2 breakdown for `model`."""
    costs = layer_costs(model)
    mult_adds = sum(c.mult_adds for c in costs)
    paper_params = sum(c.paper_params for c in costs)
    by_type = {}
    for layer_type in LAYER_TYPES:
        of_type = [c for c in costs if c.layer_type == layer_type]
        if of_type:
            by_type[layer_type] = (
                100 * sum(c.mult_adds for c in of_type) / mult_adds,
                100 * sum(c.paper_params for c in of_type) / paper_params,
            )
    return ModelCost(model.count_params(), paper_params, mult_adds, by_type)


def format_model_table(model):
    """A plain-text report: totals, per-type shares and per-layer rows."""
    cost = model_cost(model)
    lines = [
        f"{model.name}: {cost.mult_adds / 1e6:.1f} M mult-adds, "
        f"{cost.paper_params / 1e6:.3f} M parameters (paper convention: conv and "
        f"classifier kernels), {cost.params:,} weights in all",
        "",
        f"{'Type':<16}{'Mult-Adds':>11}{'Parameters':>12}",
    ]
    for layer_type, (mult_add_share, param_share) in cost.by_type.items():
        lines.append(f"{layer_type:<16}{mult_add_share:>10.2f}%{param_share:>11.2f}%")
    lines += ["", f"{'Layer':<16}{'Type':<16}{'Output':<16}{'Params':>10}{'Mult-Adds':>14}"]
    for c in layer_costs(model):
        shape = "x".join(str(d) for d in c.output_shape)
        lines.append(f"{c.name:<16}{c.layer_type:<16}{shape:<16}{c.params:>10,}{c.mult_adds:>14,}")
    return "\n".join(lines)


def format_grid_table(alphas, resolutions, variant="standard", num_classes=1000):
    """A Markdown table of mult-adds and parameters over an α × ρ grid."""
    lines = [
        "| α | ρ | Mult-Adds (M) | Parameters (M) | Weights in all |",
        "|---|---|---|---|---|",
    ]
    for alpha in alphas:
        for resolution in resolutions:
            cost = model_cost(
                network.mobilenet_v1(alpha, resolution, num_classes=num_classes, variant=variant)
            )
            lines.append(
                f"| {alpha:g} | {resolution} | {cost.mult_adds / 1e6:.1f} | "
                f"{cost.paper_params / 1e6:.2f} | {cost.params:,} |"
            )
    return "\n".join(lines)

