// alvd's own N-API binding over usearch's header-only HNSW (index_dense_gt).
//
// Why not the prebuilt usearch addon: it cannot return a stored vector, cannot take a
// per-query ef, runs add/search/save on the JS thread, and cannot be forced onto the
// portable kernels. This file is compiled twice (native/build.ts): with NumKong and
// runtime dispatch ("simd") and with USEARCH_USE_NUMKONG=0 ("plain").
//
// Concurrency model (every exported method must be safe beside a running addAsync or
// saveAsync, whatever JS does):
//  - every operation touching the graph takes a shared or exclusive hold on `Gate`;
//    searches and the adds of one addAsync share it, reserve/remove/clear/load take it
//    exclusively, so growing the graph never races a search;
//  - usearch publishes a new slot before it is filled in: index_gt::add bumps
//    nodes_count_, then allocates the node, stores nodes_[slot], and only then (the
//    index_dense callback) enters the key in slot_lookup_ and sets vectors_lookup_[slot].
//    Anything reading slots a concurrent add may be filling (exact search and stats()
//    walk 0..size(), get() follows slot_lookup_ into vectors_lookup_, graph search enters
//    through entry_slot_/max_level_, which add writes without a lock searches take)
//    would dereference a null node or vector. So single adds and such reads take turns
//    on `Phase`: adders share one side, readers the other, and an adder steps out after
//    the vector it is on as soon as a reader waits. Reads wait at most one add per add
//    thread; searches keep being served all through a build;
//  - save and the builds of different addAsync calls run one at a time (`build_mu`),
//    so a file never holds half-written slots and reserve always covers the running add;
//  - usearch needs a distinct "thread id" (scratch context) per concurrent call; we
//    hand them out from our own blocking pool instead of usearch's, whose pool fails
//    rather than waits when it runs dry;
//  - per-query ef: index_gt::search uses max(config.expansion, wanted), so the index is
//    configured with expansion_search = 1 and each call asks for max(k, ef) results and
//    keeps the first k. Nothing shared is mutated per call.

#define NAPI_CPP_EXCEPTIONS
#include <napi.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <cstdint>

namespace alvd_pages {

/** 2 MiB: the x86-64 and arm64 (4 KiB granule) transparent huge page */
constexpr std::size_t kHuge = std::size_t(2) << 20;

/**
 * usearch takes the graph and the vectors from anonymous mmap arenas (8 MiB and up,
 * doubling: index_plugins.hpp, memory_mapping_allocator_gt). A search hops across all
 * of them at random, one node and one vector per hop, so with 4 KiB pages nearly every
 * hop misses the TLB, and under a hypervisor each miss walks two page tables. Such
 * arenas are placed on a 2 MiB boundary and marked MADV_HUGEPAGE, so the kernel backs
 * them with huge pages where transparent huge pages are "madvise" (the usual default)
 * or "always"; with "never" the hint does nothing. Other mappings (a file usearch
 * views) pass through unchanged.
 */
inline void* mmap_arena(void* addr, std::size_t length, int prot, int flags, int fd, off_t offset) noexcept {
    if (addr != nullptr || fd != -1 || (flags & MAP_ANONYMOUS) == 0 || length < 2 * kHuge)
        return ::mmap(addr, length, prot, flags, fd, offset);
    std::size_t span = length + kHuge;
    void* raw = ::mmap(nullptr, span, prot, flags, -1, 0);
    if (raw == MAP_FAILED)
        return ::mmap(addr, length, prot, flags, fd, offset);
    std::uintptr_t start = reinterpret_cast<std::uintptr_t>(raw);
    std::uintptr_t aligned = (start + kHuge - 1) & ~(std::uintptr_t(kHuge) - 1);
    std::size_t head = aligned - start;
    std::size_t tail = span - head - length;
    // usearch unmaps exactly [aligned, aligned + length) later: trim the rest now
    if (head != 0)
        ::munmap(raw, head);
    if (tail != 0)
        ::munmap(reinterpret_cast<void*>(aligned + length), tail);
    ::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
    return reinterpret_cast<void*>(aligned);
}

} // namespace alvd_pages

// Only usearch's own calls below see this name.
#define mmap alvd_pages::mmap_arena
#include <usearch/index_dense.hpp>
#undef mmap
#else
#include <usearch/index_dense.hpp>
#endif

#include <algorithm>
#include <iterator>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__) && defined(__GLIBC__)
#include <sys/random.h>
// native/build.ts links libstdc++ statically; the copy in gcc 12 on glibc 2.36 calls
// arc4random (from std::random_device, which we never use). Defining it here, hidden,
// keeps that reference inside the addon, so it loads on glibc 2.34/2.35 too.
extern "C" __attribute__((visibility("hidden"))) std::uint32_t arc4random(void) noexcept {
    std::uint32_t value = 0;
    while (getrandom(&value, sizeof(value), 0) != static_cast<ssize_t>(sizeof(value))) {
    }
    return value;
}
#endif

#include "reachability.hpp"

// The members native/reachability.hpp reads (see there for why).
template struct alvd_reach::expose<alvd_reach::graph_tag, &unum::usearch::index_dense_t::typed_>;
template struct alvd_reach::expose<alvd_reach::entry_tag, &alvd_reach::graph_t<unum::usearch::index_dense_t>::entry_slot_>;

