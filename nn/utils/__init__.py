"""nn.utils: gradient clipping, batch-norm fusion, pruning."""
