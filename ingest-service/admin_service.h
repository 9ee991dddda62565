#ifndef KOURYU_INGEST_SERVICE_ADMIN_SERVICE_H_
#define KOURYU_INGEST_SERVICE_ADMIN_SERVICE_H_

// kouryu.v1.AdminService over Backups: CreateBackup, ListBackups,
// DeleteBackup. Without backups (no --backup_dir) every method fails with
// FAILED_PRECONDITION (reason BACKUPS_DISABLED).

#include "ingest-service/backups.h"
#include "ingest-service/store.h"
#include "kouryu/v1/admin_service.grpc.pb.h"

namespace kouryu::ingest {

// Synchronous: a backup copies files on the calling thread (one at a time,
// see Backups), and the others are quick.
class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  // `store` and `backups` must outlive the service; `backups` may be null
  // (backups disabled).
  AdminServiceImpl(const Store& store, Backups* backups)
      : store_(store), backups_(backups) {}

  grpc::Status CreateBackup(grpc::ServerContext* context,
                            const v1::CreateBackupRequest* request,
                            v1::Backup* response) override;
  grpc::Status ListBackups(grpc::ServerContext* context,
                           const v1::ListBackupsRequest* request,
                           v1::ListBackupsResponse* response) override;
  grpc::Status DeleteBackup(grpc::ServerContext* context,
                            const v1::DeleteBackupRequest* request,
                            v1::DeleteBackupResponse* response) override;

 private:
  const Store& store_;
  Backups* const backups_;
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_ADMIN_SERVICE_H_
