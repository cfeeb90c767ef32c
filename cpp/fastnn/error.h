// Error helpers: every check throws a standard exception that pybind11 maps to a Python one.
//   std::invalid_argument -> ValueError, std::out_of_range -> IndexError,
//   std::runtime_error -> RuntimeError, TypeError (below) -> TypeError, OutOfMemory -> MemoryError.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastnn {

// Wrong dtype or argument kind; bound to Python's TypeError.
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// An allocation that cannot be satisfied; bound to Python's MemoryError with its message.
struct OutOfMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest);
inline std::ostream& operator<<(std::ostream& os, const std::vector<int64_t>& v) {
  os << "(";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  if (v.size() == 1) os << ",";
  return os << ")";
}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Concatenates the arguments into a message; shapes print as (2, 3).
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace fastnn

#define FASTNN_CHECK_IMPL(cond, Exc, ...)               \
  do {                                                  \
    if (!(cond)) throw Exc(::fastnn::str(__VA_ARGS__)); \
  } while (0)
// Bad shapes or arguments -> ValueError.
#define FASTNN_CHECK(cond, ...) FASTNN_CHECK_IMPL(cond, std::invalid_argument, __VA_ARGS__)
// Bad dims or indices -> IndexError.
#define FASTNN_CHECK_INDEX(cond, ...) FASTNN_CHECK_IMPL(cond, std::out_of_range, __VA_ARGS__)
// Wrong dtypes -> TypeError.
#define FASTNN_CHECK_TYPE(cond, ...) FASTNN_CHECK_IMPL(cond, ::fastnn::TypeError, __VA_ARGS__)
// Misuse of state (autograd) -> RuntimeError.
#define FASTNN_CHECK_STATE(cond, ...) FASTNN_CHECK_IMPL(cond, std::runtime_error, __VA_ARGS__)
