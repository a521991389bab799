# The emcee container image: a release build in a Rust image, copied into a small
# Debian runtime with CA certificates (TLS to the API is verified against the system
# store) and the time-zone database (playbook and schedule zones), run as a non-root
# user.
#
#   docker build -t emcee:0.1.0 .
#   docker run --rm emcee:0.1.0 --version

FROM rust:1-slim-bookworm AS builder
WORKDIR /src
COPY . .
# --locked: the image is built from exactly the versions in Cargo.lock.
RUN cargo build --release --locked --bin emcee \
    && install -D -m 0755 target/release/emcee /out/emcee

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 emcee \
    && useradd --uid 10001 --gid 10001 --home-dir /var/lib/emcee --no-create-home --shell /usr/sbin/nologin emcee \
    && mkdir -p /var/lib/emcee /reports /playbooks \
    && chown 10001:10001 /var/lib/emcee /reports
COPY --from=builder /out/emcee /usr/local/bin/emcee
# Locks and journals outlive the container when the state directory is a volume; the
# reports are written for someone else to collect.
ENV EMCEE_STATE_DIR=/var/lib/emcee \
    EMCEE_PROGRESS=never
VOLUME ["/var/lib/emcee", "/reports"]
# A numeric user, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /playbooks
ENTRYPOINT ["emcee"]
CMD ["--help"]
