// embedding_bag (bags of embedding rows reduced by sum, mean or max) and embedding_renorm_.
#include "fastnn/ops/embedding_bag.h"

#include <cmath>
#include <vector>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/embedding_bag.h"
#include "fastnn/kernels/cpu/group_by_key.h"
#include "fastnn/kernels/cuda/embedding_bag.h"
#include "fastnn/ops/internal.h"

namespace fastnn {
namespace {

using kernels::BagMode;

class EmbeddingBagBackward : public Node {
 public:
  EmbeddingBagBackward(const TensorPtr& weight, const TensorPtr& psw, TensorPtr index, std::vector<int64_t> bag_of,
                       std::vector<int64_t> bag_size, TensorPtr argmax, BagMode mode, bool scale_by_freq)
      : weight_(weight),
        psw_(psw ? SavedTensor(psw) : SavedTensor()),
        index_(std::move(index)),
        bag_of_(std::move(bag_of)),
        bag_size_(std::move(bag_size)),
        argmax_(std::move(argmax)),
        mode_(mode),
        scale_by_freq_(scale_by_freq) {}
  std::string name() const override { return "EmbeddingBagBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr w = contiguous(weight_.unpack(*this)), g = contiguous(grads[0]);
    TensorPtr psw = psw_.defined() ? contiguous(psw_.unpack(*this)) : nullptr;
    int64_t rows = w->shape()[0], dim = w->shape()[1], n = index_->numel();
    if (w->device().is_cuda()) return apply_cuda(w, g, psw, rows, dim, n);
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0)) {
      r[0] = zeros(w->shape(), g->dtype());
      if (mode_ == BagMode::Max)
        kernels::embedding_bag_backward_max(g->dtype(), g->raw_data(), dim, g->shape()[0], argmax_->data<int64_t>(),
                                            r[0]->raw_mutable_data());
      else
        kernels::embedding_bag_backward_sum(g->dtype(), g->raw_data(), dim, index_->data<int64_t>(), bag_of_.data(), n,
                                            rows, mode_, psw ? psw->raw_data() : nullptr, bag_size_.data(),
                                            scale_by_freq_, r[0]->raw_mutable_data());
    }
    if (needs_input_grad(1) && psw) {
      r[1] = Tensor::empty({n}, g->dtype());
      kernels::embedding_bag_backward_psw(g->dtype(), g->raw_data(), w->raw_data(), dim, index_->data<int64_t>(),
                                          bag_of_.data(), n, r[1]->raw_mutable_data());
    }
    return r;
  }
  void release_saved() override {
    weight_.reset();
    psw_.reset();
  }

 private:
  // On a GPU: the host's tables (and, for sum and mean, the positions grouped by row) copied there.
  std::vector<TensorPtr> apply_cuda(const TensorPtr& w, const TensorPtr& g, const TensorPtr& psw, int64_t rows,
                                    int64_t dim, int64_t n) {
    const Device device = w->device();
    const bool is_double = g->dtype() == DType::Float64;
    const TensorPtr index = to_device(index_, device), bag_of = int64_tensor(bag_of_, device);
    auto ptr = [](const TensorPtr& t) { return static_cast<const int64_t*>(t->device_data()); };
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0) && mode_ == BagMode::Max) {
      r[0] = zeros_on(w->shape(), g->dtype(), device);
      cuda::embedding_bag_backward_max(is_double, g->device_data(), dim, g->shape()[0], ptr(argmax_),
                                       r[0]->device_data(), device.index);
    } else if (needs_input_grad(0)) {
      const int64_t* ip = index_->data<int64_t>();
      const kernels::KeyGroups rows_of = kernels::group_by_key(  // each row's positions, in order
          n, rows, [&](int64_t i) { return ip[i]; }, [&](int64_t i) { return bag_of_[size_t(i)] >= 0; });
      const TensorPtr first_d = int64_tensor(rows_of.first, device), order_d = int64_tensor(rows_of.order, device),
                      bag_size = int64_tensor(bag_size_, device);
      r[0] = Tensor::empty(w->shape(), g->dtype(), "embedding_bag", device);
      cuda::embedding_bag_backward_sum(is_double, g->device_data(), dim, rows, ptr(first_d), ptr(order_d), ptr(bag_of),
                                       int(mode_), psw ? psw->device_data() : nullptr, ptr(bag_size), scale_by_freq_,
                                       r[0]->device_data(), device.index);
    }
    if (needs_input_grad(1) && psw) {
      r[1] = Tensor::empty({n}, g->dtype(), "embedding_bag", device);
      cuda::embedding_bag_backward_psw(is_double, g->device_data(), w->device_data(), dim, ptr(index), ptr(bag_of), n,
                                       r[1]->device_data(), device.index);
    }
    return r;
  }

  SavedTensor weight_, psw_;
  TensorPtr index_;  // on the host
  std::vector<int64_t> bag_of_, bag_size_;
  TensorPtr argmax_;
  BagMode mode_;
  bool scale_by_freq_;
};

}  // namespace

