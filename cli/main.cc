// kouryu-cli: talk to kouryu's servers from a shell, in the manner of
// grpcurl, with typed subcommands for the everyday calls.
//
//   kouryu-cli [flags] [ADDR] COMMAND [ARGS] [flags]
//
// ADDR may be left out where the command says which server it needs:
// $KOURYU_QUERY for the query commands, $KOURYU_INGEST for import and
// backup (and SERVICE/METHOD by the service's name). Flags may come before
// the address or after the command. `kouryu-cli --help` lists the commands,
// `kouryu-cli help COMMAND` one command's flags.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/channel.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/export.h"
#include "cli/import.h"
#include "cli/output.h"
#include "cli/reflection_client.h"
#include "re2/re2.h"

namespace kouryu::cli {
namespace {

constexpr char kDescription[] =
    "kouryu-cli: the command line of kouryu's servers (kouryu-ingest, "
    "kouryu-query).\n\n"
    "  kouryu-cli [flags] [ADDR] COMMAND [ARGS] [flags]\n\n"
    "ADDR is HOST:PORT (or any gRPC target). Without it, the query commands\n"
    "(get, records, search, summarize, cities, bureaus, status, export) use\n"
    "$KOURYU_QUERY, import and backup use $KOURYU_INGEST, and SERVICE/METHOD\n"
    "uses the one of the service (kouryu.v1.QueryService: $KOURYU_QUERY;\n"
    "IngestService, ChangeFeed, AdminService: $KOURYU_INGEST).";

constexpr char kFooter[] =
    "\nOutput (-o): table at a terminal, json otherwise; also jsonl, tsv, "
    "csv.\n"
    "Transport: plaintext unless -cacert, -cert, -key, -servername or\n"
    "-insecure is given (then TLS); grpcurl's flag names, one dash or two.\n"
    "Exit codes: 0 done, 1 the call failed, 2 a usage error, 3 import: rows\n"
    "were rejected.\n"
    "Run 'kouryu-cli help COMMAND' for a command's arguments and flags.";

// Commands whose server is kouryu-query, and those whose is kouryu-ingest.
const std::set<std::string> kQueryCommands = {"get",       "records", "search",
                                              "summarize", "cities",  "bureaus",
                                              "status",    "export"};
const std::set<std::string> kIngestCommands = {"import", "backup"};

bool IsMethod(const std::string& arg) {
  static const RE2 kMethod(
      R"([A-Za-z_][\w]*(\.[A-Za-z_]\w*)+[/.][A-Za-z_]\w*)");
  return RE2::FullMatch(arg, kMethod) && absl::StrContains(arg, "/");
}

struct Flags {
  std::string data = "{}";
  std::string output;
  std::string timeout = "30s";
  uint64_t min_sequence = 0;
  TransportOptions transport;
  ListOptions list;
  std::vector<std::string> group_by = {"city", "fiscal_year"};
  std::string positional;           // get NAME, search QUERY, describe SYMBOL,
                                    // call METHOD, records/export PARENT
  std::vector<std::string> files;   // import
  std::vector<std::string> backup;  // backup ACTION [ID]
  std::string help_topic;
  ImportOptions import;
  std::string progress_interval = "5s";
  ExportOptions export_options;
};

// Every option name ("--name", "-n") of `app` and its subcommands, and
// whether it takes a value.
void CollectOptions(const CLI::App& app, std::map<std::string, bool>& out) {
  for (const CLI::Option* opt : app.get_options()) {
    const bool takes_value = opt->get_expected_max() > 0;
    for (const std::string& name : opt->get_lnames())
      out["--" + name] = takes_value;
    for (const std::string& name : opt->get_snames())
      out["-" + name] = takes_value;
  }
  for (const CLI::App* sub :
       app.get_subcommands([](const CLI::App*) { return true; })) {
    CollectOptions(*sub, out);
  }
}

// The subcommand named `name`, or null.
const CLI::App* FindCommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub :
       app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

struct Arrangement {
  std::string address;
  std::string command;
  std::vector<std::string> args;  // For CLI11: command first, then the rest.
};

// Finds ADDR and COMMAND among the arguments, turns grpcurl's one-dash long
// flags (-plaintext, -cacert FILE) into CLI11's two, and moves the flags
// given before the command after it, where its subcommand (which falls
// through to the global flags) reads them.
absl::StatusOr<Arrangement> Arrange(const std::vector<std::string>& in,
                                    const CLI::App& app) {
  std::map<std::string, bool> options;
  CollectOptions(app, options);
  std::vector<std::string> args;
  for (size_t i = 0; i < in.size(); ++i) {
    std::string arg = in[i];
    if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-') {
      const std::string name = "--" + arg.substr(1, arg.find('=') - 1);
      if (options.count(name)) arg = "-" + arg;
    }
    args.push_back(arg);
    const std::string name = arg.substr(0, arg.find('='));
    if (arg.find('=') == std::string::npos && options.count(name) &&
        options[name] && i + 1 < in.size()) {
      args.push_back(in[++i]);  // Its value, as is.
    }
  }
  Arrangement out;
  std::vector<std::string> flags, rest;
  bool found = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (found) {
      rest.push_back(arg);
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      flags.push_back(arg);
      const std::string name = arg.substr(0, arg.find('='));
      if (arg.find('=') == std::string::npos && options.count(name) &&
          options[name] && i + 1 < args.size()) {
        flags.push_back(args[++i]);
      }
      continue;
    }
    const bool is_command = FindCommand(app, arg) != nullptr || IsMethod(arg);
    if (!is_command && out.address.empty()) {
      out.address = arg;
      continue;
    }
    found = true;
    out.command = arg;
  }
  if (!found) {
    // Only flags (--help), or an address and no command.
    out.args = flags;
    if (!out.address.empty() && flags.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no command after ", out.address,
                       "; run kouryu-cli --help for the commands"));
    }
    return out;
  }
  if (IsMethod(out.command)) {
    out.args = {"call", out.command};
  } else {
    out.args = {out.command};
  }
  out.args.insert(out.args.end(), flags.begin(), flags.end());
  out.args.insert(out.args.end(), rest.begin(), rest.end());
  return out;
}

