#include "analytics/hs2_engine.h"

#include <thrift/TApplicationException.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TProtocolException.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>
#include <thrift/transport/TTransportException.h>
#include <thrift/transport/TVirtualTransport.h>

#include <algorithm>
#include <thread>

#include "hs2/TCLIService.h"
#include "http/client.h"

namespace contacts::analytics {
namespace {

namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;
using apache::thrift::TApplicationException;

constexpr size_t kMaxRows = 100'000;
constexpr int64_t kFetchRows = 10'000;

// SASL PLAIN over Thrift (what HiveServer2 runs with hive.server2.authentication NONE or LDAP):
// a negotiation of frames [status byte][4-byte big-endian length][payload] (START "PLAIN",
// COMPLETE "\0user\0password", the server's COMPLETE), then every message in frames of
// [4-byte big-endian length][payload].
class PlainSaslTransport : public tt::TVirtualTransport<PlainSaslTransport> {
 public:
  PlainSaslTransport(std::shared_ptr<tt::TTransport> inner, std::string user, std::string password)
      : inner_(std::move(inner)), user_(std::move(user)), password_(std::move(password)) {}

  bool isOpen() const override { return inner_->isOpen(); }
  void open() override {
    inner_->open();
    send_negotiation(kStart, "PLAIN");
    // PLAIN completes with its initial response: COMPLETE, as Thrift's Java client sends it.
    send_negotiation(kComplete, std::string(1, '\0') + user_ + std::string(1, '\0') + password_);
    inner_->flush();
    uint8_t status = 0;
    inner_->readAll(&status, 1);
    const std::string payload = read_frame();
    if (status != kComplete) {
      throw tt::TTransportException(tt::TTransportException::NOT_OPEN,
                                    "SASL PLAIN refused: " + payload.substr(0, 200));
    }
  }
  void close() override { inner_->close(); }

  uint32_t read(uint8_t* buf, uint32_t len) {
    if (read_at_ == in_.size()) {
      in_ = read_frame();
      read_at_ = 0;
    }
    const uint32_t n = std::min<uint32_t>(len, static_cast<uint32_t>(in_.size() - read_at_));
    std::copy_n(in_.data() + read_at_, n, buf);
    read_at_ += n;
    return n;
  }
  void write(const uint8_t* buf, uint32_t len) { out_.append(reinterpret_cast<const char*>(buf), len); }
  void flush() override {
    write_length(static_cast<uint32_t>(out_.size()));
    inner_->write(reinterpret_cast<const uint8_t*>(out_.data()), static_cast<uint32_t>(out_.size()));
    inner_->flush();
    out_.clear();
  }

