#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <latch>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "util/base64url.h"
#include "auth/bearer.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/secret_key.h"

using namespace contacts;
using namespace contacts::auth;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kKey = "unit-test-signing-key";
constexpr int64_t kNow = 1'700'000'000;

TokenClaims claims_of_type(std::string_view type) {
  return TokenClaims{.username = "anna",
                     .user_id = 42,
                     .is_staff = true,
                     .type = std::string(type),
                     .issued_at_s = kNow,
                     .expires_at_s = kNow + 1800,
                     .jti = "0123456789abcdef0123456789abcdef",
                     .password_version = ""};  // none: the token has no pwv claim
}

nlohmann::json valid_payload() {
  return {{"token_type", "access"}, {"exp", kNow + 1800}, {"iat", kNow},      {"jti", "abc123"},
          {"user_id", 42},          {"username", "anna"}, {"is_staff", false}};
}

// An HS256 signature computed independently of auth/jwt.cpp, so any header can be crafted.
std::string signature_b64(std::string_view signing_input, std::string_view key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &len);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string crafted_token(std::string_view header_json, std::string_view payload_json,
                          std::string_view key = kKey) {
  const std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return input + "." + signature_b64(input, key);
}

std::string crafted_token(const nlohmann::json& payload) {
  return crafted_token(R"({"alg":"HS256","typ":"JWT"})", payload.dump());
}

TokenError error_of(const std::variant<TokenClaims, TokenError>& result) {
  const TokenError* error = std::get_if<TokenError>(&result);
  if (error == nullptr) {
    ADD_FAILURE() << "token was accepted";
    return TokenError::malformed;
  }
  return *error;
}

std::string stat_mode_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", st.st_mode & 07777);
  return buf;
}

}  // namespace

// ---- Passwords (each Argon2id hash or verify costs ~0.15 s: keep these few) ----

TEST(PasswordHash, VerifiesTheRightPasswordAndRejectsAWrongOne) {
  const std::string encoded = hash_password("correct horse battery staple");
  EXPECT_TRUE(encoded.starts_with("$argon2id$v=19$m=65536,t=3,p=1$")) << encoded;
  EXPECT_EQ(encoded.find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password("correct horse battery staple", encoded));
  EXPECT_FALSE(verify_password("correct horse battery stapler", encoded));
}

TEST(PasswordHash, SaltsEveryHashSoEqualPasswordsDiffer) {
  const std::string a = hash_password("same");
  const std::string b = hash_password("same");
  EXPECT_NE(a, b);
}

TEST(PasswordVerify, RejectsMalformedHashesWithoutThrowing) {
  for (const std::string bad : {"", "garbage", "$argon2id$", "$argon2id$v=19$m=65536,t=3,p=1$",
                                "$argon2id$v=19$m=65536,t=3,p=1$!!!$!!!",
                                "$argon2i$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
                                "pbkdf2_sha256$600000$salt$hash"}) {
    EXPECT_FALSE(verify_password("password", bad)) << bad;
  }
}

TEST(PasswordBurn, RunsAFullCheckForUnknownUsersWithoutThrowing) {
  EXPECT_NO_THROW(burn_password_check("whatever the client sent"));
}

// ---- Base64url ----

TEST(JwtBase64Url, RoundTripsWithoutPaddingAndRejectsNonCanonicalText) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm8="), std::nullopt);   // padding
  EXPECT_EQ(base64url_decode("+/8"), std::nullopt);    // standard alphabet
  EXPECT_EQ(base64url_decode("Zm9"), std::nullopt);    // stray bits in the last sextet
  EXPECT_EQ(base64url_decode("Zm9vY"), std::nullopt);  // impossible length
}

// ---- JWT ----

TEST(JwtFormat, MatchesAnIndependentHs256Implementation) {
  // Computed with Python's hmac/base64 modules over the same header and payload.
  EXPECT_EQ(sign_token(claims_of_type("access"), kKey),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzAwMDAxODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6"
            "IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI6NDIsInVzZXJuYW1lIjoiYW5u"
            "YSIsImlzX3N0YWZmIjp0cnVlfQ.ZHjnksrHqOisCLlm7qN7UQSNJRSEI4PDdh1XBXnb5Cg");
}

