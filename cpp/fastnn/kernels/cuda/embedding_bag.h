// embedding_bag on a GPU (kernels/cuda/embedding_bag.cu; in a CPU-only build device.cpp defines them to throw): the
// CPU kernels' rules (kernels/cpu/embedding_bag.h) with one thread per output element, sums in position order (no
// atomics). The bag tables are built on the host by ops/embedding_bag.cpp and copied over. float32 or float64.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// out (bags, dim) and, for max (mode 2), argmax (bags, dim): bag b reduces weight's rows index[start[b] .. end[b])
// (rows equal to padding_idx skipped) by sum (times psw[i] when not null; mode 0), mean (1) or max (2).
void embedding_bag_forward(bool is_double, const void* weight, int64_t dim, const int64_t* index, const int64_t* start,
                           const int64_t* end, int64_t bags, int64_t padding_idx, int mode, const void* psw, void* out,
                           int64_t* argmax, int device);
// grad_weight (rows, dim), overwritten, for sum and mean: row r adds, in position order, the gradient of the bag of
// each position order[first[r] .. first[r + 1]) that used it, times psw[i] (sum) or 1 / bag_size (mean); divided by
// that count when scale_by_freq.
void embedding_bag_backward_sum(bool is_double, const void* grad, int64_t dim, int64_t rows, const int64_t* first,
                                const int64_t* order, const int64_t* bag_of, int mode, const void* psw,
                                const int64_t* bag_size, bool scale_by_freq, void* grad_weight, int device);
// grad_weight (rows, dim), zeroed by the caller, for max: grad[b, d] added at (argmax[b, d], d), bags in order.
void embedding_bag_backward_max(bool is_double, const void* grad, int64_t dim, int64_t bags, const int64_t* argmax,
                                void* grad_weight, int device);
// grad_psw[i] = <grad[bag_of[i]], weight[index[i]]> (0 for a position in no bag).
void embedding_bag_backward_psw(bool is_double, const void* grad, const void* weight, int64_t dim, const int64_t* index,
                                const int64_t* bag_of, int64_t n, void* grad_psw, int device);

}  // namespace fastnn::cuda
