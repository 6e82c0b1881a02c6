"""The model: MobileNet V1 itself.

The one builder of the paper's network for any α and ρ, its fused batch norm and safe
loading (`network`), its preprocessing, stated once and carried by every file (`preprocessing`), its
parameters and mult-adds read off the built model (`complexity`), and
pretrained backbones loaded into it, frozen or not (`transfer`).
"""