 private:
  static constexpr uint8_t kStart = 1, kComplete = 5;
  void write_length(uint32_t n) {
    const uint8_t be[4] = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                           static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    inner_->write(be, 4);
  }
  void send_negotiation(uint8_t status, const std::string& payload) {
    inner_->write(&status, 1);
    write_length(static_cast<uint32_t>(payload.size()));
    inner_->write(reinterpret_cast<const uint8_t*>(payload.data()), static_cast<uint32_t>(payload.size()));
  }
  std::string read_frame() {
    uint8_t be[4];
    inner_->readAll(be, 4);
    const uint32_t n = (uint32_t{be[0]} << 24) | (uint32_t{be[1]} << 16) | (uint32_t{be[2]} << 8) | be[3];
    if (n > (64u << 20)) {
      throw tp::TProtocolException(tp::TProtocolException::SIZE_LIMIT, "SASL frame too large");
    }
    std::string frame(n, '\0');
    if (n > 0) inner_->readAll(reinterpret_cast<uint8_t*>(frame.data()), n);
    return frame;
  }
  std::shared_ptr<tt::TTransport> inner_;
  std::string user_, password_;
  std::string in_, out_;
  size_t read_at_ = 0;
};

bool ok(const hs2::TStatus& s) {
  return s.statusCode == hs2::TStatusCode::SUCCESS_STATUS ||
         s.statusCode == hs2::TStatusCode::SUCCESS_WITH_INFO_STATUS;
}

void require_ok(const hs2::TStatus& s, const char* call) {
  if (ok(s)) return;
  throw EngineError(Failure::error, std::string(call) + " failed: " +
                                        (s.errorMessage.empty() ? "no message" : s.errorMessage.substr(0, 500)));
}

bool is_null(const std::string& nulls, size_t i) {
  return i / 8 < nulls.size() && (static_cast<uint8_t>(nulls[i / 8]) >> (i % 8) & 1) != 0;
}

// Appends the cells of one column of a columnar rowset (protocol V6+) to `rows`, from row
// `first` on.
void append_column(const hs2::TColumn& col, size_t column, size_t columns, Rows& rows, size_t first) {
  auto put = [&](const auto& c, auto&& text) {
    if (rows.size() < first + c.values.size()) {
      if (column != 0) throw EngineError(Failure::malformed, "columns of different lengths");
      rows.resize(first + c.values.size(), std::vector<std::string>(columns));
    } else if (rows.size() != first + c.values.size()) {
      throw EngineError(Failure::malformed, "columns of different lengths");
    }
    for (size_t i = 0; i < c.values.size(); ++i) {
      if (!is_null(c.nulls, i)) rows[first + i][column] = text(c.values[i]);
    }
  };
  const auto number = [](auto v) { return std::to_string(v); };
  const auto& set = col.__isset;
  if (set.stringVal) return put(col.stringVal, [](const std::string& v) { return v; });
  if (set.i64Val) return put(col.i64Val, number);
  if (set.i32Val) return put(col.i32Val, number);
  if (set.i16Val) return put(col.i16Val, number);
  if (set.byteVal) return put(col.byteVal, [](int8_t v) { return std::to_string(int{v}); });
  throw EngineError(Failure::malformed, "a column of an unexpected type");
}

std::string cell_text(const hs2::TColumnValue& v) {
  const auto& set = v.__isset;
  if (set.stringVal) return v.stringVal.__isset.value ? v.stringVal.value : "";
  if (set.i64Val) return v.i64Val.__isset.value ? std::to_string(v.i64Val.value) : "";
  if (set.i32Val) return v.i32Val.__isset.value ? std::to_string(v.i32Val.value) : "";
  if (set.i16Val) return v.i16Val.__isset.value ? std::to_string(v.i16Val.value) : "";
  throw EngineError(Failure::malformed, "a value of an unexpected type");
}

// The rows of `set` (columnar, or row-based before protocol V6) appended to `rows`.
void append_rows(const hs2::TRowSet& set, Rows& rows) {
  const size_t first = rows.size();
  if (set.__isset.columns && !set.columns.empty()) {
    for (size_t c = 0; c < set.columns.size(); ++c) {
      append_column(set.columns[c], c, set.columns.size(), rows, first);
    }
    return;
  }
  for (const hs2::TRow& row : set.rows) {
    std::vector<std::string> cells;
    for (const hs2::TColumnValue& v : row.colVals) cells.push_back(cell_text(v));
    rows.push_back(std::move(cells));
  }
}

}  // namespace

struct Hs2Session::Impl {
  Clock::time_point deadline;
  std::shared_ptr<tt::TSocket> socket;
  std::shared_ptr<tt::TTransport> transport;
  std::unique_ptr<hs2::TCLIServiceClient> client;
  hs2::TSessionHandle session;
  bool session_open = false;
  bool broken = false;  // a call failed mid-way: the connection is not reused

  // Milliseconds left, at least 1; EngineError{timeout} when none.
  int left_ms() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw EngineError(Failure::timeout, "HiveServer2: timed out");
    return static_cast<int>(std::min<int64_t>(left.count(), 3'600'000));
  }

  // Runs one RPC with the socket's timeouts set to what is left; Thrift's exceptions become
  // EngineErrors.
  template <class Call>
  void call(const char* what, Call&& rpc) {
    const int ms = left_ms();
    socket->setRecvTimeout(ms);
    socket->setSendTimeout(ms);
    try {
      rpc();
    } catch (const tt::TTransportException& e) {
      broken = true;
      const bool timed_out = e.getType() == tt::TTransportException::TIMED_OUT || Clock::now() >= deadline;
      throw EngineError(timed_out ? Failure::timeout
                        : e.getType() == tt::TTransportException::NOT_OPEN ? Failure::unavailable
                                                                          : Failure::error,
                        std::string("HiveServer2 ") + what + ": " + e.what());
    } catch (const tp::TProtocolException& e) {
      broken = true;
      throw EngineError(Failure::malformed, std::string("HiveServer2 ") + what + ": " + e.what());
    } catch (const TApplicationException& e) {
      throw EngineError(Failure::error, std::string("HiveServer2 ") + what + ": " + e.what());
    }
  }

  void close_operation(const hs2::TOperationHandle& op) {
    hs2::TCloseOperationReq req;
    req.__set_operationHandle(op);
    hs2::TCloseOperationResp resp;
    call("CloseOperation", [&] { client->CloseOperation(resp, req); });
  }

