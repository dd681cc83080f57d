"""Training: configuration, batch augmentation, losses, checkpoints and the loop."""
