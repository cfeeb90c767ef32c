// The autograd engine: gradients through a small graph, deep graphs, misuse errors.
#include <gtest/gtest.h>

#include <cmath>

#include "fastnn/autograd/engine.h"
#include "fastnn/autograd/grad_mode.h"
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
  fill_(e, 0.0);  // not allowed: e was saved
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

namespace {
std::vector<double> values(const TensorPtr& t) {
  TensorPtr c = contiguous(to_dtype(t, DType::Float64));
  return std::vector<double>(c->data<double>(), c->data<double>() + c->numel());
}

// A hand-written node returning a float64 gradient for any input (as a custom Function may).
class DoubleGradNode : public Node {
 public:
  std::string name() const override { return "DoubleGradBackward"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    return {to_dtype(mul(grads[0], num(2)), DType::Float64)};
  }
};
}  // namespace

TEST(Engine, SameRootTwiceCountsTwice) {
  TensorPtr x = leaf({2}, 1.0);
  TensorPtr y = sum(mul(x, x));
  backward({y, y}, {}, false);  // used to lose the gradient: the root node was expanded twice
  ASSERT_TRUE(x->grad());
  EXPECT_EQ(values(x->grad()), (std::vector<double>{4.0, 4.0}));
}

TEST(Engine, LeafAsRootKeepsItsAccumulatorAlive) {
  TensorPtr x = leaf({2}, 1.0);
  backward({x}, {full({2}, 3.0, DType::Float64)}, false);  // used to run a destroyed AccumulateGrad
  ASSERT_TRUE(x->grad());
  EXPECT_EQ(values(x->grad()), (std::vector<double>{3.0, 3.0}));
}

TEST(Engine, GradWithRespectToAnIntermediateAndTheLeafBelowIt) {
  TensorPtr x = leaf({2}, 2.0);
  TensorPtr h = mul(x, num(3));
  TensorPtr y = sum(mul(h, h));
  std::vector<TensorPtr> g = grad({y}, {h, x}, {}, false, false);
  ASSERT_EQ(g.size(), 2u);
  ASSERT_TRUE(g[0] && g[1]);
  EXPECT_EQ(values(g[0]), (std::vector<double>{12.0, 12.0}));  // 2h
  EXPECT_EQ(values(g[1]), (std::vector<double>{36.0, 36.0}));  // 18x
  EXPECT_FALSE(x->grad());                                     // grad() leaves .grad alone
}

TEST(Engine, GradSkipsBranchesThatLeadToNoInput) {
  TensorPtr x = leaf({2}, 1.0);
  TensorPtr other = leaf({2}, 1.0);
  TensorPtr y = sum(add(mul(x, x), exp(other), 1));
  std::vector<TensorPtr> g = grad({y}, {x}, {}, true, false);
  EXPECT_EQ(values(g[0]), (std::vector<double>{2.0, 2.0}));
  EXPECT_FALSE(other->grad());
  std::vector<TensorPtr> unused = grad({sum(x)}, {x, other}, {}, false, true);
  EXPECT_TRUE(unused[0]);
  EXPECT_FALSE(unused[1]);
  EXPECT_THROW(grad({sum(x)}, {x, other}, {}, false, false), std::runtime_error);
}

TEST(Engine, DiamondAccumulatesBothPaths) {
  TensorPtr x = leaf({1}, 0.5);
  TensorPtr s = mul(x, num(3));
  TensorPtr y = sum(add(exp(s), mul(s, s), 1));  // e^{3x} + 9x^2
  backward({y}, {}, false);
  EXPECT_NEAR(values(x->grad())[0], 3 * std::exp(1.5) + 18 * 0.5, 1e-12);
}

TEST(Engine, RetainedGradOfANonLeaf) {
  TensorPtr x = leaf({2}, 1.0);
  TensorPtr h = mul(x, num(2));
  retain_grad(h);
  backward({sum(mul(h, h))}, {}, false);
  ASSERT_TRUE(h->grad());
  EXPECT_EQ(values(h->grad()), (std::vector<double>{4.0, 4.0}));
  EXPECT_EQ(values(x->grad()), (std::vector<double>{8.0, 8.0}));
}

TEST(Engine, GradientOfAnotherDtypeIsCastToTheInputs) {
  TensorPtr x = full({2}, 1.0, DType::Float32);
  x->set_requires_grad(true);
  TensorPtr y;
  {
    GradModeGuard off(false);
    y = clone(x);
  }
  record(std::make_shared<DoubleGradNode>(), {&x}, {&y});
  backward({sum(y)}, {}, false);
  ASSERT_TRUE(x->grad());
  EXPECT_EQ(x->grad()->dtype(), DType::Float32);
  EXPECT_EQ(values(x->grad()), (std::vector<double>{2.0, 2.0}));
}

TEST(Engine, NoGradRecordsNothing) {
  TensorPtr x = leaf({2}, 1.0);
  TensorPtr y;
  {
    GradModeGuard off(false);
    y = mul(x, x);
  }
  EXPECT_FALSE(y->requires_grad());
  EXPECT_FALSE(y->grad_fn());
  EXPECT_TRUE(GradMode::is_enabled());
}

TEST(Engine, DeepChainTornDownWithoutBackward) {
  TensorPtr x = leaf({1}, 1.0);
  TensorPtr y = x;
  for (int i = 0; i < 200000; ++i) y = add(y, num(1.0), 1.0);
  std::weak_ptr<Node> first = y->grad_fn();
  y.reset();
  EXPECT_TRUE(first.expired());
}

TEST(Engine, SeedGradientShapeIsChecked) {
  TensorPtr x = leaf({3}, 1.0);
  try {
    backward({mul(x, num(2))}, {full({2}, 1.0, DType::Float64)}, false);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Mismatch in shape: grad_output[0] has a shape of [2]"), std::string::npos)
        << e.what();
  }
}

TEST(Engine, PostAccumulateHooksSeeTheAccumulatedGradThenFinalCallbacksRun) {
  TensorPtr x = leaf({2}, 1.0), w = leaf({2}, 1.0);
  std::vector<std::string> events;
  const int64_t id = x->add_post_accumulate_hook([&](const TensorPtr& leaf) {
    events.push_back("x " + std::to_string(leaf->grad()->data<double>()[0]));
    // queued from inside the backward: runs once every node has run (w's gradient is there too)
    queue_callback([&] {
      events.push_back("callback " + std::to_string(w->grad()->data<double>()[0]));
      queue_callback([&] { events.push_back("queued by a callback"); });
    });
  });
  backward({sum(add(mul(x, num(3)), mul(w, num(5)), 1))}, {}, false);
  backward({sum(mul(x, num(2)))}, {}, false);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0], "x 3.000000");
  EXPECT_EQ(events[1], "callback 5.000000");
  EXPECT_EQ(events[2], "queued by a callback");
  EXPECT_EQ(events[3], "x 5.000000");  // after accumulation: 3 + 2
  x->remove_grad_hook(id);
  backward({sum(x)}, {}, false);
  EXPECT_EQ(events.size(), 6u);
  EXPECT_THROW(queue_callback([] {}), std::runtime_error);  // outside a backward
}
