"""Fine-tuning on a large dataset: configs/finetune.py's own epochs, and twice as many.

configs/finetune.py trains 10 epochs of at least 30 steps, which on a folder of up to 1,000
photos are the steps 20 epochs of 15 were (the few-photos section). On all of Imagenette an
epoch is one pass over its 9,469 training images, and 10 epochs are half the steps of 20. Both
fine-tune α 0.25 at ρ 160 from Keras' ImageNet weights, as the accuracy section's run (the
config's own epochs: that same run, reused):

  python train.py --config configs/finetune.py --resolution 160 --epochs 20 \
      --data_dir ../shared/tensorflow_datasets \
      --init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5
"""

import os

from benchmarks import accuracy, common
from mobilenet.configs import finetune
from mobilenet.training import loop


def runs():
    """{epochs: (config, work directory)}: configs/finetune.py's epochs, and twice as many."""
    result = {}
    for factor in (1, 2):
        config = finetune.get_config()
        config.update(data_dir=common.DATA_DIR, resolution=160, init_from=accuracy.SHARED_WEIGHTS,
                      epochs=factor * config.epochs)
        workdir = (accuracy.FINETUNE_WORKDIR if factor == 1 else
                   os.path.join("runs", "finetune_epochs", f"finetune_0.25_160_{config.epochs}"))
        result[config.epochs] = (config, workdir)
    return result


def run():
    lines = ["## Fine-tuning on a large dataset: the config's epochs, and twice as many", "",
             "α 0.25, ρ 160 fine-tuned from Keras' ImageNet weights with configs/finetune.py on all of Imagenette "
             "(`python -m benchmarks.run_all finetune_epochs`; the config's own epochs are the accuracy section's run, "
             f"{accuracy.FINETUNE_WORKDIR}/). Validation top-1 on the 3,925 validation images of what validation sees after "
             "each epoch, the weights' moving average. Up to 1,000 training photos the config's minimum of steps sets "
             "the schedule; here an epoch is one pass over the 9,469 training images.", "",
             "| Epochs | Validation top-1: best (epoch), last | Training loss: first, last | Time per epoch |",
             "|---|---|---|---|"]
    for epochs, (config, workdir) in runs().items():
        history = loop.train(config, workdir).history
        top1 = [row["val_top1"] for row in history]
        best = top1.index(max(top1))
        seconds = sorted(row["seconds"] for row in history)[len(history) // 2]
        lines.append(f"| {epochs} | {top1[best]:.4f} ({history[best]['epoch']}), {top1[-1]:.4f} | "
                     f"{history[0]['loss']:.3f}, {history[-1]['loss']:.3f} | {seconds:.0f} s |")
    lines += ["", "Time per epoch is the median, on this machine, including the validation pass."]
    return "\n".join(lines)
