// Streaming multipart/form-data: what reaches the file, however the body is cut into writes.
#include "http/multipart.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace contacts::http {
namespace {

constexpr const char* kBoundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

// A fresh directory per test, removed afterwards; in memory when /dev/shm exists, as the split
// tests fsync thousands of small files.
class MultipartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const std::filesystem::path shm("/dev/shm");
    dir_ = (std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path()) /
           ("multipart_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name = "upload.bin") const { return (dir_ / name).string(); }

  std::unique_ptr<MultipartFileSink> sink(const std::string& name = "upload.bin",
                                          const std::string& boundary = kBoundary) const {
    return std::make_unique<MultipartFileSink>(boundary, "file", path(name));
  }

  static std::string read_file(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  std::filesystem::path dir_;
};

std::string part(const std::string& disposition, const std::string& content,
                 const std::string& extra_headers = "") {
  return std::string("--") + kBoundary + "\r\nContent-Disposition: " + disposition + "\r\n" +
         extra_headers + "\r\n" + content + "\r\n";
}

std::string closing() { return std::string("--") + kBoundary + "--\r\n"; }

std::string file_part(const std::string& content) {
  return part(R"(form-data; name="file"; filename="contacts.csv")", content,
              "Content-Type: text/csv\r\n");
}

const std::string kCsv = "first_name,email\r\nAda,ada@example.com\r\n--not a boundary\r\n";

TEST_F(MultipartTest, SingleFilePartIsWrittenToTheFile) {
  auto s = sink();
  ASSERT_TRUE(s->opened());
  EXPECT_TRUE(s->write(file_part(kCsv) + closing()));
  EXPECT_TRUE(s->complete());
  EXPECT_TRUE(s->found_field());
  EXPECT_EQ(s->file_bytes(), kCsv.size());
  EXPECT_EQ(s->client_filename(), "contacts.csv");
  EXPECT_EQ(s->path(), path());
  EXPECT_EQ(read_file(path()), kCsv);
  struct stat info {};
  ASSERT_EQ(::stat(path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(MultipartTest, FilePartAfterATextFieldIsFound) {
  auto s = sink();
  EXPECT_TRUE(s->write(part(R"(form-data; name="note")", "hello\r\nworld") + file_part(kCsv) +
                       part(R"(form-data; name="file"; filename="second.csv")", "ignored") +
                       closing()));
  EXPECT_TRUE(s->complete());
  EXPECT_EQ(s->client_filename(), "contacts.csv");
  EXPECT_EQ(read_file(path()), kCsv);
}

TEST_F(MultipartTest, FieldWithoutAFileNameCountsToo) {
  auto s = sink();
  EXPECT_TRUE(s->write(part(R"(form-data; name="file")", "a,b\n1,2\n") + closing()));
  EXPECT_TRUE(s->found_field());
  EXPECT_EQ(s->client_filename(), "");
  EXPECT_EQ(read_file(path()), "a,b\n1,2\n");
}

// A body whose content holds CRLFs, dashes and near-boundaries, to be cut up every way.
std::string tricky_body(std::string& expected_content) {
  expected_content = std::string("line1\r\n\r\nA--") + kBoundary + "\n--" + kBoundary + "\r\n-" +
                     "\r\n--" + std::string(kBoundary).substr(0, 10) + "\r\r\n\r\n-";
  return part(R"(form-data; name="other")", "\r\n--\r\n-") + file_part(expected_content) +
         closing();
}

TEST_F(MultipartTest, ContentWithCrlfsAndBoundaryLookalikesIsKept) {
  std::string expected;
  const std::string body = tricky_body(expected);
  auto s = sink();
  EXPECT_TRUE(s->write(body));
  EXPECT_TRUE(s->complete());
  EXPECT_EQ(read_file(path()), expected);
}

TEST_F(MultipartTest, OneByteAtATimeGivesTheSameFile) {
  std::string expected;
  const std::string body = tricky_body(expected);
  auto s = sink();
  for (const char c : body) ASSERT_TRUE(s->write(std::string_view(&c, 1)));
  EXPECT_TRUE(s->complete());
  EXPECT_EQ(s->file_bytes(), expected.size());
  EXPECT_EQ(read_file(path()), expected);
}

TEST_F(MultipartTest, EverySplitIntoTwoWritesGivesTheSameFile) {
  std::string expected;
  const std::string body = tricky_body(expected);
  for (size_t split = 0; split <= body.size(); ++split) {
    const std::string name = "split" + std::to_string(split);
    auto s = sink(name);
    const std::string_view view(body);
    ASSERT_TRUE(s->write(view.substr(0, split))) << split;
    ASSERT_TRUE(s->write(view.substr(split))) << split;
    ASSERT_TRUE(s->complete()) << split;
    ASSERT_EQ(read_file(path(name)), expected) << split;
  }
}

TEST_F(MultipartTest, EverySplitIntoThreeWritesGivesTheSameFile) {
  const std::string content = "x\r\n-\r\n--b\r";
  const std::string body =
      "--bq\r\nContent-Disposition: form-data; name=file\r\n\r\n" + content + "\r\n--bq--";
  for (size_t a = 0; a <= body.size(); ++a) {
    for (size_t b = a; b <= body.size(); ++b) {
      auto s = sink("upload.bin", "bq");
      const std::string_view view(body);
      ASSERT_TRUE(s->write(view.substr(0, a)));
      ASSERT_TRUE(s->write(view.substr(a, b - a)));
      ASSERT_TRUE(s->write(view.substr(b)));
      ASSERT_TRUE(s->complete()) << a << " " << b;
      ASSERT_EQ(read_file(path()), content) << a << " " << b;
    }
  }
}

TEST_F(MultipartTest, LargeFileIsWrittenThroughInChunks) {
  std::string content;
  for (int i = 0; content.size() < 3 * 1024 * 1024; ++i) {
    content += "row" + std::to_string(i) + ",\r\n-";
  }
  const std::string body = file_part(content) + closing();
  auto s = sink();
  for (size_t at = 0; at < body.size(); at += 65536) {
    ASSERT_TRUE(s->write(std::string_view(body).substr(at, 65536)));
  }
  EXPECT_TRUE(s->complete());
  EXPECT_EQ(s->file_bytes(), content.size());
  EXPECT_EQ(read_file(path()), content);
}

TEST_F(MultipartTest, MissingFieldIsReportedNotAnError) {
  auto s = sink();
  EXPECT_TRUE(s->write(part(R"(form-data; name="files"; filename="a.csv")", "data") +
                       part(R"(form-data; name="File")", "data") + closing()));
  EXPECT_TRUE(s->complete());
  EXPECT_FALSE(s->found_field());
  EXPECT_EQ(s->file_bytes(), 0u);
}

TEST_F(MultipartTest, EmptyFilePartIsFoundWithZeroBytes) {
  auto s = sink();
  EXPECT_TRUE(s->write(file_part("") + closing()));
  EXPECT_TRUE(s->complete());
  EXPECT_TRUE(s->found_field());
  EXPECT_EQ(s->file_bytes(), 0u);
  EXPECT_EQ(read_file(path()), "");
}

TEST_F(MultipartTest, PaddingAfterBoundariesAndAnEpilogueAreAccepted) {
  auto s = sink();
  const std::string body = std::string("--") + kBoundary + " \t\r\n" +
                           "content-disposition: form-data; name=file\r\n\r\nabc\r\n--" +
                           kBoundary + "--\r\nepilogue, ignored\r\n--garbage";
  EXPECT_TRUE(s->write(body));
  EXPECT_TRUE(s->complete());
  EXPECT_EQ(read_file(path()), "abc");
}

TEST_F(MultipartTest, UnfinishedBodyIsNotComplete) {
  auto s = sink();
  EXPECT_TRUE(s->write(file_part(kCsv)));
  EXPECT_FALSE(s->complete());
  EXPECT_TRUE(s->found_field());
}

TEST_F(MultipartTest, MalformedBodiesAreRefused) {
  const std::string b = std::string("--") + kBoundary;
  const std::vector<std::string> bodies = {
      "garbage before the boundary\r\n" + file_part("x") + closing(),
      "--wrong-boundary\r\n\r\nx\r\n--wrong-boundary--",
      b + "garbage\r\n\r\nx\r\n" + b + "--",
      b + "-x\r\n",
      b + "\r\nContent-Disposition: form-data; name=\"file\"\r\n" + std::string(17000, 'h'),
      b + "\r\nNo colon in this header\r\n\r\nx\r\n" + b + "--",
      b + "\r\nContent-Disposition: form-data; name=\"file\r\n\r\nx\r\n" + b + "--",
      b + "\r\n\r\nx\r\n" + b + "\rx",
      part(R"(form-data; name="note")", std::string(1024 * 1024 + 1, 'n')) + closing(),
  };
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto s = sink("bad" + std::to_string(i));
    EXPECT_FALSE(s->write(bodies[i])) << i;
    EXPECT_FALSE(s->write(closing())) << i;  // stays failed
    EXPECT_FALSE(s->complete()) << i;
    EXPECT_FALSE(s->error().empty()) << i;
    EXPECT_EQ(s->field_too_large(), i + 1 == bodies.size()) << i;
  }
}

TEST_F(MultipartTest, SkippedFilePartsAreNotLimitedInSize) {
  auto s = sink();
  EXPECT_TRUE(s->write(
      part(R"(form-data; name="other"; filename="big.bin")", std::string(2 * 1024 * 1024, 'z')) +
      file_part("ok") + closing()));
  EXPECT_EQ(read_file(path()), "ok");
}

TEST_F(MultipartTest, FileIsDeletedUnlessKept) {
  {
    auto s = sink("dropped");
    EXPECT_TRUE(s->write(file_part(kCsv) + closing()));
  }
  EXPECT_FALSE(std::filesystem::exists(path("dropped")));
  {
    auto s = sink("aborted");
    EXPECT_TRUE(s->write(file_part(kCsv).substr(0, 100)));
  }
  EXPECT_FALSE(std::filesystem::exists(path("aborted")));
  {
    auto s = sink("kept");
    EXPECT_TRUE(s->write(file_part(kCsv) + closing()));
    s->keep();
  }
  EXPECT_EQ(read_file(path("kept")), kCsv);
}

TEST_F(MultipartTest, ExistingFileIsNeitherOverwrittenNorDeleted) {
  std::ofstream(path("taken")) << "someone else's";
  {
    auto s = sink("taken");
    EXPECT_FALSE(s->opened());
    EXPECT_FALSE(s->error().empty());
    EXPECT_FALSE(s->write(file_part(kCsv) + closing()));
  }
  EXPECT_EQ(read_file(path("taken")), "someone else's");
}

TEST_F(MultipartTest, QuotedBoundaryParameterWorks) {
  const auto boundary =
      multipart_boundary(R"(Multipart/Form-Data; charset=utf-8; BOUNDARY="a b'c")");
  ASSERT_TRUE(boundary.has_value());
  EXPECT_EQ(*boundary, "a b'c");
  auto s = sink("quoted", *boundary);
  EXPECT_TRUE(
      s->write("--a b'c\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
               "data\r\n--a b'c--"));
  EXPECT_TRUE(s->complete());
  EXPECT_EQ(read_file(path("quoted")), "data");
}

TEST(MultipartBoundary, ParsesTheContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(multipart_boundary("multipart/form-data;boundary=\"x:y\" "), "x:y");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=----WebKitFormBoundaryQ1"),
            "----WebKitFormBoundaryQ1");
  EXPECT_EQ(multipart_boundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/mixed; boundary=abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("text/csv; boundary=abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary="), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')),
            std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=a\"b"), std::nullopt);
}

}  // namespace
}  // namespace contacts::http
