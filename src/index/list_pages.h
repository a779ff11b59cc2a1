// Page selection over a snapshot: cursor walks and ordered limit-offset slices.
#pragma once

#include "index/row_matcher.h"
#include "index/snapshot.h"
#include "query/reader.h"

namespace contacts::index {

ListPage cursor_page(const Snapshot& snap, const RowMatcher& match, const ListQuery& q);
ListPage ordered_page(const Snapshot& snap, const RowMatcher& match, const ListQuery& q);
FieldPage field_page(const Snapshot& snap, const FieldQuery& q);

}  // namespace contacts::index
