// multi_margin_loss and multilabel_margin_loss: per-row hinge losses over classes (each row by one thread).
#include <cmath>
#include <vector>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loss_more.h"

namespace fastnn {
namespace {

// (rows, classes) of a (C) or (N, C) input, with torch's check.
std::pair<int64_t, int64_t> margin_shape(const TensorPtr& input, const TensorPtr& target, const char* op) {
  check_defined(input, op);
  check_defined(target, op, "target");
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[", op, "] expected floating-point input, got ",
                    dtype_name(input->dtype()));
  FASTNN_CHECK_TYPE(target->dtype() == DType::Int64, "[", op, "] expected int64 target, got ",
                    dtype_name(target->dtype()));
  int64_t nd = input->dim();
  FASTNN_CHECK((nd == 1 && input->numel() > 0) || (nd == 2 && input->shape()[1] > 0), "[", op,
               "] Expected non-empty "
               "vector or matrix with optional 0-dim batch size, but got: ",
               input->shape());
  return nd == 1 ? std::make_pair(int64_t(1), input->shape()[0]) : std::make_pair(input->shape()[0], input->shape()[1]);
}

// The loss of each row (rows), reduced; `backward(g_rows)` gives the input gradient from per-row gradients.
TensorPtr reduce_rows(const TensorPtr& per_row, Reduction r, const Shape& none_shape) {
  if (r == Reduction::None) return reshape(per_row, none_shape);
  return r == Reduction::Sum ? sum(per_row) : mean(per_row);
}

class MarginLossBackward : public Node {
 public:
  using Fn = std::function<TensorPtr(const TensorPtr& x, const TensorPtr& g_rows)>;
  MarginLossBackward(const char* name, const TensorPtr& x, Reduction r, int64_t rows, Fn fn)
      : name_(name), x_(x), r_(r), rows_(rows), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this), g = grads[0];
    // per-row output gradients, in the input's dtype
    TensorPtr g_rows = r_ == Reduction::None ? reshape(g, {rows_}) : expand(reshape(g, {1}), {rows_});
    if (r_ == Reduction::Mean) g_rows = div(g_rows, scalar_tensor(double(rows_), g->dtype(), true));
    return {fn_(x, contiguous(g_rows))};
  }
  void release_saved() override { x_.reset(); }

 private:
  const char* name_;
  SavedTensor x_;
  Reduction r_;
  int64_t rows_;
  Fn fn_;
};

}  // namespace

TensorPtr multi_margin_loss(const TensorPtr& input, const TensorPtr& target, int64_t p, double margin,
                            const TensorPtr& weight, Reduction reduction) {
  const char* op = "multi_margin_loss";
  const auto shape = margin_shape(input, target, op);
  const int64_t n = shape.first, c = shape.second;
  FASTNN_CHECK(p == 1 || p == 2, "[multi_margin_loss] only p == 1 and p == 2 supported, got ", p);
  FASTNN_CHECK((input->dim() == 1 && target->dim() <= 1 && target->numel() == 1) ||
                   (input->dim() == 2 && target->dim() == 1 && target->numel() == n),
               "[multi_margin_loss] target tensor should be 1-D with size equal to the number of input samples (batch "
               "size). Expected target size [",
               n, "], but got ", target->shape(), ". Input has shape ", input->shape(), ".");
  if (weight)
    FASTNN_CHECK(weight->dim() == 1 && weight->numel() == c, "[multi_margin_loss] inconsistent weight size, expected ",
                 c, " but got ", weight->shape());
  const Device device = common_device({&input, &target, &weight}, op);
  TensorPtr t = contiguous(to_device(reshape(target->detach(), {n}), Device{}));  // checked on the host
  const int64_t* tp = t->data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    FASTNN_CHECK_INDEX(tp[i] >= 0 && tp[i] < c, "[multi_margin_loss] target ", tp[i], " is out of range for ", c,
                       " classes");
  if (device.is_cuda()) {  // composed of GPU ops: the hinge terms of the classes j != y, weighted by w[y]
    check_cuda_float(input->dtype(), op);
    const TensorPtr x = reshape(input, {n, c}), y = reshape(target->detach(), {n, 1});
    TensorPtr z = relu(add(sub(scalar_tensor(margin, DType::Float64, true), gather(x, 1, y), 1), x, 1));
    if (p == 2) z = mul(z, z);
    if (weight) z = mul(z, reshape(index_select(cast(weight, input->dtype()), 0, reshape(y, {n})), {n, 1}));
    z = where(cast(one_hot(reshape(y, {n}), c), DType::Bool), scalar_tensor(0, DType::Float64, true), z);
    return reduce_rows(div(sum(z, {1}, false), scalar_tensor(double(c), DType::Float64, true)), reduction,
                       target->shape());
  }
  TensorPtr w = weight ? contiguous(cast(weight->detach(), input->dtype())) : nullptr;
  // each (row, j != target) term's derivative factor: p=1: w[y] where z > 0, p=2: 2 z w[y]
  auto rows_loss = [=](const TensorPtr& x) {
    const int64_t* tp = t->data<int64_t>();  // t is kept alive by the lambda (backward runs later)
    TensorPtr out = Tensor::empty({n}, x->dtype(), op);
    FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
      const scalar_t* xp = x->data<scalar_t>();
      const scalar_t* wp = w ? w->data<scalar_t>() : nullptr;
      scalar_t* o = out->mutable_data<scalar_t>();
      parallel_for(n, std::max<int64_t>(1, kGrainSize / c), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const scalar_t* row = xp + i * c;
          int64_t y = tp[i];
          scalar_t s = 0;
          for (int64_t j = 0; j < c; ++j) {
            if (j == y) continue;
            scalar_t z = scalar_t(margin) - row[y] + row[j];
            if (z > 0) s += (p == 1 ? z : z * z) * (wp ? wp[y] : scalar_t(1));
          }
          o[i] = s / scalar_t(c);
        }
      });
    });
    return out;
  };
  TensorPtr x = contiguous(input->detach());
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = reduce_rows(rows_loss(x), reduction, target->shape());
  }
  if (any_requires_grad({&input})) {
    auto bwd = [=](const TensorPtr& xs, const TensorPtr& g_rows) {
      const int64_t* tp = t->data<int64_t>();
      TensorPtr xc = contiguous(xs);
      TensorPtr gi = zeros({n, c}, xc->dtype());
      FASTNN_DISPATCH_FLOAT(xc->dtype(), op, [&] {
        const scalar_t* xp = xc->data<scalar_t>();
        const scalar_t* gp = g_rows->data<scalar_t>();
        const scalar_t* wp = w ? w->data<scalar_t>() : nullptr;
        scalar_t* d = gi->mutable_data<scalar_t>();
        parallel_for(n, std::max<int64_t>(1, kGrainSize / c), [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) {
            const scalar_t* row = xp + i * c;
            int64_t y = tp[i];
            scalar_t gs = gp[i] / scalar_t(c);
            for (int64_t j = 0; j < c; ++j) {
              if (j == y) continue;
              scalar_t z = scalar_t(margin) - row[y] + row[j];
              if (z <= 0) continue;
              scalar_t h = (p == 1 ? scalar_t(1) : 2 * z) * (wp ? wp[y] : scalar_t(1)) * gs;
              d[i * c + j] += h;
              d[i * c + y] -= h;
            }
          }
        });
      });
      return reshape(gi, input->shape());
    };
    record(std::make_shared<MarginLossBackward>("MultiMarginLossBackward0", input, reduction, n, bwd), {&input},
           {&out});
  }
  return out;
}

