#include "store/notice_listener.h"

#include <chrono>

namespace contacts {

NoticeListener::NoticeListener(Store& store, Callbacks callbacks)
    : store_(store), callbacks_(std::move(callbacks)) {
  if (!store_.notifies()) return;
  thread_ = std::thread([this] {
    while (!stopping_) {
      const StoreNotices n = store_.wait_for_notices(std::chrono::milliseconds(250));
      if (n.jobs_queued && callbacks_.jobs_queued) callbacks_.jobs_queued();
      if (n.published_version > 0 && callbacks_.published) {
        callbacks_.published(n.published_version);
      }
    }
  });
}

NoticeListener::~NoticeListener() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace contacts
