// Matrix products: mm, addmm, bmm, matmul and linear, all on the packed GEMM kernel (kernels/cuda/gemm.cu's for
// tensors on a GPU).
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/gemm.h"
#include "fastnn/kernels/cuda/gemm.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

void check_matrix_dtypes(const TensorPtr& a, const TensorPtr& b, const char* op) {
  FASTNN_CHECK_TYPE(is_floating(a->dtype()) && a->dtype() == b->dtype(), "[", op,
                    "] expected both operands to have the same floating-point dtype, but got ", dtype_name(a->dtype()),
                    " and ", dtype_name(b->dtype()));
}

// c (contiguous n x m) = a (n x k) @ b (k x m), or += when accumulate, or = bias + a @ b with a bias of m
// contiguous values (CPU only); any strides for a and b.
void gemm_into(const Tensor& a, const Tensor& b, Tensor& c, bool accumulate, const Tensor* bias = nullptr) {
  int64_t n = a.shape()[0], k = a.shape()[1], m = b.shape()[1];
  if (!c.is_cpu()) {
    FASTNN_CHECK(!bias, "[mm] internal error: a GEMM bias epilogue on the GPU");
    check_cuda_float(a.dtype(), "mm");
    cuda::gemm(a.dtype() == DType::Float64, 1, n, m, k, {a.device_data(), 0, a.strides()[0], a.strides()[1]},
               {b.device_data(), 0, b.strides()[0], b.strides()[1]}, c.device_data(), 0, m, accumulate,
               c.device().index);
    return;
  }
  FASTNN_DISPATCH_FLOAT(a.dtype(), "mm", [&] {
    kernels::gemm<scalar_t>(n, m, k, a.data<scalar_t>(), a.strides()[0], a.strides()[1], b.data<scalar_t>(),
                            b.strides()[0], b.strides()[1], c.mutable_data<scalar_t>(), m, accumulate,
                            bias ? bias->data<scalar_t>() : nullptr);
  });
}

TensorPtr mm_forward(const TensorPtr& a, const TensorPtr& b) {
  TensorPtr c = Tensor::empty({a->shape()[0], b->shape()[1]}, a->dtype(), "mm", a->device());
  gemm_into(*a, *b, *c, false);
  return c;
}

void check_mm(const TensorPtr& a, const TensorPtr& b, const char* op) {
  FASTNN_CHECK(a->dim() == 2 && b->dim() == 2, "[", op, "] expected 2-D matrices, got ", a->dim(), "-D and ", b->dim(),
               "-D (shapes ", a->shape(), " and ", b->shape(), ")");
  FASTNN_CHECK(a->shape()[1] == b->shape()[0], "[", op, "] mat1 and mat2 shapes cannot be multiplied (", a->shape()[0],
               "x", a->shape()[1], " and ", b->shape()[0], "x", b->shape()[1], ")");
  check_matrix_dtypes(a, b, op);
  common_device({&a, &b}, op);
}

