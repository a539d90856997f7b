// Registration of the SQL backends with tune's URL-scheme registry (hone/store.h explains why it
// is an explicit call and not only a static initializer).
#include <mutex>

#include "hone/store.h"
#include "store/sql_common.h"

namespace hone {

std::shared_ptr<Storage> open_postgres_storage_url(const std::string& url);  // postgres_storage.cc

void register_sql_storages() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_storage_backend("sqlite", open_sqlite_storage_url);
    register_storage_backend("postgresql", open_postgres_storage_url);
    register_storage_backend("postgres", open_postgres_storage_url);
  });
}

std::shared_ptr<Storage> open_existing_storage(const std::string& url) {
  register_sql_storages();
  if (url.rfind("sqlite:", 0) == 0) return store::open_sqlite_url(url, false);
  if (is_keyword_conninfo(url) || url.rfind("postgres", 0) == 0) return store::open_postgres_url(url, false);
  return open_storage(url);
}

}  // namespace hone