  // Waits for `op` to finish (polling, 20 ms growing to 500 ms between checks).
  void wait_finished(const hs2::TOperationHandle& op) {
    auto pause = std::chrono::milliseconds(20);
    for (;;) {
      hs2::TGetOperationStatusReq req;
      req.__set_operationHandle(op);
      hs2::TGetOperationStatusResp resp;
      call("GetOperationStatus", [&] { client->GetOperationStatus(resp, req); });
      require_ok(resp.status, "GetOperationStatus");
      if (!resp.__isset.operationState) {
        throw EngineError(Failure::malformed, "GetOperationStatus: no operation state");
      }
      switch (resp.operationState) {
        case hs2::TOperationState::FINISHED_STATE: return;
        case hs2::TOperationState::INITIALIZED_STATE:
        case hs2::TOperationState::RUNNING_STATE:
        case hs2::TOperationState::PENDING_STATE: break;
        default:
          throw EngineError(Failure::error, "statement failed (state " +
                                                std::to_string(static_cast<int>(resp.operationState)) +
                                                "): " + resp.errorMessage.substr(0, 500));
      }
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) throw EngineError(Failure::timeout, "HiveServer2: timed out");
      std::this_thread::sleep_for(std::min<Clock::duration>(pause, left));
      pause = std::min(pause * 2, std::chrono::milliseconds(500));
    }
  }
};

Hs2Session::Hs2Session(const Settings& settings, Clock::time_point deadline)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.deadline = deadline;
  const http::HostPort where = http::parse_host_port(settings.thrift_host);
  s.socket = std::make_shared<tt::TSocket>(where.host, where.port);
  s.socket->setConnTimeout(s.left_ms());
  if (settings.thrift_auth == Settings::ThriftAuth::plain) {
    // HiveServer2's PLAIN refuses an empty password even when it checks none (NONE): Hive's
    // JDBC driver then sends "anonymous", and so do we.
    s.transport = std::make_shared<PlainSaslTransport>(
        s.socket, settings.thrift_user,
        settings.thrift_password.empty() ? "anonymous" : settings.thrift_password);
  } else {
    s.transport = std::make_shared<tt::TBufferedTransport>(s.socket);
  }
  s.client = std::make_unique<hs2::TCLIServiceClient>(std::make_shared<tp::TBinaryProtocol>(s.transport));
  s.call("connect", [&] { s.transport->open(); });
  hs2::TOpenSessionReq req;
  req.__set_client_protocol(hs2::TProtocolVersion::HIVE_CLI_SERVICE_PROTOCOL_V8);
  req.__set_username(settings.thrift_user);
  hs2::TOpenSessionResp resp;
  s.call("OpenSession", [&] { s.client->OpenSession(resp, req); });
  require_ok(resp.status, "OpenSession");
  if (!resp.__isset.sessionHandle) throw EngineError(Failure::malformed, "OpenSession: no session handle");
  s.session = resp.sessionHandle;
  s.session_open = true;
}

Hs2Session::~Hs2Session() {
  Impl& s = *impl_;
  try {
    if (s.session_open && !s.broken && Clock::now() < s.deadline) {
      hs2::TCloseSessionReq req;
      req.__set_sessionHandle(s.session);
      hs2::TCloseSessionResp resp;
      s.call("CloseSession", [&] { s.client->CloseSession(resp, req); });
    }
  } catch (const std::exception&) {
    // The server closes what a dropped connection left open.
  }
  try {
    s.transport->close();
  } catch (const std::exception&) {
  }
}

Rows Hs2Session::query(const std::string& sql) {
  Impl& s = *impl_;
  hs2::TExecuteStatementReq req;
  req.__set_sessionHandle(s.session);
  req.__set_statement(sql);
  req.__set_runAsync(true);
  hs2::TExecuteStatementResp resp;
  s.call("ExecuteStatement", [&] { s.client->ExecuteStatement(resp, req); });
  require_ok(resp.status, "ExecuteStatement");
  if (!resp.__isset.operationHandle) {
    throw EngineError(Failure::malformed, "ExecuteStatement: no operation handle");
  }
  const hs2::TOperationHandle op = resp.operationHandle;
  s.wait_finished(op);
  Rows rows;
  // Until an empty rowset: the Spark Thrift Server leaves hasMoreRows false even when more
  // rows follow (as the Hive JDBC driver, we do not trust it).
  for (;;) {
    hs2::TFetchResultsReq fetch;
    fetch.__set_operationHandle(op);
    fetch.__set_orientation(hs2::TFetchOrientation::FETCH_NEXT);
    fetch.__set_maxRows(kFetchRows);
    hs2::TFetchResultsResp got;
    s.call("FetchResults", [&] { s.client->FetchResults(got, fetch); });
    require_ok(got.status, "FetchResults");
    if (!got.__isset.results) throw EngineError(Failure::malformed, "FetchResults: no rowset");
    const size_t before = rows.size();
    append_rows(got.results, rows);
    if (rows.size() > kMaxRows) throw EngineError(Failure::malformed, "more rows than expected");
    if (rows.size() == before) break;
  }
  s.close_operation(op);
  return rows;
}

Hs2Engine::Hs2Engine(const Settings& settings, std::string source)
    : settings_(settings), source_(std::move(source)) {}

AnalyticsSnapshot Hs2Engine::compute(uint32_t limit, Clock::time_point deadline) {
  Hs2Session session(settings_, deadline);
  return analytics_from_sql(settings_, limit, [&](const std::string& sql) { return session.query(sql); });
}

}  // namespace contacts::analytics
