#pragma once

/// factum's version, the one place it is written. CMake reads these three lines.
#define FACTUM_VERSION_MAJOR 0
#define FACTUM_VERSION_MINOR 1
#define FACTUM_VERSION_PATCH 0

#define FACTUM_VERSION \
  (FACTUM_VERSION_MAJOR * 10000 + FACTUM_VERSION_MINOR * 100 + FACTUM_VERSION_PATCH)
