"""fastnn.backends.cuda: torch.backends.cuda.matmul.allow_tf32 and friends, settable; no CUDA is built."""


class _MatmulFlags:
    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built():
    return False
