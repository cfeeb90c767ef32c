"""GEMM: fastnn.mm vs NumPy's matmul (float32, NumPy's own OpenBLAS kernel for this CPU)."""

import numpy as np

# (M, N, K, A stored transposed, B stored transposed, label)
SQUARES = [(s, s, s, False, False, f"{s}x{s}x{s}") for s in (256, 512, 1024, 2048)]
TRANSPOSED = [(1024, 1024, 1024, True, False, "1024 A^T"), (1024, 1024, 1024, False, True, "1024 B^T")]
# The GEMMs LeNet's layers produce in fastnn at batch 64: the convs im2col chunks of images side by side
# (conv1: 4 images of 28x28 pixels, conv2: 5 of 10x10; see docs/architecture.md), the linears per batch.
# conv1's input gradient is never needed in training, so it has no W^T*g row.
LENET = [
    (6, 3136, 25, False, False, "conv1 fwd W*col"),
    (6, 25, 3136, False, True, "conv1 bwd g*col^T"),
    (16, 500, 150, False, False, "conv2 fwd W*col"),
    (150, 500, 16, True, False, "conv2 bwd W^T*g"),
    (16, 150, 500, False, True, "conv2 bwd g*col^T"),
    (64, 120, 400, False, True, "fc1 fwd x*W^T"),
    (64, 84, 120, False, True, "fc2 fwd x*W^T"),
    (64, 10, 84, False, True, "fc3 fwd x*W^T"),
    (64, 400, 120, False, False, "fc1 bwd g*W"),
    (120, 400, 64, True, False, "fc1 bwd g^T*x"),
    (10, 84, 64, True, False, "fc3 bwd g^T*x"),
]


def blas_info():
    """threadpoolctl's view of NumPy's BLAS (library, version, core type/kernel, threads)."""
    try:
        import threadpoolctl
    except ImportError:
        return [{"error": "threadpoolctl not installed"}]
    return [
        {
            k: d.get(k)
            for k in ("internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads", "filepath")
        }
        for d in threadpoolctl.threadpool_info()
        if d.get("user_api") == "blas"
    ]


def blas_limits(threads):
    """Limits NumPy's BLAS to `threads` (a no-op context without threadpoolctl: then OpenBLAS uses all cores)."""
    try:
        import threadpoolctl
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpoolctl.threadpool_limits(limits=threads, user_api="blas")


def gemm_fns(fastnn, m, n, k, ta, tb, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
    na, nb = (a.T if ta else a), (b.T if tb else b)
    fa, fb = fastnn.from_numpy(a), fastnn.from_numpy(b)
    fa, fb = (fa.t() if ta else fa), (fb.t() if tb else fb)
    mm, matmul = fastnn.mm, np.matmul
    return (lambda: mm(fa, fb)), (lambda: matmul(na, nb))


def check(fastnn, m, n, k, ta, tb):
    f, r = gemm_fns(fastnn, m, n, k, ta, tb)
    return float(np.max(np.abs(f().numpy() - r())))