TEST(JwtRoundTrip, VerifiesItsOwnTokenAndReturnsEveryClaim) {
  TokenClaims in = claims_of_type("refresh");
  in.username = "Jürgen \"J\" Müller";
  in.is_staff = false;
  in.password_version = "0011223344556677";
  const auto out = verify_token(sign_token(in, kKey), kKey, "refresh", kNow);
  const TokenClaims* c = std::get_if<TokenClaims>(&out);
  ASSERT_NE(c, nullptr) << token_error_name(std::get<TokenError>(out));
  EXPECT_EQ(c->username, in.username);
  EXPECT_EQ(c->user_id, 42);
  EXPECT_FALSE(c->is_staff);
  EXPECT_EQ(c->type, "refresh");
  EXPECT_EQ(c->issued_at_s, kNow);
  EXPECT_EQ(c->expires_at_s, kNow + 1800);
  EXPECT_EQ(c->jti, in.jti);
  EXPECT_EQ(c->password_version, in.password_version);
}

TEST(JwtRoundTrip, NewTokenIdsAreUniqueHex) {
  const std::string a = new_token_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, new_token_id());
}

TEST(JwtExpiry, AcceptsBeforeExpiryAndRejectsFromTheExpirySecondOn) {
  const std::string token = sign_token(claims_of_type("access"), kKey);
  EXPECT_TRUE(
      std::holds_alternative<TokenClaims>(verify_token(token, kKey, "access", kNow + 1799)));
  EXPECT_EQ(error_of(verify_token(token, kKey, "access", kNow + 1800)), TokenError::expired);
  EXPECT_EQ(error_of(verify_token(token, kKey, "access", kNow + 86400)), TokenError::expired);
}

TEST(JwtSignature, RejectsATokenSignedWithAnotherKey) {
  const std::string token = sign_token(claims_of_type("access"), "another-key");
  EXPECT_EQ(error_of(verify_token(token, kKey, "access", kNow)), TokenError::bad_signature);
}

TEST(JwtSignature, RejectsATamperedPayloadUnderTheOriginalSignature) {
  TokenClaims claims = claims_of_type("access");
  claims.is_staff = false;
  const std::string token = sign_token(claims, kKey);
  const size_t p1 = token.find('.');
  const size_t p2 = token.rfind('.');
  nlohmann::json payload =
      nlohmann::json::parse(*base64url_decode(token.substr(p1 + 1, p2 - p1 - 1)));
  payload["is_staff"] = true;
  const std::string forged =
      token.substr(0, p1 + 1) + base64url_encode(payload.dump()) + token.substr(p2);
  EXPECT_EQ(error_of(verify_token(forged, kKey, "access", kNow)), TokenError::bad_signature);
}

TEST(JwtSignature, RejectsATruncatedOrMissingSignature) {
  const std::string token = sign_token(claims_of_type("access"), kKey);
  const std::string unsigned_part = token.substr(0, token.rfind('.') + 1);
  EXPECT_EQ(error_of(verify_token(unsigned_part, kKey, "access", kNow)), TokenError::bad_signature);
  EXPECT_EQ(error_of(verify_token(token.substr(0, token.size() - 3), kKey, "access", kNow)),
            TokenError::bad_signature);
}

TEST(JwtAlgorithm, RejectsAlgNoneWithAnEmptySignature) {
  const std::string token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                            base64url_encode(valid_payload().dump()) + ".";
  EXPECT_EQ(error_of(verify_token(token, kKey, "access", kNow)), TokenError::unsupported_alg);
}

TEST(JwtAlgorithm, RejectsEveryAlgOtherThanExactlyHs256EvenWhenTheHmacMatches) {
  const std::string payload = valid_payload().dump();
  for (const std::string_view header :
       {R"({"alg":"none","typ":"JWT"})", R"({"alg":"HS512","typ":"JWT"})",
        R"({"alg":"hs256","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT"})", R"({"typ":"JWT"})",
        R"({"alg":null})", R"({"alg":["HS256"]})"}) {
    EXPECT_EQ(error_of(verify_token(crafted_token(header, payload), kKey, "access", kNow)),
              TokenError::unsupported_alg)
        << header;
  }
}

