#include "ingest-service/admin_service.h"

#include <google/protobuf/util/time_util.h>

#include "absl/status/status.h"
#include "common/status.h"

namespace kouryu::ingest {
namespace {

grpc::Status Disabled() {
  return ToGrpcStatus(WithReason(
      absl::FailedPreconditionError(
          "backups are disabled: kouryu-ingest runs without --backup_dir"),
      "BACKUPS_DISABLED"));
}

void ToProto(const BackupInfo& info, v1::Backup* backup) {
  backup->set_backup_id(info.id);
  backup->set_sequence(info.sequence);
  backup->set_size_bytes(info.size_bytes);
  *backup->mutable_create_time() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          absl::ToUnixSeconds(info.create_time));
  backup->set_record_count(info.record_count);
  backup->set_digest(info.digest);
  backup->set_history_id(info.history_id);
}

}  // namespace

grpc::Status AdminServiceImpl::CreateBackup(grpc::ServerContext* context,
                                            const v1::CreateBackupRequest* request,
                                            v1::Backup* response) {
  if (backups_ == nullptr) return Disabled();
  absl::StatusOr<BackupInfo> created = backups_->Create(store_);
  if (!created.ok()) return ToGrpcStatus(created.status());
  ToProto(*created, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListBackups(grpc::ServerContext* context,
                                           const v1::ListBackupsRequest* request,
                                           v1::ListBackupsResponse* response) {
  if (backups_ == nullptr) return Disabled();
  absl::StatusOr<std::vector<BackupInfo>> backups = backups_->List();
  if (!backups.ok()) return ToGrpcStatus(backups.status());
  for (const BackupInfo& info : *backups) ToProto(info, response->add_backups());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeleteBackup(
    grpc::ServerContext* context, const v1::DeleteBackupRequest* request,
    v1::DeleteBackupResponse* response) {
  if (backups_ == nullptr) return Disabled();
  return ToGrpcStatus(backups_->Delete(request->backup_id()));
}

}  // namespace kouryu::ingest
