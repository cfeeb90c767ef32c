// torch.linalg.inv, det, slogdet and solve: each matrix of a (*, n, n) batch factored by LU with partial pivoting
// (ops/linalg_rules.h, the same code on the CPU and in kernels/cuda/linalg.cu), then solved or multiplied out. The
// gradients are compositions of matmul and transposes (so they run on either device):
//   inv:   dA = -X^T g X^T (X = A^-1)          solve: dB = A^-T g, dA = -dB X^T (X = A^-1 B)
//   det:   dA = g det(A) A^-T                   slogdet: dA = g A^-T (through log|det|)
#include <cmath>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/linalg.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/linalg_rules.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

struct Factors {
  TensorPtr lu, perm, sign;  // (batch, n, n), (batch, n) int64, (batch) int64 (0: singular)
  int64_t batch, n;
};

void check_square(const TensorPtr& a, const char* op) {
  check_defined(a, op, "A");
  FASTNN_CHECK(a->dim() >= 2, "[", op, "] The input tensor A must have at least 2 dimensions.");
  const int64_t r = a->shape()[size_t(a->dim() - 2)], c = a->shape()[size_t(a->dim() - 1)];
  FASTNN_CHECK(r == c, "[", op, "] A must be batches of square matrices, but they are ", r, " by ", c, " matrices");
  FASTNN_CHECK_TYPE(a->dtype() == DType::Float32 || a->dtype() == DType::Float64, "[", op,
                    "] Expected a floating point tensor as input. Got ", dtype_name(a->dtype()),
                    " (float32 and float64 are supported)");
}

Shape batch_shape(const TensorPtr& a) { return Shape(a->shape().begin(), a->shape().end() - 2); }

Factors factor(const TensorPtr& a, const char* op) {
  const int64_t n = a->shape().back();
  int64_t batch = 1;
  for (int64_t d : batch_shape(a)) batch *= d;
  const Device device = a->device();
  Factors f{clone(reshape(a->detach(), {batch, n, n})), Tensor::empty({batch, n}, DType::Int64, op, device),
            Tensor::empty({batch}, DType::Int64, op, device), batch, n};
  f.lu = contiguous(f.lu);
  if (device.is_cuda()) {
    cuda::lu_factor_batched(a->dtype() == DType::Float64, f.lu->device_data(), batch, n,
                            static_cast<int64_t*>(f.perm->device_data()), static_cast<int64_t*>(f.sign->device_data()),
                            device.index);
    return f;
  }
  FASTNN_DISPATCH_FLOAT(a->dtype(), op, [&] {
    scalar_t* lu = f.lu->mutable_data<scalar_t>();
    int64_t *perm = f.perm->mutable_data<int64_t>(), *sign = f.sign->mutable_data<int64_t>();
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) sign[b] = rules::lu_factor(lu + b * n * n, n, perm + b * n);
    });
  });
  return f;
}

// Refuses a singular matrix in the batch (inv and solve), as torch's LinAlgError.
void check_invertible(const Factors& f, const char* op) {
  if (f.batch == 0) return;
  const TensorPtr singular = compare(f.sign, scalar_tensor(0, DType::Int64, true), CompareOp::Eq);
  FASTNN_CHECK_STATE(!host_int64(any(singular, {}, false)), "[", op,
                     "] The input matrix is singular (a zero pivot in its LU factorization), so it cannot be ",
                     "inverted or solved with");
}

// x (batch, n, m) = A^-1 rhs for rhs (batch, n, m) from A's factors.
TensorPtr lu_solve(const Factors& f, const TensorPtr& rhs_in, const char* op) {
  const TensorPtr rhs = contiguous(rhs_in);
  const int64_t m = rhs->shape()[2];
  TensorPtr x = Tensor::empty(rhs->shape(), rhs->dtype(), op, rhs->device());
  if (rhs->device().is_cuda()) {
    cuda::lu_solve_batched(rhs->dtype() == DType::Float64, f.lu->device_data(),
                           static_cast<const int64_t*>(f.perm->device_data()), f.batch, f.n, rhs->device_data(), m,
                           x->device_data(), rhs->device().index);
    return x;
  }
  FASTNN_DISPATCH_FLOAT(rhs->dtype(), op, [&] {
    const scalar_t *lu = f.lu->data<scalar_t>(), *b = rhs->data<scalar_t>();
    const int64_t* perm = f.perm->data<int64_t>();
    scalar_t* out = x->mutable_data<scalar_t>();
    const int64_t n = f.n;
    parallel_for(f.batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t k = b0; k < b1; ++k)
        rules::lu_solve(lu + k * n * n, perm + k * n, n, b + k * n * m, m, out + k * n * m);
    });
  });
  return x;
}

TensorPtr mT(const TensorPtr& t) { return transpose(t, -2, -1); }

// The batch's identity matrices (batch, n, n) in a's dtype and device.
TensorPtr identities(const Factors& f, const TensorPtr& a) {
  GradModeGuard no_grad(false);
  return contiguous(expand(to_device(eye(f.n, f.n, a->dtype()), a->device()), {f.batch, f.n, f.n}));
}

// (sign as a float, the diagonal of U) of each matrix: det = sign * prod(diag).
std::pair<TensorPtr, TensorPtr> sign_and_diagonal(const Factors& f, const TensorPtr& a) {
  GradModeGuard no_grad(false);
  return {cast(f.sign, a->dtype()), diagonal(f.lu, 0, 1, 2)};
}

}  // namespace

