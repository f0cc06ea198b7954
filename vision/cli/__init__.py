"""The `tenken` sub-commands that `vision` contributes (analyze, models, train, network, ...)."""
