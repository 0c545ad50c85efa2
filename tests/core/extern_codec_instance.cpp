// The one instantiation of the codec that extern_codec.hpp declares extern.
#include "extern_codec.hpp"

FACTUM_INSTANTIATE_CODEC(factum_test::extern_codec::event)
