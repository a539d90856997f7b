// PostgreSQL backend placeholder until the libpq implementation lands (see docs/STORAGE.md).
#include "hone/error.h"
#include "hone/store.h"

namespace hone {

std::shared_ptr<Storage> make_postgres_storage(const std::string& conninfo, const SqlStorageOptions&) {
  throw_runtime("storage \"" + mask_storage_url(conninfo) + "\": the PostgreSQL backend is not built yet");
}

std::shared_ptr<Storage> open_postgres_storage_url(const std::string& url) {
  std::string base;
  SqlStorageOptions o = parse_storage_options(url, &base);
  return make_postgres_storage(base, o);
}

}  // namespace hone