namespace {

namespace us = unum::usearch;
using dense_t = us::index_dense_t;
using key_t_ = dense_t::vector_key_t;
using distance_t = dense_t::distance_t;

#if USEARCH_USE_NUMKONG
constexpr char const* kFlavour = "simd";
#else
constexpr char const* kFlavour = "plain";
#endif

// Largest integer a JS number holds exactly; keys beyond it would alias.
constexpr double kMaxSafeKey = 9007199254740991.0;

// Scratch contexts kept for searches on top of the add threads; a search beyond
// this many in flight waits for a free context instead of failing.
std::size_t search_slots() {
    std::size_t hw = std::max<std::size_t>(1, std::thread::hardware_concurrency());
    return std::max<std::size_t>(16, hw * 4);
}

// Writer-preferring shared/exclusive gate: a steady stream of async searches must not
// starve the reserve step of an addAsync.
class Gate {
  public:
    void lock_shared() {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return !writer_ && writers_waiting_ == 0; });
        ++readers_;
    }
    void unlock_shared() {
        std::lock_guard<std::mutex> lk(mu_);
        if (--readers_ == 0)
            cv_.notify_all();
    }
    void lock() {
        std::unique_lock<std::mutex> lk(mu_);
        ++writers_waiting_;
        cv_.wait(lk, [&] { return !writer_ && readers_ == 0; });
        --writers_waiting_;
        writer_ = true;
    }
    void unlock() {
        std::lock_guard<std::mutex> lk(mu_);
        writer_ = false;
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::size_t readers_ = 0;
    std::size_t writers_waiting_ = 0;
    bool writer_ = false;
};

// Two-sided turn-taking lock: any number of holders on one side at a time, never both
// sides at once. When the other side waits, the next holder to leave hands it the turn
// and no new holder of this side gets in, so neither side starves the other.
class Phase {
  public:
    enum Side : int { kAdd = 0, kRead = 1 };

    void enter(Side s) {
        int o = 1 - s;
        std::unique_lock<std::mutex> lk(mu_);
        waiting_[s].fetch_add(1, std::memory_order_relaxed);
        cv_.wait(lk, [&] {
            return active_[o] == 0 && (waiting_[o].load(std::memory_order_relaxed) == 0 || turn_ == s);
        });
        waiting_[s].fetch_sub(1, std::memory_order_relaxed);
        ++active_[s];
    }
    void leave(Side s) {
        int o = 1 - s;
        bool last;
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (waiting_[o].load(std::memory_order_relaxed) > 0)
                turn_ = o;
            last = --active_[s] == 0;
        }
        if (last)
            cv_.notify_all();
    }
    // Whether the other side is waiting for this one; a cheap poll between adds.
    bool wanted_by_other(Side s) const { return waiting_[1 - s].load(std::memory_order_relaxed) > 0; }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::size_t active_[2] = {0, 0};
    std::atomic<std::size_t> waiting_[2] = {{0}, {0}};
    int turn_ = kAdd;
};

struct PhaseHold {
    PhaseHold(Phase& p, Phase::Side s) : p_(p), s_(s) { p_.enter(s_); }
    ~PhaseHold() { p_.leave(s_); }
    // Lets the other side in if it waits, then takes this side again.
    void yield() {
        if (p_.wanted_by_other(s_)) {
            p_.leave(s_);
            p_.enter(s_);
        }
    }
    PhaseHold(PhaseHold const&) = delete;
    PhaseHold& operator=(PhaseHold const&) = delete;
    Phase& p_;
    Phase::Side s_;
};

struct SharedHold {
    explicit SharedHold(Gate& g) : g_(g) { g_.lock_shared(); }
    ~SharedHold() { g_.unlock_shared(); }
    SharedHold(SharedHold const&) = delete;
    SharedHold& operator=(SharedHold const&) = delete;
    Gate& g_;
};

struct ExclusiveHold {
    explicit ExclusiveHold(Gate& g) : g_(g) { g_.lock(); }
    ~ExclusiveHold() { g_.unlock(); }
    ExclusiveHold(ExclusiveHold const&) = delete;
    ExclusiveHold& operator=(ExclusiveHold const&) = delete;
    Gate& g_;
};

// Blocking pool of usearch thread ids. Resized only under an exclusive Gate hold,
// when no id can be out.
class IdPool {
  public:
    void reset(std::size_t n) {
        std::lock_guard<std::mutex> lk(mu_);
        free_.clear();
        for (std::size_t i = n; i-- > 0;)
            free_.push_back(i);
        size_ = n;
    }
    std::size_t size() const { return size_; }
    std::size_t acquire() {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return !free_.empty(); });
        std::size_t id = free_.back();
        free_.pop_back();
        return id;
    }
    void release(std::size_t id) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            free_.push_back(id);
        }
        cv_.notify_one();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::size_t> free_;
    std::size_t size_ = 0;
};

struct IdHold {
    explicit IdHold(IdPool& p) : p_(p), id(p.acquire()) {}
    ~IdHold() { p_.release(id); }
    IdHold(IdHold const&) = delete;
    IdHold& operator=(IdHold const&) = delete;
    IdPool& p_;
    std::size_t id;
};

