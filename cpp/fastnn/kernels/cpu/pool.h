#pragma once
#include <cstdint>
namespace fastnn::kernels {
template <class T> void max_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W,
    int64_t outH, int64_t outW, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW,
    int64_t dH, int64_t dW, T* out, int64_t* indices);
template <class T> void max_pool2d_backward(const T* grad_out, const int64_t* indices, int64_t planes,
    int64_t H, int64_t W, int64_t outH, int64_t outW, T* grad_in);
template <class T> void avg_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W,
    int64_t outH, int64_t outW, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW,
    bool count_include_pad, int64_t divisor_override, T* out);
template <class T> void avg_pool2d_backward(const T* grad_out, int64_t planes, int64_t H, int64_t W,
    int64_t outH, int64_t outW, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW,
    bool count_include_pad, int64_t divisor_override, T* grad_in);
}
