// Positions grouped by an integer key: a stable counting sort (host code, shared by the CPU kernels and the
// host-side tables of GPU paths).
#pragma once
#include <cstdint>
#include <vector>

namespace fastnn::kernels {

// order[first[k] .. first[k + 1]) are the positions i in [0, n) with key_of(i) == k (keys in [0, keys)), in
// increasing order; positions where keep(i) is false are left out.
struct KeyGroups {
  std::vector<int64_t> first, order;
};

template <class KeyOf, class Keep>
KeyGroups group_by_key(int64_t n, int64_t keys, KeyOf key_of, Keep keep) {
  KeyGroups g;
  g.first.assign(size_t(keys) + 1, 0);
  for (int64_t i = 0; i < n; ++i)
    if (keep(i)) ++g.first[size_t(key_of(i)) + 1];
  for (size_t k = 0; k < size_t(keys); ++k) g.first[k + 1] += g.first[k];
  g.order.resize(size_t(g.first.back()));
  std::vector<int64_t> next(g.first.begin(), g.first.end() - 1);
  for (int64_t i = 0; i < n; ++i)
    if (keep(i)) g.order[size_t(next[size_t(key_of(i))]++)] = i;
  return g;
}

}  // namespace fastnn::kernels
