// Capture and replay (fastnn.compile's C++ side): recorded calls replay on new inputs as they ran, and what cannot
// be replayed is refused.
#include <gtest/gtest.h>

#include <stdexcept>

#include "fastnn/autograd/engine.h"
#include "fastnn/capture/graph.h"
#include "fastnn/ops/ops.h"

using namespace fastnn;

namespace {
TensorPtr mul_add(const TensorPtr& x, const TensorPtr& w, double c) {
  return add(mul(x, w), scalar_tensor(c, DType::Float64, true), 1);
}
TensorPtr sum_all(const TensorPtr& x) { return sum(x); }
void add_in_place(TensorPtr t, const TensorPtr& o) { add_(t, o, 1); }
}  // namespace

TEST(Capture, ReplayRunsTheRecordedCallsOnNewInputs) {
  TensorPtr w = full({3}, 2.0, DType::Float64);  // made before the capture: a constant
  TensorPtr x = full({3}, 1.0, DType::Float64);
  std::shared_ptr<capture::Graph> graph;
  {
    capture::Recorder rec({x});
    TensorPtr y = capture::call("mul_add", mul_add, x, w, 0.5);
    TensorPtr s = capture::call("sum", sum_all, y);
    EXPECT_DOUBLE_EQ(*s->data<double>(), 7.5);
    graph = rec.finish({s, y});
  }
  EXPECT_EQ(graph->op_names(), (std::vector<std::string>{"mul_add", "sum"}));
  TensorPtr x2 = full({3}, 3.0, DType::Float64);
  auto out = graph->replay({x2});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_DOUBLE_EQ(*out[0]->data<double>(), 19.5);  // 3 * (3 * 2 + 0.5)
  EXPECT_DOUBLE_EQ(out[1]->data<double>()[2], 6.5);
  EXPECT_EQ(graph->stale_reason(), "");
  // Outside a capture, capture::call just calls.
  EXPECT_DOUBLE_EQ(*capture::call("sum", sum_all, x2)->data<double>(), 9.0);
}

TEST(Capture, InPlaceWritesToConstantsHappenOnEveryReplay) {
  TensorPtr acc = full({2}, 0.0, DType::Float64);
  TensorPtr x = full({2}, 1.0, DType::Float64);
  std::shared_ptr<capture::Graph> graph;
  {
    capture::Recorder rec({x});
    capture::call("add_", add_in_place, acc, x);
    graph = rec.finish({});
  }
  graph->replay({full({2}, 2.0, DType::Float64)});
  graph->replay({full({2}, 4.0, DType::Float64)});
  EXPECT_DOUBLE_EQ(acc->data<double>()[1], 7.0);  // 1 while capturing, then 2 and 4
}

TEST(Capture, RefusesWhatItCannotReplay) {
  TensorPtr x = full({2}, 1.0, DType::Float64);
  {  // a tensor made during the capture by an unrecorded op, given to a recorded one
    capture::Recorder rec({x});
    TensorPtr made = full({2}, 5.0, DType::Float64);
    EXPECT_THROW(capture::call("sum", sum_all, made), std::runtime_error);
  }
  {  // an in-place write outside a recorded call to a tensor that existed before
    TensorPtr w = full({2}, 1.0, DType::Float64);
    capture::Recorder rec({x});
    add_(w, x, 1);
    try {
      rec.finish({});
      FAIL() << "finish() accepted an unrecorded write";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("in-place write"), std::string::npos) << e.what();
    }
  }
  {  // value reads and reseeding, and a second capture on the same thread
    capture::Recorder rec({x});
    EXPECT_THROW(capture::refuse_value_read("item"), std::runtime_error);
    EXPECT_THROW(capture::refuse_unrecorded("manual_seed"), std::runtime_error);
    EXPECT_THROW(capture::Recorder({x}), std::runtime_error);
  }
  EXPECT_NO_THROW(capture::refuse_value_read("item"));  // no capture: nothing to refuse
}

TEST(Capture, StaleWhenAConstantsAutogradStateChanges) {
  TensorPtr w = full({2}, 3.0, DType::Float64);
  w->set_requires_grad(true);
  TensorPtr x = full({2}, 1.0, DType::Float64);
  std::shared_ptr<capture::Graph> graph;
  {
    capture::Recorder rec({x});
    TensorPtr s = capture::call("mul_add", mul_add, x, w, 0.0);
    capture::call("backward", [](const TensorPtr& t) { backward({sum(t)}, {}, false); }, s);
    graph = rec.finish({});
  }
  ASSERT_TRUE(w->grad());  // captured without a .grad: the backward gave it one, so Python's branches may differ
  EXPECT_NE(graph->stale_reason().find("no .grad"), std::string::npos) << graph->stale_reason();
  w->set_grad(nullptr);
  EXPECT_EQ(graph->stale_reason(), "");
  {
    capture::Recorder rec({x});
    capture::call("mul_add", mul_add, x, w, 0.0);
    graph = rec.finish({});
  }
  w->set_requires_grad(false);
  EXPECT_NE(graph->stale_reason().find("requires_grad=True"), std::string::npos) << graph->stale_reason();
}
