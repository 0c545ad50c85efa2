#pragma once

/// The umbrella for domain code: core types, the codec, the aggregate concept
/// and decisions. Includes no Asio, SQLite or spdlog, so a domain translation
/// unit compiles fast. The given/when/then fixture is <factum/domain/testing.hpp>.
#include <factum/core.hpp>
#include <factum/domain/aggregate.hpp>
#include <factum/domain/decision.hpp>
#include <factum/domain/rejection_error.hpp>
