# hotpot tile server: docker build -t hotpot . && docker run -p 8080:8080 -v $PWD/data:/data hotpot
# With an NVIDIA GPU (nvidia-container-toolkit installed):
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=all -p 8080:8080 -v $PWD/data:/data hotpot

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY build.rs .
COPY crates crates
COPY src src
COPY shaders shaders
COPY assets assets
COPY benches benches
RUN cargo build --release --locked --bin hotpot && strip target/release/hotpot

FROM debian:bookworm-slim
# Mesa's Vulkan drivers give wgpu a software adapter (lavapipe) when there
# is no GPU; libvulkan1 is the loader the NVIDIA runtime plugs into.
RUN apt-get update \
 && apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 --home /data hotpot \
 && mkdir -p /data && chown hotpot /data
COPY --from=build /src/target/release/hotpot /usr/local/bin/hotpot
USER hotpot
VOLUME /data
ENV HOTPOT_DB=/data/hotpot.sqlite3 XDG_RUNTIME_DIR=/tmp
EXPOSE 8080
HEALTHCHECK CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ok <&3"]
ENTRYPOINT ["hotpot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
