"""The hook fastnn.compile sets while it captures (fastnn/_compile.py): Module.__call__ and Optimizer.step pass
themselves to it, so that a replay can check the modules' `training` flags and the optimizers' hyperparameters."""

watch = None