absl::StatusOr<std::string> ResolveAddress(const Arrangement& arranged,
                                           const std::string& method) {
  if (!arranged.address.empty()) return arranged.address;
  std::string variable;
  if (kQueryCommands.count(arranged.command)) variable = "KOURYU_QUERY";
  if (kIngestCommands.count(arranged.command)) variable = "KOURYU_INGEST";
  if (!method.empty()) {
    if (absl::StartsWith(method, "kouryu.v1.QueryService"))
      variable = "KOURYU_QUERY";
    for (const char* service :
         {"kouryu.v1.IngestService", "kouryu.v1.ChangeFeed",
          "kouryu.v1.AdminService"}) {
      if (absl::StartsWith(method, service)) variable = "KOURYU_INGEST";
    }
  }
  if (variable.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        arranged.command == "call" ? method : arranged.command,
        " needs an address: kouryu-cli ADDR ",
        arranged.command == "call" ? method : arranged.command, " ..."));
  }
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr || *value == '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat("no address: give one (kouryu-cli HOST:PORT ",
                     arranged.command, " ...) or set $", variable));
  }
  return std::string(value);
}

// The -d requests: JSON objects one after another ("@" reads standard
// input). An error says where the JSON went wrong.
absl::StatusOr<std::vector<std::string>> ParseRequests(std::string text) {
  if (text == "@") {
    std::stringstream buffer;
    buffer << std::cin.rdbuf();
    text = buffer.str();
  }
  std::vector<std::string> requests;
  std::istringstream in(text);
  while (true) {
    in >> std::ws;
    if (in.peek() == std::char_traits<char>::eof()) break;
    const std::streamoff start = in.tellg();
    nlohmann::json value;
    try {
      in >> value;
    } catch (const nlohmann::json::parse_error& e) {
      const size_t at = std::min<size_t>(start + e.byte - 1, text.size());
      int line = 1, column = 1;
      for (size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
          ++line;
          column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
          ++column;
        }
      }
      std::string what = e.what();
      if (size_t colon = what.find(": "); colon != std::string::npos) {
        what = what.substr(colon + 2);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("-d: invalid JSON at line ", line, ", column ", column,
                       " (byte ", at + 1, "): ", what));
    }
    if (!value.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "-d: request ", requests.size() + 1, " (byte ", start + 1,
          ") is a JSON ", value.type_name(), ", not an object"));
    }
    requests.push_back(value.dump());
  }
  if (requests.empty()) requests.push_back("{}");
  return requests;
}

