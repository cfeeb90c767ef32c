#include "fastnn/kernels/cpu/pad.h"

#include <algorithm>

#include "fastnn/parallel.h"

namespace fastnn::kernels {

template <class T>
void pad_gather(const T* in, int64_t planes, int64_t D, int64_t H, int64_t W, const int64_t* sd, int64_t oD,
                const int64_t* sh, int64_t oH, const int64_t* sw, int64_t oW, T* out) {
  const int64_t rows = planes * oD * oH;
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(oW, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t p = r / (oD * oH), d = r / oH % oD, h = r % oH;
      const T* src = in + ((p * D + sd[d]) * H + sh[h]) * W;
      T* dst = out + r * oW;
      for (int64_t w = 0; w < oW; ++w) dst[w] = src[sw[w]];
    }
  });
}

template <class T>
void pad_scatter(const T* grad_out, int64_t planes, int64_t D, int64_t H, int64_t W, const int64_t* sd, int64_t oD,
                 const int64_t* sh, int64_t oH, const int64_t* sw, int64_t oW, T* grad_in) {
  const int64_t in_plane = D * H * W, out_plane = oD * oH * oW;
  parallel_for(planes, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(in_plane + out_plane, 1)),
               [&](int64_t p0, int64_t p1) {
                 for (int64_t p = p0; p < p1; ++p) {
                   T* gi = grad_in + p * in_plane;
                   std::fill(gi, gi + in_plane, T(0));
                   const T* go = grad_out + p * out_plane;
                   for (int64_t d = 0; d < oD; ++d)
                     for (int64_t h = 0; h < oH; ++h) {
                       T* dst = gi + (sd[d] * H + sh[h]) * W;
                       const T* src = go + (d * oH + h) * oW;
                       for (int64_t w = 0; w < oW; ++w) dst[sw[w]] += src[w];
                     }
                 }
               });
}

#define FASTNN_PAD_INSTANTIATE(T)                                                                                     \
  template void pad_gather<T>(const T*, int64_t, int64_t, int64_t, int64_t, const int64_t*, int64_t, const int64_t*,  \
                              int64_t, const int64_t*, int64_t, T*);                                                  \
  template void pad_scatter<T>(const T*, int64_t, int64_t, int64_t, int64_t, const int64_t*, int64_t, const int64_t*, \
                               int64_t, const int64_t*, int64_t, T*);
FASTNN_PAD_INSTANTIATE(float)
FASTNN_PAD_INSTANTIATE(double)
#undef FASTNN_PAD_INSTANTIATE

}  // namespace fastnn::kernels
