#pragma once

/// The umbrella for domain code: core types and the codec. Includes no Asio,
/// SQLite or spdlog, so a domain translation unit compiles fast.
#include <factum/core.hpp>
