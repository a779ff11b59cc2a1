// Deterministic, realistic Apollo-style CSV for demos, tests and benchmarks.
#pragma once

#include <cstdint>
#include <ostream>

namespace contacts::ingest {

// Writes a header and `rows` data rows to `out`. The same (rows, seed) always gives the
// same bytes.
void generate_csv(uint64_t rows, uint64_t seed, std::ostream& out);

}  // namespace contacts::ingest
