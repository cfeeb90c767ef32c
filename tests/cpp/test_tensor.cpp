// Engine invariants: shapes, strides, views, broadcasting, promotion, allocation limits.
#include <gtest/gtest.h>

#include <cstring>

#include "fastnn/error.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"
#include "fastnn/random.h"

using namespace fastnn;

namespace {
TensorPtr iota(const Shape& shape) {
  return reshape(arange(0, double(checked_numel(shape, "iota")), 1, DType::Float32), shape);
}
float at(const TensorPtr& t, const Shape& idx) {
  int64_t off = 0;
  for (size_t i = 0; i < idx.size(); ++i) off += idx[i] * t->strides()[i];
  return t->data<float>()[off];
}
}  // namespace

TEST(Shape, ContiguousStridesAndNumel) {
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
  EXPECT_EQ(checked_numel({2, 3, 4}, "t"), 24);
  EXPECT_EQ(checked_numel({}, "t"), 1);
  EXPECT_EQ(checked_numel({5, 0, 7}, "t"), 0);
  EXPECT_THROW(checked_numel({-1, 2}, "t"), std::invalid_argument);
  EXPECT_THROW(checked_numel({int64_t(1) << 40, int64_t(1) << 40}, "t"), std::invalid_argument);
}

TEST(Shape, Broadcast) {
  EXPECT_EQ(broadcast_shapes({3, 1}, {1, 4}, "t"), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({5}, {2, 1, 5}, "t"), (Shape{2, 1, 5}));
  EXPECT_EQ(broadcast_shapes({0, 1}, {1, 3}, "t"), (Shape{0, 3}));
  EXPECT_THROW(broadcast_shapes({2, 3}, {3, 2}, "t"), std::invalid_argument);
}

