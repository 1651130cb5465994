// Finds stored vectors no graph search can reach, and links them into the graph again.
//
// An HNSW graph can hold a vector that contains() and get() find but no search
// returns, at any ef, because no edge leads to it. Two causes, both measured on
// usearch 2.26 (random and Gaussian data, M 16–20, efConstruction 128):
//  - the neighbour heuristic: when a node's list is full, a newcomer's reverse link
//    is dropped wherever a closer neighbour already "covers" it, and an outlier can
//    lose every such link. Builds on one thread do this too: 69 of 20,000 Gaussian
//    96-d vectors;
//  - concurrent adds: a node's lists are filled top down and each is cleared right
//    before it is filled (index_gt::add and ::update), while the node is already
//    reachable from the levels above. An adder that descends onto it there meets an
//    empty list, links itself to that node alone, and the clear then erases the only
//    edge leading to it (upstream: unum-cloud/USearch#735). 0–6 of 200 random 64-d
//    vectors per build on two threads, none on one.
//
// The check walks the base level from the entry point, where every search ends,
// following removed slots' links too (searches do). A vector it never reaches is
// removed and added again on one thread: the add reuses a free slot, and usearch
// searches for its neighbours afresh and links back to it. That reuse takes an older
// removed node's place, which others may have been reached through, so the walk runs
// again while it makes progress. What stays unreached (8 of those 69: the heuristic
// drops them again) is kept aside by the caller, scanned by every search, and not
// tried again by later walks while they still find it unreached.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace alvd_reach {

// usearch keeps the graph (index_gt) private inside index_dense_gt, and the entry
// point private inside the graph; index_gt's slot-level neighbour views are public.
// An explicit instantiation may name private members ([temp.spec.general]/6), so the
// two templates below hand out member pointers without touching usearch's headers.
template <typename Tag, auto Member> struct expose {
    friend constexpr auto member_of(Tag) { return Member; }
};

struct graph_tag {
    friend constexpr auto member_of(graph_tag);
};
struct entry_tag {
    friend constexpr auto member_of(entry_tag);
};

template <typename dense_at> auto& graph_of(dense_at const& index) { return *(index.*member_of(graph_tag{})); }

template <typename dense_at> using graph_t = std::remove_reference_t<decltype(graph_of(std::declval<dense_at const&>()))>;

/**
 * Keys of live vectors the base level does not reach from the entry point. Needs the
 * graph unchanged meanwhile (no add or remove running); searches may run beside it.
 */
template <typename dense_at> std::vector<typename dense_at::vector_key_t> unreachable(dense_at const& index) {
    using key_t = typename dense_at::vector_key_t;
    auto const& graph = graph_of(index);
    std::vector<key_t> lost;
    std::size_t slots = graph.size();
    if (slots < 2)
        return lost;
    std::size_t entry = graph.*member_of(entry_tag{});
    std::vector<std::uint8_t> seen(slots, 0);
    std::vector<std::uint32_t> queue;
    queue.reserve(slots);
    seen[entry] = 1;
    queue.push_back(static_cast<std::uint32_t>(entry));
    for (std::size_t head = 0; head < queue.size(); ++head) {
        auto near = graph.neighbors(queue[head], 0);
        for (auto it = near.begin(); it != near.end(); ++it) {
            std::size_t s = it.slot();
            if (s < slots && !seen[s]) {
                seen[s] = 1;
                queue.push_back(static_cast<std::uint32_t>(s));
            }
        }
    }
    if (queue.size() == slots)
        return lost;
    key_t free_key = index.free_key();
    for (std::size_t s = 0; s < slots; ++s) {
        if (seen[s])
            continue;
        key_t key = static_cast<key_t>(graph.at(static_cast<typename graph_t<dense_at>::compressed_slot_t>(s)).key);
        if (key != free_key)
            lost.push_back(key);
    }
    return lost;
}

/**
 * Removes each key and adds it again with its stored bytes (`scalar_at` is the stored
 * type, so nothing is converted). Needs the index to itself and usearch thread id
 * `thread`. Returns how many were linked again; keys no longer present are skipped.
 */
template <typename scalar_at, typename dense_at>
std::size_t relink(dense_at& index, std::vector<typename dense_at::vector_key_t> const& keys, std::size_t thread,
                   std::size_t scalars_per_vector) {
    std::vector<scalar_at> vector(scalars_per_vector);
    std::size_t done = 0;
    for (auto key : keys) {
        if (!index.get(key, vector.data()))
            continue;
        auto removed = index.remove(key);
        if (!removed)
            throw std::runtime_error(std::string("alvd_index: relink of key ") + std::to_string(key) +
                                     " failed to remove it: " + removed.error.release());
        auto added = index.add(key, vector.data(), thread);
        if (!added)
            throw std::runtime_error(std::string("alvd_index: relink of key ") + std::to_string(key) +
                                     " failed to add it back: " + added.error.release());
        ++done;
    }
    return done;
}

} // namespace alvd_reach
