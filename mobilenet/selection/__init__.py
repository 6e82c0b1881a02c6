"""Selection: the right-sized model, from accuracy against latency over α × ρ.

The sweep itself (`sweep_runner.run_sweep`), its two sources of accuracy (`trained`: each model
trained here; `published`: TF-Slim's ImageNet top-1), what its rows say (`analysis`: the
Pareto front, the pick within a budget, inversions) and its tables (`tables`); its plots are
drawn by mobilenet.figures.
"""
