"""Probability models (DESIGN: layout, "Probabilities, models and value"): fit and predict, for
the model program, `betpipe model predict` and the backtest.

The fits are small (tens of parameters): BLAS threads only contend with the other programs for
the machine's cores (measured: a two-season fit took 0.5-1.8 s with OpenBLAS's default threads on
a loaded 2-core machine, 20-80 ms with one thread), so one thread is the default unless the user
set the variables before numpy is first imported.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