TEST(JwtHeader, AcceptsAMissingTypButRejectsAnotherTypOrCriticalExtensions) {
  const std::string payload = valid_payload().dump();
  EXPECT_TRUE(std::holds_alternative<TokenClaims>(
      verify_token(crafted_token(R"({"alg":"HS256"})", payload), kKey, "access", kNow)));
  for (const std::string_view header :
       {R"({"alg":"HS256","typ":"at+jwt"})", R"({"alg":"HS256","typ":1})",
        R"({"alg":"HS256","crit":["exp"],"exp":1})"}) {
    EXPECT_EQ(error_of(verify_token(crafted_token(header, payload), kKey, "access", kNow)),
              TokenError::malformed)
        << header;
  }
}

TEST(JwtTokenType, RejectsARefreshTokenUsedAsAccessAndViceVersa) {
  const std::string refresh = sign_token(claims_of_type("refresh"), kKey);
  const std::string access = sign_token(claims_of_type("access"), kKey);
  EXPECT_EQ(error_of(verify_token(refresh, kKey, "access", kNow)), TokenError::wrong_type);
  EXPECT_EQ(error_of(verify_token(access, kKey, "refresh", kNow)), TokenError::wrong_type);
}

TEST(JwtClaims, RejectsSignedTokensWithMissingOrMistypedClaims) {
  ASSERT_TRUE(std::holds_alternative<TokenClaims>(
      verify_token(crafted_token(valid_payload()), kKey, "access", kNow)));
  for (const char* claim : {"token_type", "exp", "iat", "jti", "user_id", "username", "is_staff"}) {
    nlohmann::json payload = valid_payload();
    payload.erase(claim);
    EXPECT_EQ(error_of(verify_token(crafted_token(payload), kKey, "access", kNow)),
              TokenError::malformed)
        << "without " << claim;
  }
  const std::vector<std::pair<const char*, nlohmann::json>> mistyped = {
      {"exp", kNow + 1800.5},
      {"exp", std::to_string(kNow + 1800)},
      {"exp", 18446744073709551615ULL},
      {"user_id", "42"},
      {"is_staff", 1},
      {"jti", ""},
      {"username", nullptr},
      {"token_type", nlohmann::json::array({"access"})}};
  for (const auto& [claim, value] : mistyped) {
    nlohmann::json payload = valid_payload();
    payload[claim] = value;
    EXPECT_EQ(error_of(verify_token(crafted_token(payload), kKey, "access", kNow)),
              TokenError::malformed)
        << claim << " = " << value.dump();
  }
  EXPECT_EQ(
      error_of(verify_token(crafted_token(R"({"alg":"HS256"})", "[1,2]"), kKey, "access", kNow)),
      TokenError::malformed);
}

TEST(JwtGarbage, RejectsGarbageAsMalformedWithoutThrowing) {
  const std::string good = sign_token(claims_of_type("access"), kKey);
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("..."),
        std::string("abc"), std::string("a.b"), std::string("a.b.c.d"), std::string("!!!.###.$$$"),
        std::string("eyJ.eyJ.sig"), good + ".", "." + good, " " + good,
        good.substr(0, good.find('.')) + "=" + good.substr(good.find('.')),
        base64url_encode("not json") + "." + base64url_encode("{}") + ".",
        base64url_encode("[\"HS256\"]") + "." + base64url_encode("{}") + ".",
        std::string("\0\0.\0.\0", 6)}) {
    EXPECT_EQ(error_of(verify_token(bad, kKey, "access", kNow)), TokenError::malformed) << bad;
  }
}

TEST(JwtSize, RejectsTokensOverFourKibibytesEvenWhenCorrectlySigned) {
  TokenClaims claims = claims_of_type("access");
  claims.username = std::string(3000, 'x');
  const std::string token = sign_token(claims, kKey);
  ASSERT_GT(token.size(), kMaxTokenBytes);
  EXPECT_EQ(error_of(verify_token(token, kKey, "access", kNow)), TokenError::malformed);
}

