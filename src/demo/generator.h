// Deterministic, realistic Apollo-style CSV for demos, tests and benchmarks.
#pragma once

#include <cstdint>
#include <ostream>

namespace contacts::demo {

// Writes a header and `rows` data rows to `out`. The same (rows, seed) always gives the
// same bytes, on every platform and standard library. Columns: the Apollo export labels of
// every contact field plus "Lists", "Apollo Contact Id" and "Secondary Email"; about one
// company per 20 rows; about 0.5% of rows repeat an earlier e-mail in other letter case.
// Memory: about 16 bytes per row (a hash of each e-mail, to keep them unique); companies are
// recomputed, not stored. Throws std::runtime_error when writing to `out` fails.
void generate_csv(uint64_t rows, uint64_t seed, std::ostream& out);

}  // namespace contacts::demo
