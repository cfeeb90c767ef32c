"""fastnn's benchmarks: fastnn vs PyTorch CPU (and NumPy's BLAS for GEMM), run side by side.

Run from the repository root:  python -m bench  (or  python bench/run.py);  --help for options.
Nothing here imports numpy/torch at package import time: bench.run first removes environment
variables that would force NumPy's OpenBLAS onto a slower kernel, re-executing itself if needed.
"""
