#!/usr/bin/env python3
"""A HiveServer2 stand-in: the Thrift service of src/analytics/TCLIService.thrift (Python
generated from that same file with `thrift --gen py`), binary protocol over a plain socket
(NOSASL) or SASL PLAIN framing (--sasl), answering the service's SQL from the lake (lake.py).

    hs2_server.py --port P --thrift FILE --gen-dir DIR --ddl DDL --csv CSV --mode-file F --log L [--sasl]
"""
import argparse
import os
import struct
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lake  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    for name in ("--port", "--thrift", "--gen-dir", "--ddl", "--csv", "--mode-file", "--log"):
        p.add_argument(name, required=True)
    p.add_argument("--sasl", action="store_true")
    args = p.parse_args()
    os.makedirs(args.gen_dir, exist_ok=True)
    subprocess.run(["thrift", "--gen", "py", "-out", args.gen_dir, args.thrift], check=True,
                   capture_output=True)
    sys.path.insert(0, args.gen_dir)
    from thrift.protocol import TBinaryProtocol
    from thrift.server import TServer
    from thrift.transport import TSocket, TTransport
    from hs2 import TCLIService
    from hs2.ttypes import (TStatus, TStatusCode, TOpenSessionResp, TSessionHandle,
                            THandleIdentifier, TExecuteStatementResp, TOperationHandle,
                            TOperationType, TGetOperationStatusResp, TOperationState,
                            TFetchResultsResp, TRowSet, TColumn, TStringColumn, TI64Column,
                            TRow, TColumnValue, TStringValue, TI64Value, TCloseOperationResp,
                            TCloseSessionResp, TCancelOperationResp, TProtocolVersion)

    data = lake.Lake(args.ddl, args.csv)
    ok = TStatus(statusCode=TStatusCode.SUCCESS_STATUS)

    def handle():
        return THandleIdentifier(guid=uuid.uuid4().bytes, secret=uuid.uuid4().bytes)

    def column(values, numeric):
        nulls = bytearray((len(values) + 7) // 8)
        for i, v in enumerate(values):
            if v is None:
                nulls[i // 8] |= 1 << (i % 8)
        if numeric:
            return TColumn(i64Val=TI64Column(values=[v or 0 for v in values], nulls=bytes(nulls)))
        return TColumn(stringVal=TStringColumn(values=[v or "" for v in values], nulls=bytes(nulls)))

    class Handler:
        def __init__(self):
            self.sessions = {}      # guid -> protocol version
            self.operations = {}    # guid -> dict(rows, polls, fetched)
            self.lock = threading.Lock()

        def OpenSession(self, req):
            current = lake.mode(args.mode_file)
            lake.log(args.log, "OpenSession user=%s protocol=%s" % (req.username, req.client_protocol))
            version = min(req.client_protocol, TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V8)
            if current == "rowbased":
                version = TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V5
            h = handle()
            with self.lock:
                self.sessions[h.guid] = version
            return TOpenSessionResp(status=ok, serverProtocolVersion=version,
                                    sessionHandle=TSessionHandle(sessionId=h))

        def CloseSession(self, req):
            lake.log(args.log, "CloseSession")
            with self.lock:
                self.sessions.pop(req.sessionHandle.sessionId.guid, None)
            return TCloseSessionResp(status=ok)

        def ExecuteStatement(self, req):
            current = lake.mode(args.mode_file)
            lake.log(args.log, "ExecuteStatement async=%s %s" % (req.runAsync, req.statement))
            lake.maybe_sleep(current)
            with self.lock:
                version = self.sessions.get(req.sessionHandle.sessionId.guid)
            if version is None:
                return TExecuteStatementResp(status=TStatus(
                    statusCode=TStatusCode.INVALID_HANDLE_STATUS, errorMessage="no such session"))
            if current == "error":
                return TExecuteStatementResp(status=TStatus(
                    statusCode=TStatusCode.ERROR_STATUS, errorMessage="Table or view not found"))
            try:
                names, rows = data.run(req.statement)
            except lake.SqlError as e:
                return TExecuteStatementResp(status=TStatus(statusCode=TStatusCode.ERROR_STATUS,
                                                            errorMessage=str(e)))
            h = handle()
            with self.lock:
                self.operations[h.guid] = {"rows": rows, "polls": 0, "fetched": False,
                                           "version": version, "mode": current}
            return TExecuteStatementResp(status=ok, operationHandle=TOperationHandle(
                operationId=h, operationType=TOperationType.EXECUTE_STATEMENT, hasResultSet=True))

        def GetOperationStatus(self, req):
            with self.lock:
                op = self.operations[req.operationHandle.operationId.guid]
                op["polls"] += 1
                # Two polls "running" first, as a real query would be.
                state = (TOperationState.RUNNING_STATE if op["polls"] <= 2
                         else TOperationState.FINISHED_STATE)
            return TGetOperationStatusResp(status=ok, operationState=state)

        def FetchResults(self, req):
            with self.lock:
                op = self.operations[req.operationHandle.operationId.guid]
                rows = [] if op["fetched"] else op["rows"]
                op["fetched"] = True
            if op["mode"] == "malformed" and rows:
                # Columns of different lengths: no reader can make rows of them.
                cols = [column([r[0] for r in rows], isinstance(rows[0][0], int)),
                        column(["x"] * (len(rows) + 1), False)]
                return TFetchResultsResp(status=ok, hasMoreRows=False,
                                         results=TRowSet(startRowOffset=0, rows=[], columns=cols))
            if op["version"] >= TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V6:
                ncols = len(rows[0]) if rows else 0
                cols = [column([r[i] for r in rows], isinstance(rows[0][i], int)) for i in range(ncols)]
                rowset = TRowSet(startRowOffset=0, rows=[], columns=cols)
            else:
                def value(v):
                    if isinstance(v, int):
                        return TColumnValue(i64Val=TI64Value(value=v))
                    return TColumnValue(stringVal=TStringValue(value=v))
                rowset = TRowSet(startRowOffset=0, rows=[TRow(colVals=[value(v) for v in r]) for r in rows])
            # hasMoreRows stays false, as the Spark Thrift Server answers.
            return TFetchResultsResp(status=ok, hasMoreRows=False, results=rowset)

        def CancelOperation(self, req):
            return TCancelOperationResp(status=ok)

        def CloseOperation(self, req):
            lake.log(args.log, "CloseOperation")
            with self.lock:
                self.operations.pop(req.operationHandle.operationId.guid, None)
            return TCloseOperationResp(status=ok)

    class SaslServerTransport(TTransport.TTransportBase):
        """The server side of SASL PLAIN framing (what HiveServer2 runs unless NOSASL)."""
        def __init__(self, inner):
            self.inner, self.rbuf, self.wbuf, self.negotiated = inner, b"", b"", False

        def isOpen(self):
            return self.inner.isOpen()

        def open(self):
            self.inner.open()

        def close(self):
            self.inner.close()

        def _message(self):
            status, length = struct.unpack(">BI", self.inner.readAll(5))
            return status, self.inner.readAll(length)

        def _negotiate(self):
            status, mechanism = self._message()
            if status != 1 or mechanism != b"PLAIN":
                raise TTransport.TTransportException(message="bad SASL start")
            status, response = self._message()
            if status not in (2, 5):
                raise TTransport.TTransportException(message="bad SASL response")
            _authz, user, password = response.split(b"\0")
            if not user or not password:  # as Hive's PlainSaslServer
                message = b"No password name provided"
                self.inner.write(struct.pack(">BI", 3, len(message)) + message)
                self.inner.flush()
                raise TTransport.TTransportException(message="empty user or password")
            lake.log(args.log, "SASL PLAIN user=%s password_length=%d" % (user.decode(), len(password)))
            self.inner.write(struct.pack(">BI", 5, 0))
            self.inner.flush()
            self.negotiated = True

        def read(self, sz):
            if not self.negotiated:
                self._negotiate()
            if not self.rbuf:
                (length,) = struct.unpack(">I", self.inner.readAll(4))
                self.rbuf = self.inner.readAll(length)
            out, self.rbuf = self.rbuf[:sz], self.rbuf[sz:]
            return out

        def write(self, buf):
            self.wbuf += buf

        def flush(self):
            self.inner.write(struct.pack(">I", len(self.wbuf)) + self.wbuf)
            self.inner.flush()
            self.wbuf = b""

    class SaslFactory:
        """One transport per client, for both directions (TThreadedServer asks twice)."""
        def getTransport(self, client):
            if getattr(client, "sasl_transport", None) is None:
                client.sasl_transport = SaslServerTransport(client)
            return client.sasl_transport

    handler = Handler()
    processor = TCLIService.Processor(handler)
    server_socket = TSocket.TServerSocket(host="127.0.0.1", port=int(args.port))
    factory = SaslFactory() if args.sasl else TTransport.TBufferedTransportFactory()
    server = TServer.TThreadedServer(processor, server_socket, factory,
                                     TBinaryProtocol.TBinaryProtocolFactory(), daemon=True)
    lake.log(args.log, "listening")
    server.serve()


if __name__ == "__main__":
    main()
