#!/usr/bin/python3
"""A kouryu client in Python: what another internal service does.

  examples/python/generate_stubs.sh gen
  /usr/bin/python3 examples/python/kouryu_client.py --stubs gen \
      --ingest 127.0.0.1:50051 --query 127.0.0.1:50052

It writes one record, reads it back at the sequence the write returned
(min_sequence: no sleeping, no stale read), pages through a list, searches,
and shows how to read the field violations of a rejected request.
"""

import argparse
import sys


def field_violations(error):
    """The google.rpc.BadRequest violations of a failed call, as
    (field, description) pairs; the details travel in the
    grpc-status-details-bin trailer as a google.rpc.Status."""
    from google.rpc import error_details_pb2, status_pb2

    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                return [(v.field, v.description) for v in bad.field_violations]
    return []


def error_reason(error):
    """The google.rpc.ErrorInfo reason of a failed call, or ""."""
    from google.rpc import error_details_pb2, status_pb2

    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    return info.reason
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", default="127.0.0.1:50051")
    parser.add_argument("--query", default="127.0.0.1:50052")
    parser.add_argument("--stubs", default="gen", help="generate_stubs.sh's output")
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)

    import grpc
    from kouryu.v1 import (ingest_service_pb2, ingest_service_pb2_grpc,
                           query_service_pb2, query_service_pb2_grpc, record_pb2)

    # Plaintext, as the servers' default; with TLS use
    # grpc.secure_channel(address, grpc.ssl_channel_credentials(ca, key, cert)).
    options = [("grpc.max_receive_message_length", 64 << 20)]
    ingest = ingest_service_pb2_grpc.IngestServiceStub(
        grpc.insecure_channel(args.ingest, options=options))
    query = query_service_pb2_grpc.QueryServiceStub(
        grpc.insecure_channel(args.query, options=options))

    # 1. Upsert: the answer carries the record and the changelog sequence.
    written = ingest.UpsertRecord(ingest_service_pb2.UpsertRecordRequest(
        record=record_pb2.RawRecord(
            category="②姉妹港交流", department="港湾局港湾経営部",
            title="大韓民国ソウル特別市との港湾交流",
            results="<p>5月14日、港湾局職員3名を派遣</p>", fiscal_year=2020)),
        timeout=30)
    print(f"upserted {written.record.name}: "
          f"{ingest_service_pb2.Outcome.Name(written.outcome)}, sequence {written.sequence}")

    # 2. Read it back from the replica once it has applied that sequence.
    record = query.GetRecord(query_service_pb2.GetRecordRequest(
        name=written.record.name, min_sequence=written.sequence), timeout=30)
    print(f"read back {record.name}: {record.city.name_en}, {record.bureau.name_en}, "
          f"{len(record.events)} event(s), etag {record.etag}")

    # 3. Page through a list with page tokens.
    request = query_service_pb2.ListRecordsRequest(
        parent="cities/-", page_size=10, min_sequence=written.sequence)
    pages = names = 0
    while True:
        page = query.ListRecords(request, timeout=30)
        pages += 1
        names += len(page.records)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    print(f"listed {names} records in {pages} pages (total_size {page.total_size})")

    # 4. Search, Japanese or English.
    found = query.SearchRecords(query_service_pb2.SearchRecordsRequest(
        query="Seoul", page_size=3, min_sequence=written.sequence), timeout=30)
    for result in found.results:
        print(f"search Seoul: {result.record.name} score {result.score:g}: {result.snippet}")

    # 5. A bad request: its field violations say what to fix.
    try:
        ingest.UpsertRecord(ingest_service_pb2.UpsertRecordRequest(
            record=record_pb2.RawRecord(category="②姉妹港交流", department="架空局",
                                        title="", fiscal_year=1800)), timeout=30)
        print("the bad request was accepted", file=sys.stderr)
        return 1
    except grpc.RpcError as error:
        print(f"rejected: {error.code().name} ({error_reason(error)})")
        for field, description in field_violations(error):
            print(f"  {field}: {description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
