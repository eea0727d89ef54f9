// An uncaught C++ exception (std::terminate, then abort, inside libstdc++ and libc) thrown below
// a namespace, a template, a class method, std::string and std::vector arguments and a lambda, so
// that the frames' mangled names exercise the demangler. Built and dumped by RealCores.java.
//
// A second thread spins in a member function of a class template, called from a lambda that
// std::thread runs, when the core is written: its innermost frames are in the program's own code,
// with frame records, so a frame-pointer walk names C++ functions even where the C library's
// frames (which have none) end the crashing thread's chain.
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ledger {
namespace detail {

template <typename T>
__attribute__((noinline)) T checked_sum(const std::vector<T> &values, const std::string &what) {
    T sum{};
    for (const T &value : values) {
        sum += value;
    }
    if (sum > T{}) {
        throw std::runtime_error("unbalanced " + what);
    }
    return sum;
}

}  // namespace detail

class Account {
  public:
    explicit Account(std::string name) : name_(std::move(name)) {}

    template <typename Fn>
    __attribute__((noinline)) long visit(Fn &&fn) const {
        long result = fn(name_);
        __asm__ volatile("" ::: "memory");
        return result;
    }

    __attribute__((noinline)) long reconcile(const std::vector<long> &entries) const {
        long total = visit([&entries](const std::string &name) {
            return detail::checked_sum<long>(entries, name);
        });
        __asm__ volatile("" ::: "memory");
        return total;
    }

  private:
    std::string name_;
};

template <typename Counter>
class Ticker {
  public:
    __attribute__((noinline)) void spin(std::atomic<bool> &running, const std::string &label) {
        running.store(true);
        while (label.size() != 0) {
            count_ = count_ + 1;
        }
        __asm__ volatile("" ::: "memory");
    }

  private:
    volatile Counter count_{};
};

}  // namespace ledger

int main() {
    std::atomic<bool> running{false};
    ledger::Ticker<unsigned long> ticker;
    std::thread spinner([&running, &ticker] { ticker.spin(running, "forever"); });
    while (!running.load()) {
        std::this_thread::yield();
    }
    ledger::Account account("cash");
    std::vector<long> entries{3, 4, 5};
    long total = account.reconcile(entries);
    spinner.join();
    return static_cast<int>(total);
}