int Usage(const std::string& message) {
  std::fprintf(stderr,
               "kouryu-cli: %s\nRun 'kouryu-cli --help', or 'kouryu-cli help "
               "COMMAND' for one command.\n",
               message.c_str());
  return 2;
}

void AddQueryScope(CLI::App* sub, Flags& f, bool paging) {
  sub->add_option("--filter", f.list.filter,
                  "AIP-160 filter, e.g. 'fiscal_year = 2019 AND city = Paris'");
  if (!paging) return;
  sub->add_option("--order_by", f.list.order_by,
                  "fiscal_year, update_time, title or name; asc or desc");
  sub->add_option("--view", f.list.view, "basic (the default) or full");
  sub->add_option("--page_size", f.list.page_size,
                  "records per page (server default 50)");
  sub->add_option("--page_token", f.list.page_token, "the page to start at");
  sub->add_flag("--all", f.list.all, "follow next_page_token to the last page");
}

int Main(int argc, char** argv) {
  // gRPC's own log lines (a failed handshake) only when asked for: the
  // error a call returns says it once.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  Flags f;
  CLI::App app(kDescription, "kouryu-cli");
  app.fallthrough();
  app.footer(kFooter);
  app.set_help_all_flag("--help-all,--helpfull",
                        "every command with its flags");
  app.add_option(
      "-d,--data", f.data,
      "SERVICE/METHOD: the request as JSON; @ reads it from standard "
      "input; several objects for a client-streaming method");
  app.add_option("-o,--output", f.output, "table, json, jsonl, tsv or csv");
  auto* timeout =
      app.add_option("--timeout", f.timeout,
                     "deadline of each call, e.g. 30s, 2m (import and "
                     "export: none unless given)");
  app.add_option("--min_sequence", f.min_sequence,
                 "queries: answer once the replica has applied this sequence");
  app.add_flag("--plaintext", f.transport.plaintext, "no TLS (the default)");
  app.add_option("--cacert", f.transport.cacert,
                 "TLS: PEM roots to verify the server");
  app.add_option("--cert", f.transport.cert,
                 "TLS: PEM certificate of the client");
  app.add_option("--key", f.transport.key,
                 "TLS: PEM private key of the client");
  app.add_option("--servername", f.transport.servername,
                 "TLS: the name the server's certificate must hold");
  app.add_flag("--insecure", f.transport.insecure,
               "TLS without verifying the server's certificate");

  app.add_subcommand("help", "help COMMAND: a command's arguments and flags")
      ->add_option("topic", f.help_topic, "a command");
  auto* list =
      app.add_subcommand("list", "services the server offers (reflection)");
  auto* describe = app.add_subcommand(
      "describe", "a service, method or message (reflection)");
  describe->add_option("symbol", f.positional, "e.g. kouryu.v1.Record")
      ->required();
  auto* call = app.add_subcommand(
      "call",
      "SERVICE/METHOD: call any method with -d JSON (reflection); "
      "'call' may be left out");
  call->add_option("method", f.positional,
                   "e.g. kouryu.v1.QueryService/ListRecords")
      ->required();

  auto* get = app.add_subcommand("get", "one record by name");
  get->add_option("name", f.positional,
                  "cities/{city}/bureaus/{bureau}/records/{record}")
      ->required();
  auto* records =
      app.add_subcommand("records", "records under a parent (ListRecords)");
  records->add_option(
      "parent", f.list.parent,
      "cities/-, cities/{city}, cities/{city}/bureaus/{bureau}, "
      "cities/-/bureaus/{bureau} (default cities/-)");
  AddQueryScope(records, f, true);
  auto* search =
      app.add_subcommand("search", "full-text search, Japanese or English");
  search->add_option("query", f.positional, "the text to find")->required();
  search->add_option("--parent", f.list.parent, "scope, as records' PARENT");
  AddQueryScope(search, f, true);
  auto* summarize =
      app.add_subcommand("summarize", "record and participant counts by group");
  summarize->add_option("parent", f.list.parent, "as records' PARENT");
  summarize
      ->add_option("--group_by", f.group_by,
                   "any of city, bureau, fiscal_year, category (default "
                   "city,fiscal_year)")
      ->delimiter(',');
  AddQueryScope(summarize, f, false);
  auto* cities =
      app.add_subcommand("cities", "cities with records, with counts");
  auto* bureaus =
      app.add_subcommand("bureaus", "bureaus with records, with counts");
  auto* status = app.add_subcommand(
      "status",
      "the replica's status (applied and head sequence, lag) and digest");

  auto* import = app.add_subcommand(
      "import", "table files (TSV/CSV, UTF-8 or CP932) into kouryu-ingest");
  import->add_option("files", f.files, "table files")->required();
  import
      ->add_option("--columns", f.import.columns,
                   "the field of each column: category, department, title, "
                   "results or '' (comma-separated)")
      ->delimiter(',');
  import->add_flag("--no_header", f.import.no_header,
                   "the table has no header line");
  import->add_option("--encoding", f.import.encoding,
                     "UTF-8 or CP932 (Shift_JIS); detected when not given");
  import->add_option("--fiscal_year", f.import.fiscal_year,
                     "fiscal year of the rows, overriding the header");
  import->add_flag(
      "--atomic", f.import.atomic,
      "every row or none (one ImportTable call; files up to 64 MiB)");
  import->add_flag("--validate_only", f.import.validate_only,
                   "check every row, write nothing");
  import->add_flag("--strict", f.import.strict,
                   "reject rows naming places the gazetteer does not know");
  import->add_flag("--allow_rejected", f.import.allow_rejected,
                   "exit 0 although rows were rejected (else 3)");
  import->add_option(
      "--progress_interval", f.progress_interval,
      "progress line every ... when standard error is not a terminal");

  auto* export_ = app.add_subcommand(
      "export", "records as the published table (four columns and header)");
  export_->add_option("parent", f.export_options.parent, "as records' PARENT");
  export_->add_option("--filter", f.export_options.filter, "AIP-160 filter");
  export_->add_option("--format", f.export_options.format,
                      "tsv (default) or csv");
  export_->add_option("--encoding", f.export_options.encoding,
                      "UTF-8 (default) or CP932 (Shift_JIS)");
  export_->add_option("--out", f.export_options.out,
                      "file to write (default standard output); {fiscal_year} "
                      "in it writes one file per year");

  auto* backup =
      app.add_subcommand("backup", "backups of kouryu-ingest (AdminService)");
  backup->add_option("action", f.backup, "create | list | delete ID")
      ->required()
      ->expected(1, 2);

  std::vector<std::string> in(argv + 1, argv + argc);
  absl::StatusOr<Arrangement> arranged = Arrange(in, app);
  if (!arranged.ok()) return Usage(std::string(arranged.status().message()));
  if (arranged->command == "help") {
    // Before parsing: the topic is a command's name, which CLI11 would take
    // for the command itself.
    const CLI::App* topic = &app;
    for (size_t i = 1; i < arranged->args.size(); ++i) {
      if (arranged->args[i].empty() || arranged->args[i][0] == '-') continue;
      topic = FindCommand(app, arranged->args[i]);
      if (topic == nullptr || topic->get_name() == "help") {
        return Usage(absl::StrCat("no command ", arranged->args[i]));
      }
      break;
    }
    std::printf("%s", topic->help().c_str());
    return 0;
  }
  std::vector<std::string> reversed(arranged->args.rbegin(),
                                    arranged->args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    // The help of the command it followed, else of the whole.
    const std::vector<CLI::App*> parsed = app.get_subcommands();
    std::printf("%s", parsed.empty() ? app.help().c_str()
                                     : parsed.front()->help().c_str());
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", app.help("", CLI::AppFormatMode::All).c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    return Usage(e.what());
  }
  if (arranged->command.empty()) {
    std::printf("%s", app.help().c_str());
    return in.empty() ? 2 : 0;
  }
  absl::StatusOr<Format> format = ParseFormat(f.output);
  if (!format.ok()) return Usage(std::string(format.status().message()));
  absl::Duration call_timeout;
  if (!absl::ParseDuration(f.timeout, &call_timeout)) {
    return Usage(
        absl::StrCat("--timeout=", f.timeout, ": not a duration (30s, 2m)"));
  }
  const bool timeout_given = timeout->count() > 0;
  absl::StatusOr<std::string> address =
      ResolveAddress(*arranged, call->parsed() ? f.positional : "");
  if (!address.ok()) return Usage(std::string(address.status().message()));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(*address, f.transport);
  if (!channel.ok()) {
    PrintError(channel.status());
    return 2;
  }
  CallOptions options{.timeout = call_timeout,
                      .format = *format,
                      .min_sequence = f.min_sequence};

  if (get->parsed()) return RunGet(*channel, f.positional, options);
  if (records->parsed()) return RunRecords(*channel, f.list, options);
  if (search->parsed())
    return RunSearch(*channel, f.positional, f.list, options);
  if (summarize->parsed())
    return RunSummarize(*channel, f.list, f.group_by, options);
  if (cities->parsed()) return RunCities(*channel, options);
  if (bureaus->parsed()) return RunBureaus(*channel, options);
  if (status->parsed()) return RunStatus(*channel, options);
  if (backup->parsed()) {
    uint32_t id = 0;
    if (f.backup[0] == "delete" &&
        (f.backup.size() != 2 || !absl::SimpleAtoi(f.backup[1], &id))) {
      return Usage("backup delete needs the backup's ID: backup delete 3");
    }
    if (f.backup[0] != "delete" && f.backup.size() != 1) {
      return Usage(absl::StrCat("backup ", f.backup[0], " takes no argument"));
    }
    return RunBackup(*channel, f.backup[0], id, options);
  }
  if (import->parsed()) {
    ImportOptions& o = f.import;
    if (timeout_given) o.timeout = call_timeout;
    if (!absl::ParseDuration(f.progress_interval, &o.progress_interval)) {
      return Usage(absl::StrCat("--progress_interval=", f.progress_interval,
                                ": not a duration (5s)"));
    }
    o.format =
        f.output == "json" || f.output == "jsonl" ? *format : Format::kTable;
    return RunImport(*channel, f.files, o);
  }
  if (export_->parsed()) {
    ExportOptions& o = f.export_options;
    if (timeout_given) o.timeout = call_timeout;
    o.min_sequence = f.min_sequence;
    return RunExport(*channel, o);
  }

  ReflectionClient client(*channel);
  if (list->parsed()) {
    auto services = client.ListServices();
    if (!services.ok()) {
      PrintError(services.status());
      return 1;
    }
    for (const std::string& s : *services) std::printf("%s\n", s.c_str());
    return 0;
  }
  if (describe->parsed()) {
    auto text = client.Describe(f.positional);
    if (!text.ok()) {
      PrintError(text.status());
      return 1;
    }
    std::printf("%s", text->c_str());
    return 0;
  }
  // SERVICE/METHOD with -d.
  absl::StatusOr<std::vector<std::string>> requests = ParseRequests(f.data);
  if (!requests.ok()) return Usage(std::string(requests.status().message()));
  absl::Status called = client.Call(
      f.positional, *requests,
      [](const std::string& json) { std::printf("%s\n", json.c_str()); },
      call_timeout, /*pretty=*/*format != Format::kJsonl);
  std::fflush(stdout);
  if (!called.ok()) {
    PrintError(called);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kouryu::cli

int main(int argc, char** argv) { return kouryu::cli::Main(argc, argv); }
