// ContactStream over one snapshot of the read index (exports).
#pragma once

#include <memory>

#include "index/snapshot.h"
#include "query/reader.h"

namespace contacts::index {

// Every contact of `snapshot` matching `q.filter`, in `q.ordering`. The stream holds the
// snapshot until destroyed, so it reads the same data from start to end while newer snapshots
// replace it in the reader. It walks the snapshot's own orders for `created_at` and `id`
// (either direction) without allocating; any other ordering sorts the matching row numbers
// once, on the first next() (4 bytes per matching row).
std::unique_ptr<ContactStream> stream_snapshot(std::shared_ptr<const Snapshot> snapshot,
                                               const ListQuery& q);

}  // namespace contacts::index