// Backward of mm/addmm: d(a@b)/da = g @ b^T, d/db = a^T @ g, scaled by alpha; bias gets beta*g.
class MatmulBackward : public Node {
 public:
  MatmulBackward(const char* name, const TensorPtr* bias, const TensorPtr& a, const TensorPtr& b, double beta,
                 double alpha)
      : name_(name),
        has_bias_(bias != nullptr),
        beta_(beta),
        alpha_(alpha),
        a_strides_(a->strides()),
        b_strides_(b->strides()) {
    if (bias) bias_shape_ = (*bias)->shape();
    if (any_requires_grad({&b})) a_ = SavedTensor::with_history(a);
    if (any_requires_grad({&a})) b_ = SavedTensor::with_history(b);
  }
  std::string name() const override { return name_; }
  bool supports_create_graph() const override { return true; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr g = grads[0];
    size_t o = has_bias_ ? 1 : 0;
    std::vector<TensorPtr> r(o + 2);
    if (has_bias_ && needs_input_grad(0)) {
      TensorPtr gb = beta_ == 1 ? g : mul(g, scalar_tensor(beta_, DType::Float64, true));
      r[0] = sum_to(gb, bias_shape_);
    }
    TensorPtr ga = alpha_ == 1 ? g : mul(g, scalar_tensor(alpha_, DType::Float64, true));
    auto product = GradMode::is_enabled() ? &mm : &mm_forward;  // create_graph records the products
    // Each gradient in its input's layout (as torch): for a transposed operand (linear's t(weight)), the product
    // of the transposes, transposed -- the weight's gradient comes out contiguous, with no copy.
    auto grad_of = [&](const Shape& strides, const TensorPtr& x, const TensorPtr& y) {
      return strides[0] == 1 && strides[1] != 1 ? t(product(t(y), t(x))) : product(x, y);
    };
    if (needs_input_grad(o)) r[o] = grad_of(a_strides_, ga, t(b_.unpack(*this)));
    if (needs_input_grad(o + 1)) r[o + 1] = grad_of(b_strides_, t(a_.unpack(*this)), ga);
    return r;
  }
  void release_saved() override {
    a_.reset();
    b_.reset();
  }

 private:
  const char* name_;
  bool has_bias_;
  double beta_, alpha_;
  Shape bias_shape_, a_strides_, b_strides_;
  SavedTensor a_, b_;
};

// Backward of linear_relu: ReLU's gradient (relu's table row: zero where the output is <= 0), then addmm's
// products as MatmulBackward computes them for linear's (x, t(weight)) with contiguous operands.
class LinearReluBackward : public Node {
 public:
  LinearReluBackward(const TensorPtr& x, const TensorPtr& w, const TensorPtr& y, Shape bias_shape)
      : y_(SavedTensor::output(y, 0)), bias_shape_(std::move(bias_shape)) {
    if (any_requires_grad({&w})) x_ = SavedTensor::with_history(x);
    if (any_requires_grad({&x})) w_ = SavedTensor::with_history(w);
  }
  std::string name() const override { return "LinearReluBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr g = contiguous(grads[0]), y = y_.unpack(*this);
    TensorPtr gm = Tensor::empty(y->shape(), y->dtype(), "linear_relu");
    FASTNN_DISPATCH_FLOAT(y->dtype(), "linear_relu", [&] {
      const scalar_t *pg = g->data<scalar_t>(), *py = y->data<scalar_t>();
      scalar_t* pm = gm->mutable_data<scalar_t>();
      parallel_for(y->numel(), kGrainSize, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const scalar_t g = pg[i];  // loaded unconditionally: a select, not a branch
          pm[i] = py[i] <= 0 ? scalar_t(0) : g;
        }
      });
    });
    std::vector<TensorPtr> r(3);
    if (needs_input_grad(0)) r[0] = sum_to(gm, bias_shape_);
    if (needs_input_grad(1)) r[1] = mm_forward(gm, w_.unpack(*this));
    if (needs_input_grad(2)) r[2] = mm_forward(t(gm), x_.unpack(*this));
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
    y_.reset();
  }

 private:
  SavedTensor x_, w_, y_;
  Shape bias_shape_;
};

// Backward of bmm: per batch, the same two products as mm.
class BmmBackward : public Node {
 public:
  BmmBackward(const TensorPtr& a, const TensorPtr& b) {
    if (any_requires_grad({&b})) a_ = SavedTensor::with_history(a);
    if (any_requires_grad({&a})) b_ = SavedTensor::with_history(b);
  }
  std::string name() const override { return "BmmBackward0"; }
  bool supports_create_graph() const override { return true; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0)) r[0] = bmm(grads[0], transpose(b_.unpack(*this), 1, 2));
    if (needs_input_grad(1)) r[1] = bmm(transpose(a_.unpack(*this), 1, 2), grads[0]);
    return r;
  }
  void release_saved() override {
    a_.reset();
    b_.reset();
  }

 private:
  SavedTensor a_, b_;
};

}  // namespace