TEST(Views, ShareStorageAndComputeStrides) {
  TensorPtr x = iota({2, 3, 4});
  TensorPtr t = transpose(x, 0, 2);
  EXPECT_EQ(t->storage(), x->storage());
  EXPECT_EQ(t->shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(t->strides(), (Shape{1, 4, 12}));
  EXPECT_FALSE(t->is_contiguous());
  EXPECT_FLOAT_EQ(at(t, {3, 2, 1}), at(x, {1, 2, 3}));
  TensorPtr s = slice(x, 2, 1, 4, 2);  // x[:, :, 1::2]
  EXPECT_EQ(s->shape(), (Shape{2, 3, 2}));
  EXPECT_FLOAT_EQ(at(s, {1, 2, 1}), at(x, {1, 2, 3}));
  TensorPtr v = view(x, {6, 4});
  EXPECT_EQ(v->storage(), x->storage());
  // A view of a non-contiguous tensor needs no copy when it only splits or merges runs that are
  // contiguous with each other.
  TensorPtr p = permute(x, {1, 0, 2});  // (3, 2, 4), strides (4, 12, 1)
  TensorPtr split = view(p, {3, 2, 2, 2});
  EXPECT_EQ(split->storage(), x->storage());
  EXPECT_EQ(split->strides(), (Shape{4, 12, 2, 1}));
  EXPECT_THROW(view(p, {3, 8}), std::runtime_error);  // dims 1 and 2 are not contiguous with each other
  EXPECT_THROW(view(p, {6, 4}), std::runtime_error);
  TensorPtr r = reshape(p, {6, 4});  // reshape copies instead
  EXPECT_NE(r->storage(), x->storage());
  EXPECT_FLOAT_EQ(at(r, {1, 0}), at(x, {1, 0, 0}));
}

TEST(Views, ExpandHasZeroStrides) {
  TensorPtr x = iota({3, 1});
  TensorPtr e = expand(x, {2, 3, 4});
  EXPECT_EQ(e->strides(), (Shape{0, 1, 0}));
  TensorPtr c = contiguous(e);
  EXPECT_FLOAT_EQ(at(c, {1, 2, 3}), 2.0f);
  EXPECT_EQ(expand(x, {3, 2})->shape(), (Shape{3, 2}));
  EXPECT_THROW(expand(x, {2, 2}), std::invalid_argument);  // 3 cannot become 2
}

TEST(Views, InPlaceWriteIsVisibleThroughView) {
  TensorPtr x = zeros({2, 3}, DType::Float32);
  TensorPtr row = select(x, 0, 1);
  fill_(row, 7.0);
  EXPECT_FLOAT_EQ(at(x, {1, 2}), 7.0f);
  EXPECT_FLOAT_EQ(at(x, {0, 2}), 0.0f);
  EXPECT_EQ(x->version(), 1u);  // views share the version counter
  EXPECT_THROW(select(x, 0, 2), std::out_of_range);
  EXPECT_THROW(select(x, 5, 0), std::out_of_range);
}

TEST(Promotion, FollowsTorchRules) {
  TensorPtr f32 = zeros({2}, DType::Float32), f64 = zeros({2}, DType::Float64), i64 = zeros({2}, DType::Int64);
  TensorPtr wrapped_float = scalar_tensor(1.5, DType::Float64, true);
  TensorPtr zero_dim_f64 = scalar_tensor(1.5, DType::Float64, false);
  EXPECT_EQ(result_type({f32.get(), f64.get()}), DType::Float64);
  EXPECT_EQ(result_type({i64.get(), wrapped_float.get()}), DType::Float32);  // Python float -> default dtype
  EXPECT_EQ(result_type({f32.get(), wrapped_float.get()}), DType::Float32);
  EXPECT_EQ(result_type({f32.get(), zero_dim_f64.get()}), DType::Float32);  // 0-d does not upcast same kind
  EXPECT_EQ(result_type({i64.get(), zero_dim_f64.get()}), DType::Float64);  // but wins on kind
}

TEST(Allocation, HugeRequestsThrowCleanly) {
  EXPECT_THROW(zeros({int64_t(10000000000000)}, DType::Float32), OutOfMemory);
  EXPECT_THROW(zeros({int64_t(1) << 62, 4}, DType::Float32), std::invalid_argument);
}

TEST(Allocation, TheCpuArenaCountsLiveBytesAndTheirPeak) {
  allocator_reset_peak();
  const size_t before = allocator_in_use_bytes();
  {
    TensorPtr t = Tensor::empty({1000}, DType::Float32);  // 4000 bytes, rounded up to 4032
    EXPECT_EQ(t->device(), Device{});
    EXPECT_EQ(t->storage()->device().str(), "cpu");
    EXPECT_EQ(allocator_in_use_bytes() - before, 4032u);
    EXPECT_GE(allocator_peak_bytes(), before + 4032);
  }
  EXPECT_EQ(allocator_in_use_bytes(), before);
  allocator_reset_peak();
  EXPECT_EQ(allocator_peak_bytes(), before);
}

TEST(Devices, MovingToTheCpuIsFreeAndToAMissingGpuIsAClearError) {
  TensorPtr t = full({2, 3}, 1.0, DType::Float32);
  EXPECT_EQ(to_device(t, Device{}), t);
  if (cuda::device_count() > 0) GTEST_SKIP() << "this machine has a GPU (tests/python/test_cuda.py)";
  try {
    to_device(t, cuda_device(0));
    FAIL() << "expected a RuntimeError";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("[to] device 'cuda' is not available"), std::string::npos) << e.what();
  }
}

TEST(Random, SameSeedSameNumbersAnyThreadCount) {
  default_generator()->manual_seed(7);
  set_num_threads(1);
  TensorPtr a = randn({100000}, DType::Float32);
  default_generator()->manual_seed(7);
  set_num_threads(2);
  TensorPtr b = randn({100000}, DType::Float32);
  EXPECT_EQ(0, std::memcmp(a->raw_data(), b->raw_data(), 100000 * sizeof(float)));
  // Roughly standard normal.
  double s = 0, s2 = 0;
  for (int i = 0; i < 100000; ++i) {
    s += a->data<float>()[i];
    s2 += double(a->data<float>()[i]) * a->data<float>()[i];
  }
  EXPECT_NEAR(s / 1e5, 0.0, 0.02);
  EXPECT_NEAR(s2 / 1e5, 1.0, 0.02);
}

TEST(Random, GeneratorDrawsIndependentOfThreadCount) {
  auto draw = [](int threads) {
    set_num_threads(threads);
    Generator g(11);
    TensorPtr w = rand({300, 50}, DType::Float64, &g);
    return std::vector<TensorPtr>{randperm(100000, DType::Int64, &g), multinomial(w, 20, false, &g),
                                  multinomial(w, 70, true, &g), randn({70001}, DType::Float32, &g)};
  };
  std::vector<TensorPtr> a = draw(1), b = draw(2);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(0, std::memcmp(a[i]->raw_data(), b[i]->raw_data(), size_t(a[i]->numel()) * itemsize(a[i]->dtype())));
}