TensorPtr embedding_bag(const TensorPtr& weight, const TensorPtr& indices, const TensorPtr& offsets, int64_t mode,
                        bool scale_grad_by_freq, const TensorPtr& per_sample_weights, bool include_last_offset,
                        int64_t padding_idx) {
  const char* op = "embedding_bag";
  check_defined(weight, op, "weight");
  check_defined(indices, op);
  check_defined(offsets, op, "offsets");
  FASTNN_CHECK(mode >= 0 && mode <= 2, "[embedding_bag] mode has to be one of sum, mean or max");
  FASTNN_CHECK(weight->dim() == 2, "[embedding_bag] expected a 2-D weight (num_embeddings, embedding_dim), got shape ",
               weight->shape());
  FASTNN_CHECK_TYPE(is_floating(weight->dtype()), "[embedding_bag] expected a floating-point weight, got ",
                    dtype_name(weight->dtype()));
  FASTNN_CHECK_TYPE(indices->dtype() == DType::Int64 && offsets->dtype() == DType::Int64,
                    "[embedding_bag] expected int64 input and offsets, got ", dtype_name(indices->dtype()), " and ",
                    dtype_name(offsets->dtype()));
  FASTNN_CHECK(indices->dim() == 1, "[embedding_bag] input has to be 1D or 2D Tensor, but got Tensor of dimension ",
               indices->dim());
  FASTNN_CHECK(offsets->dim() == 1, "[embedding_bag] offsets has to be a 1D Tensor, but got Tensor of dimension ",
               offsets->dim());
  BagMode bag_mode = BagMode(mode);
  FASTNN_CHECK(!(scale_grad_by_freq && bag_mode == BagMode::Max),
               "[embedding_bag] max mode does not support scaling the gradient by the frequency");
  const Device device = common_device({&weight, &indices, &offsets, &per_sample_weights}, op);
  if (device.is_cuda()) check_cuda_float(weight->dtype(), op);
  int64_t rows = weight->shape()[0], dim = weight->shape()[1], n = indices->numel();
  // indices and offsets are checked, and the bags laid out, on the host (one copy of each from a GPU)
  TensorPtr idx = contiguous(to_device(indices->detach(), Device{})),
            off = contiguous(to_device(offsets->detach(), Device{}));
  const int64_t* ip = idx->data<int64_t>();
  const int64_t* op_ = off->data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    FASTNN_CHECK_INDEX(ip[i] >= 0 && ip[i] < rows, "[embedding_bag] Index ", i, " of input takes value ", ip[i],
                       " which is not in the valid range [0, ", rows, ")");
  int64_t num_offsets = off->numel();
  FASTNN_CHECK(!include_last_offset || num_offsets >= 1,
               "[embedding_bag] include_last_offset: number of offsets should be at least 1");
  int64_t bags = include_last_offset ? num_offsets - 1 : num_offsets;
  if (num_offsets > 0) {
    FASTNN_CHECK(op_[0] == 0,
                 "[embedding_bag] offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
                 "to start from position 0. However, got ",
                 op_[0]);
    FASTNN_CHECK(op_[num_offsets - 1] <= n, "[embedding_bag] offsets[-1] can not be greater than input's length ", n,
                 " but got offsets[-1] of ", op_[num_offsets - 1]);
    // (torch reads past the last bag otherwise)
    FASTNN_CHECK(!include_last_offset || op_[num_offsets - 1] == n,
                 "[embedding_bag] include_last_offset: the last "
                 "offset must be the input's length ",
                 n, ", got ", op_[num_offsets - 1]);
    for (int64_t b = 1; b < num_offsets; ++b)
      FASTNN_CHECK(op_[b] >= op_[b - 1], "[embedding_bag] offsets must be non-decreasing, but offsets[", b,
                   "] = ", op_[b], " < offsets[", b - 1, "] = ", op_[b - 1]);
  }
  TensorPtr psw;
  if (per_sample_weights) {
    FASTNN_CHECK(bag_mode == BagMode::Sum,
                 "[embedding_bag] per_sample_weights was not None. per_sample_weights is only "
                 "supported for mode='sum' (got mode='",
                 mode == 1 ? "mean" : "max", "')");
    FASTNN_CHECK_TYPE(per_sample_weights->dtype() == weight->dtype(),
                      "[embedding_bag] expected per_sample_weights of "
                      "the weight's dtype ",
                      dtype_name(weight->dtype()), ", got ", dtype_name(per_sample_weights->dtype()));
    FASTNN_CHECK(per_sample_weights->dim() == 1 && per_sample_weights->numel() == n,
                 "[embedding_bag] expected "
                 "per_sample_weights of the input's shape (",
                 n, "), got ", per_sample_weights->shape());
    psw = contiguous(per_sample_weights->detach());
  }
  std::vector<int64_t> start(bags), end(bags), bag_of(n, -1), bag_size(bags, 0);
  for (int64_t b = 0; b < bags; ++b) {
    start[b] = op_[b];
    end[b] = b + 1 < num_offsets ? op_[b + 1] : n;
    for (int64_t i = start[b]; i < end[b]; ++i)
      if (ip[i] != padding_idx) bag_of[i] = b;
  }
  TensorPtr w = contiguous(weight->detach());
  TensorPtr out = Tensor::empty({bags, dim}, w->dtype(), op, device);
  TensorPtr argmax = bag_mode == BagMode::Max ? Tensor::empty({bags, dim}, DType::Int64, op, device) : nullptr;
  if (device.is_cuda()) {
    for (int64_t i = 0; i < n; ++i)
      if (bag_of[size_t(i)] >= 0) ++bag_size[size_t(bag_of[size_t(i)])];
    const TensorPtr index = to_device(idx, device), starts = int64_tensor(start, device),
                    ends = int64_tensor(end, device);
    auto ptr = [](const TensorPtr& t) { return static_cast<const int64_t*>(t->device_data()); };
    cuda::embedding_bag_forward(w->dtype() == DType::Float64, w->device_data(), dim, ptr(index), ptr(starts), ptr(ends),
                                bags, padding_idx, int(bag_mode), psw ? psw->device_data() : nullptr,
                                out->device_data(), argmax ? static_cast<int64_t*>(argmax->device_data()) : nullptr,
                                device.index);
  } else {
    kernels::embedding_bag_forward(w->dtype(), w->raw_data(), dim, ip, start.data(), end.data(), bags, padding_idx,
                                   bag_mode, psw ? psw->raw_data() : nullptr, out->raw_mutable_data(), bag_size.data(),
                                   argmax ? argmax->mutable_data<int64_t>() : nullptr);
  }
  const TensorPtr& psw_in = per_sample_weights;
  if (any_requires_grad({&weight, &psw_in})) {
    auto node = std::make_shared<EmbeddingBagBackward>(weight, per_sample_weights, idx, std::move(bag_of),
                                                       std::move(bag_size), argmax, bag_mode, scale_grad_by_freq);
    record(node, {&weight, &psw_in}, {&out});
  }
  return out;
}

