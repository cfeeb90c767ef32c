// einsum: the equation is parsed into one label per dim (letters, and the dims an ellipsis covers);
// a label repeated within an operand takes that operand's diagonal, and operands are contracted
// left to right with permute/reshape/bmm (mul and sum for integers). Autograd comes from those ops.
#include <algorithm>
#include <string>

#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

using Labels = std::vector<int>;
constexpr int kEllipsis = -1;  // marks "..." while parsing
constexpr int kLetters = 52;   // A-Z are labels 0-25, a-z 26-51; the dims under "..." are 52, 53, ...

char letter(int label) { return char(label < 26 ? 'A' + label : 'a' + label - 26); }

struct Equation {
  std::vector<Labels> inputs;
  Labels output;
  bool explicit_output = false;
};

// Splits the equation into terms of labels (kEllipsis for "..."); spaces are ignored.
Equation parse(const std::string& eq) {
  Equation e;
  e.inputs.emplace_back();
  Labels* term = &e.inputs.back();
  auto where = [&]() { return e.explicit_output ? std::string("output") : str("operand ", e.inputs.size() - 1); };
  for (size_t i = 0; i < eq.size(); ++i) {
    char c = eq[i];
    if (c == ' ') continue;
    if (c == ',' && !e.explicit_output) {
      e.inputs.emplace_back();
      term = &e.inputs.back();
    } else if (c == '-' && i + 1 < eq.size() && eq[i + 1] == '>' && !e.explicit_output) {
      e.explicit_output = true;
      term = &e.output;
      ++i;
    } else if (c == '.') {
      FASTNN_CHECK(std::find(term->begin(), term->end(), kEllipsis) == term->end(), "[einsum] einsum(): found '.' for ",
                   where(), " for which an ellipsis was already found");
      FASTNN_CHECK(i + 2 < eq.size() && eq[i + 1] == '.' && eq[i + 2] == '.', "[einsum] einsum(): found '.' for ",
                   where(), " that is not part of any ellipsis");
      term->push_back(kEllipsis);
      i += 2;
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
      term->push_back(c <= 'Z' ? c - 'A' : 26 + c - 'a');
    } else {
      FASTNN_CHECK(false, "[einsum] einsum(): invalid subscript given at index ", i,
                   " in the equation string, subscripts must be in [a-zA-Z]");
    }
  }
  return e;
}

bool has(const Labels& ls, int l) { return std::find(ls.begin(), ls.end(), l) != ls.end(); }
int64_t pos(const Labels& ls, int l) { return std::find(ls.begin(), ls.end(), l) - ls.begin(); }

// An operand with one distinct label per dim.
struct Term {
  TensorPtr t;
  Labels labels;

  int64_t size(int l) const { return t->shape()[pos(labels, l)]; }
  // Sums the dims whose labels satisfy `drop` (keepdim: the label stays, with size 1).
  template <class P>
  void sum_labels(P drop, bool keepdim = false) {
    IntList dims;
    Labels kept;
    for (size_t d = 0; d < labels.size(); ++d) {
      if (drop(labels[d])) dims.push_back(int64_t(d));
      if (!drop(labels[d]) || keepdim) kept.push_back(labels[d]);
    }
    if (dims.empty()) return;
    t = sum(t, dims, keepdim);
    labels = kept;
  }
  // Permutes to `order` (labels it holds) and, where given, inserts size-1 dims for the others.
  TensorPtr arranged(const Labels& order) const {
    IntList perm;
    Shape shape;
    for (int l : order) {
      if (has(labels, l)) perm.push_back(pos(labels, l));
      shape.push_back(has(labels, l) ? size(l) : 1);
    }
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int64_t(i);
    TensorPtr p = identity ? t : permute(t, perm);
    return shape == p->shape() ? p : reshape(p, shape);
  }
};

int64_t product(const Term& term, const Labels& ls) {
  int64_t n = 1;
  for (int l : ls) n *= term.size(l);
  return n;
}