struct Settings {
    std::size_t dimensions = 0;
    us::metric_kind_t metric = us::metric_kind_t::l2sq_k;
    us::scalar_kind_t scalar = us::scalar_kind_t::f32_k;
    std::size_t connectivity = 0;
    std::size_t expansion_add = 0;
    std::size_t expansion_search = 0;
};

// Everything an in-flight worker needs; shared_ptr-owned so a worker outlives the JS
// wrapper object if it is collected mid-operation.
struct Core {
    Settings settings;
    dense_t index;
    Gate gate;
    // Adds versus reads of possibly half-written slots; taken inside a Gate hold.
    Phase phase;
    // Held for a whole addAsync or saveAsync; taken before the Gate.
    std::mutex build_mu;
    IdPool ids;
    // Live vectors whose add has completed. index.size() subtracts usearch's free-slot
    // ring, which an add reusing a removed slot pops without a lock we can share, so
    // size() reads this instead. Written under an exclusive Gate hold or by adders.
    std::atomic<std::size_t> live{0};

    // Needs an exclusive hold. Grows capacity for `extra` more members and makes room
    // for `add_threads` concurrent adders next to the search contexts.
    void reserve(std::size_t extra, std::size_t add_threads) {
        // Slots in use include removed-but-not-yet-reused ones (cend() sits past the last slot).
        std::size_t used = static_cast<std::size_t>(get_slot(index.cend()));
        std::size_t needed = used + extra;
        std::size_t capacity = index.capacity();
        std::size_t threads = std::max(ids.size(), add_threads + search_slots());
        if (needed <= capacity && threads == ids.size())
            return;
        std::size_t members = needed <= capacity ? capacity : std::max(needed, capacity + capacity / 2);
        if (!index.try_reserve(us::index_limits_t(members, threads)))
            throw std::runtime_error("alvd_index: out of memory reserving " + std::to_string(members) + " vectors");
        ids.reset(threads);
    }

    // Live vectors the graph does not reach even after relinking (native/reachability.hpp),
    // sorted: every search scans them beside the graph, so none is ever missed. Written
    // under an exclusive Gate hold, read under a shared one.
    std::vector<key_t_> stranded;

    // Links again what an add left unreachable (native/reachability.hpp). Call with
    // build_mu held and no Gate hold: the walk shares the Gate with searches; only
    // relinking, when something new was lost, takes it exclusively (searches wait
    // for about one single-threaded add per vector relinked).
    // Returns how many it linked again; stranded holds the rest.
    std::size_t repair_unreachable() {
        std::vector<key_t_> lost;
        {
            SharedHold hold(gate);
            lost = sorted_unreachable();
            // nothing new: the vectors scanned already are all that the graph misses
            if (lost == stranded)
                return 0;
        }
        ExclusiveHold hold(gate);
        return relink_lost(std::move(lost));
    }

    std::vector<key_t_> sorted_unreachable() const {
        auto lost = alvd_reach::unreachable(index);
        std::sort(lost.begin(), lost.end());
        return lost;
    }

    // Needs an exclusive Gate hold (or no other user, as in load). `lost` is sorted.
    // Vectors a relink already failed on (in `stranded`) are not tried again: the same
    // heuristic would drop them the same way.
    std::size_t relink_lost(std::vector<key_t_> lost) {
        std::vector<key_t_> known = std::move(stranded);
        auto split = [&](std::vector<key_t_> const& keys, std::vector<key_t_>& old) {
            std::vector<key_t_> fresh;
            old.clear();
            for (key_t_ k : keys)
                (std::binary_search(known.begin(), known.end(), k) ? old : fresh).push_back(k);
            return fresh;
        };
        std::vector<key_t_> kept;
        std::vector<key_t_> todo = split(lost, kept);
        std::size_t first = todo.size();
        if (!todo.empty()) {
            IdHold id(ids);
            // A relink reuses a free slot, and with it an old removed node's place, which
            // others may have been reached through: walk again while that makes progress.
            for (int round = 0; round < 4 && !todo.empty(); ++round) {
                relink_keys(todo, id.id);
                auto next = split(sorted_unreachable(), kept);
                bool progress = next.size() < todo.size();
                todo = std::move(next);
                if (!progress)
                    break;
            }
            live.store(index.size(), std::memory_order_relaxed);
        }
        stranded.clear();
        std::merge(kept.begin(), kept.end(), todo.begin(), todo.end(), std::back_inserter(stranded));
        return first > todo.size() ? first - todo.size() : 0;
    }

    // In the stored type, so the bytes go back unchanged.
    std::size_t relink_keys(std::vector<key_t_> const& keys, std::size_t thread) {
        std::size_t d = settings.dimensions;
        switch (settings.scalar) {
            case us::scalar_kind_t::f16_k: return alvd_reach::relink<us::f16_t>(index, keys, thread, d);
            case us::scalar_kind_t::i8_k: return alvd_reach::relink<us::i8_t>(index, keys, thread, d);
            default: return alvd_reach::relink<us::f32_t>(index, keys, thread, d);
        }
    }
};

