// Reading an aggregate's state: `state_of` with every completion token, its
// blocking form and where it refuses, and `return_state` in the answers of
// `dispatch` and `transact`.
#include <any>
#include <future>
#include <thread>
#include <tuple>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp misses it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <factum/runtime.hpp>

#include "helpers.hpp"

using namespace factum;
using namespace factum_test;
namespace net = boost::asio;

using account_at = state_at<account::state>;

TEST_CASE("state_of completes a callback, a future and a coroutine", "[runtime][state]") {
  runtime rt{memory_store{}, threads(2)};
  REQUIRE_FALSE(run(rt, "a", open_account{"ann"}).ec);
  REQUIRE_FALSE(run(rt, "a", deposit_money{40}).ec);

  std::promise<std::pair<std::error_code, account_at>> p;
  rt.state_of<account>("a", [&](std::error_code ec, account_at at) {
    p.set_value({ec, std::move(at)});
  });
  auto [ec, at] = p.get_future().get();
  CHECK_FALSE(ec);
  CHECK(at.state.balance == 40);
  CHECK(at.version == 2);

  CHECK(rt.state_of<account>("a", net::use_future).get().version == 2);
  auto refused = rt.state_of<account>("", net::use_future);
  CHECK_THROWS_AS(refused.get(), factum::system_error);

  net::io_context io;
  std::int64_t seen = -1;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto now = co_await rt.state_of<account>("a", net::use_awaitable);
        seen = now.state.balance;
      },
      net::detached);
  io.run();
  CHECK(seen == 40);

  // an aggregate that was never written: the empty state at version 0
  CHECK(rt.state_of<account>("nobody").value().version == 0);
}

TEST_CASE("state_of sees what another writer stored", "[runtime][state]") {
  auto store = std::make_shared<memory_store>();
  runtime rt{store, threads(2)};
  runtime other{store, threads(2)};
  REQUIRE_FALSE(run(rt, "a", open_account{"ann"}).ec);
  CHECK(balance(rt, "a") == 0);  // live in rt now
  REQUIRE_FALSE(run(other, "a", deposit_money{9}).ec);
  auto at = rt.state_of<account>("a").value();
  CHECK(at.state.balance == 9);
  CHECK(at.version == 2);
}

TEST_CASE("the blocking state_of refuses on a runtime thread instead of waiting for itself",
          "[runtime][state]") {
  runtime rt{memory_store{}, threads(1)};  // one thread: waiting there would never end
  REQUIRE_FALSE(run(rt, "a", open_account{"ann"}).ec);
  std::promise<std::error_code> p;
  net::post(rt.get_executor(), [&] {
    auto r = rt.state_of<account>("a");
    p.set_value(r ? std::error_code{} : r.error().code());
  });
  CHECK(p.get_future().get() == errc::invalid_argument);
}

TEST_CASE("return_state puts the state after the command in the answer", "[runtime][state]") {
  runtime rt{memory_store{}, threads(2)};
  dispatch_options o;
  o.return_state = true;
  auto opened = run(rt, "a", open_account{"ann"}, o);
  REQUIRE_FALSE(opened.ec);
  auto at = std::any_cast<account_at>(opened.result.state);
  CHECK(at.state.open);
  CHECK(at.version == 1);
  auto deposited = run(rt, "a", deposit_money{25}, o);
  CHECK(std::any_cast<account_at>(deposited.result.state).state.balance == 25);
  CHECK(std::any_cast<account_at>(deposited.result.state).version == 2);
  // without the option there is no copy; a rejection has none either
  CHECK_FALSE(run(rt, "a", deposit_money{1}).result.state.has_value());
  CHECK_FALSE(run(rt, "a", withdraw_money{1000}, o).result.state.has_value());

  REQUIRE_FALSE(run(rt, "b", open_account{"bob"}).ec);
  auto t = transfer(rt, "a", "b", 6, o);
  REQUIRE_FALSE(t.ec);
  auto [from, to] = std::any_cast<std::tuple<account_at, account_at>>(t.result.state);
  CHECK(from.state.balance == 20);
  CHECK(from.version == 4);
  CHECK(to.state.balance == 6);
  CHECK(to.version == 2);
}
