// Index-map padding (reflect, replicate, circular): each output coordinate along a padded dim reads
// one input coordinate, given per dim as a table.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

// out (planes, oD, oH, oW) = in (planes, D, H, W) at (sd[od], sh[oh], sw[ow]); both contiguous.
template <class T>
void pad_gather(const T* in, int64_t planes, int64_t D, int64_t H, int64_t W, const int64_t* sd, int64_t oD,
                const int64_t* sh, int64_t oH, const int64_t* sw, int64_t oW, T* out);
// The adjoint: grad_in (planes, D, H, W) is overwritten with the sum of the output gradients that
// read each element, added per plane in output order (one thread per plane).
template <class T>
void pad_scatter(const T* grad_out, int64_t planes, int64_t D, int64_t H, int64_t W, const int64_t* sd, int64_t oD,
                 const int64_t* sh, int64_t oH, const int64_t* sw, int64_t oW, T* grad_in);

}  // namespace fastnn::kernels
