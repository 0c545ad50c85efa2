// compile-cost: the one TU that compiles the four aggregates' codecs
// (FACTUM_EXTERN_CODEC in account.hpp and domain.hpp).
#include "domain.hpp"

FACTUM_INSTANTIATE_CODEC(cc::account::event)
FACTUM_INSTANTIATE_CODEC(cc::transfer::event)
FACTUM_INSTANTIATE_CODEC(cc::cart::event)
FACTUM_INSTANTIATE_CODEC(cc::stock_item::event)
