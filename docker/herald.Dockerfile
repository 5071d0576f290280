# syntax=docker/dockerfile:1
# herald: standalone (edge + broker + in-process bus in one process). Ports: 3000 Socket.IO, 50051 gRPC API, 9100 admin.
#   docker build -f docker/herald.Dockerfile -t herald:0.1.0 .
# Build stage: the Debian 12 packages scripts/setup installs (the build subset), the release preset.
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libboost1.74-dev libssl-dev nlohmann-json3-dev libnats-dev libyaml-cpp-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_BENCH=OFF -DHERALD_BUILD_EXAMPLES=OFF \
 && cmake --build --preset release --target herald \
 && strip --strip-debug -o /herald build/release/standalone/herald

# Runtime stage: only the shared libraries the binary links (ldd, mapped to packages with dpkg -S;
# apt adds their own dependencies: libgrpc29, libabsl20220623, libre2-9, libc-ares2, ...).
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libgrpc++1.51 libprotobuf32 libssl3 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin herald
COPY --from=build /herald /usr/local/bin/herald
COPY docker/herald.yaml /etc/herald/herald.yaml
USER 10001:10001
EXPOSE 3000 50051 9100
# The admin endpoint's liveness (no curl in the image: bash's /dev/tcp). HEALTHCHECK_PORT must
# match the port of admin.listen, which must accept connections on 127.0.0.1.
ENV HEALTHCHECK_PORT=9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HEALTHCHECK_PORT} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
# SIGTERM starts the graceful drain (docs/operations.md); give "docker stop -t" the drain deadline.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/herald"]
CMD ["--config", "/etc/herald/herald.yaml"]
