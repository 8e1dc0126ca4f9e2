# Build the release binary in one stage, run it from a slim image.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin nightingale

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/nightingale --create-home nightingale
COPY --from=build /src/target/release/nightingale /usr/local/bin/nightingale
COPY rota /etc/nightingale/rota
COPY templates /etc/nightingale/templates
WORKDIR /var/lib/nightingale
USER nightingale
ENV NIGHTINGALE_LISTEN=0.0.0.0:8080 \
    NIGHTINGALE_ROTA_DIR=/etc/nightingale/rota \
    NIGHTINGALE_STORE=sqlite:///var/lib/nightingale/nightingale.db
EXPOSE 8080
# serve loads the rota before listening: a broken file stops the container with its file:line message.
CMD ["nightingale", "serve"]
