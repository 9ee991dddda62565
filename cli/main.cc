// kouryu-cli: talk to kouryu's servers from a shell, in the manner of grpcurl.
//
//   kouryu-cli ADDR list                      services the server offers
//   kouryu-cli ADDR describe SYMBOL           a service, method or message
//   kouryu-cli -d JSON ADDR SERVICE/METHOD    call a method (-d @ reads stdin;
//                                             several JSON objects for a
//                                             client-streaming method)
//   kouryu-cli ADDR import FILE               ImportTable with a file

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "cli/reflection_client.h"
#include "common/server.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"

ABSL_FLAG(std::string, d, "{}",
          "request as JSON; @ reads the request(s) from standard input");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of a call");
ABSL_FLAG(int32_t, fiscal_year, 0, "import: fiscal year, overriding the header");
ABSL_FLAG(bool, validate_only, false, "import: check every row, write nothing");
ABSL_FLAG(bool, atomic, false, "import: write every row or none");
ABSL_FLAG(std::string, encoding, "",
          "import: UTF-8 or CP932 (Shift_JIS); empty detects it");
ABSL_FLAG(bool, strict, false,
          "import: reject rows naming places the gazetteer does not know");

namespace {

constexpr char kUsage[] =
    "kouryu-cli [flags] ADDR (list | describe SYMBOL | SERVICE/METHOD | "
    "import FILE)";

// Splits concatenated JSON objects ("{..} {..}") into one string each.
std::vector<std::string> SplitJsonObjects(const std::string& text) {
  std::vector<std::string> out;
  int depth = 0;
  bool in_string = false, escaped = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' && depth++ == 0) start = i;
    if (c == '}' && --depth == 0) out.push_back(text.substr(start, i - start + 1));
  }
  return out;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

int Import(const std::shared_ptr<grpc::Channel>& channel,
           const std::string& path) {
  kouryu::v1::ImportTableRequest request;
  if (!ReadFile(path, request.mutable_content())) {
    std::fprintf(stderr, "kouryu-cli: cannot read %s\n", path.c_str());
    return 1;
  }
  request.set_file_name(path.substr(path.rfind('/') + 1));
  request.set_fiscal_year(absl::GetFlag(FLAGS_fiscal_year));
  request.set_validate_only(absl::GetFlag(FLAGS_validate_only));
  request.set_atomic(absl::GetFlag(FLAGS_atomic));
  request.set_encoding(absl::GetFlag(FLAGS_encoding));
  request.set_strict(absl::GetFlag(FLAGS_strict));
  auto stub = kouryu::v1::IngestService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_timeout)));
  kouryu::v1::ImportTableResponse response;
  grpc::Status status = stub->ImportTable(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "ERROR:\n%s\n", kouryu::cli::FormatRpcError(status).c_str());
    return 1;
  }
  std::printf(
      "imported %s (%s, fiscal year %d): %d created, %d updated, %d unchanged, "
      "%d rejected; sequence %llu\n",
      request.file_name().c_str(), response.encoding().c_str(),
      response.fiscal_year(),
      response.created_count(), response.updated_count(),
      response.unchanged_count(), response.rejected_count(),
      static_cast<unsigned long long>(response.sequence()));
  for (const auto& row : response.results()) {
    for (const auto& v : row.violations()) {
      std::printf("  line %d: rejected: %s %s\n", row.row(), v.field().c_str(),
                  v.description().c_str());
    }
    for (const auto& v : row.warnings()) {
      std::printf("  line %d: warning: %s %s\n", row.row(), v.field().c_str(),
                  v.description().c_str());
    }
  }
  return response.rejected_count() == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 3) {
    std::fprintf(stderr, "usage: %s\n", kUsage);
    return 2;
  }
  const std::string address = args[1];
  const std::string command = args[2];
  // Accept whatever the servers may send (a page of large records), not
  // gRPC's default 4 MiB.
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(kouryu::kMaxMessageBytes);
  auto channel = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), channel_args);
  if (command == "import" && args.size() == 4) return Import(channel, args[3]);

  kouryu::cli::ReflectionClient client(channel);
  if (command == "list" && args.size() == 3) {
    auto services = client.ListServices();
    if (!services.ok()) {
      std::fprintf(stderr, "ERROR:\n%s\n", std::string(services.status().message()).c_str());
      return 1;
    }
    for (const std::string& s : *services) std::printf("%s\n", s.c_str());
    return 0;
  }
  if (command == "describe" && args.size() == 4) {
    auto text = client.Describe(args[3]);
    if (!text.ok()) {
      std::fprintf(stderr, "ERROR:\n%s\n", std::string(text.status().message()).c_str());
      return 1;
    }
    std::printf("%s", text->c_str());
    return 0;
  }
  if (absl::StrContains(command, "/") && args.size() == 3) {
    std::string input = absl::GetFlag(FLAGS_d);
    if (input == "@") {
      std::stringstream buffer;
      buffer << std::cin.rdbuf();
      input = buffer.str();
    }
    std::vector<std::string> requests = SplitJsonObjects(input);
    absl::Status status = client.Call(
        command, requests,
        [](const std::string& json) { std::printf("%s\n", json.c_str()); },
        absl::GetFlag(FLAGS_timeout));
    std::fflush(stdout);
    if (!status.ok()) {
      std::fprintf(stderr, "ERROR:\n%s\n", std::string(status.message()).c_str());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "usage: %s\n", kUsage);
  return 2;
}
