#include "fastnn/capture/graph.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "fastnn/error.h"

namespace fastnn::capture {
namespace {
thread_local Recorder* current = nullptr;
// True while this thread's recorder is between recorded calls: a write to a tensor now is made by Python code
// or an op the capture does not record, so the replay would miss it.
thread_local bool outside_recorded_call = false;
}  // namespace

void Out<std::vector<TensorPtr>>::store(const std::vector<TensorPtr>& v, const int*& s, Slots& slots) {
  const size_t n = size_t(-2 - *s++);
  FASTNN_CHECK_STATE(v.size() == n, "[compile] an op gave ", v.size(), " tensors on replay but ", n, " when captured");
  for (const auto& t : v) Out<TensorPtr>::store(t, s, slots);
}

Recorder::Recorder(const std::vector<TensorPtr>& inputs) : first_serial_(Tensor::next_serial()) {
  FASTNN_CHECK_STATE(!current,
                     "[compile] a capture is already running on this thread (nested fastnn.compile calls "
                     "are not supported)");
  current = this;
  outside_recorded_call = true;
  for (const auto& t : inputs) {
    FASTNN_CHECK(t, "[compile] an input is None");
    graph_->inputs_.push_back(result(t));
  }
}

Recorder::~Recorder() {
  current = nullptr;
  outside_recorded_call = false;
}

Recorder* Recorder::top_level() {
  Recorder* r = current;
  return r && r->depth_ == 0 ? r : nullptr;
}

void Recorder::check() const {
  if (!refused_.empty()) throw std::runtime_error("[compile] cannot capture this function: " + refused_);
}

void Recorder::refuse(std::string why) {
  if (!refused_.empty()) return;  // the first reason is the one to fix
  refused_ = std::move(why);
  if (last_op_) refused_ += str(" (after the recorded op '", last_op_, "')");
}

int Recorder::result(const TensorPtr& t) {
  const int slot = graph_->num_slots_++;
  slot_of_[t.get()] = slot;
  seen_.push_back(t);
  return slot;
}

int Recorder::arg(const TensorPtr& t, const char* op) {
  if (!t) return -1;
  auto it = slot_of_.find(t.get());
  if (it != slot_of_.end()) return it->second;
  if (t->serial() >= first_serial_ && !t->is_wrapped_number()) {  // a Python number is a constant
    refuse(str("a tensor passed to '", op,
               "' was made during the capture by an operation that fastnn.compile "
               "cannot record (an op given a Python object other than tensors, numbers, strings, slices, dtypes, "
               "NumPy arrays and tuples, lists or dicts of them, or one without a recorder such as from_dlpack); "
               "make it before the call and pass it in"));
    check();
  }
  const int slot = result(t);  // a tensor that existed before: a constant of the graph
  graph_->constants_.push_back({slot, t, t->requires_grad(), t->grad() != nullptr});
  return slot;
}

void Recorder::enter(const char* op) {
  check();
  ++depth_;
  outside_recorded_call = false;
  last_op_ = op;
}

void Recorder::add(const char* name, Replay run, std::vector<int> reads, std::vector<int> writes, Replay with_relu) {
  graph_->steps_.push_back({name, std::move(run), {}, std::move(with_relu)});
  reads_.push_back(std::move(reads));
  writes.erase(std::remove_if(writes.begin(), writes.end(), [](int s) { return s < 0; }), writes.end());
  writes_.push_back(std::move(writes));
}

void Recorder::leave() {
  --depth_;
  outside_recorded_call = depth_ == 0;
}

bool Recorder::predates_or_recorded(const Tensor& t) const { return t.serial() < first_serial_ || slot_of_.count(&t); }

std::shared_ptr<Graph> Recorder::finish(const std::vector<TensorPtr>& outputs) {
  outside_recorded_call = false;
  check();
  for (const auto& t : outputs) {
    FASTNN_CHECK(t, "[compile] an output is None");
    graph_->outputs_.push_back(arg(t, "return"));
  }
  fuse();
  // Buffer release: a slot that is not an input, constant or output is dropped after the last step using it.
  std::vector<int> last_use(graph_->num_slots_, -1);
  for (size_t i = 0; i < reads_.size(); ++i) {
    for (int s : reads_[i]) last_use[s] = int(i);
    for (int s : writes_[i]) last_use[s] = int(i);
  }
  std::vector<bool> keep(graph_->num_slots_, false);
  for (int s : graph_->inputs_) keep[s] = true;
  for (int s : graph_->outputs_) keep[s] = true;
  for (const auto& c : graph_->constants_) keep[c.slot] = true;
  for (int s = 0; s < graph_->num_slots_; ++s)
    if (!keep[s] && last_use[s] >= 0) graph_->steps_[last_use[s]].release.push_back(s);
  return std::move(graph_);
}

std::vector<double> Graph::profile(const std::vector<TensorPtr>& inputs) {
  std::vector<double> seconds;
  run(inputs, &seconds);
  return seconds;
}

void Recorder::fuse() {
  auto& steps = graph_->steps_;
  std::vector<int> readers(graph_->num_slots_, 0);
  for (const auto& r : reads_)
    for (int s : r) ++readers[s];
  for (int s : graph_->outputs_) ++readers[s];
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    if (!steps[i].with_relu || std::strcmp(steps[i + 1].name, "relu") != 0 || writes_[i].size() != 1) continue;
    const int s = writes_[i][0];
    if (reads_[i + 1] != std::vector<int>{s} || writes_[i + 1].size() != 1 || readers[s] != 1) continue;
    const int out = writes_[i + 1][0];
    graph_->fused_names_.push_back(std::string(steps[i].name) + "+relu");
    steps[i].name = graph_->fused_names_.back().c_str();
    steps[i].run = [run = std::move(steps[i].with_relu), s, out](Slots& sl) {
      run(sl);
      sl[out] = std::move(sl[s]);
    };
    writes_[i].push_back(out);
    steps.erase(steps.begin() + int64_t(i) + 1);
    reads_.erase(reads_.begin() + int64_t(i) + 1);
    writes_.erase(writes_.begin() + int64_t(i) + 1);
  }
  for (auto& step : steps) step.with_relu = nullptr;  // the variants not taken
}