TensorPtr mm(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "mm");
  check_defined(b, "mm", "mat2");
  if (any_storage_dtype({&a, &b})) return narrowed(mm(widened(a), widened(b)), a->dtype());
  check_mm(a, b, "mm");
  TensorPtr c = mm_forward(a, b);
  if (any_requires_grad({&a, &b}))
    record(std::make_shared<MatmulBackward>("MmBackward0", nullptr, a, b, 1, 1), {&a, &b}, {&c});
  return c;
}

TensorPtr addmm(const TensorPtr& bias, const TensorPtr& a, const TensorPtr& b, double beta, double alpha) {
  check_defined(bias, "addmm");
  check_defined(a, "addmm", "mat1");
  check_defined(b, "addmm", "mat2");
  if (any_storage_dtype({&bias, &a, &b}))
    return narrowed(addmm(widened(bias), widened(a), widened(b), beta, alpha), a->dtype());
  check_mm(a, b, "addmm");
  common_device({&bias, &a, &b}, "addmm");
  FASTNN_CHECK_TYPE(bias->dtype() == a->dtype(), "[addmm] expected bias of dtype ", dtype_name(a->dtype()), ", got ",
                    dtype_name(bias->dtype()));
  Shape out_shape{a->shape()[0], b->shape()[1]};
  FASTNN_CHECK(broadcast_shapes(bias->shape(), out_shape, "addmm") == out_shape, "[addmm] bias of shape ",
               bias->shape(), " cannot be broadcast to the output shape ", out_shape);
  TensorPtr c;
  {
    GradModeGuard no_grad(false);
    if (beta == 0) {  // the bias is ignored, NaN and inf included (as in torch)
      c = mm_forward(a, b);
      if (alpha != 1) c = mul(c, scalar_tensor(alpha, DType::Float64, true));
    } else if (alpha == 1 && beta == 1 && bias->is_cpu() && bias->dim() > 0 && bias->numel() == out_shape[1] &&
               bias->numel() > 0 && bias->shape().back() == out_shape[1] &&
               (bias->numel() == 1 || bias->strides().back() == 1)) {
      c = Tensor::empty(out_shape, a->dtype(), "addmm");  // a bias per column: added by the GEMM
      gemm_into(*a, *b, *c, false, bias.get());
    } else if (alpha == 1) {
      c = beta == 1 ? contiguous(expand(bias->detach(), out_shape))
                    : mul(expand(bias->detach(), out_shape), scalar_tensor(beta, DType::Float64, true));
      if (c->storage() == bias->storage()) c = clone(c);
      gemm_into(*a, *b, *c, true);
    } else {
      c = add(mul(expand(bias->detach(), out_shape), scalar_tensor(beta, DType::Float64, true)), mm_forward(a, b),
              alpha);
    }
  }
  if (any_requires_grad({&bias, &a, &b}))
    record(std::make_shared<MatmulBackward>("AddmmBackward0", &bias, a, b, beta, alpha), {&bias, &a, &b}, {&c});
  return c;
}

