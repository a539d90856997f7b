// report/data.h — internals of the report data shared by data.cc, page.cc and the tests.
#pragma once

#include "hone/report.h"

namespace hone::report {

// Adds data["pareto"] = {front: [trial numbers], hypervolume: [[number, hv], ...], reference}
// from the trials' "values" when data["directions"] has 2 or 3 entries; otherwise does nothing.
void add_pareto(json& data);
// The list of view ids the page draws for `data` (also stored as data["views"] by study_html).
std::vector<std::string> compute_views(const json& data);

}  // namespace hone::report