// a * b summed over their shared labels not in `kept`; the result holds a's labels then b's others.
Term contract(Term a, Term b, const Labels& kept) {
  a.sum_labels([&](int l) { return !has(b.labels, l) && !has(kept, l); });  // used by a alone
  b.sum_labels([&](int l) { return !has(a.labels, l) && !has(kept, l); });
  Labels batch, a_only, summed, b_only;
  for (int l : a.labels) (has(b.labels, l) ? (has(kept, l) ? batch : summed) : a_only).push_back(l);
  for (int l : b.labels)
    if (!has(a.labels, l)) b_only.push_back(l);
  // a summed label of size 1 on one side (broadcast) is summed on the other side alone
  a.sum_labels([&](int l) { return has(summed, l) && b.size(l) == 1 && a.size(l) != 1; }, true);
  b.sum_labels([&](int l) { return has(summed, l) && a.size(l) == 1 && b.size(l) != 1; }, true);
  Shape out_shape;
  for (int l : batch) out_shape.push_back(std::max(a.size(l), b.size(l)));
  for (int l : a_only) out_shape.push_back(a.size(l));
  for (int l : b_only) out_shape.push_back(b.size(l));
  Labels out_labels = batch;
  out_labels.insert(out_labels.end(), a_only.begin(), a_only.end());
  out_labels.insert(out_labels.end(), b_only.begin(), b_only.end());
  if (!is_floating(a.t->dtype())) {  // integers: broadcast product, then sum (bmm is for floats)
    Labels all = out_labels;
    all.insert(all.end(), summed.begin(), summed.end());
    IntList dims;
    for (size_t i = out_labels.size(); i < all.size(); ++i) dims.push_back(int64_t(i));
    TensorPtr p = mul(a.arranged(all), b.arranged(all));
    return {dims.empty() ? p : sum(p, dims, false), out_labels};
  }
  // (batch, a_only, summed) @ (batch, summed, b_only), size-1 batch dims broadcast
  auto batched = [&](const Term& x, const Labels& rest1, const Labels& rest2) {
    Labels order = batch;
    order.insert(order.end(), rest1.begin(), rest1.end());
    order.insert(order.end(), rest2.begin(), rest2.end());
    TensorPtr p = x.arranged(order);
    Shape full = p->shape();
    for (size_t i = 0; i < batch.size(); ++i) full[i] = out_shape[i];
    return full == p->shape() ? p : expand(p, full);
  };
  int64_t nb = 1, m = product(a, a_only), k = product(a, summed), n = product(b, b_only);
  for (size_t i = 0; i < batch.size(); ++i) nb *= out_shape[i];
  TensorPtr r = bmm(reshape(batched(a, a_only, summed), {nb, m, k}), reshape(batched(b, summed, b_only), {nb, k, n}));
  return {reshape(r, out_shape), out_labels};
}

}  // namespace

