// A C++ program whose symbols exercise the demangler: templates, lambdas, namespaces, operators,
// standard-library types, function pointers, ABI tags, and the clones that g++ -O2 makes (.cold,
// .isra, .constprop, .part). DemanglerCxxProgramTest compiles it and compares every symbol's
// demangling with c++filt's. It is never run.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace geometry {
struct Point {
    double x, y;
    __attribute__((noinline)) Point operator+(const Point& o) const { return {x + o.x, y + o.y}; }
    __attribute__((noinline)) bool operator==(const Point& o) const { return x == o.x && y == o.y; }
    __attribute__((noinline)) explicit operator bool() const { return x != 0 || y != 0; }
    __attribute__((noinline)) double& operator[](int i) { return i == 0 ? x : y; }
};

template <typename T, int N>
struct Grid {
    T cells[N];
    template <typename F>
    __attribute__((noinline)) T fold(F f, T init) const {
        for (int i = 0; i < N; i++) init = f(init, cells[i]);
        return init;
    }
};

namespace detail::inner {
inline namespace v2 {
__attribute__((noinline)) std::string describe(const Point& p) { return std::to_string(p.x) + "," + std::to_string(p.y); }
}
}  // namespace detail::inner
}  // namespace geometry

namespace {
struct Hidden {
    int v;
    virtual ~Hidden() = default;
    virtual int get() const { return v; }
};
struct Derived : Hidden {
    int get() const override { return v * 2; }
};
__attribute__((noinline)) int use_hidden(const Hidden& h) { return h.get(); }
}  // namespace

template <typename... Ts>
__attribute__((noinline)) std::size_t count_all(Ts&&... ts) { return sizeof...(ts) + (0 + ... + sizeof(ts)); }

template <typename K, typename V>
__attribute__((noinline)) V lookup(const std::map<K, V>& m, const K& k, V fallback) {
    auto it = m.find(k);
    return it == m.end() ? fallback : it->second;
}

__attribute__((noinline)) std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) { out.push_back(cur); cur.clear(); } else { cur += c; }
    }
    out.push_back(cur);
    return out;
}

__attribute__((noinline)) int apply(int (*f)(int, int), int a, int b) { return f(a, b); }
__attribute__((noinline)) int add(int a, int b) { return a + b; }
__attribute__((noinline)) long call_member(geometry::Point& p, double& (geometry::Point::*m)(int)) { return (long) (p.*m)(1); }

// .cold: the throwing path moves out of line.
__attribute__((noinline)) int checked_div(int a, int b) {
    if (__builtin_expect(b == 0, 0)) throw std::invalid_argument("division by zero: " + std::to_string(a));
    return a / b;
}

// .isra and .constprop: a static function whose aggregate argument is split, called with constants.
struct Big { long a, b, c, d, e, f; };
static __attribute__((noinline)) long isra_sum(const Big& big, int scale) { return (big.a + big.f) * scale; }

// .part: a function partly inlined into its callers.
static int part_work(int n) {
    if (n < 10) return n;
    long acc = 0;
    for (int i = 0; i < n; i++) acc += std::rand() % (i + 1);
    std::printf("%ld\n", acc);
    return (int) acc;
}

template <typename T>
struct Box {
    T value;
    template <typename U> __attribute__((noinline)) Box<U> map(std::function<U(const T&)> f) const { return Box<U>{f(value)}; }
    [[gnu::abi_tag("v1")]] __attribute__((noinline)) T tagged() const { return value; }
};

int main(int argc, char** argv) {
    geometry::Point p{1, 2}, q{3, 4};
    geometry::Grid<int, 4> g{{1, 2, 3, 4}};
    auto sum = g.fold([](int a, int b) { return a + b; }, 0);
    auto prod = g.fold([k = argc](int a, int b) { return a * b + k; }, 1);
    std::map<std::string, int> m{{"a", 1}};
    Big big{argc, 2, 3, 4, 5, 6};
    Derived d;
    d.v = argc;
    Box<int> b{argc};
    auto bs = b.map<std::string>([](const int& i) { return std::to_string(i); });
    double& (geometry::Point::*member)(int) = &geometry::Point::operator[];
    std::printf("%s %d %d %zu %d %d %d %ld %ld %d %d %d %s %d %ld\n", geometry::detail::inner::describe(p + q).c_str(), sum,
                prod, count_all(p, 1, 2.0, "x"), lookup(m, std::string(argv[0]), 7), apply(add, 1, 2),
                checked_div(argc, argc), isra_sum(big, 3) + isra_sum(big, 3), isra_sum(big, 5),
                part_work(argc), part_work(argc * 100), use_hidden(d), bs.value.c_str(), b.tagged(),
                call_member(p, member));
    std::printf("%zu %d %d\n", split(argv[0], '/').size(), (bool) q, p == q);
    return 0;
}