std::vector<TensorPtr> Graph::run(const std::vector<TensorPtr>& inputs, std::vector<double>* seconds) {
  FASTNN_CHECK(inputs.size() == inputs_.size(), "[compile] the graph takes ", inputs_.size(), " tensors, got ",
               inputs.size());
  Slots slots(num_slots_);
  for (size_t i = 0; i < inputs.size(); ++i) slots[inputs_[i]] = inputs[i];
  for (const auto& c : constants_) slots[c.slot] = c.tensor;
  for (const Step& step : steps_) {
    const auto start = std::chrono::steady_clock::now();
    step.run(slots);
    for (int s : step.release) slots[s].reset();
    if (seconds) seconds->push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::vector<TensorPtr> out;
  out.reserve(outputs_.size());
  for (int s : outputs_) out.push_back(slots[s]);
  return out;
}

std::string Graph::stale_reason() const {
  for (const auto& c : constants_) {
    if (c.tensor->requires_grad() != c.requires_grad)
      return str("a tensor of shape ", shape_str(c.tensor->shape()),
                 " the step uses had requires_grad=", c.requires_grad ? "True" : "False", " when captured");
    if ((c.tensor->grad() != nullptr) != c.has_grad)
      return str("a tensor of shape ", shape_str(c.tensor->shape()), " the step uses had ",
                 c.has_grad ? "a .grad" : "no .grad", " when captured");
  }
  return {};
}

std::vector<std::string> Graph::op_names() const {
  std::vector<std::string> names;
  for (const Step& s : steps_) names.emplace_back(s.name);
  return names;
}

bool watching_writes() { return outside_recorded_call; }

void note_unrecorded_write(const Tensor& t, const char* what) {
  if (!outside_recorded_call || !current) return;
  // A tensor made during the capture by an op that is not recorded is refused where it is used; what matters
  // here is a change to one the graph knows or that existed before (directly or through a view of it).
  const Tensor* base = t.base().get();
  if (current->predates_or_recorded(t) || (base && current->predates_or_recorded(*base)))
    current->refuse(str(what, " by an operation that fastnn.compile cannot record (the replay would skip it)"));
}

void refuse_unrecorded(const char* what) {
  if (current)
    throw std::runtime_error(str("[compile] cannot capture this function: it calls ", what,
                                 ", which changes state that a replay would not change again; call it outside the "
                                 "compiled function"));
}

void refuse_value_read(const char* op) {
  if (current)
    throw std::runtime_error(str("[compile] cannot capture this function: it reads a tensor's values into Python (", op,
                                 "), so its Python control flow or results depend on data the replay does not "
                                 "see; read values outside the compiled function (e.g. loss.item() on its result)"));
}

}  // namespace fastnn::capture