void embedding_renorm_(TensorPtr& weight, const TensorPtr& indices, double max_norm, double norm_type) {
  const char* op = "embedding_renorm_";
  check_defined(weight, op, "weight");
  check_defined(indices, op);
  FASTNN_CHECK(weight->dim() == 2, "[embedding_renorm_] expected a 2-D weight, got shape ", weight->shape());
  FASTNN_CHECK_TYPE(is_floating(weight->dtype()), "[embedding_renorm_] expected a floating-point weight, got ",
                    dtype_name(weight->dtype()));
  FASTNN_CHECK_TYPE(indices->dtype() == DType::Int64, "[embedding_renorm_] expected int64 indices, got ",
                    dtype_name(indices->dtype()));
  FASTNN_CHECK(weight->is_contiguous(), "[embedding_renorm_] expected a contiguous weight");
  if (!weight->is_cpu()) {  // on a GPU: renormed on the host (a copy of the weight) and copied back
    TensorPtr host = contiguous(to_device(weight->detach(), Device{}));
    embedding_renorm_(host, to_device(indices->detach(), Device{}), max_norm, norm_type);
    GradModeGuard no_grad(false);
    copy_(weight, host);
    return;
  }
  int64_t rows = weight->shape()[0], dim = weight->shape()[1];
  TensorPtr idx = contiguous(reshape(indices->detach(), {-1}));
  const int64_t* ip = idx->data<int64_t>();
  std::vector<char> seen(rows, 0);
  for (int64_t i = 0; i < idx->numel(); ++i) {
    FASTNN_CHECK_INDEX(ip[i] >= 0 && ip[i] < rows, "[embedding_renorm_] index ", ip[i], " is out of range for ", rows,
                       " embeddings");
    seen[ip[i]] = 1;
  }
  FASTNN_DISPATCH_FLOAT(weight->dtype(), op, [&] {
    scalar_t* w = weight->mutable_data<scalar_t>();
    parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(dim, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (!seen[r]) continue;
        scalar_t* row = w + r * dim;
        double norm = 0;
        if (std::isinf(norm_type)) {  // the largest |x| (+inf) or the smallest (-inf)
          norm = norm_type > 0 || dim == 0 ? 0.0 : INFINITY;
          for (int64_t d = 0; d < dim; ++d)
            norm = norm_type > 0 ? std::max(norm, std::abs(double(row[d]))) : std::min(norm, std::abs(double(row[d])));
        } else if (norm_type == 0) {
          for (int64_t d = 0; d < dim; ++d) norm += row[d] != 0;
        } else {
          for (int64_t d = 0; d < dim; ++d) norm += std::pow(std::abs(double(row[d])), norm_type);
          norm = std::pow(norm, 1.0 / norm_type);
        }
        if (norm > max_norm) {
          scalar_t scale = scalar_t(max_norm / (norm + 1e-7));
          for (int64_t d = 0; d < dim; ++d) row[d] *= scale;
        }
      }
    });
  });
  weight->bump_version();
}

}  // namespace fastnn
