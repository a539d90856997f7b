// The `hone` command: a thin main(); the logic lives in apps/cli/*.cc.
#include "cli/app.h"
#include "hone/store.h"

int main(int argc, char** argv) {
  hone::register_sql_storages();  // sqlite:// and postgresql:// URLs (hone_store is a static library)
  return hone::cli::run(argc, argv);
}