TensorPtr bmm(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "bmm");
  check_defined(b, "bmm", "mat2");
  if (any_storage_dtype({&a, &b})) return narrowed(bmm(widened(a), widened(b)), a->dtype());
  FASTNN_CHECK(a->dim() == 3 && b->dim() == 3, "[bmm] expected 3-D tensors, got ", a->dim(), "-D and ", b->dim(),
               "-D (shapes ", a->shape(), " and ", b->shape(), ")");
  FASTNN_CHECK(a->shape()[0] == b->shape()[0], "[bmm] batch sizes differ: ", a->shape()[0], " vs ", b->shape()[0]);
  FASTNN_CHECK(a->shape()[2] == b->shape()[1], "[bmm] expected size ", a->shape()[2],
               " in dim 1 of the second operand, got ", b->shape()[1], " (shapes ", a->shape(), " and ", b->shape(),
               ")");
  check_matrix_dtypes(a, b, "bmm");
  const Device device = common_device({&a, &b}, "bmm");
  int64_t batch = a->shape()[0], n = a->shape()[1], k = a->shape()[2], m = b->shape()[2];
  TensorPtr c = Tensor::empty({batch, n, m}, a->dtype(), "bmm", device);
  if (device.is_cuda()) {
    check_cuda_float(a->dtype(), "bmm");
    const Shape &sa = a->strides(), &sb = b->strides();
    cuda::gemm(a->dtype() == DType::Float64, batch, n, m, k, {a->device_data(), sa[0], sa[1], sa[2]},
               {b->device_data(), sb[0], sb[1], sb[2]}, c->device_data(), n * m, m, false, device.index);
  } else
    FASTNN_DISPATCH_FLOAT(a->dtype(), "bmm", [&] {
      const scalar_t* pa = a->data<scalar_t>();
      const scalar_t* pb = b->data<scalar_t>();
      scalar_t* pc = c->mutable_data<scalar_t>();
      const Shape &sa = a->strides(), &sb = b->strides();
      // Small matrices: one batch element per task; large ones parallelise inside the GEMM.
      int64_t grain = n * m * k >= (1 << 18) ? batch : 1;
      parallel_for(batch, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
          kernels::gemm<scalar_t>(n, m, k, pa + i * sa[0], sa[1], sa[2], pb + i * sb[0], sb[1], sb[2], pc + i * n * m,
                                  m, false);
      });
    });
  if (any_requires_grad({&a, &b})) record(std::make_shared<BmmBackward>(a, b), {&a, &b}, {&c});
  return c;
}

TensorPtr matmul(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "matmul");
  check_defined(b, "matmul", "other");
  if (any_storage_dtype({&a, &b})) return narrowed(matmul(widened(a), widened(b)), a->dtype());
  int64_t da = a->dim(), db = b->dim();
  FASTNN_CHECK(da > 0 && db > 0, "[matmul] both arguments to matmul need to be at least 1D, but they are ", da,
               "D and ", db, "D");
  if (da == 1 && db == 1) {
    FASTNN_CHECK(a->shape()[0] == b->shape()[0], "[matmul] inconsistent tensor size, expected tensor [", a->shape()[0],
                 "] and src [", b->shape()[0], "] to have the same number of elements, but got ", a->shape()[0],
                 " and ", b->shape()[0], " elements respectively");
    return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  }
  if (da == 2 && db == 1) return squeeze(mm(a, unsqueeze(b, 1)), 1);
  if (da == 1 && db == 2) return squeeze(mm(unsqueeze(a, 0), b), 0);
  if (da == 2 && db == 2) return mm(a, b);
  if (da >= 3 && db <= 2) {
    // Fold the batch into the rows: (..., n, k) @ (k, m) is one GEMM.
    TensorPtr bm = db == 1 ? unsqueeze(b, 1) : b;
    Shape lead(a->shape().begin(), a->shape().end() - 1);
    int64_t rows = 1;  // not -1: reshape cannot infer it when the input is empty
    for (int64_t s : lead) rows *= s;
    TensorPtr r = mm(reshape(a, {rows, a->shape().back()}), bm);
    if (db == 2) lead.push_back(bm->shape()[1]);
    return reshape(r, lead);
  }
  // General batched case: broadcast the batch dims, then bmm.
  TensorPtr a3 = da == 1 ? unsqueeze(a, 0) : a;
  TensorPtr b3 = db == 1 ? unsqueeze(b, 1) : b;
  Shape ba(a3->shape().begin(), a3->shape().end() - 2), bb(b3->shape().begin(), b3->shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb, "matmul");
  int64_t n = a3->shape()[a3->dim() - 2], k = a3->shape().back(), k2 = b3->shape()[b3->dim() - 2],
          m = b3->shape().back();
  FASTNN_CHECK(k == k2, "[matmul] shapes ", a->shape(), " and ", b->shape(), " cannot be multiplied (", k, " vs ", k2,
               ")");
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {n, k});
  eb.insert(eb.end(), {k, m});
  int64_t B = 1;
  for (int64_t s : batch) B *= s;
  TensorPtr r = bmm(reshape(expand(a3, ea), {B, n, k}), reshape(expand(b3, eb), {B, k, m}));
  Shape out = batch;
  if (da > 1) out.push_back(n);
  if (db > 1) out.push_back(m);
  return reshape(r, out);
}