dense_t make_index(Settings const& s) {
    us::metric_punned_t metric = us::metric_punned_t::builtin(s.dimensions, s.metric, s.scalar);
    if (!metric)
        throw std::runtime_error("alvd_index: this build has no kernel for the requested metric/quantization");
    us::index_dense_config_t config(s.connectivity, s.expansion_add, 1);
    auto made = dense_t::make(metric, config, us::default_free_value<key_t_>(), us::index_limits_t(us::unreserved));
    if (!made)
        throw std::runtime_error(std::string("alvd_index: cannot create index: ") + made.error.release());
    return std::move(made.index);
}

// ---- argument helpers (JS thread only) -------------------------------------------

[[noreturn]] void throw_type(Napi::Env env, std::string const& msg) {
    throw Napi::TypeError::New(env, "alvd_index: " + msg);
}

[[noreturn]] void throw_range(Napi::Env env, std::string const& msg) {
    throw Napi::RangeError::New(env, "alvd_index: " + msg);
}

Napi::Float32Array arg_f32(Napi::CallbackInfo const& info, std::size_t i, char const* name) {
    if (info.Length() <= i || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        throw_type(info.Env(), std::string(name) + " must be a Float32Array");
    return info[i].As<Napi::Float32Array>();
}

double arg_number(Napi::CallbackInfo const& info, std::size_t i, char const* name) {
    if (info.Length() <= i || !info[i].IsNumber())
        throw_type(info.Env(), std::string(name) + " must be a number");
    return info[i].As<Napi::Number>().DoubleValue();
}

std::size_t arg_count(Napi::CallbackInfo const& info, std::size_t i, char const* name, double max = 1e9) {
    double v = arg_number(info, i, name);
    if (!(v >= 0 && v <= max && std::floor(v) == v))
        throw_range(info.Env(), std::string(name) + " must be an integer in [0, " + std::to_string((long long)max) + "]");
    return static_cast<std::size_t>(v);
}

bool valid_key(double k) { return k >= 0 && k <= kMaxSafeKey && std::floor(k) == k; }

key_t_ arg_key(Napi::CallbackInfo const& info, std::size_t i) {
    double k = arg_number(info, i, "key");
    if (!valid_key(k))
        throw_range(info.Env(), "key must be a non-negative safe integer");
    return static_cast<key_t_>(k);
}

std::string arg_string(Napi::CallbackInfo const& info, std::size_t i, char const* name) {
    if (info.Length() <= i || !info[i].IsString())
        throw_type(info.Env(), std::string(name) + " must be a string");
    return info[i].As<Napi::String>().Utf8Value();
}

us::metric_kind_t parse_metric(Napi::Env env, std::string const& m) {
    if (m == "l2sq")
        return us::metric_kind_t::l2sq_k;
    if (m == "cos")
        return us::metric_kind_t::cos_k;
    if (m == "ip")
        return us::metric_kind_t::ip_k;
    throw_range(env, "unknown metric '" + m + "' (expected l2sq, cos or ip)");
}

us::scalar_kind_t parse_scalar(Napi::Env env, std::string const& q) {
    if (q == "f32")
        return us::scalar_kind_t::f32_k;
    if (q == "f16")
        return us::scalar_kind_t::f16_k;
    if (q == "i8")
        return us::scalar_kind_t::i8_k;
    throw_range(env, "unknown quantization '" + q + "' (expected f32, f16 or i8)");
}

// ---- search ---------------------------------------------------------------------------

struct Hits {
    std::vector<key_t_> keys;
    std::vector<distance_t> distances;
    std::size_t count = 0;
};

// Merges a vector the graph does not reach (Core::stranded) into sorted hits.
void offer_stranded(Core& core, Hits& hits, key_t_ key, float const* query, std::size_t thread) {
    std::size_t k = hits.keys.size();
    auto end = hits.keys.begin() + static_cast<std::ptrdiff_t>(hits.count);
    if (std::find(hits.keys.begin(), end, key) != end)
        return;
    distance_t d = static_cast<distance_t>(core.index.distance_between(key, query, thread).min);
    if (hits.count == k && !(d < hits.distances[k - 1]))
        return;
    std::size_t at = hits.count < k ? hits.count++ : k - 1;
    for (; at > 0 && d < hits.distances[at - 1]; --at) {
        hits.keys[at] = hits.keys[at - 1];
        hits.distances[at] = hits.distances[at - 1];
    }
    hits.keys[at] = key;
    hits.distances[at] = d;
}

// Runs on any thread. `ef` 0 means the index default.
Hits run_search(Core& core, float const* query, std::size_t k, std::size_t ef, bool exact) {
    Hits hits;
    hits.keys.resize(k);
    hits.distances.resize(k);
    if (k == 0)
        return hits;
    SharedHold hold(core.gate);
    PhaseHold reading(core.phase, Phase::kRead);
    if (core.index.size() == 0)
        return hits;
    IdHold id(core.ids);
    std::size_t effective = ef ? ef : core.settings.expansion_search;
    std::size_t wanted = exact ? k : std::max(k, effective);
    auto result = core.index.search(query, wanted, id.id, exact);
    if (!result)
        throw std::runtime_error(std::string("alvd_index: search failed: ") + result.error.release());
    hits.count = result.dump_to(hits.keys.data(), hits.distances.data(), k);
    if (!exact)
        for (key_t_ key : core.stranded)
            offer_stranded(core, hits, key, query, id.id);
    return hits;
}

Napi::Value hits_to_js(Napi::Env env, Hits const& hits) {
    std::size_t k = hits.keys.size();
    Napi::Float64Array keys = Napi::Float64Array::New(env, k);
    Napi::Float32Array distances = Napi::Float32Array::New(env, k);
    for (std::size_t i = 0; i < hits.count; ++i) {
        keys[i] = static_cast<double>(hits.keys[i]);
        distances[i] = hits.distances[i];
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("keys", keys);
    out.Set("distances", distances);
    out.Set("count", Napi::Number::New(env, static_cast<double>(hits.count)));
    return out;
}

// ---- async workers ------------------------------------------------------------------

class PromiseWorker : public Napi::AsyncWorker {
  public:
    explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
    Napi::Promise promise() const { return deferred_.Promise(); }

  protected:
    void OnError(Napi::Error const& e) override { deferred_.Reject(e.Value()); }
    Napi::Promise::Deferred deferred_;
};

class AddWorker : public PromiseWorker {
  public:
    AddWorker(Napi::Env env, std::shared_ptr<Core> core, Napi::Float64Array keys, Napi::Float32Array vectors,
              std::size_t threads, bool repair)
        : PromiseWorker(env), core_(std::move(core)), threads_(threads), repair_wanted_(repair) {
        // Reference the typed arrays so their memory stays put while native threads read it.
        keys_ref_ = Napi::Persistent(static_cast<Napi::Object>(keys));
        vectors_ref_ = Napi::Persistent(static_cast<Napi::Object>(vectors));
        keys_ = keys.Data();
        vectors_ = vectors.Data();
        rows_ = keys.ElementLength();
    }

    void Execute() override {
        try {
            std::size_t threads = std::max<std::size_t>(1, std::min(threads_, rows_));
            // One build at a time: capacity reserved below must still be free when the
            // adds run, and a save must not see them half done.
            std::lock_guard<std::mutex> build(core_->build_mu);
            {
                ExclusiveHold hold(core_->gate);
                core_->reserve(rows_, threads);
            }
            std::atomic<std::size_t> next{0};
            std::atomic<bool> failed{false};
            std::mutex error_mu;
            std::string error;
            std::size_t dims = core_->settings.dimensions;
            auto work = [&] {
                try {
                    IdHold id(core_->ids);
                    PhaseHold adding(core_->phase, Phase::kAdd);
                    for (;;) {
                        // Between two adds every slot is whole: let waiting readers in.
                        adding.yield();
                        if (failed.load(std::memory_order_relaxed))
                            return;
                        std::size_t row = next.fetch_add(1, std::memory_order_relaxed);
                        if (row >= rows_)
                            return;
                        key_t_ key = static_cast<key_t_>(keys_[row]);
                        auto added = core_->index.add(key, vectors_ + row * dims, id.id);
                        if (added) {
                            core_->live.fetch_add(1, std::memory_order_relaxed);
                        } else {
                            std::lock_guard<std::mutex> lk(error_mu);
                            if (!failed.exchange(true))
                                error = "alvd_index: add of key " + std::to_string(key) + " failed: " +
                                        added.error.release();
                            return;
                        }
                    }
                } catch (std::exception const& e) {
                    std::lock_guard<std::mutex> lk(error_mu);
                    if (!failed.exchange(true))
                        error = std::string("alvd_index: add failed: ") + e.what();
                }
            };
            {
                SharedHold hold(core_->gate);
                std::vector<std::thread> helpers;
                helpers.reserve(threads - 1);
                for (std::size_t t = 1; t < threads; ++t)
                    helpers.emplace_back(work);
                work();
                for (auto& h : helpers)
                    h.join();
            }
            if (failed) {
                SetError(error);
                return;
            }
            if (repair_wanted_)
                relinked_ = core_->repair_unreachable();
        } catch (std::exception const& e) {
            SetError(e.what());
        }
    }

    // A number, not an object: resolving with an object made here, 12 times in a 60k x 784
    // build, left the agent 13 MB larger once the build was done (stranded() tells the rest).
    void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(relinked_))); }

  private:
    std::shared_ptr<Core> core_;
    std::size_t threads_;
    bool repair_wanted_;
    std::size_t relinked_ = 0;
    Napi::ObjectReference keys_ref_;
    Napi::ObjectReference vectors_ref_;
    double const* keys_ = nullptr;
    float const* vectors_ = nullptr;
    std::size_t rows_ = 0;
};

