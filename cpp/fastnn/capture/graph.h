// Whole-step capture and replay (fastnn.compile). While a Recorder is active on a thread, every bound op that
// Python calls there at the top level runs as usual and is also appended to a Graph as a C++ closure whose tensor
// arguments are slot numbers: the capture's inputs, tensors that existed before the capture (parameters, optimizer
// state: "constants", held by the graph) and the results of earlier recorded ops. Graph::replay runs the closures
// in order on new inputs: the same C++ functions on the same kinds of arguments, so the same bits as eager
// execution, with no Python per op. What cannot be replayed is refused, never baked in silently: an op that is not
// recordable writing in place (Tensor::bump_version and the autograd setters report it), a tensor made during the
// capture by an op that is not recordable reaching a recorded op, and reads of tensor values (item(), bool(), ...).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fastnn/random.h"
#include "fastnn/tensor.h"

namespace fastnn::capture {

using Slots = std::vector<TensorPtr>;
using Replay = std::function<void(Slots&)>;

// A captured step: closures over slots, the constants they use, and which slots are the inputs and outputs.
class Graph {
 public:
  // Runs the step on `inputs` (in the order the capture named them) and returns its outputs.
  std::vector<TensorPtr> replay(const std::vector<TensorPtr>& inputs) { return run(inputs, nullptr); }
  // replay() that also gives each step's wall time in seconds (in order, named as op_names()).
  std::vector<double> profile(const std::vector<TensorPtr>& inputs);
  // Empty when the autograd state the capture saw still holds (each constant's requires_grad and whether it has
  // a .grad: Python branched on them while capturing), else what changed.
  std::string stale_reason() const;
  // The recorded ops' names, in order (fastnn.compile's `graph_ops()`, for tests and curious users).
  std::vector<std::string> op_names() const;

 private:
  friend class Recorder;
  std::vector<TensorPtr> run(const std::vector<TensorPtr>& inputs, std::vector<double>* seconds);
  struct Step {
    const char* name;
    Replay run;
    std::vector<int> release;  // slots last used by this step: dropped after it, so buffers return to the cache
    Replay with_relu;          // the same call with a ReLU fused in (call_fusing_relu), writing the same slots
  };
  struct Constant {
    int slot;
    TensorPtr tensor;
    bool requires_grad;
    bool has_grad;
  };
  std::vector<Step> steps_;
  std::vector<Constant> constants_;
  std::vector<int> inputs_, outputs_;
  int num_slots_ = 0;
  std::deque<std::string> fused_names_;  // the fused steps' names ("_conv2d+relu"), stable for Step::name
};

class Recorder {
 public:
  // Starts recording on this thread (one recorder per thread at a time); `inputs` become the graph's inputs.
  explicit Recorder(const std::vector<TensorPtr>& inputs);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // This thread's recorder when a call made now is to be recorded (a top-level call), else null.
  static Recorder* top_level();

  // The slot of a tensor argument (-1 for null), adding it as a constant when it existed before the capture.
  int arg(const TensorPtr& t, const char* op);
  // A fresh slot for a result (also for an in-place op's result: its replay gives the same tensor anyway).
  int result(const TensorPtr& t);
  // Appends a recorded call. `reads`: its argument slots, `writes`: its result slots (for buffer release).
  void add(const char* name, Replay run, std::vector<int> reads, std::vector<int> writes, Replay with_relu = {});
  // Ends the capture: the graph, whose outputs are `outputs` (each an input, a constant or a recorded result).
  // Throws, naming the reason, when something along the way could not be captured.
  std::shared_ptr<Graph> finish(const std::vector<TensorPtr>& outputs);

  // An argument that cannot be stored (a Python object that is not a plain constant): the call in progress runs
  // unrecorded; take_cannot_record() reads and clears the flag.
  void cannot_record() { cannot_record_ = true; }
  bool take_cannot_record() { return std::exchange(cannot_record_, false); }
  // Bracket one recorded call (nested calls run as part of it).
  void enter(const char* op);
  void leave();
  // True for a tensor that existed before the capture or that the graph has mapped.
  bool predates_or_recorded(const Tensor& t) const;
  // Reports an operation that cannot be replayed (the capture fails when it finishes or at the next recorded op).
  void refuse(std::string why);