TensorPtr linear_relu(const TensorPtr& x, const TensorPtr& weight, const TensorPtr& bias) {
  // The fused form covers linear's addmm path with contiguous float operands (whose gradients MatmulBackward
  // computes as LinearReluBackward does); anything else is the two ops.
  const bool fused = x && weight && bias && x->is_cpu() && x->dim() == 2 && weight->dim() == 2 && x->is_contiguous() &&
                     weight->is_contiguous() && (x->dtype() == DType::Float32 || x->dtype() == DType::Float64) &&
                     weight->dtype() == x->dtype() && bias->dtype() == x->dtype() && weight->shape()[1] > 1 &&
                     x->shape()[1] == weight->shape()[1];
  if (!fused) return relu(linear(x, weight, bias));
  TensorPtr y;
  {
    GradModeGuard no_grad(false);
    y = linear(x, weight, bias);
  }
  FASTNN_DISPATCH_FLOAT(y->dtype(), "linear_relu", [&] {
    scalar_t* p = y->mutable_data<scalar_t>();
    parallel_for(y->numel(), kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = p[i] < 0 ? scalar_t(0) : p[i];  // relu's table row
    });
  });
  if (any_requires_grad({&bias, &x, &weight}))
    record(std::make_shared<LinearReluBackward>(x, weight, y, bias->shape()), {&bias, &x, &weight}, {&y});
  return y;
}

TensorPtr linear(const TensorPtr& x, const TensorPtr& weight, const TensorPtr& bias) {
  check_defined(x, "linear");
  check_defined(weight, "linear", "weight");
  if (any_storage_dtype({&x, &weight, &bias}))
    return narrowed(linear(widened(x), widened(weight), widened(bias)), x->dtype());
  FASTNN_CHECK(weight->dim() == 2, "[linear] expected a 2-D weight (out_features, in_features), got shape ",
               weight->shape());
  FASTNN_CHECK(x->dim() >= 1 && x->shape().back() == weight->shape()[1], "[linear] input's last dimension (",
               x->dim() ? x->shape().back() : 0, ") does not match the weight's in_features (", weight->shape()[1],
               "): input shape ", x->shape(), ", weight shape ", weight->shape());
  if (bias)
    FASTNN_CHECK(bias->dim() == 1 && bias->shape()[0] == weight->shape()[0], "[linear] expected bias of shape (",
                 weight->shape()[0], ",), got ", bias->shape());
  if (x->dim() == 2 && bias) return addmm(bias, x, t(weight), 1, 1);
  if (x->dim() > 2 && bias) {  // batch dims folded into the rows: one addmm, the bias added by the GEMM
    Shape lead(x->shape().begin(), x->shape().end() - 1);
    int64_t rows = 1;  // not -1: reshape cannot infer it when the input is empty
    for (int64_t s : lead) rows *= s;
    lead.push_back(weight->shape()[0]);
    return reshape(addmm(bias, reshape(x, {rows, x->shape().back()}), t(weight), 1, 1), lead);
  }
  TensorPtr out = matmul(x, t(weight));
  return bias ? add(out, bias, 1) : out;
}

}  // namespace fastnn