// Several queries in one worker: one thread-pool hop and one completion for all of
// them. Per call, N-API's async work, its promise and the result objects cost the JS
// thread about as much as an HNSW search's own bookkeeping, so the caller coalesces
// the searches of one event-loop turn into batches (src/index/search-batcher.ts).
class SearchBatchWorker : public PromiseWorker {
  public:
    SearchBatchWorker(Napi::Env env, std::shared_ptr<Core> core, std::vector<float> queries, std::vector<std::uint32_t> ks,
                      std::vector<std::uint32_t> efs)
        : PromiseWorker(env), core_(std::move(core)), queries_(std::move(queries)), ks_(std::move(ks)), efs_(std::move(efs)) {}

    void Execute() override {
        try {
            std::size_t dims = core_->settings.dimensions;
            hits_.reserve(ks_.size());
            for (std::size_t i = 0; i < ks_.size(); ++i)
                hits_.push_back(run_search(*core_, queries_.data() + i * dims, ks_[i], efs_[i], false));
        } catch (std::exception const& e) {
            SetError(e.what());
        }
    }

    // {keys, distances, counts}: query i's hits start at the sum of the ks before it
    void OnOK() override {
        Napi::Env env = Env();
        std::size_t total = 0;
        for (auto k : ks_)
            total += k;
        Napi::Float64Array keys = Napi::Float64Array::New(env, total);
        Napi::Float32Array distances = Napi::Float32Array::New(env, total);
        Napi::Uint32Array counts = Napi::Uint32Array::New(env, ks_.size());
        double* key_out = keys.Data();
        float* distance_out = distances.Data();
        std::size_t at = 0;
        for (std::size_t i = 0; i < hits_.size(); ++i) {
            Hits const& h = hits_[i];
            for (std::size_t j = 0; j < h.count; ++j) {
                key_out[at + j] = static_cast<double>(h.keys[j]);
                distance_out[at + j] = h.distances[j];
            }
            counts[i] = static_cast<std::uint32_t>(h.count);
            at += ks_[i];
        }
        Napi::Object out = Napi::Object::New(env);
        out.Set("keys", keys);
        out.Set("distances", distances);
        out.Set("counts", counts);
        deferred_.Resolve(out);
    }

