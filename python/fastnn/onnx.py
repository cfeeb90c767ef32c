"""fastnn.onnx: importable as torch.onnx is; exporting is not implemented."""


def export(*args, **kwargs):
    raise NotImplementedError("[onnx.export] exporting to ONNX is not implemented in fastnn")