TensorPtr linalg_inv(const TensorPtr& a) {
  const char* op = "linalg.inv";
  check_square(a, op);
  const Factors f = factor(a, op);
  check_invertible(f, op);
  TensorPtr x = reshape(lu_solve(f, identities(f, a), op), a->shape());
  if (any_requires_grad({&a})) {
    const TensorPtr xd = x->detach();
    record_grad_only("LinalgInvExBackward0", x, {a}, [xd](const TensorPtr& g) {
      return std::vector<TensorPtr>{neg(matmul(mT(xd), matmul(g, mT(xd))))};
    });
  }
  return x;
}

std::pair<TensorPtr, TensorPtr> linalg_slogdet(const TensorPtr& a) {
  const char* op = "linalg.slogdet";
  check_square(a, op);
  const Factors f = factor(a, op);
  auto [sign_f, diag] = sign_and_diagonal(f, a);
  TensorPtr sign, logabs;
  {
    GradModeGuard no_grad(false);
    // sign(det) = the permutation's sign times the signs of U's diagonal (0 for a singular matrix)
    sign = reshape(mul(sign_f, prod(fastnn::sign(diag), -1, false, std::nullopt)), batch_shape(a));
    logabs = reshape(sum(log(abs(diag)), {-1}, false), batch_shape(a));
  }
  if (any_requires_grad({&a})) {
    const TensorPtr ad = a->detach();
    record_grad_only("LinalgSlogdetBackward0", logabs, {a}, [ad](const TensorPtr& g) {
      const TensorPtr inv_t = mT(linalg_inv(ad));
      return std::vector<TensorPtr>{mul(unsqueeze(unsqueeze(g, -1), -1), inv_t)};
    });
    // the sign is piecewise constant: part of the graph, as in torch, with a zero gradient
    record_grad_only("LinalgSlogdetBackward0", sign, {a}, [shape = a->shape(), dt = a->dtype()](const TensorPtr& g) {
      return std::vector<TensorPtr>{zeros_on(shape, dt, g->device())};
    });
  }
  return {sign, logabs};
}

TensorPtr linalg_det(const TensorPtr& a) {
  const char* op = "linalg.det";
  check_square(a, op);
  const Factors f = factor(a, op);
  auto [sign_f, diag] = sign_and_diagonal(f, a);
  TensorPtr det;
  {
    GradModeGuard no_grad(false);
    det = reshape(mul(sign_f, prod(diag, -1, false, std::nullopt)), batch_shape(a));
  }
  if (any_requires_grad({&a})) {
    const TensorPtr ad = a->detach(), dd = det->detach();
    const bool singular =
        f.batch > 0 && host_int64(any(compare(f.sign, scalar_tensor(0, DType::Int64, true), CompareOp::Eq), {}, false));
    record_grad_only("LinalgDetBackward0", det, {a}, [ad, dd, singular](const TensorPtr& g) {
      FASTNN_CHECK_STATE(!singular, "[linalg.det] the gradient of det at a singular matrix is not supported yet");
      const TensorPtr scale = unsqueeze(unsqueeze(mul(g, dd), -1), -1);
      return std::vector<TensorPtr>{mul(scale, mT(linalg_inv(ad)))};
    });
  }
  return det;
}

TensorPtr linalg_solve(const TensorPtr& a, const TensorPtr& b) {
  const char* op = "linalg.solve";
  check_square(a, op);
  check_defined(b, op, "B");
  FASTNN_CHECK_TYPE(b->dtype() == a->dtype(), "[", op,
                    "] Expected A and B to have the same dtype, but found A of type ", dtype_name(a->dtype()),
                    " and B of type ", dtype_name(b->dtype()), " instead");
  common_device({&a, &b}, op);
  const int64_t n = a->shape().back();
  // B is a vector (or a batch of them) when it has one dim less than A, or is 1-D (torch's rule)
  const bool vector = b->dim() == 1 || (b->dim() == a->dim() - 1 && b->shape().back() == n);
  const TensorPtr bm = vector ? unsqueeze(b, -1) : b;
  FASTNN_CHECK(bm->dim() >= 2 && bm->shape()[size_t(bm->dim() - 2)] == n, "[", op, "] Incompatible shapes of A and B ",
               "for the equation AX = B (", a->shape(), " and ", b->shape(), ")");
  // batch dims broadcast together
  Shape batch = broadcast_shapes(batch_shape(a), batch_shape(bm), op);
  Shape a_shape = batch, b_shape = batch;
  a_shape.insert(a_shape.end(), {n, n});
  b_shape.insert(b_shape.end(), {n, bm->shape().back()});
  const TensorPtr ae = expand(a, a_shape), be = expand(bm, b_shape);
  const Factors f = factor(ae, op);
  check_invertible(f, op);
  TensorPtr x = lu_solve(f, reshape(be->detach(), {f.batch, n, b_shape.back()}), op);
  x = reshape(x, b_shape);
  if (vector) x = squeeze(x, -1);
  if (any_requires_grad({&a, &b})) {
    const TensorPtr ad = ae->detach(), xd = x->detach();
    const Shape sa = a->shape(), sb = b->shape();
    record_grad_only("LinalgSolveExBackward0", x, {a, b}, [ad, xd, sa, sb, vector](const TensorPtr& g) {
      const TensorPtr gm = vector ? unsqueeze(g, -1) : g, xm = vector ? unsqueeze(xd, -1) : xd;
      const TensorPtr gb = linalg_solve(mT(ad), gm);  // A^-T g
      const TensorPtr ga = neg(matmul(gb, mT(xm)));
      return std::vector<TensorPtr>{sum_to(ga, sa), sum_to(vector ? squeeze(gb, -1) : gb, sb)};
    });
  }
  return x;
}

}  // namespace fastnn
