// Random numbers: fastnn.Generator (the counter-based generator; fastnn.default_generator is one),
// seeding and RNG state, and the random ops, each with torch's `generator=` keyword (None: the
// default generator).
#include <random>

#include "bindings/common.h"
#include "fastnn/random.h"

namespace fastnn::bindings {
namespace {

std::string type_name(py::handle h) { return py::str(py::type::of(h).attr("__name__")); }

// `generator=`: None (null: the default generator) or a fastnn.Generator, held for the call.
GeneratorPtr generator_arg(py::handle h, const char* op) {
  if (h.is_none()) return nullptr;
  if (!py::isinstance<Generator>(h))
    throw TypeError(str("[", op, "] generator must be a fastnn.Generator, got ", type_name(h)));
  return h.cast<GeneratorPtr>();
}

// A seed as torch takes it: an int in [-2**63, 2**64); a negative one wraps to 64 bits.
uint64_t seed_arg(py::handle h, const char* op) {
  if (PyBool_Check(h.ptr()) || PyFloat_Check(h.ptr()) || !PyIndex_Check(h.ptr()))
    throw TypeError(str("[", op, "] seed must be an int, got ", type_name(h)));
  py::object v = py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr()));
  if (!v) {  // a tensor without one integer value
    PyErr_Clear();
    throw TypeError(str("[", op, "] seed must be an int, got a ", type_name(h), " with no single integer value"));
  }
  unsigned long long u = PyLong_AsUnsignedLongLong(v.ptr());
  if (!PyErr_Occurred()) return u;
  PyErr_Clear();
  long long s = PyLong_AsLongLong(v.ptr());
  if (!PyErr_Occurred()) return uint64_t(s);
  PyErr_Clear();
  throw std::invalid_argument(str("[", op, "] seed must be within [-2**63, 2**64), got ", std::string(py::str(v))));
}

// A fresh seed from the operating system's entropy, set on `g` and returned (Generator.seed, fastnn.seed).
uint64_t reseed(Generator& g) {
  std::random_device rd;
  uint64_t seed = (uint64_t(rd()) << 32) | rd();
  g.manual_seed(seed);
  return seed;
}

// A generator's state as torch code checkpoints it: an int64 tensor [seed, counter].
TensorPtr state_tensor(const Generator& g) {
  RandomState s = g.state();
  TensorPtr t = Tensor::empty({2}, DType::Int64);
  t->mutable_data<int64_t>()[0] = int64_t(s.seed);
  t->mutable_data<int64_t>()[1] = int64_t(s.counter);
  return t;
}

void set_state(Generator& g, py::handle h, const char* op) {
  const char* expected = "] expected the int64 tensor of shape (2,) returned by get_state(), got ";
  if (!is_tensor(h)) throw TypeError(str("[", op, expected, type_name(h)));
  TensorPtr t = h.cast<TensorPtr>();
  FASTNN_CHECK_TYPE(t->dtype() == DType::Int64, "[", op, expected, dtype_name(t->dtype()));
  FASTNN_CHECK(t->shape() == Shape{2}, "[", op, expected, "shape ", t->shape());
  const int64_t* p = t->data<int64_t>();
  int64_t seed = p[0], counter = p[t->strides()[0]];
  FASTNN_CHECK(counter >= 0, "[", op, "] invalid state: negative draw count ", counter);
  g.set_state({uint64_t(seed), uint64_t(counter)});
}

// A Python number (int, float, bool, or anything with __float__) as a double.
double number_arg(py::handle h, const char* op, const char* what) {
  if (PyUnicode_Check(h.ptr()) || h.is_none() ||
      !(PyFloat_Check(h.ptr()) || PyIndex_Check(h.ptr()) || py::hasattr(h, "__float__")))
    throw TypeError(str("[", op, "] ", what, " must be a number, got ", type_name(h)));
  double v = PyFloat_AsDouble(h.ptr());
  if (v == -1.0 && PyErr_Occurred()) {
    py::error_already_set err;
    throw std::invalid_argument(str("[", op, "] ", what, " must be a number (", err.what(), ")"));
  }
  return v;
}

}  // namespace

