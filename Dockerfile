# hone:latest — the image that examples/distributed/ runs (`make image` builds it).
#
#   docker build -t hone:latest .
#   docker run --rm hone:latest hone train examples/mlp.toml --set train.epochs=1
#   docker build --build-arg HONE_CXX_FLAGS=-march=x86-64-v4 -t hone:avx512 .   # see HONE_CXX_FLAGS
#
# Debian 12 packages only, nothing downloaded but through apt. Two stages:
#   build    the build packages of scripts/install-deps.sh (BUILD_PKGS) without the test-only ones,
#            then a Release `hone` for any x86-64 CPU (HONE_NATIVE=OFF: the image runs on other
#            machines than the one that built it), no tests, examples or benchmarks
#   runtime  debian:bookworm-slim with the shared libraries hone links, dataset-fashion-mnist (the
#            data at /usr/share/datasets/fashion-mnist, the path the example configs read) and the
#            examples folder in /opt/hone, the working directory, so `hone tune examples/...` works
# tests/cli/dockerfile_test.cc checks both package lists against install-deps.sh and the binary.

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build make pkg-config \
      libeigen3-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libfmt-dev \
      zlib1g-dev libsqlite3-dev libpq-dev libcpp-httplib-dev \
      python3-plotly \
 && rm -rf /var/lib/apt/lists/*
# The default binary runs on any x86-64 CPU (Eigen's SSE2 kernels). For nodes that all have AVX2 +
# FMA, -march=x86-64-v3 compiles Eigen's AVX2/FMA kernels in; with AVX-512 (x86-64-v4) also hone's
# own GEMM, conv and Adam kernels (src/nn/gemm.cc), as a -march=native build on such a machine has.
# Such an image stops with "Illegal instruction" on a CPU without them.
ARG HONE_CXX_FLAGS=
WORKDIR /src
COPY . .
RUN cmake -S . -B build/image -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONE_NATIVE=OFF \
      -DCMAKE_CXX_FLAGS="${HONE_CXX_FLAGS}" \
      -DHONE_BUILD_TESTS=OFF -DHONE_BUILD_EXAMPLES=OFF -DHONE_BUILD_BENCH=OFF \
 && cmake --build build/image --target hone_cli \
 && strip build/image/hone

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libstdc++6 libgomp1 zlib1g libfmt9 libtomlplusplus3 libsqlite3-0 libpq5 libcpp-httplib0.11 \
      dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/image/hone /usr/local/bin/hone
COPY examples /opt/hone/examples
WORKDIR /opt/hone
CMD ["hone", "--help"]
