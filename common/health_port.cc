#include "common/health_port.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace kouryu {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

// Drops the plugins every ServerBuilder gets from global registrations
// (server reflection), and gRPC's own health service, so that the health
// port offers this file's Health alone.
class HealthOnly final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* args) override {
    // A null health service interface turns gRPC's default one off.
    args->SetPointer(grpc::kHealthCheckServiceInterfaceArg, nullptr);
  }
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->clear();
  }
};

std::string HostOf(const std::string& listen) {
  size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

}  // namespace

// grpc.health.v1.Health on the callback API: Check answers at once, Watch
// streams each change of status.
class HealthPort::Service final
    : public grpc::health::v1::Health::CallbackService {
 public:
  Service(const std::vector<std::string>& names, bool serving)
      : names_(names.begin(), names.end()), serving_(serving) {
    names_.insert("");
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    HealthCheckResponse::ServingStatus status = StatusOf(request->service());
    if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
    } else {
      response->set_status(status);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(
      grpc::CallbackServerContext*,
      const HealthCheckRequest* request) override {
    return new Watcher(this, request->service());
  }

  void SetServing(bool serving) {
    absl::MutexLock lock(&mutex_);
    if (shut_down_ || serving_ == serving) return;
    serving_ = serving;
    for (Watcher* w : watchers_) {
      w->owner_mutex().AssertHeld();  // mutex_: every watcher's owner is this
      w->Send(StatusOfLocked(w->service()));
    }
  }

  // Ends every Watch and refuses new ones.
  void Shutdown() {
    absl::MutexLock lock(&mutex_);
    shut_down_ = true;
    for (Watcher* w : watchers_) {
      w->owner_mutex().AssertHeld();  // mutex_, as above
      w->End();
    }
  }

 private:
  class Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
   public:
    Watcher(Service* service, std::string name)
        : owner_(service), service_(std::move(name)) {
      absl::MutexLock lock(&owner_->mutex_);
      if (owner_->shut_down_) {
        End();
        return;
      }
      owner_->watchers_.insert(this);
      Send(owner_->StatusOfLocked(service_));
    }
    const std::string& service() const { return service_; }
    // The owner's mutex, which guards the watcher's state.
    absl::Mutex& owner_mutex() const ABSL_LOCK_RETURNED(owner_->mutex_) {
      return owner_->mutex_;
    }

    // Both under the owner's mutex.
    void Send(HealthCheckResponse::ServingStatus status)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(owner_->mutex_) {
      if (finished_) return;
      pending_ = status;
      if (!writing_) WriteNext();
    }
    void End() ABSL_EXCLUSIVE_LOCKS_REQUIRED(owner_->mutex_) {
      if (finished_) return;
      finished_ = true;
      Finish(grpc::Status::OK);
    }

    void OnWriteDone(bool ok) override {
      absl::MutexLock lock(&owner_->mutex_);
      writing_ = false;
      if (!ok) {
        End();
        return;
      }
      if (pending_ != last_ && !finished_) WriteNext();
    }
    void OnCancel() override {
      absl::MutexLock lock(&owner_->mutex_);
      if (!finished_) {
        finished_ = true;
        Finish(grpc::Status::CANCELLED);
      }
    }
    void OnDone() override {
      {
        absl::MutexLock lock(&owner_->mutex_);
        owner_->watchers_.erase(this);
      }
      delete this;
    }

   private:
    void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(owner_->mutex_) {
      if (pending_ == last_) return;
      last_ = pending_;
      response_.set_status(last_);
      writing_ = true;
      StartWrite(&response_);
    }

    Service* const owner_;
    const std::string service_;
    HealthCheckResponse response_;
    // Statuses are written in order; one write in flight at a time, and a
    // status that changes during it is written after (the latest only).
    HealthCheckResponse::ServingStatus pending_ = HealthCheckResponse::UNKNOWN;
    HealthCheckResponse::ServingStatus last_ = HealthCheckResponse::UNKNOWN;
    bool writing_ = false;
    bool finished_ = false;
  };

  HealthCheckResponse::ServingStatus StatusOf(const std::string& name) {
    absl::MutexLock lock(&mutex_);
    return StatusOfLocked(name);
  }
  HealthCheckResponse::ServingStatus StatusOfLocked(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (names_.count(name) == 0) return HealthCheckResponse::SERVICE_UNKNOWN;
    return serving_ && !shut_down_ ? HealthCheckResponse::SERVING
                                   : HealthCheckResponse::NOT_SERVING;
  }

  std::set<std::string> names_;
  absl::Mutex mutex_;
  bool serving_ ABSL_GUARDED_BY(mutex_);
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mutex_);
};

absl::StatusOr<std::unique_ptr<HealthPort>> HealthPort::Start(
    const std::string& listen, const std::vector<std::string>& names,
    bool serving) {
  std::unique_ptr<HealthPort> port(new HealthPort());
  port->service_ = std::make_unique<Service>(names, serving);
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &bound);
  builder.SetOption(std::make_unique<HealthOnly>());
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
  builder.RegisterService(port->service_.get());
  port->server_ = builder.BuildAndStart();
  if (port->server_ == nullptr || bound == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, " (--health_listen)"));
  }
  port->address_ = absl::StrCat(HostOf(listen), ":", bound);
  return port;
}

HealthPort::~HealthPort() { Shutdown(); }

void HealthPort::SetServing(bool serving) { service_->SetServing(serving); }

void HealthPort::Shutdown() {
  if (server_ == nullptr) return;
  service_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
}

}  // namespace kouryu
