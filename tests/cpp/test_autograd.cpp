// The autograd engine: gradients through a small graph, deep graphs, misuse errors.
#include <gtest/gtest.h>

#include "fastnn/autograd/engine.h"
#include "fastnn/autograd/node.h"
#include "fastnn/ops/ops.h"

using namespace fastnn;

namespace {
TensorPtr leaf(const Shape& shape, double value) {
  TensorPtr t = full(shape, value, DType::Float64);
  t->set_requires_grad(true);
  return t;
}
TensorPtr num(double v) { return scalar_tensor(v, DType::Float64, true); }
}  // namespace

TEST(Engine, ChainRuleAndAccumulation) {
  TensorPtr x = leaf({3}, 2.0);
  // y = sum(x * x + 3 x) -> dy/dx = 2x + 3 = 7
  TensorPtr y = sum(add(mul(x, x), mul(x, num(3)), 1));
  backward({y}, {}, false);
  ASSERT_TRUE(x->grad());
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(x->grad()->data<double>()[i], 7.0);
  // A second graph accumulates into the same .grad.
  backward({sum(x)}, {}, false);
  EXPECT_DOUBLE_EQ(x->grad()->data<double>()[0], 8.0);
  EXPECT_EQ(y->grad_fn()->name(), "SumBackward0");
}

TEST(Engine, DeepGraphNeitherOverflowsOnBackwardNorOnTeardown) {
  TensorPtr x = leaf({1}, 1.0);
  TensorPtr y = x;
  for (int i = 0; i < 200000; ++i) y = mul(y, num(1.0));
  backward({sum(y)}, {}, false);
  EXPECT_DOUBLE_EQ(x->grad()->data<double>()[0], 1.0);
  y.reset();  // frees 200,000 nodes iteratively
}

TEST(Engine, SecondBackwardThroughFreedBuffersFails) {
  TensorPtr x = leaf({2}, 3.0);
  TensorPtr y = sum(mul(x, x));
  backward({y}, {}, false);
  EXPECT_THROW(backward({y}, {}, false), std::runtime_error);
  TensorPtr z = sum(mul(x, x));
  backward({z}, {}, true);
  EXPECT_NO_THROW(backward({z}, {}, false));
}

TEST(Engine, InPlaceChangeOfSavedTensorIsDetected) {
  TensorPtr x = leaf({2}, 1.0);
  TensorPtr e = exp(x);  // saves its output
  TensorPtr y = sum(e);
  fill_(e, 0.0);         // not allowed: e was saved
  try {
    backward({y}, {}, false);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("modified by an inplace operation"), std::string::npos) << err.what();
  }
}

TEST(Engine, NonScalarNeedsGradientAndLeavesNeedFloat) {
  TensorPtr x = leaf({2}, 1.0);
  EXPECT_THROW(backward({mul(x, num(2))}, {}, false), std::runtime_error);
  TensorPtr i = zeros({2}, DType::Int64);
  EXPECT_THROW(i->set_requires_grad(true), std::runtime_error);
  TensorPtr plain = zeros({2}, DType::Float64);
  EXPECT_THROW(backward({sum(plain)}, {}, false), std::runtime_error);
}