void bind_random(py::module_& m, TensorClass& cls) {
  py::class_<Generator, GeneratorPtr>(
      m, "Generator",
      "A counter-based random generator: a seed and a counter that every draw advances. Values depend only\n"
      "on (seed, counter), never on the thread count. fastnn.default_generator is the global one.")
      .def(py::init([](py::handle device) {
             std::string d = py::str(device);
             FASTNN_CHECK_STATE(d == "cpu", "[Generator] device '", d,
                                "' is not available: fastnn's generators are CPU-only");
             return std::make_shared<Generator>();
           }),
           py::arg("device") = "cpu")
      .def(
          "manual_seed",
          [](const GeneratorPtr& g, py::handle seed) {
            capture::refuse_unrecorded("Generator.manual_seed");
            g->manual_seed(seed_arg(seed, "Generator.manual_seed"));
            return g;
          },
          py::arg("seed"), "Sets the seed (an int in [-2**63, 2**64)) and rewinds; returns self.")
      .def(
          "seed", [](Generator& g) { return reseed(g); }, "Seeds from the OS's entropy; returns the seed.")
      .def("initial_seed", &Generator::initial_seed)
      .def("get_state", &state_tensor, "The state as an int64 tensor [seed, counter].")
      .def(
          "set_state",
          [](const GeneratorPtr& g, py::handle state) {
            capture::refuse_unrecorded("Generator.set_state");
            set_state(*g, state, "Generator.set_state");
            return g;
          },
          py::arg("new_state"), "Restores a state from get_state(); returns self.")
      .def("__repr__",
           [](const Generator& g) {
             RandomState s = g.state();
             return str("<fastnn.Generator seed=", s.seed, " counter=", s.counter, ">");
           })
      .def(py::pickle([](const Generator& g) { return py::make_tuple(g.state().seed, g.state().counter); },
                      [](const py::tuple& t) {
                        auto g = std::make_shared<Generator>();
                        g->set_state({t[0].cast<uint64_t>(), t[1].cast<uint64_t>()});
                        return g;
                      }));
  m.attr("default_generator") = default_generator();
  m.def(
      "manual_seed",
      [](py::handle seed) {
        capture::refuse_unrecorded("fastnn.manual_seed");
        default_generator()->manual_seed(seed_arg(seed, "manual_seed"));
        return default_generator();
      },
      py::arg("seed"));
  m.def("seed", [] {
    capture::refuse_unrecorded("fastnn.seed");
    return reseed(*default_generator());
  });
  m.def("initial_seed", [] { return default_generator()->initial_seed(); });
  m.def("get_rng_state", recorded("get_rng_state", [] { return state_tensor(*default_generator()); }));
  m.def("set_rng_state",
        recorded("set_rng_state",
                 [](py::handle state) {
                   capture::refuse_unrecorded("fastnn.set_rng_state");
                   set_state(*default_generator(), state, "set_rng_state");
                 }),
        py::arg("new_state"));

  // factories (sizes, dtypes and requires_grad are normalised in python/fastnn/_factories.py)
  m.def("_rand", [](const Shape& size, DType dtype, py::handle gen) {
    auto run = [](const Shape& size, DType dtype, const GeneratorPtr& g) {
      py::gil_scoped_release nogil;
      return rand(size, dtype, g.get());
    };
    return capture::call("rand", run, size, dtype, generator_arg(gen, "rand"));
  });
  m.def("_randn", [](const Shape& size, DType dtype, py::handle gen) {
    auto run = [](const Shape& size, DType dtype, const GeneratorPtr& g) {
      py::gil_scoped_release nogil;
      return randn(size, dtype, g.get());
    };
    return capture::call("randn", run, size, dtype, generator_arg(gen, "randn"));
  });
  m.def("_randint", [](int64_t low, int64_t high, const Shape& size, DType dtype, py::handle gen) {
    auto run = [](int64_t low, int64_t high, const Shape& size, DType dtype, const GeneratorPtr& g) {
      py::gil_scoped_release nogil;
      return randint(low, high, size, dtype, g.get());
    };
    return capture::call("randint", run, low, high, size, dtype, generator_arg(gen, "randint"));
  });
  m.def("_randperm", [](int64_t n, DType dtype, py::handle gen) {
    auto run = [](int64_t n, DType dtype, const GeneratorPtr& g) {
      py::gil_scoped_release nogil;
      return randperm(n, dtype, g.get());
    };
    return capture::call("randperm", run, n, dtype, generator_arg(gen, "randperm"));
  });
  m.def("_normal", recorded("_normal", [](py::handle mean, py::handle std, py::handle gen) {
          GeneratorPtr g = generator_arg(gen, "normal");
          if (is_tensor(mean) && is_tensor(std)) {
            TensorPtr m = mean.cast<TensorPtr>(), s = std.cast<TensorPtr>();
            py::gil_scoped_release nogil;
            return normal(m, s, g.get());
          }
          if (is_tensor(mean)) {
            TensorPtr m = mean.cast<TensorPtr>();
            double s = number_arg(std, "normal", "std");
            py::gil_scoped_release nogil;
            return normal(m, s, g.get());
          }
          double mu = number_arg(mean, "normal", "mean");
          TensorPtr s = std.cast<TensorPtr>();
          py::gil_scoped_release nogil;
          return normal(mu, s, g.get());
        }));
  m.def("_normal_size", [](double mean, double std, const Shape& size, DType dtype, py::handle gen) {
    auto run = [](double mean, double std, const Shape& size, DType dtype, const GeneratorPtr& g) {
      py::gil_scoped_release nogil;
      return normal(mean, std, size, dtype, g.get());
    };
    return capture::call("normal", run, mean, std, size, dtype, generator_arg(gen, "normal"));
  });
  m.def("_trunc_normal_",
        recorded("_trunc_normal_", [](TensorPtr self, double mean, double std, double a, double b, py::handle gen) {
          GeneratorPtr g = generator_arg(gen, "trunc_normal_");
          py::gil_scoped_release nogil;
          trunc_normal_(self, mean, std, a, b, g.get());
          return self;
        }));

  // ops on tensors: fastnn.<op>(input, ...) and Tensor.<op>(...)
  auto bernoulli_op = [](const TensorPtr& input, py::handle p, py::handle gen) {
    GeneratorPtr g = generator_arg(gen, "bernoulli");
    if (p.is_none()) {
      py::gil_scoped_release nogil;
      return bernoulli(input, g.get());
    }
    double pv = number_arg(p, "bernoulli", "p");
    py::gil_scoped_release nogil;
    return bernoulli(input, pv, g.get());
  };
  m.def("bernoulli", recorded("bernoulli", bernoulli_op), py::arg("input"), py::arg("p") = py::none(), py::kw_only(),
        py::arg("generator") = py::none());
  cls.def("bernoulli", recorded("bernoulli", bernoulli_op), py::arg("p") = py::none(), py::kw_only(),
          py::arg("generator") = py::none());
  auto multinomial_op = [](const TensorPtr& input, py::handle num_samples, py::handle replacement, py::handle gen) {
    int64_t n = int_arg(num_samples, "multinomial", "num_samples");
    if (!PyBool_Check(replacement.ptr()))
      throw TypeError(str("[multinomial] replacement must be a bool, got ", type_name(replacement)));
    auto run = [](const TensorPtr& input, int64_t n, bool with, const GeneratorPtr& g) {
      py::gil_scoped_release nogil;
      return multinomial(input, n, with, g.get());
    };
    return capture::call("multinomial", run, input, n, replacement.ptr() == Py_True, generator_arg(gen, "multinomial"));
  };
  m.def("multinomial", recorded("multinomial", multinomial_op), py::arg("input"), py::arg("num_samples"),
        py::arg("replacement") = false, py::kw_only(), py::arg("generator") = py::none());
  cls.def("multinomial", recorded("multinomial", multinomial_op), py::arg("num_samples"),
          py::arg("replacement") = false, py::kw_only(), py::arg("generator") = py::none());

  // in-place fills: return self
  cls.def("uniform_",
          recorded("uniform_",
                   [](TensorPtr self, py::handle from, py::handle to, py::handle gen) {
                     double a = number_arg(from, "uniform_", "from"), b = number_arg(to, "uniform_", "to");
                     GeneratorPtr g = generator_arg(gen, "uniform_");
                     py::gil_scoped_release nogil;
                     uniform_(self, a, b, g.get());
                     return self;
                   }),
          py::arg("from") = 0.0, py::arg("to") = 1.0, py::kw_only(), py::arg("generator") = py::none());
  cls.def("normal_",
          recorded("normal_",
                   [](TensorPtr self, py::handle mean, py::handle std, py::handle gen) {
                     double mu = number_arg(mean, "normal_", "mean"), sd = number_arg(std, "normal_", "std");
                     GeneratorPtr g = generator_arg(gen, "normal_");
                     py::gil_scoped_release nogil;
                     normal_(self, mu, sd, g.get());
                     return self;
                   }),
          py::arg("mean") = 0.0, py::arg("std") = 1.0, py::kw_only(), py::arg("generator") = py::none());
  cls.def("exponential_",
          recorded("exponential_",
                   [](TensorPtr self, py::handle lambd, py::handle gen) {
                     double l = number_arg(lambd, "exponential_", "lambd");
                     GeneratorPtr g = generator_arg(gen, "exponential_");
                     py::gil_scoped_release nogil;
                     exponential_(self, l, g.get());
                     return self;
                   }),
          py::arg("lambd") = 1.0, py::kw_only(), py::arg("generator") = py::none());
  cls.def("bernoulli_",
          recorded("bernoulli_",
                   [](TensorPtr self, py::handle p, py::handle gen) {
                     GeneratorPtr g = generator_arg(gen, "bernoulli_");
                     if (is_tensor(p)) {
                       TensorPtr pt = p.cast<TensorPtr>();
                       py::gil_scoped_release nogil;
                       bernoulli_(self, pt, g.get());
                     } else {
                       double pv = number_arg(p, "bernoulli_", "p");
                       py::gil_scoped_release nogil;
                       bernoulli_(self, pv, g.get());
                     }
                     return self;
                   }),
          py::arg("p") = 0.5, py::kw_only(), py::arg("generator") = py::none());
  // random_(), random_(to), random_(from, to), random_(from, to=None): integers in [from, to)
  cls.def("random_", recorded("random_", [](TensorPtr self, py::args args, py::kwargs kwargs) {
            FASTNN_CHECK_TYPE(args.size() <= 2, "[random_] takes at most 2 positional arguments (from, to), got ",
                              args.size());
            auto opt_int = [](py::handle h, const char* what) {
              return h.is_none() ? std::nullopt : std::optional<int64_t>(int_arg(h, "random_", what));
            };
            std::optional<int64_t> from, to;
            bool has_to = kwargs.contains("to");
            if (args.size() == 2) from = opt_int(args[0], "from"), to = opt_int(args[1], "to");
            if (args.size() == 1) (has_to ? from : to) = opt_int(args[0], has_to ? "from" : "to");
            py::handle gen = py::none();
            for (auto [key, value] : kwargs) {
              std::string k = py::str(key);
              bool taken = (k == "from" && (from || args.size() == 2 || (args.size() == 1 && has_to))) ||
                           (k == "to" && args.size() == 2);
              FASTNN_CHECK_TYPE(!taken, "[random_] got multiple values for argument '", k, "'");
              if (k == "from") from = opt_int(value, "from");
              else if (k == "to") to = opt_int(value, "to");
              else if (k == "generator") gen = value;
              else throw TypeError(str("[random_] got an unexpected keyword argument '", k, "'"));
            }
            GeneratorPtr g = generator_arg(gen, "random_");
            py::gil_scoped_release nogil;
            random_(self, from, to, g.get());
            return self;
          }));
}

}  // namespace fastnn::bindings