TensorPtr einsum(const std::string& equation, const std::vector<TensorPtr>& operands) {
  for (const TensorPtr& t : operands) check_defined(t, "einsum", "operands");
  FASTNN_CHECK(!operands.empty(), "[einsum] einsum(): must specify the equation string and at least one operand");
  Equation eq = parse(equation);
  FASTNN_CHECK(eq.inputs.size() <= operands.size(),
               "[einsum] einsum(): fewer operands were provided than specified "
               "in the equation");
  FASTNN_CHECK(eq.inputs.size() >= operands.size(),
               "[einsum] einsum(): more operands were provided than specified "
               "in the equation");
  DType dt = operands[0]->dtype();
  for (const TensorPtr& t : operands) {
    FASTNN_CHECK_TYPE(t->dtype() == dt, "[einsum] expected scalar type ", dtype_name(dt), " but found ",
                      dtype_name(t->dtype()));
    FASTNN_CHECK_TYPE(dt != DType::Bool, "[einsum] \"einsum\" is not implemented for bool tensors");
  }
  // how many dims each ellipsis covers; the widest sets the number of ellipsis labels
  int64_t ell = 0;
  std::vector<int64_t> covered(operands.size(), 0);
  for (size_t i = 0; i < operands.size(); ++i) {
    const Labels& ls = eq.inputs[i];
    int64_t named = int64_t(ls.size()) - (has(ls, kEllipsis) ? 1 : 0), nd = operands[i]->dim();
    if (has(ls, kEllipsis)) {
      FASTNN_CHECK(named <= nd, "[einsum] einsum(): the number of subscripts in the equation (", named,
                   ") is more than the number of dimensions (", nd, ") for operand ", i);
      covered[i] = nd - named;
      ell = std::max(ell, covered[i]);
    } else {
      FASTNN_CHECK(named == nd, "[einsum] einsum(): the number of subscripts in the equation (", named,
                   ") does not match the number of dimensions (", nd, ") for operand ", i,
                   " and no ellipsis was given");
    }
  }
  // terms with ellipses expanded (right-aligned) and repeated labels reduced to diagonals
  std::vector<Term> terms;
  std::vector<int64_t> sizes(kLetters + ell, -1);
  for (size_t i = 0; i < operands.size(); ++i) {
    Term term{operands[i], {}};
    for (int l : eq.inputs[i]) {
      if (l != kEllipsis) {
        term.labels.push_back(l);
        continue;
      }
      for (int64_t k = ell - covered[i]; k < ell; ++k) term.labels.push_back(int(kLetters + k));
    }
    for (size_t d = 0; d < term.labels.size(); ++d) {
      int l = term.labels[d];
      for (size_t d2 = d + 1; d2 < term.labels.size(); ++d2) {
        if (term.labels[d2] != l) continue;
        int64_t s1 = term.t->shape()[d], s2 = term.t->shape()[d2];
        FASTNN_CHECK(s1 == s2, "[einsum] einsum(): subscript ", letter(l), " is repeated for operand ", i,
                     " but the sizes don't match, ", s2, " != ", s1);
        term.t = diagonal(term.t, 0, int64_t(d), int64_t(d2));  // the diagonal becomes the last dim
        term.labels.erase(term.labels.begin() + d2);
        term.labels.erase(term.labels.begin() + d);
        term.labels.push_back(l);
        d = size_t(-1);  // rescan
        break;
      }
    }
    for (int l : term.labels) {
      int64_t s = term.size(l), &seen = sizes[l];
      if (l >= kLetters)
        FASTNN_CHECK(seen < 0 || seen == s || seen == 1 || s == 1, "[einsum] einsum(): dimension ", l - kLetters,
                     " covered by ellipsis in operand ", i, " has size ", s,
                     " which does not broadcast with previously "
                     "seen ellipsis with size ",
                     seen, " for the respective dimension");
      else
        FASTNN_CHECK(seen < 0 || seen == s || seen == 1 || s == 1, "[einsum] einsum(): subscript ", letter(l),
                     " has size ", s, " for operand ", i, " which does not broadcast with previously seen size ", seen);
      if (seen <= 1) seen = s;
    }
    terms.push_back(term);
  }
  // the output: as written, or the ellipsis dims then the letters used exactly once, in order
  Labels out;
  if (eq.explicit_output) {
    for (int l : eq.output) {
      if (l == kEllipsis) {
        for (int64_t k = 0; k < ell; ++k) out.push_back(int(kLetters + k));
        continue;
      }
      FASTNN_CHECK(sizes[l] >= 0, "[einsum] einsum(): output subscript ", letter(l),
                   " does not appear in the equation "
                   "for any input operand");
      FASTNN_CHECK(!has(out, l), "[einsum] einsum(): output subscript ", letter(l),
                   " appears more than once in the output");
      out.push_back(l);
    }
  } else {
    for (int64_t k = 0; k < ell; ++k) out.push_back(int(kLetters + k));
    for (int l = 0; l < kLetters; ++l) {
      int count = 0;
      for (const Labels& ls : eq.inputs) count += int(std::count(ls.begin(), ls.end(), l));
      if (count == 1) out.push_back(l);
    }
  }
  Term r = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) {
    Labels kept = out;  // labels still needed: the output's and the later operands'
    for (size_t j = i + 1; j < terms.size(); ++j)
      kept.insert(kept.end(), terms[j].labels.begin(), terms[j].labels.end());
    r = contract(r, terms[i], kept);
  }
  r.sum_labels([&](int l) { return !has(out, l); });
  return r.arranged(out);
}

}  // namespace fastnn