 private:
  void check() const;
  // Replaces a step with a ReLU variant followed by a `relu` that alone reads its result by the variant.
  void fuse();
  std::shared_ptr<Graph> graph_ = std::make_shared<Graph>();
  std::unordered_map<const Tensor*, int> slot_of_;
  std::vector<TensorPtr> seen_;  // every mapped tensor, alive until the end so that no address is reused
  std::vector<std::vector<int>> reads_, writes_;
  uint64_t first_serial_;
  int depth_ = 0;
  const char* last_op_ = nullptr;
  std::string refused_;
  bool cannot_record_ = false;
};

// What Tensor's in-place and autograd setters call when watching_writes(): reports a change to `t` made outside a
// recorded call.
void note_unrecorded_write(const Tensor& t, const char* what);
// Refuses (throws) a call that changes state a replay would not change again (reseeding a generator).
void refuse_unrecorded(const char* what);
// Refuses (throws) reading a tensor's values into Python during a capture: the replay could not follow it.
void refuse_value_read(const char* op);

// --- recording a call: argument and result traits -------------------------------------------------------------
// Arg<T>::record maps an argument to what the closure stores (a slot for tensors, the value otherwise) and
// Arg<T>::get gives it back at replay. Python objects cannot be stored: such bindings are not recordable.
template <class T, class = void>
struct Arg {
  static_assert(std::is_copy_constructible_v<T>, "a recorded argument must be copyable");
  using Stored = T;
  static Stored record(Recorder&, const T& v, const char*) { return v; }
  static const T& get(const Stored& s, Slots&) { return s; }
};
template <>
struct Arg<TensorPtr> {
  using Stored = int;
  static Stored record(Recorder& r, const TensorPtr& t, const char* op) { return r.arg(t, op); }
  static TensorPtr get(Stored s, Slots& slots) { return s < 0 ? nullptr : slots[s]; }
};
template <>
struct Arg<std::optional<TensorPtr>> {
  using Stored = int;
  static Stored record(Recorder& r, const std::optional<TensorPtr>& t, const char* op) {
    return t ? r.arg(*t, op) : -2;
  }
  static std::optional<TensorPtr> get(Stored s, Slots& slots) {
    if (s == -2) return std::nullopt;
    return s < 0 ? nullptr : slots[s];
  }
};
template <class T>
struct Arg<std::vector<T>, std::enable_if_t<!std::is_same_v<typename Arg<T>::Stored, T>>> {
  using Stored = std::vector<typename Arg<T>::Stored>;
  static Stored record(Recorder& r, const std::vector<T>& v, const char* op) {
    Stored s;
    s.reserve(v.size());
    for (const T& x : v) s.push_back(Arg<T>::record(r, x, op));
    return s;
  }
  static std::vector<T> get(const Stored& s, Slots& slots) {
    std::vector<T> v;
    v.reserve(s.size());
    for (const auto& x : s) v.push_back(Arg<T>::get(x, slots));
    return v;
  }
};

// The argument slots a stored argument reads, for buffer release.
inline void reads_of(int s, std::vector<int>& out) {
  if (s >= 0) out.push_back(s);
}
template <class T>
void reads_of(const T&, std::vector<int>&) {}
template <class T>
void reads_of(const std::vector<T>& v, std::vector<int>& out) {
  for (const auto& x : v) reads_of(x, out);
}

// A result entry: a slot (>= 0), -1 for a null tensor, or count_entry(n) before a vector's n entries.
inline int count_entry(size_t n) { return -2 - int(n); }

// Out<R>: the result slots of a recorded call's result, and storing the replay's result in them; keep() says
// whether a call that gave this result is worth replaying (a void call is, always).
template <class R, class = void>
struct Out {  // results without tensors (sizes, flags): Python saw the capture's value; nothing to replay
  static bool keep(const R&) { return false; }
  static void record(Recorder&, const R&, std::vector<int>&) {}
  static void store(const R&, const int*&, Slots&) {}
};
// The results that hold tensors.
template <class R>
struct TensorOut {
  static bool keep(const R&) { return true; }
};
template <>
struct Out<TensorPtr> : TensorOut<TensorPtr> {
  static void record(Recorder& r, const TensorPtr& t, std::vector<int>& slots) {
    slots.push_back(t ? r.result(t) : -1);
  }
  static void store(const TensorPtr& t, const int*& s, Slots& slots) {
    if (*s >= 0) slots[*s] = t;
    ++s;
  }
};
template <>
struct Out<std::optional<TensorPtr>> : TensorOut<std::optional<TensorPtr>> {
  static void record(Recorder& r, const std::optional<TensorPtr>& t, std::vector<int>& slots) {
    Out<TensorPtr>::record(r, t ? *t : nullptr, slots);
  }
  static void store(const std::optional<TensorPtr>& t, const int*& s, Slots& slots) {
    Out<TensorPtr>::store(t ? *t : nullptr, s, slots);
  }
};
template <>
struct Out<std::vector<TensorPtr>> : TensorOut<std::vector<TensorPtr>> {
  static void record(Recorder& r, const std::vector<TensorPtr>& v, std::vector<int>& slots) {
    slots.push_back(count_entry(v.size()));  // the count first: a replay's vector has the capture's length
    for (const auto& t : v) Out<TensorPtr>::record(r, t, slots);
  }
  static void store(const std::vector<TensorPtr>& v, const int*& s, Slots& slots);
};
template <class... T>
struct Out<std::tuple<T...>> : TensorOut<std::tuple<T...>> {
  static void record(Recorder& r, const std::tuple<T...>& v, std::vector<int>& slots) {
    std::apply([&](const auto&... x) { (Out<std::decay_t<decltype(x)>>::record(r, x, slots), ...); }, v);
  }
  static void store(const std::tuple<T...>& v, const int*& s, Slots& slots) {
    std::apply([&](const auto&... x) { (Out<std::decay_t<decltype(x)>>::store(x, s, slots), ...); }, v);
  }
};
template <class A, class B>
struct Out<std::pair<A, B>> : TensorOut<std::pair<A, B>> {
  static void record(Recorder& r, const std::pair<A, B>& v, std::vector<int>& slots) {
    Out<A>::record(r, v.first, slots);
    Out<B>::record(r, v.second, slots);
  }
  static void store(const std::pair<A, B>& v, const int*& s, Slots& slots) {
    Out<A>::store(v.first, s, slots);
    Out<B>::store(v.second, s, slots);
  }
};

// True when an argument type can be stored (Python objects: see bindings/common.h's specialisations).
template <class T, class = void>
struct RecordableArg : std::false_type {};
template <class T>
constexpr bool recordable_arg() {
  using D = std::decay_t<T>;
  if constexpr (RecordableArg<D>::value) return true;
  else if constexpr (std::is_same_v<D, TensorPtr> || std::is_same_v<D, std::optional<TensorPtr>>) return true;
  else if constexpr (std::is_arithmetic_v<D> || std::is_enum_v<D> || std::is_same_v<D, std::string>) return true;
  else if constexpr (std::is_pointer_v<D> && std::is_function_v<std::remove_pointer_t<D>>) return true;
  else if constexpr (std::is_same_v<D, const char*>) return true;   // op names: string literals
  else if constexpr (std::is_same_v<D, GeneratorPtr>) return true;  // the same generator draws on replay
  else if constexpr (std::is_same_v<D, std::optional<double>> || std::is_same_v<D, std::optional<int64_t>> ||
                     std::is_same_v<D, std::optional<bool>>)
    return true;
  else if constexpr (std::is_same_v<D, std::vector<TensorPtr>> ||
                     std::is_same_v<D, std::vector<std::optional<TensorPtr>>> || std::is_same_v<D, Shape> ||
                     std::is_same_v<D, std::vector<double>> || std::is_same_v<D, std::vector<bool>>)
    return true;
  else if constexpr (std::is_same_v<D, std::optional<Shape>>) return true;
  else return false;
}

// Calls f(args...), recording it when a capture is at its top level on this thread. `f_relu`, when given, is
// relu(f(args...)) as one op with the same bits: the graph uses it when a `relu` alone reads the result.
template <class F, class G, class... A>
auto call_fusing_relu(const char* name, F f, G f_relu, A&&... args) -> decltype(f(std::forward<A>(args)...));
template <class F, class... A>
auto call(const char* name, F f, A&&... args) -> decltype(f(std::forward<A>(args)...)) {
  return call_fusing_relu(name, f, nullptr, std::forward<A>(args)...);
}
template <class F, class G, class... A>
auto call_fusing_relu(const char* name, F f, G f_relu, A&&... args) -> decltype(f(std::forward<A>(args)...)) {
  using R = decltype(f(std::forward<A>(args)...));
  Recorder* rec = Recorder::top_level();
  if (!rec) return f(std::forward<A>(args)...);
  static_assert((recordable_arg<A>() && ...), "capture::call: an argument type that cannot be stored");
  auto stored = std::make_tuple(Arg<std::decay_t<A>>::record(*rec, args, name)...);
  if (rec->take_cannot_record()) return f(std::forward<A>(args)...);
  std::vector<int> reads;
  std::apply([&](const auto&... s) { (reads_of(s, reads), ...); }, stored);
  rec->enter(name);
  struct Leave {
    Recorder* r;
    ~Leave() { r->leave(); }
  } leave{rec};
  auto run_with = [stored](const auto& fn, Slots& slots) {
    return std::apply([&](const auto&... s) { return fn(Arg<std::decay_t<A>>::get(s, slots)...); }, stored);
  };
  auto run = [f, run_with](Slots& slots) { return run_with(f, slots); };
  if constexpr (std::is_void_v<R>) {
    f(std::forward<A>(args)...);
    rec->add(name, [run](Slots& slots) { run(slots); }, std::move(reads), {});
  } else {
    R r = f(std::forward<A>(args)...);
    if (!Out<std::decay_t<R>>::keep(r)) return r;
    std::vector<int> writes;
    Out<std::decay_t<R>>::record(*rec, r, writes);
    Replay with_relu;
    if constexpr (!std::is_same_v<G, std::nullptr_t>)
      with_relu = [f_relu, run_with, writes](Slots& slots) {
        const int* s = writes.data();
        Out<std::decay_t<R>>::store(run_with(f_relu, slots), s, slots);
      };
    rec->add(
        name,
        [run, writes](Slots& slots) {
          const int* s = writes.data();
          Out<std::decay_t<R>>::store(run(slots), s, slots);
        },
        std::move(reads), writes, std::move(with_relu));
    return r;
  }
}

}  // namespace fastnn::capture