TEST(JwtKey, RefusesToSignOrVerifyWithAnEmptyKey) {
  EXPECT_THROW(sign_token(claims_of_type("access"), ""), std::invalid_argument);
  EXPECT_THROW(verify_token("a.b.c", "", "access", kNow), std::invalid_argument);
}

// ---- Bearer header ----

TEST(BearerHeader, AbsentBlankOrOtherSchemesMeanNoCredentials) {
  EXPECT_EQ(bearer_token(nullptr), std::nullopt);
  const std::string blank = "   ";
  EXPECT_EQ(bearer_token(&blank), std::nullopt);
  const std::string basic = "Basic dXNlcjpwYXNz";
  EXPECT_EQ(bearer_token(&basic), std::nullopt);
  const std::string glued = "Bearerabc.def.ghi";
  EXPECT_EQ(bearer_token(&glued), std::nullopt);
}

TEST(BearerHeader, ReturnsTheTrimmedTokenForAnyCaseOfTheScheme) {
  for (const std::string header : {"Bearer abc.def.ghi", "bearer abc.def.ghi",
                                   "BEARER\tabc.def.ghi", "  Bearer    abc.def.ghi  "}) {
    EXPECT_EQ(bearer_token(&header), std::optional<std::string_view>("abc.def.ghi")) << header;
  }
}

TEST(BearerHeader, BearerWithoutAUsableTokenYieldsTextThatFailsVerification) {
  const std::string bare = "Bearer";
  EXPECT_EQ(bearer_token(&bare), std::optional<std::string_view>(""));
  const std::string two = "Bearer a b";
  EXPECT_EQ(bearer_token(&two), std::optional<std::string_view>("a b"));
  EXPECT_EQ(error_of(verify_token(*bearer_token(&bare), kKey, "access", kNow)),
            TokenError::malformed);
}

TEST(BearerHeader, MessagesAreTheContractsExactWords) {
  EXPECT_EQ(kNoCredentials, "Authentication credentials were not provided.");
  EXPECT_EQ(kInvalidToken, "Given token not valid for any token type");
  EXPECT_EQ(kNoPermission, "You do not have permission to perform this action.");
  EXPECT_EQ(kBadLogin, "No active account found with the given credentials");
}

// ---- Secret key ----

class SecretKey : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "auth_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SecretKey, ConfiguredKeyWinsAndNothingIsWritten) {
  EXPECT_EQ(load_or_create_secret_key(dir_.string(), "from-env"), "from-env");
  EXPECT_FALSE(fs::exists(dir_ / "secret_key"));
}

TEST_F(SecretKey, CreatesAPrivateFileOnceAndReusesIt) {
  const fs::path data_dir = dir_ / "data";  // does not exist yet
  const std::string first = load_or_create_secret_key(data_dir.string(), "");
  EXPECT_EQ(first.size(), 64u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(stat_mode_of(data_dir / "secret_key"), "0600");
  EXPECT_EQ(load_or_create_secret_key(data_dir.string(), ""), first);
  EXPECT_EQ(std::distance(fs::directory_iterator(data_dir), fs::directory_iterator()), 1)
      << "temporary files left behind";
}

TEST_F(SecretKey, UsesAKeyFileWrittenByAnOperatorTrimmed) {
  std::ofstream(dir_ / "secret_key") << "  my own key\n";
  EXPECT_EQ(load_or_create_secret_key(dir_.string(), ""), "my own key");
}

TEST_F(SecretKey, RefusesAnEmptyKeyFile) {
  std::ofstream(dir_ / "secret_key") << "\n";
  EXPECT_THROW(load_or_create_secret_key(dir_.string(), ""), std::runtime_error);
}

TEST_F(SecretKey, ConcurrentCreatorsAllGetTheSameKey) {
  constexpr int kThreads = 8;
  std::vector<std::string> keys(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        keys[i] = load_or_create_secret_key(dir_.string(), "");
      } catch (const std::exception& e) {
        keys[i] = std::string("error: ") + e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& key : keys) EXPECT_EQ(key, keys[0]);
  EXPECT_EQ(keys[0].size(), 64u);
}
