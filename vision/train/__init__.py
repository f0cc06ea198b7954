"""Training, evaluation and export of Tenken's models (needs the `train` extra for training)."""