  private:
    std::shared_ptr<Core> core_;
    std::vector<float> queries_;
    std::vector<std::uint32_t> ks_;
    std::vector<std::uint32_t> efs_;
    std::vector<Hits> hits_;
};

// " (errno NAME: text)" for the errors a save meets on a bad disk, "" otherwise.
static std::string ErrnoSuffix(int err) {
    const char* name = nullptr;
    switch (err) {
        case ENOSPC: name = "ENOSPC"; break;
        case EDQUOT: name = "EDQUOT"; break;
        case EIO: name = "EIO"; break;
        case EROFS: name = "EROFS"; break;
        case EACCES: name = "EACCES"; break;
        case EPERM: name = "EPERM"; break;
        case ENOENT: name = "ENOENT"; break;
        default: break;
    }
    if (!name) return "";
    return std::string(" (errno ") + name + ": " + std::strerror(err) + ")";
}

class SaveWorker : public PromiseWorker {
  public:
    SaveWorker(Napi::Env env, std::shared_ptr<Core> core, std::string path)
        : PromiseWorker(env), core_(std::move(core)), path_(std::move(path)) {}

    void Execute() override {
        try {
            // Waits for a running build: usearch writes slots 0..size(), filled or not.
            std::lock_guard<std::mutex> build(core_->build_mu);
            SharedHold hold(core_->gate);
            errno = 0;
            auto saved = core_->index.save(path_.c_str());
            // usearch says only "Failed to serialize into stream"; the errno of the failed
            // fwrite/fclose tells a full disk from a read-only one (JS turns it into err.code)
            int err = errno;
            if (!saved)
                SetError("alvd_index: save to " + path_ + " failed: " + saved.error.release() + ErrnoSuffix(err));
        } catch (std::exception const& e) {
            SetError(e.what());
        }
    }

    void OnOK() override { deferred_.Resolve(Env().Undefined()); }

  private:
    std::shared_ptr<Core> core_;
    std::string path_;
};

// ---- the JS class ----------------------------------------------------------------------

