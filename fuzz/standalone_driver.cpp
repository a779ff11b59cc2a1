// Runs a fuzz target without libFuzzer (in `make test`, on the sanitized GCC build): each file
// of the corpus directories given, then mutations of them (bit flips, byte changes,
// insertions, deletions, splices) for FUZZ_SECONDS seconds (default 2) from a fixed seed, so
// that a failure can be replayed. `make fuzz` builds the same targets with libFuzzer instead.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (!s.empty()) s[at % s.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:
        if (!s.empty()) s[at % s.size()] = static_cast<char>(rng());
        break;
      case 2: s.insert(at, 1, static_cast<char>(rng())); break;
      case 3:
        if (!s.empty()) s.erase(at % s.size(), 1 + rng() % 8);
        break;
      case 4: {  // a piece of another input
        const std::string& other = corpus[rng() % corpus.size()];
        if (!other.empty()) {
          const size_t from = rng() % other.size();
          s.insert(at, other.substr(from, 1 + rng() % 32));
        }
        break;
      }
      default: {  // a byte that parsers care about
        static const char kSpecial[] = {',', '"', '\r', '\n', '&', '=', '%', '.', '-', '\0', '\\'};
        s.insert(at, 1, kSpecial[rng() % sizeof kSpecial]);
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(entry.path(), std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (corpus.empty()) corpus.emplace_back();
  for (const std::string& input : corpus) run(input);
  const char* seconds_text = std::getenv("FUZZ_SECONDS");
  const double seconds = seconds_text ? std::atof(seconds_text) : 2.0;
  std::mt19937_64 rng(20261205);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = corpus.size();
  while (std::chrono::steady_clock::now() < end) {
    run(mutate(corpus[rng() % corpus.size()], corpus, rng));
    ++runs;
  }
  std::printf("%llu inputs run (%zu from the corpus), no failure\n",
              static_cast<unsigned long long>(runs), corpus.size());
  return 0;
}