TensorPtr multilabel_margin_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction) {
  const char* op = "multilabel_margin_loss";
  const auto shape = margin_shape(input, target, op);
  const int64_t n = shape.first, c = shape.second;
  FASTNN_CHECK(target->shape() == input->shape(),
               "[multilabel_margin_loss] inconsistent target size: ", target->shape(),
               " for input of size: ", input->shape());
  TensorPtr t = contiguous(reshape(target, {n, c}));
  const int64_t* tp = t->data<int64_t>();
  // is_target[i, k]: k is one of row i's targets (those before the first -1)
  auto is_target = std::make_shared<std::vector<char>>(n * c, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c && tp[i * c + j] >= 0; ++j) {
      int64_t y = tp[i * c + j];
      FASTNN_CHECK_INDEX(y < c, "[multilabel_margin_loss] target ", y, " is out of range for ", c, " classes");
      (*is_target)[i * c + y] = 1;
    }
  // row i: sum over targets y (in order) and non-targets k of max(0, 1 - (x[y] - x[k])) / C; grad_sign != 0 adds
  // the derivative (scaled by g) into d instead.
  auto walk = [=](const TensorPtr& x, const TensorPtr& g_rows, TensorPtr out) {
    const int64_t* tp = t->data<int64_t>();  // t is kept alive by the lambda (backward runs later)
    FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
      const scalar_t* xp = x->data<scalar_t>();
      const scalar_t* gp = g_rows ? g_rows->data<scalar_t>() : nullptr;
      scalar_t* o = out->mutable_data<scalar_t>();
      const char* it = is_target->data();
      parallel_for(n, std::max<int64_t>(1, kGrainSize / (c * c)), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const scalar_t* row = xp + i * c;
          scalar_t s = 0, gs = gp ? gp[i] / scalar_t(c) : scalar_t(0);
          for (int64_t j = 0; j < c && tp[i * c + j] >= 0; ++j) {
            int64_t y = tp[i * c + j];
            for (int64_t k = 0; k < c; ++k) {
              if (it[i * c + k]) continue;
              scalar_t z = 1 - row[y] + row[k];
              if (z <= 0) continue;
              if (gp) {
                o[i * c + y] -= gs;
                o[i * c + k] += gs;
              } else {
                s += z;
              }
            }
          }
          if (!gp) o[i] = s / scalar_t(c);
        }
      });
    });
    return out;
  };
  TensorPtr x = contiguous(input->detach());
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = reduce_rows(walk(x, nullptr, Tensor::empty({n}, x->dtype(), op)), reduction,
                      input->dim() == 1 ? Shape{} : Shape{n});
  }
  if (any_requires_grad({&input})) {
    auto bwd = [=](const TensorPtr& xs, const TensorPtr& g_rows) {
      TensorPtr xc = contiguous(xs);
      return reshape(walk(xc, g_rows, zeros({n, c}, xc->dtype())), input->shape());
    };
    record(std::make_shared<MarginLossBackward>("MultilabelMarginLossBackward0", input, reduction, n, bwd), {&input},
           {&out});
  }
  return out;
}

}  // namespace fastnn
