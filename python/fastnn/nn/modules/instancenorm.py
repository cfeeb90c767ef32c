"""Instance normalisation layers: each (sample, channel) normalised with its own statistics; running statistics
only with track_running_stats (then used in eval). Unbatched inputs are handled as a batch of one, as torch."""

from __future__ import annotations

import warnings

from fastnn._C import Tensor
from fastnn.nn import functional as F
from fastnn.nn.modules.batchnorm import _NormBase


class _InstanceNorm(_NormBase):
    _no_batch_dim = 0  # the input's dims without a batch: (C, L) for InstanceNorm1d

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=False,
        track_running_stats=False,
        device=None,
        dtype=None,
        *,
        bias=True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _apply_instance_norm(self, input):
        return F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )

    def forward(self, input: Tensor) -> Tensor:
        name, nd = type(self).__name__, self._no_batch_dim
        if not isinstance(input, Tensor):
            raise TypeError(f"[{name}] input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (nd, nd + 1):
            raise ValueError(f"[{name}] expected {nd}D or {nd + 1}D input (got {input.dim()}D input)")
        feature_dim = input.dim() - nd
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"[{name}] expected input's size at dim={feature_dim} to match num_features "
                    f"({self.num_features}), but got: {input.shape[feature_dim]}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                "warning by not passing in num_features, which is not used because affine=False",
                stacklevel=2,
            )
        if input.dim() == nd:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    _no_batch_dim = 4