class NativeIndex : public Napi::ObjectWrap<NativeIndex> {
  public:
    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "NativeIndex",
                           {
                               InstanceMethod("size", &NativeIndex::Size),
                               InstanceMethod("capacity", &NativeIndex::Capacity),
                               InstanceMethod("contains", &NativeIndex::Contains),
                               InstanceMethod("get", &NativeIndex::Get),
                               InstanceMethod("addAsync", &NativeIndex::AddAsync),
                               InstanceMethod("remove", &NativeIndex::Remove),
                               InstanceMethod("search", &NativeIndex::Search),
                               InstanceMethod("searchBatchAsync", &NativeIndex::SearchBatchAsync),
                               InstanceMethod("exactSearch", &NativeIndex::ExactSearch),
                               InstanceMethod("saveAsync", &NativeIndex::SaveAsync),
                               InstanceMethod("load", &NativeIndex::Load),
                               InstanceMethod("memoryUsage", &NativeIndex::MemoryUsage),
                               InstanceMethod("stranded", &NativeIndex::Stranded),
                               InstanceMethod("clear", &NativeIndex::Clear),
                               InstanceMethod("isa", &NativeIndex::Isa),
                           });
    }

    // new NativeIndex(dimensions, metric, quantization, connectivity, expansionAdd, expansionSearch)
    explicit NativeIndex(Napi::CallbackInfo const& info) : Napi::ObjectWrap<NativeIndex>(info) {
        Napi::Env env = info.Env();
        Settings s;
        s.dimensions = arg_count(info, 0, "dimensions", 1 << 20);
        if (s.dimensions == 0)
            throw_range(env, "dimensions must be positive");
        s.metric = parse_metric(env, arg_string(info, 1, "metric"));
        s.scalar = parse_scalar(env, arg_string(info, 2, "quantization"));
        s.connectivity = arg_count(info, 3, "connectivity", 1 << 12);
        s.expansion_add = arg_count(info, 4, "expansionAdd", 1 << 20);
        s.expansion_search = arg_count(info, 5, "expansionSearch", 1 << 20);
        if (s.connectivity < 2)
            throw_range(env, "connectivity must be at least 2");
        if (s.expansion_add == 0)
            s.expansion_add = us::default_expansion_add();
        if (s.expansion_search == 0)
            s.expansion_search = us::default_expansion_search();
        core_ = std::make_shared<Core>();
        core_->settings = s;
        try {
            core_->index = make_index(s);
            ExclusiveHold hold(core_->gate);
            core_->reserve(0, 1);
        } catch (std::exception const& e) {
            throw Napi::Error::New(env, e.what());
        }
    }

  private:
    std::shared_ptr<Core> core_;

    float const* query_arg(Napi::CallbackInfo const& info, std::size_t i) {
        Napi::Float32Array q = arg_f32(info, i, "query");
        if (q.ElementLength() != core_->settings.dimensions)
            throw_range(info.Env(), "query has " + std::to_string(q.ElementLength()) + " dimensions, index has " +
                                        std::to_string(core_->settings.dimensions));
        // Napi::TypedArrayOf::Data() already includes the byteOffset.
        return q.Data();
    }

    Napi::Value Size(Napi::CallbackInfo const& info) {
        return Napi::Number::New(info.Env(), static_cast<double>(core_->live.load(std::memory_order_relaxed)));
    }

    Napi::Value Capacity(Napi::CallbackInfo const& info) {
        SharedHold hold(core_->gate);
        return Napi::Number::New(info.Env(), static_cast<double>(core_->index.capacity()));
    }

    Napi::Value Contains(Napi::CallbackInfo const& info) {
        key_t_ key = arg_key(info, 0);
        SharedHold hold(core_->gate);
        return Napi::Boolean::New(info.Env(), core_->index.contains(key));
    }

    Napi::Value Get(Napi::CallbackInfo const& info) {
        key_t_ key = arg_key(info, 0);
        std::vector<float> buffer(core_->settings.dimensions);
        std::size_t found;
        {
            // slot_lookup_ knows the key before vectors_lookup_ points at its vector.
            SharedHold hold(core_->gate);
            PhaseHold reading(core_->phase, Phase::kRead);
            found = core_->index.get(key, buffer.data());
        }
        if (!found)
            return info.Env().Undefined();
        Napi::Float32Array out = Napi::Float32Array::New(info.Env(), buffer.size());
        std::memcpy(out.Data(), buffer.data(), buffer.size() * sizeof(float));
        return out;
    }

    // addAsync(keys: Float64Array, vectors: Float32Array, threads: number, repair = true):
    // Promise<relinked>; a build of several steps repairs only after its last
    Napi::Value AddAsync(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        if (info.Length() < 1 || !info[0].IsTypedArray() ||
            info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
            throw_type(env, "keys must be a Float64Array");
        Napi::Float64Array keys = info[0].As<Napi::Float64Array>();
        Napi::Float32Array vectors = arg_f32(info, 1, "vectors");
        std::size_t threads = arg_count(info, 2, "threads", 1024);
        std::size_t rows = keys.ElementLength();
        std::size_t dims = core_->settings.dimensions;
        if (vectors.ElementLength() != rows * dims)
            throw_range(env, "vectors has " + std::to_string(vectors.ElementLength()) + " floats, expected " +
                                 std::to_string(rows) + " keys x " + std::to_string(dims) + " dimensions");
        double const* k = keys.Data();
        for (std::size_t i = 0; i < rows; ++i)
            if (!valid_key(k[i]))
                throw_range(env, "keys[" + std::to_string(i) + "] is not a non-negative safe integer");
        bool repair = info.Length() <= 3 || info[3].IsUndefined() || info[3].ToBoolean().Value();
        auto* worker = new AddWorker(env, core_, keys, vectors, threads == 0 ? 1 : threads, repair);
        Napi::Promise promise = worker->promise();
        worker->Queue();
        return promise;
    }

    Napi::Value Remove(Napi::CallbackInfo const& info) {
        key_t_ key = arg_key(info, 0);
        ExclusiveHold hold(core_->gate);
        auto removed = core_->index.remove(key);
        auto& stranded = core_->stranded;
        stranded.erase(std::remove(stranded.begin(), stranded.end(), key), stranded.end());
        core_->live.store(core_->index.size(), std::memory_order_relaxed);
        if (!removed)
            throw Napi::Error::New(info.Env(), std::string("alvd_index: remove failed: ") + removed.error.release());
        return Napi::Boolean::New(info.Env(), removed.completed > 0);
    }

    // search(query, k, expansion): {keys, distances, count}
    Napi::Value Search(Napi::CallbackInfo const& info) {
        float const* q = query_arg(info, 0);
        std::size_t k = arg_count(info, 1, "k", 1 << 20);
        std::size_t ef = info.Length() > 2 && !info[2].IsUndefined() ? arg_count(info, 2, "expansion", 1 << 20) : 0;
        try {
            return hits_to_js(info.Env(), run_search(*core_, q, k, ef, false));
        } catch (std::exception const& e) {
            throw Napi::Error::New(info.Env(), e.what());
        }
    }

    // searchBatchAsync(queries: Float32Array, ks: Uint32Array, efs: Uint32Array): query i is
    // queries[i*d, (i+1)*d), with its own k and ef (0: the index default)
    Napi::Value SearchBatchAsync(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        Napi::Float32Array queries = arg_f32(info, 0, "queries");
        for (std::size_t i : {1, 2})
            if (info.Length() <= i || !info[i].IsTypedArray() ||
                info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
                throw_type(env, std::string(i == 1 ? "ks" : "efs") + " must be a Uint32Array");
        Napi::Uint32Array ks = info[1].As<Napi::Uint32Array>();
        Napi::Uint32Array efs = info[2].As<Napi::Uint32Array>();
        std::size_t n = ks.ElementLength();
        std::size_t dims = core_->settings.dimensions;
        if (efs.ElementLength() != n || queries.ElementLength() != n * dims)
            throw_range(env, "queries has " + std::to_string(queries.ElementLength()) + " floats and efs " +
                                 std::to_string(efs.ElementLength()) + " entries, expected " + std::to_string(n) +
                                 " queries x " + std::to_string(dims) + " dimensions");
        for (std::size_t i = 0; i < n; ++i)
            if (ks[i] > (1u << 20) || efs[i] > (1u << 20))
                throw_range(env, "k and ef must be at most 1048576");
        // Copies: the caller may reuse its buffers before the worker runs.
        std::vector<float> q(queries.Data(), queries.Data() + n * dims);
        std::vector<std::uint32_t> k(ks.Data(), ks.Data() + n);
        std::vector<std::uint32_t> ef(efs.Data(), efs.Data() + n);
        auto* worker = new SearchBatchWorker(env, core_, std::move(q), std::move(k), std::move(ef));
        Napi::Promise promise = worker->promise();
        worker->Queue();
        return promise;
    }

    Napi::Value ExactSearch(Napi::CallbackInfo const& info) {
        float const* q = query_arg(info, 0);
        std::size_t k = arg_count(info, 1, "k", 1 << 20);
        try {
            return hits_to_js(info.Env(), run_search(*core_, q, k, 0, true));
        } catch (std::exception const& e) {
            throw Napi::Error::New(info.Env(), e.what());
        }
    }

    Napi::Value SaveAsync(Napi::CallbackInfo const& info) {
        auto* worker = new SaveWorker(info.Env(), core_, arg_string(info, 0, "path"));
        Napi::Promise promise = worker->promise();
        worker->Queue();
        return promise;
    }

    // Loads into a fresh index first, so a bad file leaves the current contents intact.
    Napi::Value Load(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        std::string path = arg_string(info, 0, "path");
        Settings const& s = core_->settings;
        dense_t fresh;
        {
            auto loaded = fresh.load(path.c_str());
            if (!loaded)
                throw Napi::Error::New(env, "alvd_index: load of " + path + " failed: " + loaded.error.release());
        }
        if (fresh.dimensions() != s.dimensions || fresh.metric_kind() != s.metric || fresh.scalar_kind() != s.scalar)
            throw Napi::Error::New(env, "alvd_index: " + path + " holds a " + std::to_string(fresh.dimensions()) +
                                            "-d index of another metric/quantization than configured");
        fresh.change_expansion_add(s.expansion_add);
        fresh.change_expansion_search(1);
        ExclusiveHold hold(core_->gate);
        core_->index.swap(fresh);
        core_->live.store(core_->index.size(), std::memory_order_relaxed);
        // The loaded index carries usearch's default thread limits; size them our way.
        core_->ids.reset(0);
        std::size_t relinked;
        try {
            core_->reserve(0, 1);
            // a file written by a build before this check existed may hold stranded vectors
            core_->stranded.clear();
            relinked = core_->relink_lost(core_->sorted_unreachable());
        } catch (std::exception const& e) {
            throw Napi::Error::New(env, e.what());
        }
        return Napi::Number::New(env, static_cast<double>(relinked));
    }

    // how many vectors every search scans beside the graph (Core::stranded)
    Napi::Value Stranded(Napi::CallbackInfo const& info) {
        SharedHold hold(core_->gate);
        return Napi::Number::New(info.Env(), static_cast<double>(core_->stranded.size()));
    }

    Napi::Value MemoryUsage(Napi::CallbackInfo const& info) {
        // usearch's stats() walks every slot up to size(), so it must not meet an add.
        SharedHold hold(core_->gate);
        PhaseHold reading(core_->phase, Phase::kRead);
        return Napi::Number::New(info.Env(), static_cast<double>(core_->index.memory_usage()));
    }

    Napi::Value Clear(Napi::CallbackInfo const& info) {
        ExclusiveHold hold(core_->gate);
        core_->index.clear();
        core_->stranded.clear();
        core_->live.store(0, std::memory_order_relaxed);
        return info.Env().Undefined();
    }

    Napi::Value Isa(Napi::CallbackInfo const& info) {
        return Napi::String::New(info.Env(), core_->index.metric().isa_name());
    }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("NativeIndex", NativeIndex::Define(env));
    exports.Set("flavour", Napi::String::New(env, kFlavour));
    exports.Set("hardwareAcceleration", Napi::String::New(env, us::hardware_acceleration_available()));
    exports.Set("hardwareCompiled", Napi::String::New(env, us::hardware_acceleration_compiled()));
    return exports;
}

} // namespace

NODE_API_MODULE(alvd_index, Init)
