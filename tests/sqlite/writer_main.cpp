// A writer process for the multi-process SQLite tests.
//
//   factum_sqlite_writer DB STREAMS COUNT SEED
//
// Appends COUNT times (0: until killed) one to three events to a random one
// of STREAMS streams, with the exact version it just read. After each append
// the store acknowledged it prints "ack STREAM VERSION EVENT_ID" per event;
// a conflict prints "conflict"; any other error prints "error MESSAGE" and
// exits 1.
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include <factum/store/sqlite_store.hpp>

#include "../support/events.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: factum_sqlite_writer DB STREAMS COUNT SEED\n";
    return 2;
  }
  const int streams = std::stoi(argv[2]);
  const long count = std::stol(argv[3]);
  std::mt19937 rng(static_cast<unsigned>(std::stoul(argv[4])));
  auto store = factum::sqlite_store::open(argv[1]);
  if (!store) {
    std::printf("error %s\n", store.error().message().c_str());
    return 1;
  }
  for (long i = 0; count == 0 || i < count; ++i) {
    const std::string stream = "acct-" + std::to_string(rng() % streams);
    auto version = store->stream_version(stream);
    if (!version) {
      std::printf("error %s\n", version.error().message().c_str());
      return 1;
    }
    std::vector<factum::event_data> events;
    for (unsigned n = 1 + rng() % 3; n > 0; --n)
      events.push_back(factum_test::deposit(n));
    auto r = store->append(stream, factum::expected_version::exact(*version), events);
    if (!r) {
      if (r.error().code() == factum::errc::concurrency_conflict) {
        std::printf("conflict\n");
        std::fflush(stdout);
        continue;
      }
      std::printf("error %s\n", r.error().message().c_str());
      return 1;
    }
    for (std::size_t k = 0; k < events.size(); ++k)
      std::printf("ack %s %llu %s\n", stream.c_str(),
                  static_cast<unsigned long long>(r->streams[0].first_version + k),
                  events[k].id.to_string().c_str());
    std::fflush(stdout);
  }
  return 0;
}
