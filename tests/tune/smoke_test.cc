#include <gtest/gtest.h>
#include "hone/tune/tune.h"
TEST(Smoke, Builds) { auto s = hone::create_study(); EXPECT_TRUE(s); }
